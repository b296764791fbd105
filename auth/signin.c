/* signin.c - the endpoints that create sessions or one-time tokens:
 * POST /signup, /token?grant_type=password|refresh_token, /recover,
 * /resend, /verify.
 *
 * Passwords are hashed and verified here on the worker thread before the
 * write is queued; the write callbacks only store results.  Sign-up is
 * auto-confirmed (there is no mail server): it returns a token response.
 * Recovery and confirmation tokens cannot be mailed, so they are handed to
 * functions to deliver: the change log gets an "auth.events" INSERT whose
 * row holds {"event","user","type","email","redirect_to"} and never the
 * token (the log is kept for the retention window and copied by backups;
 * the token table holds only its SHA-256), while the trigger jobs queued
 * in the same transaction see the same document plus "token" and
 * "token_hash" (hex SHA-256, what /verify takes as token_hash).
 */
#include "auth/auth_int.h"
#include "app/app.h"
#include "core/password.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/changelog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static json_t *field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_null(v) ? NULL : v;
}

static bool empty_string(json_t *v) { return !v || (json_is_string(v) && json_string_length(v) == 0); }

/* ---- sign-up ---- */

typedef struct signup_arg {
    auth_user *u;
    const char *method;
    int64_t now_ms;
    auth_issue issue;
} signup_arg;

static int signup_fn(db_conn *w, void *p)
{
    signup_arg *a = p;
    int rc = auth_user_insert(w, a->u, a->now_ms);
    if (!rc)
        rc = auth_session_create(w, a->u, a->method, a->now_ms, &a->issue);
    return rc;
}

/* The body's user_metadata ("data") and phone; false after answering. */
static bool signup_fields_ok(http_req *r, json_t *data, json_t *phone)
{
    if (!auth_valid_object(r, data, "data"))
        return false;
    if (json_is_object(data) && auth_metadata_size(data) > AUTH_METADATA_MAX) {
        auth_reply_metadata_too_big(r, "user_metadata");
        return false;
    }
    if (!empty_string(phone)) {
        auth_reply_error(r, AUTH_E_PHONE_DISABLED, NULL);
        return false;
    }
    return true;
}

/* A new user, signed in at now, with user_metadata `data` (may be NULL);
 * NULL when out of memory. */
static auth_user *signup_user(json_t *data, int64_t now)
{
    auth_user *u = auth_user_new();
    if (!u || uuid_v4(u->id)) {
        auth_user_free(u);
        return NULL;
    }
    u->created_at = u->updated_at = now;
    u->last_sign_in_at = now;
    if (data)
        json_object_update(u->user_metadata, data);
    return u;
}

/* No e-mail: an anonymous user (no password allowed); false after
 * answering. */
static bool signup_anonymous(http_req *r, auth_service *s, json_t *pw, auth_user *u)
{
    if (pw) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "To sign up, please provide your email");
        return false;
    }
    if (!s->cfg->anonymous_signins) {
        auth_reply_error(r, AUTH_E_ANONYMOUS_DISABLED, NULL);
        return false;
    }
    u->is_anonymous = true;
    return true;
}

/* An e-mail account: a valid e-mail nobody has and a valid password,
 * hashed here (the slow part, off the writer); auto-confirmed (no mail
 * server).  False after answering. */
static bool signup_email(http_req *r, auth_service *s, json_t *email, json_t *pw, auth_user *u, int64_t now)
{
    char em[AUTH_EMAIL_MAX + 1];
    const char *pws;
    size_t pwlen;
    if (!auth_valid_email(r, email, em, sizeof em))
        return false;
    if (!pw) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Signup requires a valid password");
        return false;
    }
    if (!auth_valid_password(r, s, pw, &pws, &pwlen))
        return false;
    /* a cheap duplicate check before the slow hash; the unique index
     * decides races */
    int rc = auth_user_exists(http_app(r)->store, NULL, em);
    if (rc == BS_OK) {
        auth_reply_error(r, AUTH_E_USER_ALREADY_EXISTS, NULL);
        return false;
    }
    if (rc != BS_ENOTFOUND) {
        auth_reply_fail(r, "looking up an e-mail", rc);
        return false;
    }
    rc = auth_user_set_email(u, em);
    if (!rc)
        rc = auth_password_hash(s->passwords, pws, pwlen, &u->password_hash);
    if (rc) {
        auth_reply_fail(r, "hashing a password", rc);
        return false;
    }
    u->email_confirmed_at = now;
    return true;
}

