/* rest_module.c - /rest/v1 as a module: its route, the JSON operators the
 * compiled queries call on every connection, basalt_create_collection and
 * friends for app migrations, and the start-up document check. */
#include "app/module.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "rest/collections.h"
#include "rest/doccheck.h"
#include "rest/query.h"
#include "rest/rest.h"

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

static const http_route routes[] = {
    {RW, "/rest/v1/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_REST, rest_handle},
};

static const db_sqlfns sqlfns = {rest_query_register_functions, rest_coll_register_functions};

static int start(bs_app *app)
{
    if (app->cfg->doc_check && rest_doccheck_start(app->store, &app->doccheck) != BS_OK)
        log_warn("db: could not start the document check");
    return BS_OK;
}

static void stop(bs_app *app)
{
    rest_doccheck_stop(app->doccheck); /* it reads through the store */
    app->doccheck = NULL;
}

const bs_module rest_module = {.name = "rest", .start = start, .stop = stop, .routes = routes,
                               .nroutes = BS_COUNT(routes), .sqlfns = &sqlfns};
