/* auth.c - the auth service object, /auth/v1 dispatch, and the reply and
 * request helpers shared by the endpoint files (see auth_int.h).
 *
 * Every response carries X-Supabase-Api-Version: 2024-01-01 so supabase-js
 * reads the `code` of error bodies (spec §2.5, trap 3), and every endpoint
 * but /logout answers JSON (trap 2).  The route is HTTP_APIKEY: the gate
 * has checked the apikey (header or ?apikey=) and verified the Bearer
 * (http_bearer_claims); each endpoint decides what the Bearer must be (a
 * user's access token for /user and /logout, service_role for /admin).
 */
#include "auth/auth_int.h"
#include "app/app.h"
#include "core/password.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int auth_service_new(bs_app *app, auth_service **out)
{
    *out = NULL;
    auth_service *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    s->app = app;
    s->cfg = app->cfg;
    pthread_mutex_init(&s->reuse_lock, NULL);
    int rc = BS_OK;
    s->reuse = calloc(AUTH_REUSE_SLOTS, sizeof *s->reuse);
    if (!s->reuse)
        rc = BS_ENOMEM;
    if (!rc)
        rc = auth_rl_new(s->cfg->rate_signin, AUTH_RATE_PERIOD_MS, &s->rl_signin);
    if (!rc)
        rc = auth_rl_new(s->cfg->rate_refresh, AUTH_RATE_PERIOD_MS, &s->rl_refresh);
    if (!rc)
        rc = auth_rl_new(s->cfg->rate_recover, AUTH_RATE_PERIOD_MS, &s->rl_recover);
    if (!rc) {
        if (s->cfg->site_url && s->cfg->site_url[0]) {
            size_t n = strlen(s->cfg->site_url);
            while (n && s->cfg->site_url[n - 1] == '/')
                n--;
            snprintf(s->issuer, sizeof s->issuer, "%.*s/auth/v1", (int)(n > 600 ? 600 : n), s->cfg->site_url);
        } else {
            const char *host = strcmp(s->cfg->listen_addr, "0.0.0.0") == 0 ? "127.0.0.1" : s->cfg->listen_addr;
            bool v6 = strchr(host, ':') != NULL;
            snprintf(s->issuer, sizeof s->issuer, "http://%s%.200s%s:%d/auth/v1", v6 ? "[" : "", host, v6 ? "]" : "",
                     s->cfg->port);
        }
        rc = auth_passwords_new(NULL, &s->passwords);
    }
    if (rc) {
        auth_service_free(s);
        return rc;
    }
    auth_password_params pp = auth_passwords_params(s->passwords);
    log_info("auth: issuer %s, scrypt ln=%d r=%d p=%d, access tokens live %llds", s->issuer, pp.ln, pp.r, pp.p,
             (long long)s->cfg->jwt_expiry_s);
    *out = s;
    return BS_OK;
}

void auth_service_free(auth_service *s)
{
    if (!s)
        return;
    auth_rl_free(s->rl_signin);
    auth_rl_free(s->rl_refresh);
    auth_rl_free(s->rl_recover);
    auth_passwords_free(s->passwords);
    if (s->reuse) {
        memset(s->reuse, 0, AUTH_REUSE_SLOTS * sizeof *s->reuse);
        free(s->reuse);
    }
    pthread_mutex_destroy(&s->reuse_lock);
    free(s);
}

/* ---- replies ---- */

int auth_reply_json(http_req *r, int status, json_t *j)
{
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!t)
        return auth_reply_fail(r, "serializing a reply", BS_ENOMEM);
    int rc = http_send_json(r, status, t, strlen(t));
    free(t);
    return rc;
}

json_t *auth_access_claims(const auth_service *s, const auth_user *u, const auth_issue *is, int64_t now_s)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:O,s:O,s:s,s:s,s:[{s:s,s:I}],s:s,s:b}", "iss", s->issuer, "sub",
                     u->id, "aud", u->aud, "exp", (json_int_t)(now_s + s->cfg->jwt_expiry_s), "iat", (json_int_t)now_s,
                     "email", u->email ? u->email : "", "phone", u->phone ? u->phone : "", "app_metadata",
                     u->app_metadata, "user_metadata", u->user_metadata, "role", u->role, "aal", "aal1", "amr",
                     "method", is->amr_method, "timestamp", (json_int_t)is->amr_at, "session_id", is->session_id,
                     "is_anonymous", (int)u->is_anonymous);
}

