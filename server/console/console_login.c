/* console_login.c - POST /admin/v1/login: an admin of _basalt_admins
 * (migrations/0006_admin.sql, made by `basalt admin create`) signs in to
 * the console and gets a service_role JWT marked "admin": true.
 *
 * An unknown e-mail still costs one password verification (the hasher's
 * dummy hash, core/password.h) so timing does not tell which e-mails
 * exist.  Attempts are limited per client address with core's token
 * buckets (core/ratelimit.h): a burst of CONSOLE_LOGIN_MAX_FAILS, then one
 * more per CONSOLE_LOGIN_WINDOW_MS / CONSOLE_LOGIN_MAX_FAILS, 429 with
 * Retry-After meanwhile, even with the right password.  An attempt is
 * counted (one atomic take) before its password is verified and given
 * back when it succeeds, so parallel wrong logins from one address get at
 * most CONSOLE_LOGIN_MAX_FAILS password verifications, not one per
 * request in flight.
 *
 * Every SQL text here is a constant; the e-mail reaches SQL only bound.
 */
#include "console/console.h"
#include "app/app.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/password.h"
#include "core/ratelimit.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "http/pgrst.h"

#include <ctype.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct console_state {
    auth_rl *login_rl;         /* sign-in attempts per client address */
    auth_passwords *passwords; /* admin password checks (and the dummy) */
};

int console_state_new(console_state **out)
{
    *out = NULL;
    console_state *st = calloc(1, sizeof *st);
    if (!st)
        return BS_ENOMEM;
    int rc = auth_rl_new(CONSOLE_LOGIN_MAX_FAILS, CONSOLE_LOGIN_WINDOW_MS, &st->login_rl);
    if (!rc)
        rc = auth_passwords_new(NULL, &st->passwords);
    if (rc) {
        console_state_free(st);
        return rc;
    }
    *out = st;
    return BS_OK;
}

void console_state_free(console_state *st)
{
    if (!st)
        return;
    auth_rl_free(st->login_rl);
    auth_passwords_free(st->passwords);
    free(st);
}

/* ---- the steps of a sign-in ---- */

/* The body's e-mail and password (both borrowed from *body, which the
 * caller json_decref's); false after answering 400/413. */
static bool read_login(http_req *r, json_t **body, const char **email, const char **pw)
{
    char msg[256];
    int prc = http_body_json(r, 0, body, msg, sizeof msg);
    if (prc == BS_ETOOBIG) {
        pgrst_reply(r, PGRST_TOO_BIG, "Payload Too Large", NULL, NULL);
        return false;
    }
    if (prc) {
        pgrst_reply(r, PGRST_BAD_BODY, "Empty or invalid json", msg, NULL);
        return false;
    }
    *email = json_string_value(json_object_get(*body, "email"));
    *pw = json_string_value(json_object_get(*body, "password"));
    if (!json_is_object(*body) || !*email || !*pw || !**email || !**pw) {
        pgrst_reply(r, PGRST_LOGIN_FIELDS, "\"email\" and \"password\" are required", NULL, NULL);
        return false;
    }
    return true;
}

/* Count the attempt of ip; false (after answering 429) when over the
 * limit. */
static bool login_allowed(http_req *r, console_state *st, const char *ip, int64_t now)
{
    int64_t wait = 0;
    if (auth_rl_take(st->login_rl, ip, now, &wait))
        return true;
    char ra[32];
    snprintf(ra, sizeof ra, "%lld", (long long)wait);
    http_add_header(r, "Retry-After", ra);
    pgrst_reply(r, PGRST_LOGIN_LIMIT, "Too many failed sign-in attempts: try again later", NULL, NULL);
    return false;
}

/* The id and password hash of the admin with e-mail `lower` (both NULL
 * when there is none; the caller frees them).  BS_EDB when the accounts
 * cannot be read. */