int auth_ep_signup(http_req *r, auth_service *s)
{
    /* as GoTrue: before anything else, anonymous sign-ups included */
    if (s->cfg->disable_signup)
        return auth_reply_error(r, AUTH_E_SIGNUP_DISABLED, NULL);
    if (!auth_rate(r, s, s->rl_signin))
        return BS_OK;
    json_t *b = NULL;
    signup_arg a;
    memset(&a, 0, sizeof a);
    int rc = BS_OK;
    if (auth_body(r, &b))
        goto out;
    json_t *email = field(b, "email"), *pw = field(b, "password"), *data = field(b, "data");
    if (!signup_fields_ok(r, data, field(b, "phone")))
        goto out;
    a.now_ms = time_now_ms();
    if (!(a.u = signup_user(data, a.now_ms))) {
        rc = auth_reply_fail(r, "creating a user", BS_ENOMEM);
        goto out;
    }
    bool anonymous = empty_string(email);
    a.method = anonymous ? "anonymous" : "password";
    if (anonymous ? !signup_anonymous(r, s, pw, a.u) : !signup_email(r, s, email, pw, a.u, a.now_ms))
        goto out;
    rc = db_write(http_app(r)->store, signup_fn, &a);
    if (rc == BS_EEXISTS)
        rc = auth_reply_error(r, AUTH_E_USER_ALREADY_EXISTS, NULL);
    else if (rc)
        rc = auth_reply_fail(r, "signing up", rc);
    else
        rc = auth_reply_token(r, s, a.u, &a.issue);
out:
    auth_user_free(a.u);
    json_decref(b);
    return rc;
}

/* ---- password grant ---- */

typedef struct signin_arg {
    const char *user_id;
    const char *verified_hash; /* the hash the password was checked against */
    char *new_hash;            /* replaces it when still current (upgrade) */
    int64_t now_ms;
    auth_user *u; /* out */
    auth_issue issue;
    bool gone;
} signin_arg;

static int signin_fn(db_conn *w, void *p)
{
    signin_arg *a = p;
    int rc = auth_user_reload(w, a->user_id, &a->u, &a->gone);
    if (rc || a->gone)
        return rc;
    if (a->new_hash && a->u->password_hash && strcmp(a->u->password_hash, a->verified_hash) == 0) {
        free(a->u->password_hash);
        a->u->password_hash = a->new_hash;
        a->new_hash = NULL;
    }
    a->u->last_sign_in_at = a->now_ms;
    rc = auth_user_save(w, a->u, NULL, a->now_ms);
    if (!rc)
        rc = auth_session_create(w, a->u, "password", a->now_ms, &a->issue);
    if (rc) {
        auth_user_free(a->u);
        a->u = NULL;
    }
    return rc;
}

/* The body's e-mail (lower-cased into em) and password; false after
 * answering.  Only lengths are checked: a stored account has a valid
 * e-mail, and any other one is simply unknown. */
