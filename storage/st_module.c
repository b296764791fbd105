/* st_module.c - /storage/v1 as a module: the service, its routes, and the
 * bucket functions app migrations may call.
 *
 * Who may call what is this table (the gate checks it; st_http.c lists
 * what each path does).  Three routes take no key, because what they
 * serve is authorised otherwise: a public bucket's objects, and signed
 * URLs, whose token the handler verifies (storage's own token, not a
 * project key).  The same prefix is routed twice where its other methods
 * need a key: they fall through to /storage/v1/. */
#include "core/error.h"
#include "core/metrics.h"
#include "storage/st_int.h"

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

static const http_route routes[] = {
    {HTTP_GET | HTTP_HEAD, "/storage/v1/object/public/", HTTP_PUBLIC, HTTP_ERR_STORAGE, METRICS_G_STORAGE,
     st_public_get},
    {HTTP_GET | HTTP_HEAD, "/storage/v1/object/sign/", HTTP_PUBLIC, HTTP_ERR_STORAGE, METRICS_G_STORAGE, st_signed_get},
    {HTTP_PUT, "/storage/v1/object/upload/sign/", HTTP_PUBLIC, HTTP_ERR_STORAGE, METRICS_G_STORAGE, st_signed_put},
    {RW | HTTP_PUT, "/storage/v1/", HTTP_APIKEY_OR_USER, HTTP_ERR_STORAGE, METRICS_G_STORAGE, st_handle},
    {HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH, "/admin/v1/buckets/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN,
     st_admin_buckets},
};

static const db_sqlfns sqlfns = {NULL, st_register_functions};

static int start(bs_app *app) { return st_start(app, &app->storage); }

static void stop(bs_app *app)
{
    st_free(app->storage);
    app->storage = NULL;
}

const bs_module storage_module = {
    .name = "storage", .start = start, .stop = stop, .routes = routes, .nroutes = BS_COUNT(routes), .sqlfns = &sqlfns};