int auth_reply_token(http_req *r, auth_service *s, const auth_user *u, const auth_issue *is)
{
    int64_t now = time_now_s();
    int64_t exp = now + s->cfg->jwt_expiry_s;
    json_t *claims = auth_access_claims(s, u, is, now);
    char *tok = NULL;
    int rc = claims ? auth_jwt_sign_access(http_app(r)->jwt, claims, &tok) : BS_ENOMEM;
    json_decref(claims);
    if (rc == BS_ETOOBIG) {
        /* only a user stored before the metadata limits can get here */
        log_error("auth: the access token of user %s is over %d bytes: its metadata must shrink", u->id,
                  AUTH_JWT_MAX_LEN);
        return auth_reply_error(r, AUTH_E_UNEXPECTED_FAILURE,
                                "The user's metadata is too large for an access token: an admin must reduce "
                                "user_metadata or app_metadata");
    }
    if (rc)
        return auth_reply_fail(r, "signing an access token", rc);
    json_t *user = auth_user_json(u);
    json_t *j = user ? json_pack("{s:s,s:s,s:I,s:I,s:s,s:o}", "access_token", tok, "token_type", "bearer", "expires_in",
                                 (json_int_t)s->cfg->jwt_expiry_s, "expires_at", (json_int_t)exp, "refresh_token",
                                 is->refresh, "user", user)
                     : NULL;
    free(tok);
    return auth_reply_json(r, 200, j);
}

int auth_reply_user(http_req *r, const char *id, auth_err missing)
{
    auth_user *u = NULL;
    int rc = auth_user_read(http_app(r)->store, id, NULL, &u);
    if (rc == BS_ENOTFOUND)
        rc = auth_reply_error(r, missing, NULL);
    else if (rc)
        rc = auth_reply_fail(r, "loading a user", rc);
    else
        rc = auth_reply_json(r, 200, auth_user_json(u));
    auth_user_free(u);
    return rc;
}

/* ---- request helpers ---- */

int auth_parse_body(const char *data, size_t len, size_t max, json_t **out, char *msg, size_t msgsz)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i == len) {
        *out = json_object();
        return *out ? BS_OK : BS_ENOMEM;
    }
    char why[JSONIN_MSG_MAX];
    json_t *j = NULL;
    int rc = jsonin_parse(data, len, max, JSON_REJECT_DUPLICATES, &j, why, sizeof why);
    if (rc == BS_OK && !json_is_object(j)) {
        json_decref(j);
        snprintf(msg, msgsz, "Could not parse request body as JSON: expected an object");
        return BS_EJSON;
    }
    if (rc != BS_OK) {
        snprintf(msg, msgsz, "Could not parse request body as JSON: %s", why);
        return rc;
    }
    *out = j;
    return BS_OK;
}

int auth_body(http_req *r, json_t **out)
{
    *out = NULL;
    const char *data;
    size_t len;
    int rc = http_body(r, &data, &len);
    if (rc == BS_ETOOBIG) {
        auth_reply_error(r, AUTH_E_REQUEST_TOO_LARGE, NULL);
        return rc;
    }
    if (rc) {
        auth_reply_fail(r, "reading the body", rc);
        return rc;
    }
    char msg[300];
    rc = auth_parse_body(data, len, JSONIN_ANY_SIZE, out, msg, sizeof msg); /* http_body: --max-body */
    if (rc == BS_ENOMEM)
        return auth_reply_fail(r, "parsing the body", rc), rc;
    if (rc) {
        auth_reply_error(r, AUTH_E_BAD_JSON, msg);
        return rc;
    }
    return BS_OK;
}

bool auth_is_service(http_req *r)
{
    auth_claims *c = NULL;
    int rc = http_bearer_claims(r, &c);
    if (rc == BS_ENOTFOUND)
        c = http_claims(r); /* no Bearer: the key acts */
    else if (rc)
        return false; /* a Bearer that does not verify is nobody */
    return c && strcmp(c->role, "service_role") == 0;
}

bool auth_rate(http_req *r, auth_service *s, auth_rl *rl)
{
    /* server-side callers holding the service key are trusted (tests, the
     * console and back ends sign users in for them) */
    if (auth_is_service(r))
        return true;
    int64_t retry = 0;
    const char *ip = http_remote_addr(r);
    if (auth_rl_take(rl, ip ? ip : "", time_now_ms(), &retry))
        return true;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)retry);
    http_add_header(r, "Retry-After", v);
    auth_reply_error(r, AUTH_E_RATE_LIMITED, NULL);
    return false;
}

