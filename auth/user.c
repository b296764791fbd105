/* user.c - the user row of _basalt_users and its GoTrue JSON; see
 * auth_int.h.
 *
 * The JSON follows GoTrue's models/user.go: empty optional timestamps are
 * omitted, `email`/`phone` are "" when absent, `confirmed_at` mirrors the
 * first confirmation, and an e-mail user has one "email" identity.
 * Timestamps are ISO-8601 UTC with milliseconds.
 */
#include "auth/auth_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/changelog.h"

#include <stdlib.h>
#include <string.h>

#define COLS                                                                                \
    "id, email, phone, password_hash, role, aud, email_confirmed_at, phone_confirmed_at, "  \
    "last_sign_in_at, recovery_sent_at, confirmation_sent_at, banned_until, app_metadata, " \
    "user_metadata, identity_id, is_anonymous, created_at, updated_at"

auth_user *auth_user_new(void)
{
    auth_user *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->app_metadata = json_object();
    u->user_metadata = json_object();
    u->role = strdup("authenticated");
    u->aud = strdup("authenticated");
    if (!u->app_metadata || !u->user_metadata || !u->role || !u->aud) {
        auth_user_free(u);
        return NULL;
    }
    return u;
}

void auth_user_free(auth_user *u)
{
    if (!u)
        return;
    free(u->email);
    free(u->phone);
    free(u->password_hash);
    free(u->role);
    free(u->aud);
    json_decref(u->app_metadata);
    json_decref(u->user_metadata);
    free(u);
}

bool auth_user_banned(const auth_user *u, int64_t now_ms) { return u->banned_until && u->banned_until > now_ms; }

static char *col_dup(sqlite3_stmt *st, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return NULL;
    char *d = strdup((const char *)t);
    if (!d)
        *oom = true;
    return d;
}

/* app/user metadata the server serialised from bodies auth_parse_body
 * admitted (at most JSONIN_MAX_DEPTH deep): plain jansson, and never
 * refused here, which would drop a user's metadata on the next save. */
