/* auth_module.c - /auth/v1 (GoTrue) as a module: the optional asymmetric
 * signing key and the auth service. */
#include "app/module.h"
#include "auth/auth.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/metrics.h"

#include <stdio.h>

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

static const http_route routes[] = {
    {RW | HTTP_PUT, "/auth/v1/", HTTP_APIKEY, HTTP_ERR_GOTRUE, METRICS_G_AUTH, auth_handle},
};

static int start(bs_app *app)
{
    const char *key = app->cfg->jwt_signing_key;
    int rc = key ? auth_jwt_set_signing_key(app->jwt, key) : BS_OK;
    if (rc) {
        fprintf(stderr,
                "basalt: cannot load --jwt-signing-key %s: %s (want an unencrypted PEM RSA >= 2048 bits "
                "or EC P-256 private key)\n",
                key, basalt_strerror(rc));
        return rc;
    }
    return auth_service_new(app, &app->auth);
}

static void stop(bs_app *app)
{
    auth_service_free(app->auth);
    app->auth = NULL;
}

const bs_module auth_module = {
    .name = "auth", .start = start, .stop = stop, .routes = routes, .nroutes = BS_COUNT(routes)};