static int find_admin(db_store *store, const char *lower, char **id, char **hash)
{
    *id = *hash = NULL;
    db_conn *c = db_reader(store);
    static const char q[] = "SELECT id, password_hash FROM _basalt_admins WHERE email = ?";
    sqlite3_stmt *st = c ? db_stmt(c, q, sizeof q - 1, NULL) : NULL;
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, lower, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *id = strdup((const char *)sqlite3_column_text(st, 0));
        *hash = strdup((const char *)sqlite3_column_text(st, 1));
    }
    db_stmt_done(st);
    if (!*id || !*hash) { /* none, or no memory to hold it: checked as unknown */
        free(*id);
        free(*hash);
        *id = *hash = NULL;
    }
    return BS_OK;
}

typedef struct signin_arg {
    const char *id;
    int64_t now;
} signin_arg;

static int record_signin(db_conn *w, void *arg)
{
    signin_arg *a = arg;
    static const char q[] = "UPDATE _basalt_admins SET last_sign_in_at = ? WHERE id = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, a->now);
    sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

/* Sign the admin token of id and answer it. */
static int send_login(http_req *r, const char *id, const char *email, int64_t now)
{
    char *token = NULL;
    int64_t now_s = now / 1000, exp = now_s + CONSOLE_TOKEN_TTL_S;
    json_t *claims = json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:I}", "iss", "basalt", "role", "service_role", "admin",
                               1, "sub", id, "email", email, "iat", (json_int_t)now_s, "exp", (json_int_t)exp);
    int rc = claims ? auth_jwt_sign(http_app(r)->jwt, claims, &token) : BS_ENOMEM;
    json_decref(claims);
    if (rc != BS_OK)
        return pgrst_reply(r, PGRST_INTERNAL, "could not sign the token", NULL, NULL);
    rc = console_reply_json(r, json_pack("{s:s, s:s, s:i, s:I, s:{s:s, s:s}}", "access_token", token, "token_type",
                                         "bearer", "expires_in", CONSOLE_TOKEN_TTL_S, "expires_at", (json_int_t)exp,
                                         "admin", "id", id, "email", email));
    free(token);
    return rc;
}

int console_login(http_req *r)
{
    bs_app *app = http_app(r);
    console_state *st = app->console;
    json_t *body = NULL;
    const char *email, *pw;
    char *id = NULL, *hash = NULL;
    int rc = BS_OK;
    if (!read_login(r, &body, &email, &pw))
        goto out;
    const char *ip = http_remote_addr(r);
    if (!ip)
        ip = "?";
    int64_t now = time_now_ms();
    if (!login_allowed(r, st, ip, now))
        goto out;
    size_t el = strlen(email);
    if (el > CONSOLE_EMAIL_MAX) {
        rc = pgrst_reply(r, PGRST_LOGIN_FAILED, "Invalid login credentials", NULL, NULL);
        goto out;
    }
    char lower[CONSOLE_EMAIL_MAX + 1];
    for (size_t i = 0; i <= el; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    if (find_admin(app->store, lower, &id, &hash) != BS_OK) {
        auth_rl_refund(st->login_rl, ip, now); /* no password was tried */
        rc = pgrst_reply(r, PGRST_UNAVAILABLE, "could not read admin accounts", NULL, NULL);
        goto out;
    }
    bool ok = false; /* hash NULL (no such admin): the dummy is checked */
    auth_password_verify(st->passwords, pw, strlen(pw), hash, &ok, NULL);
    if (!ok) {
        rc = pgrst_reply(r, PGRST_LOGIN_FAILED, "Invalid login credentials", NULL, NULL);
        goto out;
    }
    auth_rl_refund(st->login_rl, ip, now);
    signin_arg sa = {id, now};
    if (db_write(app->store, record_signin, &sa) != BS_OK)
        log_warn("console: could not record the sign-in of admin %s", id);
    rc = send_login(r, id, lower, now);
out:
    json_decref(body);
    free(id);
    free(hash);
    return rc;
}
