/* auth.h - the GoTrue-compatible auth service (/auth/v1).
 *
 * Users, sessions, refresh tokens and one-time tokens live in system
 * tables (migrations/0002_auth.sql) that no collection API can reach.  The
 * service answers every /auth/v1/ path from one prefix route, HTTP_APIKEY:
 * the gate refuses a request without a valid apikey and verifies the
 * Bearer without refusing it, and each endpoint decides what the Bearer
 * must be (a user's access token for /user and /logout, service_role for
 * /admin; /settings and /.well-known/jwks.json need only the key).  See
 * auth_int.h for how the module is split.
 *
 * Threads: auth_service_new/free on the main thread (before the listener
 * starts / after it stopped); auth_handle on civetweb workers.
 */
#ifndef BS_AUTH_AUTH_H
#define BS_AUTH_AUTH_H

#include "app/app.h"
#include "http/http.h"

typedef struct auth_service auth_service;

/* Build the service for app (reads app->cfg, uses app->store and
 * app->jwt).  BS_OK or BS_ENOMEM/BS_EIO; *out is NULL on failure. */
int auth_service_new(bs_app *app, auth_service **out);
/* NULL-safe. */
void auth_service_free(auth_service *s);

/* Route handler for the "/auth/v1/" prefix (HTTP_APIKEY, HTTP_ERR_GOTRUE). */
int auth_handle(http_req *r);

#endif