static bool password_fields(http_req *r, json_t *b, char em[AUTH_EMAIL_MAX + 1], json_t **pw)
{
    json_t *email = field(b, "email");
    *pw = field(b, "password");
    if (empty_string(email) && !empty_string(field(b, "phone"))) {
        auth_reply_error(r, AUTH_E_PHONE_LOGIN_DISABLED, NULL);
        return false;
    }
    if (!json_is_string(email) || empty_string(email) || !json_is_string(*pw)) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "A valid email and password are required");
        return false;
    }
    if (json_string_length(email) > AUTH_EMAIL_MAX) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "An email address is too long");
        return false;
    }
    if (json_string_length(*pw) > AUTH_PASSWORD_MAX) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Password is too long (at most 1024 bytes)");
        return false;
    }
    const char *e = json_string_value(email);
    size_t n = json_string_length(email);
    for (size_t i = 0; i < n; i++)
        em[i] = (char)tolower((unsigned char)e[i]);
    em[n] = '\0';
    return true;
}

/* The user of em whose password pw is, who may sign in at *now (when the
 * password was checked) (*u, the caller frees it; *rehash when the stored
 * hash wants replacing); false after answering.  An unknown e-mail costs
 * one verification too. */
static bool password_user(http_req *r, auth_service *s, const char *em, json_t *pw, int64_t *now, auth_user **u,
                          bool *rehash)
{
    int rc = auth_user_read(http_app(r)->store, NULL, em, u);
    if (rc && rc != BS_ENOTFOUND) {
        auth_reply_fail(r, "looking up a user", rc);
        return false;
    }
    bool ok = false; /* no such user or no password: the dummy is checked (timing) */
    rc = auth_password_verify(s->passwords, json_string_value(pw), json_string_length(pw),
                              *u ? (*u)->password_hash : NULL, &ok, rehash);
    if (rc && rc != BS_EINVAL) {
        auth_reply_fail(r, "verifying a password", rc);
        return false;
    }
    if (!*u || !(*u)->password_hash || !ok) {
        auth_reply_error(r, AUTH_E_INVALID_CREDENTIALS, NULL);
        return false;
    }
    *now = time_now_ms();
    if (auth_user_banned(*u, *now)) {
        auth_reply_error(r, AUTH_E_USER_BANNED, NULL);
        return false;
    }
    if (!(*u)->email_confirmed_at) {
        auth_reply_error(r, AUTH_E_EMAIL_NOT_CONFIRMED, NULL);
        return false;
    }
    return true;
}

/* Open a session for u (replacing its hash by new_hash, stolen, when it
 * is still the one verified) and answer the tokens. */
static int password_session(http_req *r, auth_service *s, const auth_user *u, char *new_hash, int64_t now)
{
    signin_arg a;
    memset(&a, 0, sizeof a);
    a.user_id = u->id;
    a.verified_hash = u->password_hash;
    a.new_hash = new_hash;
    a.now_ms = now;
    int rc = db_write(http_app(r)->store, signin_fn, &a);
    if (rc) {
        rc = auth_reply_fail(r, "signing in", rc);
    } else if (a.gone) {
        rc = auth_reply_error(r, AUTH_E_INVALID_CREDENTIALS, NULL);
    } else {
        if (new_hash && !a.new_hash)
            log_info("auth: upgraded the password hash of user %s", u->id);
        rc = auth_reply_token(r, s, a.u, &a.issue);
    }
    free(a.new_hash);
    auth_user_free(a.u);
    return rc;
}

static int grant_password(http_req *r, auth_service *s)
{
    if (!auth_rate(r, s, s->rl_signin))
        return BS_OK;
    json_t *b = NULL, *pw = NULL;
    auth_user *u = NULL;
    char em[AUTH_EMAIL_MAX + 1];
    bool rehash = false;
    int64_t now = 0;
    int rc = BS_OK;
    if (auth_body(r, &b) || !password_fields(r, b, em, &pw) || !password_user(r, s, em, pw, &now, &u, &rehash))
        goto out;
    char *new_hash = NULL;
    if (rehash && auth_password_hash(s->passwords, json_string_value(pw), json_string_length(pw), &new_hash) != BS_OK)
        new_hash = NULL; /* keep the old hash; try again next time */
    rc = password_session(r, s, u, new_hash, now);
out:
    auth_user_free(u);
    json_decref(b);
    return rc;
}

/* ---- refresh grant ---- */

