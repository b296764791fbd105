/* admin.c - GoTrue's admin API over users: GET/POST /admin/users and
 * GET/PUT/DELETE /admin/users/{id}.  service_role only (403 not_admin).
 *
 * Listing is paginated like GoTrue (page from 1, per_page default 50, both
 * may arrive empty as supabase-js sends them) with X-Total-Count and a
 * Link header holding rel="next" (when there is a next page) and
 * rel="last" (spec §2.3).  Admin-created users may bring a bcrypt
 * `password_hash`; it is verified at sign-in and upgraded to scrypt then.
 */
#include "auth/auth_int.h"
#include "app/app.h"
#include "core/password.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse an optional positive integer query parameter. */
static bool page_param(http_req *r, const char *name, int64_t def, int64_t *out)
{
    const char *v = http_param(r, name);
    *out = def;
    if (!v || !*v)
        return true;
    int64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > 100000000)
            return false;
        n = n * 10 + (*p - '0');
    }
    if (n < 1)
        return false;
    *out = n;
    return true;
}

static int list_users(http_req *r)
{
    int64_t page, per;
    if (!page_param(r, "page", 1, &page) || !page_param(r, "per_page", AUTH_PER_PAGE_DEFAULT, &per))
        return auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "page and per_page must be positive integers");
    if (per > AUTH_PER_PAGE_MAX)
        per = AUTH_PER_PAGE_MAX;
    json_t *users = json_array();
    int64_t total = 0;
    db_conn *rd = db_reader(http_app(r)->store);
    int rc = !users ? BS_ENOMEM : rd ? auth_user_list(rd, (page - 1) * per, per, users, &total) : BS_EDB;
    if (rc) {
        json_decref(users);
        return auth_reply_fail(r, "listing users", rc);
    }
    int64_t last = (total + per - 1) / per;
    char link[256], cnt[32];
    int n = 0;
    if (page < last)
        n = snprintf(link, sizeof link, "</admin/users?page=%lld&per_page=%lld>; rel=\"next\", ", (long long)(page + 1),
                     (long long)per);
    snprintf(link + n, sizeof link - (size_t)n, "</admin/users?page=%lld&per_page=%lld>; rel=\"last\"", (long long)last,
             (long long)per);
    snprintf(cnt, sizeof cnt, "%lld", (long long)total);
    http_add_header(r, "X-Total-Count", cnt);
    http_add_header(r, "Link", link);
    return auth_reply_json(r, 200, json_pack("{s:o,s:s}", "users", users, "aud", "authenticated"));
}

/* ---- attributes of create and update ---- */

typedef struct attrs {
    char email[AUTH_EMAIL_MAX + 1];
    bool has_email;
    char *pw_hash;                        /* from password (hashed) or password_hash */
    int email_confirm;                    /* -1 absent, 0, 1 */
    json_t *user_metadata, *app_metadata; /* borrowed from the body */
    const char *role;
    bool has_ban;
    int64_t ban_ms; /* 0 = "none" */
    char id[UUID_STR_LEN + 1];
} attrs;

static bool valid_role(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* phone (refused) and email (required to create); false after answering. */
static bool read_email(http_req *r, json_t *b, attrs *a, bool create)
{
    json_t *v;
    if ((v = json_object_get(b, "phone")) && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v))) {
        auth_reply_error(r, AUTH_E_PHONE_DISABLED, "Phone users are not supported");
        return false;
    }
    if ((v = json_object_get(b, "email")) && !json_is_null(v)) {
        if (!auth_valid_email(r, v, a->email, sizeof a->email))
            return false;
        a->has_email = true;
    } else if (create) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Unable to validate email address: an email is required");
        return false;
    }
    return true;
}

/* password (hashed here, on the worker) or password_hash (an import),
 * not both; false after answering. */
