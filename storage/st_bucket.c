/* st_bucket.c - bucket endpoints (spec §4.2) and bucket specs.
 *
 *   GET    /bucket                list (service_role: all; others: public ones)
 *   GET    /bucket/ID             one
 *   POST   /bucket                create {"id","name","public","file_size_limit","allowed_mime_types",
 *                                 "allow_inline"}
 *   PUT    /bucket/ID             update the same fields
 *   POST   /bucket/ID/empty       delete every object
 *   DELETE /bucket/ID             delete; refused while objects remain (409)
 * Creating, changing, emptying and deleting buckets takes the service_role
 * key, as with storage-api's default policies.
 */
#include "storage/st_int.h"
#include "storage/st_bucket.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool mime_pattern_valid(const char *p)
{
    size_t n = strlen(p);
    if (strcmp(p, "*") == 0 || strcmp(p, "*/*") == 0)
        return true;
    if (n > 2 && p[n - 1] == '*' && p[n - 2] == '/') {
        char tmp[300];
        if (n > 250)
            return false;
        snprintf(tmp, sizeof tmp, "%.*sx", (int)(n - 1), p);
        return st_mime_valid(tmp);
    }
    return st_mime_valid(p);
}

/* body[key], when present, must be a boolean or null (false).  BS_EINVAL
 * with msg. */
static int spec_bool(json_t *body, const char *key, bool *has, bool *val, buf *msg)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return BS_OK;
    if (!json_is_boolean(v) && !json_is_null(v)) {
        buf_printf(msg, "%s must be a boolean", key);
        return BS_EINVAL;
    }
    *has = true;
    *val = json_is_true(v);
    return BS_OK;
}

/* file_size_limit: bytes (a number or a size string such as "20MB"), 0 or
 * null for none (-1). */
static int spec_size_limit(json_t *v, int64_t *out, buf *msg)
{
    int64_t n = 0;
    const char *bad = NULL;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        if (n < 0)
            bad = "file_size_limit must not be negative";
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0 && d < 9e18))
            bad = "file_size_limit is out of range";
        else
            n = (int64_t)d;
    } else if (json_is_string(v)) {
        if (st_size_parse(json_string_value(v), &n) != BS_OK)
            bad = "Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B";
    } else if (!json_is_null(v)) {
        bad = "file_size_limit must be a number, a size string or null";
    }
    if (bad) {
        buf_puts(msg, bad);
        return BS_EINVAL;
    }
    *out = n ? n : -1;
    return BS_OK;
}

/* allowed_mime_types: an array of MIME types or patterns (type/ *), or
 * null; an empty list means "any", as in storage-api. */
static int spec_mimes(json_t *v, json_t **out, buf *msg)
{
    *out = NULL;
    if (json_is_null(v))
        return BS_OK;
    if (!json_is_array(v)) {
        buf_puts(msg, "allowed_mime_types must be an array or null");
        return BS_EINVAL;
    }
    if (json_array_size(v) > 256) {
        buf_puts(msg, "allowed_mime_types has too many entries");
        return BS_EINVAL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !mime_pattern_valid(json_string_value(e))) {
            buf_puts(msg, "allowed_mime_types must be MIME types such as image/png or image/*");
            return BS_EINVAL;
        }
    }
    *out = json_array_size(v) ? v : NULL;
    return BS_OK;
}

int st_bucket_spec_parse(json_t *body, st_bucket_spec *sp, buf *msg)
{
    memset(sp, 0, sizeof *sp);
    json_t *v;
    if (spec_bool(body, "public", &sp->has_public, &sp->public_, msg) ||
        spec_bool(body, "allow_inline", &sp->has_inline, &sp->allow_inline, msg))
        return BS_EINVAL;
    if ((v = json_object_get(body, "file_size_limit"))) {
        sp->has_limit = true;
        if (spec_size_limit(v, &sp->size_limit, msg))
            return BS_EINVAL;
    }
    if ((v = json_object_get(body, "allowed_mime_types"))) {
        sp->has_mimes = true;
        if (spec_mimes(v, &sp->mimes, msg))
            return BS_EINVAL;
    }
    return BS_OK;
}