static json_t *col_obj(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *j = t ? json_loads(t, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

static int row_to_user(sqlite3_stmt *st, auth_user **out)
{
    auth_user *u = calloc(1, sizeof *u);
    if (!u)
        return BS_ENOMEM;
    bool oom = false;
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(u->id, sizeof u->id, "%s", id ? id : "");
    u->email = col_dup(st, 1, &oom);
    u->phone = col_dup(st, 2, &oom);
    u->password_hash = col_dup(st, 3, &oom);
    u->role = col_dup(st, 4, &oom);
    u->aud = col_dup(st, 5, &oom);
    u->email_confirmed_at = sqlite3_column_int64(st, 6);
    u->phone_confirmed_at = sqlite3_column_int64(st, 7);
    u->last_sign_in_at = sqlite3_column_int64(st, 8);
    u->recovery_sent_at = sqlite3_column_int64(st, 9);
    u->confirmation_sent_at = sqlite3_column_int64(st, 10);
    u->banned_until = sqlite3_column_int64(st, 11);
    u->app_metadata = col_obj(st, 12);
    u->user_metadata = col_obj(st, 13);
    const char *iid = (const char *)sqlite3_column_text(st, 14);
    snprintf(u->identity_id, sizeof u->identity_id, "%s", iid ? iid : "");
    u->is_anonymous = sqlite3_column_int(st, 15) != 0;
    u->created_at = sqlite3_column_int64(st, 16);
    u->updated_at = sqlite3_column_int64(st, 17);
    if (!u->role && !oom)
        oom = !(u->role = strdup("authenticated"));
    if (!u->aud && !oom)
        oom = !(u->aud = strdup("authenticated"));
    if (oom || !u->app_metadata || !u->user_metadata) {
        auth_user_free(u);
        return BS_ENOMEM;
    }
    *out = u;
    return BS_OK;
}

int auth_user_load(db_conn *c, const char *id, const char *email, auth_user **out)
{
    *out = NULL;
    static const char by_id[] = "SELECT " COLS " FROM _basalt_users WHERE id = ?";
    static const char by_email[] = "SELECT " COLS " FROM _basalt_users WHERE email = ?";
    const char *q = id ? by_id : by_email;
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, id ? id : email, -1, SQLITE_STATIC);
    int rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        rc = row_to_user(st, out);
    else
        rc = s == SQLITE_DONE ? BS_ENOTFOUND : BS_EDB;
    db_stmt_done(st);
    return rc;
}

static int set_time(json_t *o, const char *k, int64_t ms)
{
    if (!ms)
        return 0;
    char t[32];
    time_iso_ms(ms, t);
    return json_object_set_new(o, k, json_string(t));
}

json_t *auth_user_json(const auth_user *u)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int64_t confirmed = u->email_confirmed_at ? u->email_confirmed_at : u->phone_confirmed_at;
    int e = 0;
    e |= json_object_set_new(o, "id", json_string(u->id));
    e |= json_object_set_new(o, "aud", json_string(u->aud));
    e |= json_object_set_new(o, "role", json_string(u->role));
    e |= json_object_set_new(o, "email", json_string(u->email ? u->email : ""));
    e |= set_time(o, "email_confirmed_at", u->email_confirmed_at);
    e |= json_object_set_new(o, "phone", json_string(u->phone ? u->phone : ""));
    e |= set_time(o, "phone_confirmed_at", u->phone_confirmed_at);
    e |= set_time(o, "confirmation_sent_at", u->confirmation_sent_at);
    e |= set_time(o, "recovery_sent_at", u->recovery_sent_at);
    e |= set_time(o, "confirmed_at", confirmed);
    e |= set_time(o, "last_sign_in_at", u->last_sign_in_at);
    e |= json_object_set(o, "app_metadata", u->app_metadata);
    e |= json_object_set(o, "user_metadata", u->user_metadata);
    json_t *ids = json_array();
    if (ids && u->identity_id[0] && u->email) {
        json_t *idn = json_object(), *data = json_object();
        if (idn && data) {
            json_object_set_new(data, "email", json_string(u->email));
            json_object_set_new(data, "email_verified", json_boolean(u->email_confirmed_at != 0));
            json_object_set_new(data, "phone_verified", json_false());
            json_object_set_new(data, "sub", json_string(u->id));
            json_object_set_new(idn, "identity_id", json_string(u->identity_id));
            json_object_set_new(idn, "id", json_string(u->id));
            json_object_set_new(idn, "user_id", json_string(u->id));
            json_object_set(idn, "identity_data", data);
            json_object_set_new(idn, "provider", json_string("email"));
            set_time(idn, "last_sign_in_at", u->last_sign_in_at ? u->last_sign_in_at : u->created_at);
            set_time(idn, "created_at", u->created_at);
            set_time(idn, "updated_at", u->updated_at);
            json_object_set_new(idn, "email", json_string(u->email));
            e |= json_array_append(ids, idn);
        } else {
            e = -1;
        }
        json_decref(idn);
        json_decref(data);
    }
    e |= json_object_set_new(o, "identities", ids);
    e |= set_time(o, "created_at", u->created_at);
    e |= set_time(o, "updated_at", u->updated_at);
    e |= set_time(o, "banned_until", u->banned_until);
    e |= json_object_set_new(o, "is_anonymous", json_boolean(u->is_anonymous));
    if (e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *auth_user_json_text(const auth_user *u)
{
    json_t *j = auth_user_json(u);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return t;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_time(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Binds every column in COLS order; returns BS_ENOMEM if metadata cannot
 * be serialized. */
static int bind_user(sqlite3_stmt *st, const auth_user *u)
{
    char *am = json_dumps(u->app_metadata, JSON_COMPACT);
    char *um = json_dumps(u->user_metadata, JSON_COMPACT);
    if (!am || !um) {
        free(am);
        free(um);
        return BS_ENOMEM;
    }
    sqlite3_bind_text(st, 1, u->id, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 2, u->email);
    bind_opt_text(st, 3, u->phone);
    bind_opt_text(st, 4, u->password_hash);
    sqlite3_bind_text(st, 5, u->role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, u->aud, -1, SQLITE_TRANSIENT);
    bind_opt_time(st, 7, u->email_confirmed_at);
    bind_opt_time(st, 8, u->phone_confirmed_at);
    bind_opt_time(st, 9, u->last_sign_in_at);
    bind_opt_time(st, 10, u->recovery_sent_at);
    bind_opt_time(st, 11, u->confirmation_sent_at);
    bind_opt_time(st, 12, u->banned_until);
    sqlite3_bind_text(st, 13, am, -1, free);
    sqlite3_bind_text(st, 14, um, -1, free);
    bind_opt_text(st, 15, u->identity_id[0] ? u->identity_id : NULL);
    sqlite3_bind_int(st, 16, u->is_anonymous);
    sqlite3_bind_int64(st, 17, u->created_at);
    sqlite3_bind_int64(st, 18, u->updated_at);
    return BS_OK;
}

/* Run q (an INSERT or UPDATE of every column) with u's values; then, when
 * op is not NULL, log the change (op, old_json before, u after).
 * BS_EEXISTS on a duplicate id or e-mail. */
static int write_user(db_conn *w, const char *q, size_t qlen, const auth_user *u, const char *op, const char *old_json,
                      int64_t now_ms)
{
    sqlite3_stmt *st = db_stmt(w, q, qlen, NULL);
    if (!st)
        return BS_EDB;
    int rc = bind_user(st, u);
    if (!rc) {
        int s = sqlite3_step(st);
        rc = s == SQLITE_DONE ? BS_OK : ((s & 0xff) == SQLITE_CONSTRAINT ? BS_EEXISTS : BS_EDB);
    }
    db_stmt_done(st);
    if (rc || !op)
        return rc;
    char *js = auth_user_json_text(u);
    if (!js)
        return BS_ENOMEM;
    rc = db_changelog_append(w, "auth.users", op, u->id, old_json, js, now_ms);
    free(js);
    return rc;
}

int auth_user_insert(db_conn *w, const auth_user *u, int64_t now_ms)
{
    static const char q[] = "INSERT INTO _basalt_users(" COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    return write_user(w, q, sizeof q - 1, u, "INSERT", NULL, now_ms);
}

int auth_user_save(db_conn *w, const auth_user *u, const char *old_json, int64_t now_ms)
{
    static const char q[] = "UPDATE _basalt_users SET id=?1, email=?2, phone=?3, password_hash=?4, role=?5, "
                            "aud=?6, email_confirmed_at=?7, phone_confirmed_at=?8, last_sign_in_at=?9, "
                            "recovery_sent_at=?10, confirmation_sent_at=?11, banned_until=?12, "
                            "app_metadata=?13, user_metadata=?14, identity_id=?15, is_anonymous=?16, "
                            "created_at=?17, updated_at=?18 WHERE id=?1";
    /* bookkeeping (no old_json) is not a change anyone follows */
    return write_user(w, q, sizeof q - 1, u, old_json ? "UPDATE" : NULL, old_json, now_ms);
}

static int exec_id(db_conn *w, const char *q, const char *id)
{
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

int auth_user_delete(db_conn *w, const auth_user *u, int64_t now_ms)
{
    int rc = exec_id(w, "DELETE FROM _basalt_refresh_tokens WHERE user_id = ?", u->id);
    if (!rc)
        rc = exec_id(w, "DELETE FROM _basalt_sessions WHERE user_id = ?", u->id);
    if (!rc)
        rc = exec_id(w, "DELETE FROM _basalt_one_time_tokens WHERE user_id = ?", u->id);
    if (!rc)
        rc = exec_id(w, "DELETE FROM _basalt_users WHERE id = ?", u->id);
    if (rc)
        return rc;
    char *js = auth_user_json_text(u);
    if (!js)
        return BS_ENOMEM;
    rc = db_changelog_append(w, "auth.users", "DELETE", u->id, js, NULL, now_ms);
    free(js);
    return rc;
}

int auth_user_list(db_conn *c, int64_t offset, int64_t limit, json_t *arr, int64_t *total)
{
    sqlite3_stmt *st =
        db_stmt(c, "SELECT COUNT(*) FROM _basalt_users", strlen("SELECT COUNT(*) FROM _basalt_users"), NULL);
    if (!st)
        return BS_EDB;
    int s = sqlite3_step(st);
    *total = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_stmt_done(st);
    if (s != SQLITE_ROW)
        return BS_EDB;
    static const char q[] = "SELECT " COLS " FROM _basalt_users ORDER BY created_at, id LIMIT ? OFFSET ?";
    st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    int rc = BS_OK;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        auth_user *u = NULL;
        rc = row_to_user(st, &u);
        json_t *j = rc ? NULL : auth_user_json(u);
        if (!rc && (!j || json_array_append_new(arr, j)))
            rc = BS_ENOMEM;
        auth_user_free(u);
    }
    if (!rc && s != SQLITE_DONE)
        rc = BS_EDB;
    db_stmt_done(st);
    return rc;
}

int auth_user_reload(db_conn *w, const char *id, auth_user **out, bool *gone)
{
    int rc = auth_user_load(w, id, NULL, out);
    *gone = rc == BS_ENOTFOUND;
    return *gone ? BS_OK : rc;
}

int auth_user_read(db_store *store, const char *id, const char *email, auth_user **out)
{
    *out = NULL;
    db_conn *rd = db_reader(store);
    return rd ? auth_user_load(rd, id, email, out) : BS_EDB;
}

int auth_user_exists(db_store *store, const char *id, const char *email)
{
    auth_user *u = NULL;
    int rc = auth_user_read(store, id, email, &u);
    auth_user_free(u);
    return rc;
}

int auth_user_set_email(auth_user *u, const char *email)
{
    char *e = strdup(email);
    if (!e)
        return BS_ENOMEM;
    free(u->email);
    u->email = e;
    if (!u->identity_id[0] && uuid_v4(u->identity_id))
        return BS_EIO;
    if (!json_object_get(u->app_metadata, "provider")) {
        json_object_set_new(u->app_metadata, "provider", json_string("email"));
        json_object_set_new(u->app_metadata, "providers", json_pack("[s]", "email"));
    }
    u->is_anonymous = false;
    return BS_OK;
}