typedef struct refresh_arg {
    auth_service *s;
    auth_refresh_req rq; /* key and child, computed before the write */
    int64_t now_ms;
    auth_issue issue;
    auth_user *u;
    int outcome;
} refresh_arg;

static int refresh_fn(db_conn *w, void *p)
{
    refresh_arg *a = p;
    return auth_refresh_exchange(a->s, w, &a->rq, a->now_ms, &a->issue, &a->u, &a->outcome);
}

static int grant_refresh(http_req *r, auth_service *s)
{
    if (!auth_rate(r, s, s->rl_refresh))
        return BS_OK;
    json_t *b = NULL;
    int rc = BS_OK;
    if (auth_body(r, &b))
        goto out;
    json_t *t = field(b, "refresh_token");
    if (!json_is_string(t) || json_string_length(t) == 0) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "refresh_token required");
        goto out;
    }
    if (json_string_length(t) > 256 || strlen(json_string_value(t)) != json_string_length(t)) {
        auth_reply_error(r, AUTH_E_REFRESH_TOKEN_NOT_FOUND, NULL);
        goto out;
    }
    refresh_arg a;
    memset(&a, 0, sizeof a);
    a.s = s;
    a.now_ms = time_now_ms();
    a.outcome = AUTH_REFRESH_NOT_FOUND;
    /* hashing and the child's random bits need no database: not on the writer */
    rc = auth_refresh_prepare(json_string_value(t), a.now_ms, &a.rq);
    if (!rc)
        rc = db_write(http_app(r)->store, refresh_fn, &a);
    if (rc) {
        auth_user_free(a.u);
        rc = auth_reply_fail(r, "refreshing a session", rc);
        goto out;
    }
    switch (a.outcome) {
    case AUTH_REFRESH_OK: rc = auth_reply_token(r, s, a.u, &a.issue); break;
    case AUTH_REFRESH_REUSED: rc = auth_reply_error(r, AUTH_E_REFRESH_TOKEN_REUSED, NULL); break;
    case AUTH_REFRESH_BANNED: rc = auth_reply_error(r, AUTH_E_USER_BANNED, NULL); break;
    default: rc = auth_reply_error(r, AUTH_E_REFRESH_TOKEN_NOT_FOUND, NULL); break;
    }
    auth_user_free(a.u);
out:
    json_decref(b);
    return rc;
}

int auth_ep_token(http_req *r, auth_service *s)
{
    const char *g = http_param(r, "grant_type");
    if (g && strcmp(g, "password") == 0)
        return grant_password(r, s);
    if (g && strcmp(g, "refresh_token") == 0)
        return grant_refresh(r, s);
    return auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "unsupported_grant_type: use password or refresh_token");
}

/* ---- recovery and confirmation tokens ---- */

typedef struct ott_arg {
    const char *email;
    const char *type;  /* "recovery" | "signup" */
    const char *event; /* "recovery_requested" | "confirmation_requested" */
    const char *redirect_to;
    int64_t now_ms;
    bool sent;
} ott_arg;

/* The observed copy of an auth.events document: ev plus the token and its
 * hash (malloc'd JSON text, NULL on allocation failure). */