static char *dump_or_null(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

int st_bucket_insert(db_conn *w, const char *id, const st_bucket_spec *sp, const char *owner, const char *rules,
                     buf *msg)
{
    if (!st_bucket_name_valid(id, strlen(id))) {
        buf_puts(msg, st_error_message(ST_ERR_INVALID_BUCKET_NAME));
        return BS_EINVAL;
    }
    char now[32];
    time_iso_now(now);
    const char *q = "INSERT INTO _basalt_buckets(id,owner,public,file_size_limit,allowed_mime_types,rules,"
                    "created_at,updated_at,allow_inline) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), msg);
    if (!st)
        return BS_EDB;
    char *mimes = dump_or_null(sp->mimes);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner && *owner ? owner : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, sp->public_);
    if (sp->size_limit > 0)
        sqlite3_bind_int64(st, 4, sp->size_limit);
    sqlite3_bind_text(st, 5, mimes, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, rules ? rules : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, sp->allow_inline);
    int step = sqlite3_step(st);
    db_stmt_done(st);
    free(mimes);
    if (step != SQLITE_DONE)
        return BS_EDB;
    if (sqlite3_changes(db_conn_handle(w)) == 0) {
        buf_puts(msg, "The resource already exists");
        return BS_EEXISTS;
    }
    return BS_OK;
}

int st_bucket_set_rules(db_conn *w, const char *id, const char *rules)
{
    char now[32];
    time_iso_now(now);
    const char *q = "UPDATE _basalt_buckets SET rules=?, updated_at=? WHERE id=?";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, rules, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    db_stmt_done(st);
    if (step != SQLITE_DONE)
        return BS_EDB;
    return sqlite3_changes(db_conn_handle(w)) ? BS_OK : BS_ENOTFOUND;
}

/* ---- handlers ---- */

int st_bucket_list(st_ctx *c)
{
    const char *limit = http_param(c->r, "limit"), *offset = http_param(c->r, "offset");
    const char *search = http_param(c->r, "search"), *scol = http_param(c->r, "sortColumn");
    const char *sord = http_param(c->r, "sortOrder");
    long long lim = limit ? atoll(limit) : -1, off = offset ? atoll(offset) : 0;
    const char *colname = "name";
    if (scol) {
        if (strcmp(scol, "id") == 0 || strcmp(scol, "name") == 0)
            colname = "id";
        else if (strcmp(scol, "created_at") == 0)
            colname = "created_at";
        else if (strcmp(scol, "updated_at") == 0)
            colname = "updated_at";
        else
            return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "sortColumn must be id, name, created_at or updated_at");
    }
    if (strcmp(colname, "name") == 0)
        colname = "id";
    bool desc = sord && strcasecmp(sord, "desc") == 0;
    char q[400];
    snprintf(q, sizeof q,
             "SELECT id FROM _basalt_buckets WHERE (?1 OR public) AND (?2 IS NULL OR instr(lower(id), lower(?2)) > 0) "
             "ORDER BY %s %s, id LIMIT ?3 OFFSET ?4",
             colname, desc ? "DESC" : "ASC");
    db_conn *db = db_reader(c->app->store);
    sqlite3_stmt *st = db ? db_stmt(db, q, strlen(q), NULL) : NULL;
    if (!st)
        return st_reply_failure(c->r, BS_EDB);
    sqlite3_bind_int(st, 1, c->service);
    if (search && *search)
        sqlite3_bind_text(st, 2, search, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, lim < 0 ? -1 : lim);
    sqlite3_bind_int64(st, 4, off < 0 ? 0 : off);
    buf out = BUF_INIT;
    int rc = buf_putc(&out, '[');
    bool first = true;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        st_bucket b;
        /* a second statement on the same reader: st_bucket_get uses its own cached one */
        if (st_bucket_get(db, c->a, id, &b) != BS_OK)
            continue;
        if (!first)
            rc = buf_putc(&out, ',');
        if (!rc)
            rc = st_bucket_json(&b, &out);
        st_bucket_clear(&b);
        first = false;
    }
    db_stmt_done(st);
    if (!rc)
        rc = buf_putc(&out, ']');
    rc = rc ? st_reply_failure(c->r, rc) : http_send_json(c->r, 200, out.data, out.len);
    buf_free(&out);
    return rc;
}

int st_bucket_get_h(st_ctx *c, const char *id)
{
    st_bucket b;
    if (st_load_bucket_or_reply(c, id, &b))
        return BS_OK;
    if (!c->service && !b.public_) {
        st_bucket_clear(&b);
        return st_reply_error(c->r, ST_ERR_NO_BUCKET);
    }
    buf out = BUF_INIT;
    int rc = st_bucket_json(&b, &out);
    st_bucket_clear(&b);
    rc = rc ? st_reply_failure(c->r, rc) : http_send_json(c->r, 200, out.data, out.len);
    buf_free(&out);
    return rc;
}