static bool read_password(http_req *r, auth_service *s, json_t *b, attrs *a)
{
    json_t *pw = json_object_get(b, "password"), *ph = json_object_get(b, "password_hash");
    if (json_is_null(pw))
        pw = NULL;
    if (json_is_null(ph))
        ph = NULL;
    if (pw && ph) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Only one of password or password_hash can be set");
        return false;
    }
    if (pw) {
        const char *p;
        size_t n;
        if (!auth_valid_password(r, s, pw, &p, &n))
            return false;
        int rc = auth_password_hash(s->passwords, p, n, &a->pw_hash);
        if (rc) {
            auth_reply_fail(r, "hashing a password", rc);
            return false;
        }
    } else if (ph) {
        if (!json_is_string(ph) || !auth_password_hash_valid(json_string_value(ph))) {
            auth_reply_error(r, AUTH_E_VALIDATION_FAILED,
                             "Invalid password hash: expected bcrypt ($2a$, $2b$, $2y$, cost 4-16) or $scrypt$");
            return false;
        }
        if (!(a->pw_hash = strdup(json_string_value(ph)))) {
            auth_reply_fail(r, "copying a hash", BS_ENOMEM);
            return false;
        }
    }
    return true;
}

/* email_confirm, the metadata objects, role and ban_duration; false after
 * answering. */
static bool read_settings(http_req *r, json_t *b, attrs *a)
{
    json_t *v;
    if ((v = json_object_get(b, "email_confirm")) && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "email_confirm must be a boolean");
            return false;
        }
        a->email_confirm = json_is_true(v);
    }
    a->user_metadata = json_object_get(b, "user_metadata");
    a->app_metadata = json_object_get(b, "app_metadata");
    if (!auth_valid_object(r, a->user_metadata, "user_metadata") ||
        !auth_valid_object(r, a->app_metadata, "app_metadata"))
        return false;
    if ((v = json_object_get(b, "role")) && !json_is_null(v)) {
        if (!json_is_string(v) || !valid_role(json_string_value(v))) {
            auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "role must be a lower-case name ([a-z0-9_], at most 63)");
            return false;
        }
        a->role = json_string_value(v);
    }
    if ((v = json_object_get(b, "ban_duration")) && !json_is_null(v)) {
        if (!json_is_string(v) || auth_parse_duration(json_string_value(v), &a->ban_ms) != BS_OK) {
            auth_reply_error(r, AUTH_E_VALIDATION_FAILED,
                             "invalid format for ban duration: use \"none\" or e.g. \"24h\", \"100y\"");
            return false;
        }
        a->has_ban = true;
    }
    return true;
}

/* The id a create may choose (a UUID, lower-cased); false after answering. */
static bool read_id(http_req *r, json_t *b, attrs *a)
{
    json_t *v = json_object_get(b, "id");
    if (!v || json_is_null(v))
        return true;
    const char *id = json_string_value(v);
    size_t n = id ? strlen(id) : 0;
    for (size_t i = 0; i < n && i < UUID_STR_LEN; i++)
        a->id[i] = (char)tolower((unsigned char)id[i]);
    if (n != UUID_STR_LEN || !uuid_valid(a->id, n)) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "id must be a UUID");
        return false;
    }
    return true;
}

/* Validate and prepare the attributes, part by part; the first bad one
 * answers and makes it false. */
static bool read_attrs(http_req *r, auth_service *s, json_t *b, attrs *a, bool create)
{
    memset(a, 0, sizeof *a);
    a->email_confirm = -1;
    return read_email(r, b, a, create) && read_password(r, s, b, a) && read_settings(r, b, a) &&
           (!create || read_id(r, b, a));
}

static int apply_attrs(auth_user *u, attrs *a, int64_t now_ms, bool *banned_now)
{
    *banned_now = false;
    if (a->has_email && (!u->email || strcmp(u->email, a->email) != 0)) {
        int rc = auth_user_set_email(u, a->email);
        if (rc)
            return rc;
    }
    if (a->pw_hash) {
        free(u->password_hash);
        u->password_hash = a->pw_hash;
        a->pw_hash = NULL;
    }
    if (a->email_confirm == 1 && !u->email_confirmed_at)
        u->email_confirmed_at = now_ms;
    if (a->user_metadata && json_is_object(a->user_metadata))
        auth_merge_metadata(u->user_metadata, a->user_metadata);
    if (a->app_metadata && json_is_object(a->app_metadata))
        auth_merge_metadata(u->app_metadata, a->app_metadata);
    if (a->role) {
        char *rl = strdup(a->role);
        if (!rl)
            return BS_ENOMEM;
        free(u->role);
        u->role = rl;
    }
    if (a->has_ban) {
        u->banned_until = a->ban_ms ? now_ms + a->ban_ms : 0;
        *banned_now = a->ban_ms != 0;
    }
    u->updated_at = now_ms;
    return BS_OK;
}