int auth_caller(http_req *r, auth_service *s, auth_claims **out)
{
    *out = NULL;
    auth_claims *c = NULL;
    int rc = http_bearer_claims(r, &c);
    if (rc == BS_ENOTFOUND) {
        auth_reply_error(r, AUTH_E_NO_AUTHORIZATION, NULL);
        return BS_EAUTH;
    }
    if (rc) {
        auth_reply_error(r, AUTH_E_BAD_JWT,
                         rc == BS_EEXPIRED ? "invalid JWT: unable to parse or verify signature, token has invalid "
                                             "claims: token is expired"
                                           : NULL);
        return BS_EAUTH;
    }
    if (!c->sub[0]) {
        auth_reply_error(r, AUTH_E_BAD_JWT, "invalid claim: missing sub claim");
        return BS_EAUTH;
    }
    bool exists = false;
    if (c->session_id[0] && uuid_valid(c->session_id, strlen(c->session_id))) {
        db_conn *rd = db_reader(http_app(r)->store);
        rc = rd ? auth_session_check(rd, c->session_id, c->sub, &exists) : BS_EDB;
        if (rc) {
            auth_reply_fail(r, "checking a session", rc);
            return rc;
        }
    }
    if (!exists) {
        auth_reply_error(r, AUTH_E_SESSION_NOT_FOUND, NULL);
        return BS_EAUTH;
    }
    *out = c;
    return BS_OK;
}

/* ---- dispatch ---- */

static int settings(http_req *r, auth_service *s)
{
    json_t *j = json_pack("{s:{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b},s:b,s:b,s:b,s:s,s:b}", "external", "anonymous_users",
                          (int)s->cfg->anonymous_signins, "email", 1, "phone", 0, "apple", 0, "github", 0, "google", 0,
                          "saml", 0, "azure", 0, "disable_signup", (int)s->cfg->disable_signup, "mailer_autoconfirm", 1,
                          "phone_autoconfirm", 0, "sms_provider", "", "saml_enabled", 0);
    return auth_reply_json(r, 200, j);
}

static int jwks(http_req *r, auth_service *s)
{
    (void)s;
    return auth_reply_json(r, 200, auth_jwt_jwks(http_app(r)->jwt));
}

static int health(http_req *r, auth_service *s)
{
    (void)s;
    return auth_reply_json(r, 200,
                           json_pack("{s:s,s:s,s:s}", "version", BASALT_VERSION, "name", "GoTrue", "description",
                                     "Basalt's GoTrue-compatible auth"));
}

/* The endpoints by path below /auth/v1/ and method; a path that is here
 * with other methods answers 405.  /admin/users... is admin.c's. */
static const struct {
    const char *path;
    unsigned methods;
    int (*fn)(http_req *r, auth_service *s);
} endpoints[] = {
    {"signup", HTTP_POST, auth_ep_signup}, {"token", HTTP_POST, auth_ep_token},
    {"user", HTTP_GET, auth_ep_user_get},  {"user", HTTP_PUT, auth_ep_user_put},
    {"logout", HTTP_POST, auth_ep_logout}, {"recover", HTTP_POST, auth_ep_recover},
    {"resend", HTTP_POST, auth_ep_resend}, {"verify", HTTP_POST, auth_ep_verify},
    {"settings", HTTP_GET, settings},      {".well-known/jwks.json", HTTP_GET, jwks},
    {"health", HTTP_ANY, health},
};

int auth_handle(http_req *r)
{
    auth_service *s = http_app(r)->auth;
    http_add_header(r, "X-Supabase-Api-Version", AUTH_API_VERSION);
    if (!s)
        return auth_reply_error(r, AUTH_E_UNAVAILABLE, "The auth service is not running");
    /* the gate (HTTP_APIKEY) checked the apikey and verified the Bearer */
    const char *p = http_subpath(r);
    unsigned m = http_method(r);
    bool known = false;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        if (strcmp(p, endpoints[i].path) != 0)
            continue;
        if (endpoints[i].methods & m)
            return endpoints[i].fn(r, s);
        known = true;
    }
    if (known)
        return auth_reply_error(r, AUTH_E_METHOD_NOT_ALLOWED, NULL);
    if (strncmp(p, "admin/users", 11) == 0 && (p[11] == '\0' || p[11] == '/'))
        return auth_ep_admin_users(r, s, p + 11);
    return auth_reply_error(r, AUTH_E_NOT_FOUND, NULL);
}