static char *with_token(json_t *ev, const char *token)
{
    uint8_t h[AUTH_HASH_LEN];
    char hex[2 * AUTH_HASH_LEN + 1];
    auth_sha256(token, strlen(token), h);
    for (size_t i = 0; i < AUTH_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    json_t *o = json_copy(ev);
    char *t = NULL;
    if (o && !json_object_set_new(o, "token", json_string(token)) &&
        !json_object_set_new(o, "token_hash", json_string(hex)))
        t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

static int ott_fn(db_conn *w, void *p)
{
    ott_arg *a = p;
    auth_user *u = NULL;
    char *ev = NULL, *observed = NULL;
    json_t *evj = NULL;
    int rc = auth_user_load(w, NULL, a->email, &u);
    if (rc == BS_ENOTFOUND)
        return BS_OK; /* answer as if sent: no account enumeration */
    if (rc)
        return rc;
    bool signup = strcmp(a->type, "signup") == 0;
    if (signup && u->email_confirmed_at)
        goto out; /* nothing to confirm */
    char token[AUTH_TOKEN_LEN + 1];
    rc = auth_ott_create(w, u->id, a->type, u->email, a->now_ms, token);
    if (rc)
        goto out;
    if (signup)
        u->confirmation_sent_at = a->now_ms;
    else
        u->recovery_sent_at = a->now_ms;
    rc = auth_user_save(w, u, NULL, a->now_ms);
    if (rc)
        goto out;
    char evid[UUID_STR_LEN + 1];
    rc = uuid_v4(evid);
    if (rc)
        goto out;
    evj = json_pack("{s:s,s:o,s:s,s:s,s:s?}", "event", a->event, "user", auth_user_json(u), "type", a->type, "email",
                    u->email, "redirect_to", a->redirect_to);
    ev = evj ? json_dumps(evj, JSON_COMPACT) : NULL;
    observed = evj ? with_token(evj, token) : NULL;
    OPENSSL_cleanse(token, sizeof token);
    if (!ev || !observed) {
        rc = BS_ENOMEM;
        goto out;
    }
    rc = db_changelog_append_private(w, "auth.events", "INSERT", evid, ev, observed, a->now_ms);
    if (!rc) {
        a->sent = true;
        log_debug("auth: %s for %s (event %s)", a->event, u->email, evid);
    }
out:
    if (observed) {
        OPENSSL_cleanse(observed, strlen(observed));
        free(observed);
    }
    free(ev);
    json_decref(evj);
    auth_user_free(u);
    return rc;
}

static int request_ott(http_req *r, auth_service *s, json_t *b, const char *type, const char *event)
{
    char em[AUTH_EMAIL_MAX + 1];
    json_t *email = field(b, "email");
    if (!email) {
        return auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "An email address is required");
    }
    if (!auth_valid_email(r, email, em, sizeof em))
        return BS_OK;
    ott_arg a = {em, type, event, http_param(r, "redirect_to"), time_now_ms(), false};
    int rc = db_write(http_app(r)->store, ott_fn, &a);
    if (rc)
        return auth_reply_fail(r, "creating a one-time token", rc);
    return auth_reply_json(r, 200, json_object());
}

int auth_ep_recover(http_req *r, auth_service *s)
{
    if (!auth_rate(r, s, s->rl_recover))
        return BS_OK;
    json_t *b = NULL;
    if (auth_body(r, &b))
        return BS_OK;
    int rc = request_ott(r, s, b, "recovery", "recovery_requested");
    json_decref(b);
    return rc;
}

int auth_ep_resend(http_req *r, auth_service *s)
{
    if (!auth_rate(r, s, s->rl_recover))
        return BS_OK;
    json_t *b = NULL;
    if (auth_body(r, &b))
        return BS_OK;
    int rc;
    const char *type = json_string_value(field(b, "type"));
    if (!type || strcmp(type, "signup") != 0)
        rc = auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Only type \"signup\" can be resent");
    else
        rc = request_ott(r, s, b, "signup", "confirmation_requested");
    json_decref(b);
    return rc;
}

/* ---- verify ---- */

enum { VERIFY_OK, VERIFY_INVALID, VERIFY_EXPIRED, VERIFY_BANNED };

typedef struct verify_arg {
    uint8_t hash[AUTH_HASH_LEN];
    const char *type;
    const char *email; /* expected e-mail or NULL */
    int64_t now_ms;
    int outcome;
    auth_user *u;
    auth_issue issue;
} verify_arg;