typedef struct admin_arg {
    const char *id;
    attrs *a;
    int64_t now_ms;
    int op;       /* 0 create, 1 update, 2 delete */
    auth_user *u; /* in (create) / out */
    bool gone;
    const char *too_big; /* out: the metadata over the limit */
} admin_arg;

static int admin_fn(db_conn *w, void *p)
{
    admin_arg *x = p;
    bool banned = false;
    int rc;
    if (x->op == 0) {
        rc = apply_attrs(x->u, x->a, x->now_ms, &banned);
        if (!rc)
            rc = auth_user_metadata_check(x->u, &x->too_big);
        return rc ? rc : auth_user_insert(w, x->u, x->now_ms);
    }
    rc = auth_user_reload(w, x->id, &x->u, &x->gone);
    if (rc || x->gone)
        return rc;
    if (x->op == 2)
        return auth_user_delete(w, x->u, x->now_ms);
    char *old = auth_user_json_text(x->u);
    if (!old)
        return BS_ENOMEM;
    rc = apply_attrs(x->u, x->a, x->now_ms, &banned);
    if (!rc)
        rc = auth_user_metadata_check(x->u, &x->too_big);
    if (!rc)
        rc = auth_user_save(w, x->u, old, x->now_ms);
    if (!rc && banned) /* a ban ends the user's sessions */
        rc = auth_sessions_revoke(w, x->u->id, "", AUTH_SCOPE_GLOBAL);
    free(old);
    return rc;
}

/* Answer the outcome of an admin_fn write: the user, or why not. */
static int answer_write(http_req *r, int rc, const admin_arg *x, const char *what)
{
    if (rc == BS_ETOOBIG)
        return auth_reply_metadata_too_big(r, x->too_big);
    if (rc == BS_EEXISTS)
        return auth_reply_error(r, AUTH_E_EMAIL_EXISTS, NULL);
    if (rc)
        return auth_reply_fail(r, what, rc);
    if (x->gone)
        return auth_reply_error(r, AUTH_E_USER_NOT_FOUND, NULL);
    return auth_reply_json(r, 200, auth_user_json(x->u));
}

static int create_user(http_req *r, auth_service *s)
{
    json_t *b = NULL;
    attrs a;
    memset(&a, 0, sizeof a);
    admin_arg x = {NULL, &a, time_now_ms(), 0, NULL, false, NULL};
    int rc = BS_OK;
    if (auth_body(r, &b))
        goto out;
    if (!read_attrs(r, s, b, &a, true))
        goto out;
    x.u = auth_user_new();
    if (!x.u) {
        rc = auth_reply_fail(r, "creating a user", BS_ENOMEM);
        goto out;
    }
    if (a.id[0])
        memcpy(x.u->id, a.id, sizeof a.id);
    else if ((rc = uuid_v4(x.u->id)) != BS_OK) {
        rc = auth_reply_fail(r, "making an id", rc);
        goto out;
    }
    x.u->created_at = x.u->updated_at = x.now_ms; /* the e-mail (provider "email") comes with apply_attrs */
    if (a.id[0] && auth_user_exists(http_app(r)->store, a.id, NULL) == BS_OK) {
        rc = auth_reply_error(r, AUTH_E_USER_ALREADY_EXISTS, "A user with this id already exists");
        goto out;
    }
    rc = answer_write(r, db_write(http_app(r)->store, admin_fn, &x), &x, "creating a user");
out:
    free(a.pw_hash);
    auth_user_free(x.u);
    json_decref(b);
    return rc;
}