typedef struct bucket_op {
    enum { B_CREATE, B_UPDATE, B_EMPTY, B_DELETE } op;
    const char *id;
    const char *owner;
    st_bucket_spec spec;
    buf msg;
    st_service *s;
    arena *a;
    /* blobs to remove after the commit */
    char **blobs;
    size_t nblobs;
} bucket_op;

static int bucket_update_row(db_conn *w, bucket_op *o)
{
    char now[32];
    time_iso_now(now);
    char *mimes = dump_or_null(o->spec.mimes);
    const char *q = "UPDATE _basalt_buckets SET public=CASE WHEN ?1 THEN ?2 ELSE public END, "
                    "file_size_limit=CASE WHEN ?3 THEN ?4 ELSE file_size_limit END, "
                    "allowed_mime_types=CASE WHEN ?5 THEN ?6 ELSE allowed_mime_types END, updated_at=?7, "
                    "allow_inline=CASE WHEN ?9 THEN ?10 ELSE allow_inline END WHERE id=?8";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st) {
        free(mimes);
        return BS_EDB;
    }
    sqlite3_bind_int(st, 1, o->spec.has_public);
    sqlite3_bind_int(st, 2, o->spec.public_);
    sqlite3_bind_int(st, 3, o->spec.has_limit);
    if (o->spec.size_limit > 0)
        sqlite3_bind_int64(st, 4, o->spec.size_limit);
    sqlite3_bind_int(st, 5, o->spec.has_mimes);
    sqlite3_bind_text(st, 6, mimes, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, o->spec.has_inline);
    sqlite3_bind_int(st, 10, o->spec.allow_inline);
    int step = sqlite3_step(st);
    db_stmt_done(st);
    free(mimes);
    if (step != SQLITE_DONE)
        return BS_EDB;
    return sqlite3_changes(db_conn_handle(w)) ? BS_OK : BS_ENOTFOUND;
}

static bool bucket_exists(db_conn *w, const char *id)
{
    bool yes;
    return db_exists(w, "SELECT 1 FROM _basalt_buckets WHERE id=?", id, &yes) == BS_OK && yes;
}

/* Delete every object row of the bucket (with change-log entries), keeping
 * the blob ids for removal after the commit. */
static int empty_rows(db_conn *w, bucket_op *o)
{
    const char *q = "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=?";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
    int rc = BS_OK;
    int64_t now = time_now_ms();
    /* collect first: deleting while stepping the same table is avoided;
     * rows is a buf used as an array of st_object (its block comes from
     * realloc, so it is aligned for any type) */
    buf rows = BUF_INIT;
    while (rc == BS_OK && sqlite3_step(st) == SQLITE_ROW) {
        st_object obj;
        rc = st_object_from_stmt(st, 0, o->a, &obj);
        if (rc == BS_OK)
            rc = buf_append(&rows, &obj, sizeof obj);
    }
    db_stmt_done(st);
    st_object *list = (st_object *)rows.data;
    size_t n = rows.len / sizeof *list;
    if (rc == BS_OK) {
        o->blobs = arena_alloc(o->a, (n ? n : 1) * sizeof *o->blobs);
        if (!o->blobs)
            rc = BS_ENOMEM;
    }
    for (size_t i = 0; rc == BS_OK && i < n; i++) {
        rc = st_object_delete_row(w, &list[i], now);
        o->blobs[o->nblobs++] = (char *)list[i].blob;
    }
    buf_free(&rows);
    return rc;
}

static int run_bucket_op(db_conn *w, void *arg)
{
    bucket_op *o = arg;
    o->nblobs = 0;
    switch (o->op) {
    case B_CREATE: return st_bucket_insert(w, o->id, &o->spec, o->owner, NULL, &o->msg);
    case B_UPDATE: return bucket_update_row(w, o);
    case B_EMPTY:
        if (!bucket_exists(w, o->id))
            return BS_ENOTFOUND;
        return empty_rows(w, o);
    case B_DELETE: {
        if (!bucket_exists(w, o->id))
            return BS_ENOTFOUND;
        bool any;
        if (db_exists(w, "SELECT 1 FROM _basalt_objects WHERE bucket_id=? LIMIT 1", o->id, &any))
            return BS_EDB;
        if (any)
            return BS_EBUSY;
        return db_exec_arg(w, "DELETE FROM _basalt_buckets WHERE id=?", o->id);
    }
    }
    return BS_EINVAL;
}

