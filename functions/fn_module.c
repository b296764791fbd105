/* fn_module.c - functions as a module: plugins, jobs, schedules, and the
 * routes that trigger them (HTTP, RPC) and administer them. */
#include "app/module.h"
#include "core/error.h"
#include "core/metrics.h"
#include "functions/fn.h"

static const http_route routes[] = {
    {HTTP_GET | HTTP_HEAD | HTTP_POST, "/rest/v1/rpc/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS,
     fn_rpc_handle},
    {HTTP_ANY & ~HTTP_OPTIONS, "/functions/v1/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS, fn_http_handle},
    {HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE, "/admin/v1/functions/", HTTP_SERVICE,
     HTTP_ERR_PGRST, METRICS_G_ADMIN, fn_admin_handle},
};

static int start(bs_app *app) { return fn_start(app, &app->fn); }

static void stop(bs_app *app)
{
    fn_stop(app->fn);
    app->fn = NULL;
}

const bs_module functions_module = {.name = "functions", .start = start, .stop = stop, .routes = routes,
                                    .nroutes = BS_COUNT(routes)};