/* The user id of a path segment, lower-cased; false when it is no UUID. */
static bool path_user_id(const char *raw, char id[UUID_STR_LEN + 1])
{
    size_t n = strlen(raw);
    if (n != UUID_STR_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        id[i] = (char)tolower((unsigned char)raw[i]);
    id[n] = '\0';
    return uuid_valid(id, n);
}

/* PUT (update) or DELETE /admin/users/{id}. */
static int change_user(http_req *r, auth_service *s, const char *id, bool update)
{
    json_t *b = NULL;
    attrs a;
    memset(&a, 0, sizeof a);
    admin_arg x = {id, &a, time_now_ms(), update ? 1 : 2, NULL, false, NULL};
    int rc = BS_OK;
    if (auth_body(r, &b))
        goto out;
    if (update && !read_attrs(r, s, b, &a, false))
        goto out;
    rc = db_write(http_app(r)->store, admin_fn, &x);
    rc = answer_write(r, rc, &x, update ? "updating a user" : "deleting a user");
out:
    free(a.pw_hash);
    auth_user_free(x.u);
    json_decref(b);
    return rc;
}

static int one_user(http_req *r, auth_service *s, const char *raw)
{
    char id[UUID_STR_LEN + 1];
    if (!path_user_id(raw, id))
        return auth_reply_error(r, AUTH_E_USER_NOT_FOUND, NULL);
    unsigned m = http_method(r);
    if (m == HTTP_GET)
        return auth_reply_user(r, id, AUTH_E_USER_NOT_FOUND);
    if (m != HTTP_PUT && m != HTTP_DELETE)
        return auth_reply_error(r, AUTH_E_METHOD_NOT_ALLOWED, NULL);
    return change_user(r, s, id, m == HTTP_PUT);
}

typedef struct revoke_arg {
    const char *id;
} revoke_arg;

static int revoke_fn(db_conn *w, void *p)
{
    revoke_arg *x = p;
    auth_user *u = NULL;
    int rc = auth_user_load(w, x->id, NULL, &u);
    auth_user_free(u);
    return rc ? rc : auth_sessions_revoke(w, x->id, "", AUTH_SCOPE_GLOBAL);
}

/* DELETE /admin/users/{id}/sessions: sign the user out everywhere (a
 * Basalt extension the console uses; GoTrue has no such endpoint).  Access
 * tokens already issued stay valid until they expire, except at /user and
 * /logout, which check the session. */
static int revoke_sessions(http_req *r, const char *raw)
{
    char id[UUID_STR_LEN + 1];
    if (!path_user_id(raw, id))
        return auth_reply_error(r, AUTH_E_USER_NOT_FOUND, NULL);
    if (http_method(r) != HTTP_DELETE)
        return auth_reply_error(r, AUTH_E_METHOD_NOT_ALLOWED, NULL);
    revoke_arg x = {id};
    int rc = db_write(http_app(r)->store, revoke_fn, &x);
    if (rc == BS_ENOTFOUND)
        return auth_reply_error(r, AUTH_E_USER_NOT_FOUND, NULL);
    if (rc)
        return auth_reply_fail(r, "revoking sessions", rc);
    return auth_reply_json(r, 200, json_object());
}

int auth_ep_admin_users(http_req *r, auth_service *s, const char *path)
{
    if (!auth_is_service(r))
        return auth_reply_error(r, AUTH_E_NOT_ADMIN, NULL);
    unsigned m = http_method(r);
    if (!*path || strcmp(path, "/") == 0) {
        if (m == HTTP_GET)
            return list_users(r);
        if (m == HTTP_POST)
            return create_user(r, s);
        return auth_reply_error(r, AUTH_E_METHOD_NOT_ALLOWED, NULL);
    }
    size_t pl = strlen(path);
    if (pl == 1 + UUID_STR_LEN + 9 && strcmp(path + 1 + UUID_STR_LEN, "/sessions") == 0) {
        char idbuf[UUID_STR_LEN + 1];
        memcpy(idbuf, path + 1, UUID_STR_LEN);
        idbuf[UUID_STR_LEN] = '\0';
        return revoke_sessions(r, idbuf);
    }
    /* one_user answers user_not_found for anything that is not a UUID,
     * including deeper paths (factors, identities: not supported) */
    return one_user(r, s, path + 1);
}