static int verify_fn(db_conn *w, void *p)
{
    verify_arg *a = p;
    char uid[UUID_STR_LEN + 1], email[AUTH_EMAIL_MAX + 1];
    a->outcome = VERIFY_INVALID;
    int rc = auth_ott_consume(w, a->hash, a->type, a->now_ms, uid, email, sizeof email);
    if (rc == BS_ENOTFOUND)
        return BS_OK;
    if (rc == BS_EEXPIRED) {
        a->outcome = VERIFY_EXPIRED;
        return BS_OK; /* keep the deletion */
    }
    if (rc)
        return rc;
    if (a->email && strcmp(a->email, email) != 0)
        return BS_ENOTFOUND; /* roll back: the token stays usable by its owner */
    rc = auth_user_load(w, uid, NULL, &a->u);
    if (rc == BS_ENOTFOUND)
        return BS_OK;
    if (rc)
        return rc;
    if (auth_user_banned(a->u, a->now_ms)) {
        a->outcome = VERIFY_BANNED;
        return BS_OK;
    }
    char *old = NULL;
    if (!a->u->email_confirmed_at) {
        old = auth_user_json_text(a->u);
        if (!old)
            return BS_ENOMEM;
        a->u->email_confirmed_at = a->now_ms;
        a->u->updated_at = a->now_ms;
    }
    a->u->last_sign_in_at = a->now_ms;
    rc = auth_user_save(w, a->u, old, a->now_ms);
    free(old);
    if (!rc)
        rc = auth_session_create(w, a->u, strcmp(a->type, "recovery") == 0 ? "recovery" : "otp", a->now_ms, &a->issue);
    if (!rc)
        a->outcome = VERIFY_OK;
    return rc;
}

static bool hexdigits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

int auth_ep_verify(http_req *r, auth_service *s)
{
    if (!auth_rate(r, s, s->rl_signin))
        return BS_OK;
    json_t *b = NULL;
    if (auth_body(r, &b))
        return BS_OK;
    int rc = BS_OK;
    verify_arg a;
    memset(&a, 0, sizeof a);
    const char *type = json_string_value(field(b, "type"));
    json_t *tok = field(b, "token"), *th = field(b, "token_hash"), *email = field(b, "email");
    char em[AUTH_EMAIL_MAX + 1];
    if (!type) {
        rc = auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Verify requires a verification type");
        goto out;
    }
    if (strcmp(type, "recovery") == 0)
        a.type = "recovery";
    else if (strcmp(type, "signup") == 0 || strcmp(type, "email") == 0)
        a.type = "signup";
    else {
        rc = auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Unsupported verification type");
        goto out;
    }
    const char *t = json_string_value(tok ? tok : th);
    size_t tl = t ? strlen(t) : 0;
    if (!t || !tl || tl > 256) {
        rc = auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Verify requires a token or a token_hash");
        goto out;
    }
    if (!tok && tl == 2 * AUTH_HASH_LEN && hexdigits(t, tl)) {
        for (size_t i = 0; i < AUTH_HASH_LEN; i++) {
            unsigned v;
            sscanf(t + 2 * i, "%2x", &v);
            a.hash[i] = (uint8_t)v;
        }
    } else {
        auth_sha256(t, tl, a.hash);
    }
    if (email) {
        if (!auth_valid_email(r, email, em, sizeof em))
            goto out;
        a.email = em;
    }
    a.now_ms = time_now_ms();
    rc = db_write(http_app(r)->store, verify_fn, &a);
    if (rc && rc != BS_ENOTFOUND) {
        rc = auth_reply_fail(r, "verifying a token", rc);
        goto out;
    }
    if (rc == BS_ENOTFOUND)
        a.outcome = VERIFY_INVALID;
    switch (a.outcome) {
    case VERIFY_OK: rc = auth_reply_token(r, s, a.u, &a.issue); break;
    case VERIFY_BANNED: rc = auth_reply_error(r, AUTH_E_USER_BANNED, NULL); break;
    default: rc = auth_reply_error(r, AUTH_E_OTP_EXPIRED, NULL); break;
    }
out:
    auth_user_free(a.u);
    json_decref(b);
    return rc;
}
