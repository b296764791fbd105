/* st_module.c - /storage/v1 as a module: the service, its routes, and the
 * bucket functions app migrations may call. */
#include "app/module.h"
#include "core/error.h"
#include "core/metrics.h"
#include "storage/st_service.h"

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

static const http_route routes[] = {
    {RW | HTTP_PUT, "/storage/v1/", HTTP_PUBLIC, HTTP_ERR_STORAGE, METRICS_G_STORAGE, st_handle},
    {HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH, "/admin/v1/buckets/", HTTP_SERVICE, HTTP_ERR_PGRST,
     METRICS_G_ADMIN, st_admin_buckets},
};

static const db_sqlfns sqlfns = {NULL, st_register_functions};

static int start(bs_app *app) { return st_start(app, &app->storage); }

static void stop(bs_app *app)
{
    st_free(app->storage);
    app->storage = NULL;
}

const bs_module storage_module = {.name = "storage", .start = start, .stop = stop, .routes = routes,
                                  .nroutes = BS_COUNT(routes), .sqlfns = &sqlfns};