static int bucket_op_answer(st_ctx *c, bucket_op *o, int rc, const char *ok_json)
{
    switch (rc) {
    case BS_OK: return http_send_json(c->r, 200, ok_json, strlen(ok_json));
    case BS_EINVAL:
        if (strcmp(buf_cstr(&o->msg), st_error_message(ST_ERR_INVALID_BUCKET_NAME)) == 0)
            return st_reply_error(c->r, ST_ERR_INVALID_BUCKET_NAME);
        return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "%s", buf_cstr(&o->msg));
    case BS_EEXISTS: return st_reply_error(c->r, ST_ERR_DUPLICATE);
    case BS_ENOTFOUND: return st_reply_error(c->r, ST_ERR_NO_BUCKET);
    case BS_EBUSY: return st_reply_error(c->r, ST_ERR_NOT_EMPTY);
    default: return st_reply_failure(c->r, rc);
    }
}

static int need_service_or_reply(st_ctx *c)
{
    if (c->service)
        return BS_OK;
    st_reply_error(c->r, ST_ERR_DENIED);
    return BS_EDENIED;
}

/* Run o in one write, remove the blobs it dropped after the commit, and
 * answer ok_json or the error; frees o->msg. */
static int bucket_run(st_ctx *c, bucket_op *o, const char *ok_json)
{
    int rc = db_write(c->app->store, run_bucket_op, o);
    if (rc == BS_OK)
        for (size_t i = 0; i < o->nblobs; i++)
            st_blob_remove(c->s, o->blobs[i]);
    rc = bucket_op_answer(c, o, rc, ok_json);
    buf_free(&o->msg);
    return rc;
}

/* The body's bucket options into o->spec; answers 400 itself. */
static int spec_or_reply(st_ctx *c, json_t *body, bucket_op *o)
{
    int rc = st_bucket_spec_parse(body, &o->spec, &o->msg);
    if (rc)
        st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "%s", buf_cstr(&o->msg));
    return rc;
}

int st_bucket_create(st_ctx *c)
{
    json_t *body;
    if (need_service_or_reply(c) || st_read_json_or_reply(c->r, &body))
        return BS_OK;
    bucket_op o = {.op = B_CREATE, .owner = st_caller_sub(c), .msg = BUF_INIT, .s = c->s, .a = c->a};
    json_t *idv = json_object_get(body, "id");
    if (!json_is_string(idv))
        idv = json_object_get(body, "name");
    buf ok = BUF_INIT;
    int rc = BS_OK;
    if (!json_is_string(idv)) {
        rc = st_reply_error(c->r, ST_ERR_INVALID_BUCKET_NAME);
    } else if (spec_or_reply(c, body, &o) == BS_OK) {
        o.id = json_string_value(idv);
        int brc = buf_puts(&ok, "{\"name\":");
        if (!brc) brc = buf_json_str(&ok, o.id, strlen(o.id));
        if (!brc) brc = buf_putc(&ok, '}');
        rc = brc ? st_reply_failure(c->r, brc) : bucket_run(c, &o, buf_cstr(&ok));
    }
    buf_free(&ok);
    buf_free(&o.msg);
    json_decref(body);
    return rc;
}

int st_bucket_update(st_ctx *c, const char *id)
{
    json_t *body;
    if (need_service_or_reply(c) || st_read_json_or_reply(c->r, &body))
        return BS_OK;
    bucket_op o = {.op = B_UPDATE, .id = id, .msg = BUF_INIT, .s = c->s, .a = c->a};
    int rc = BS_OK;
    if (spec_or_reply(c, body, &o) == BS_OK)
        rc = bucket_run(c, &o, "{\"message\":\"Successfully updated\"}");
    buf_free(&o.msg);
    json_decref(body);
    return rc;
}

int st_bucket_empty(st_ctx *c, const char *id)
{
    bucket_op o = {.op = B_EMPTY, .id = id, .msg = BUF_INIT, .s = c->s, .a = c->a};
    return need_service_or_reply(c) ? BS_OK : bucket_run(c, &o, "{\"message\":\"Successfully emptied\"}");
}

int st_bucket_delete(st_ctx *c, const char *id)
{
    bucket_op o = {.op = B_DELETE, .id = id, .msg = BUF_INIT, .s = c->s, .a = c->a};
    return need_service_or_reply(c) ? BS_OK : bucket_run(c, &o, "{\"message\":\"Successfully deleted\"}");
}
