/* fn_host.c - the host API table handed to plugins (basalt_host).
 *
 * Documents are written the way /rest/v1 writes them: one db_write whose
 * callback runs the SQL on the writer and appends to the change log in the
 * same transaction, so realtime listeners and triggers see function writes
 * like any other.  Functions act as service_role (no access rules).  Names
 * reach SQL only through ident.h; values are always bound.
 *
 * Threads: every entry point runs on the thread running the plugin call
 * (a civetweb worker, a job worker, the loader during init).
 */
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "core/uuid.h"
#include "db/changelog.h"
#include "rest/collections.h"
#include "db/ident.h"
#include "db/jsondoc.h"
#include "rest/query.h"
#include "db/store.h"
#include "http/http.h"
#include "storage/st_service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ID_LEN 255

static fn_callpriv *priv_of(const basalt_ctx *ctx) { return ctx ? (fn_callpriv *)ctx->host_private : NULL; }

static int map_rc(int rc)
{
    switch (rc) {
    case BS_OK: return BASALT_OK;
    case BS_ENOTFOUND: return BASALT_ENOTFOUND;
    case BS_EINVAL:
    case BS_EPARSE:
    case BS_EJSON:
    case BS_EDEPTH: return BASALT_EINVAL;
    case BS_ENOMEM: return BASALT_ENOMEM;
    case BS_ETIMEOUT: return BASALT_ETIMEOUT;
    case BS_EBUSY: return BASALT_ETHROTTLED;
    case BS_EUNSUPP: return BASALT_EUNSUPP;
    case BS_EEXISTS:
    case BS_ECONSTRAINT: return BASALT_EEXISTS;
    default: return BASALT_EIO;
    }
}

static int64_t h_remaining_ms(const basalt_ctx *ctx) { return ctx->deadline_ms - time_now_ms(); }

static void h_log(basalt_ctx *ctx, int level, const char *fmt, ...)
{
    fn_callpriv *p = priv_of(ctx);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level < BASALT_LOG_ERROR || level > BASALT_LOG_DEBUG)
        level = BASALT_LOG_INFO;
    const char *rid = ctx->request_id ? ctx->request_id : "init";
    log_msg(level, "fn %s [%s] %s", ctx->function ? ctx->function : "?", rid, msg);
    if (p && p->e) {
        char ts[32], line[1200];
        time_iso_now(ts);
        snprintf(line, sizeof line, "%s %s [%s] %s", ts, names[level], rid, msg);
        fn_entry_log(p->e, line);
    }
}

static const char *h_config(basalt_ctx *ctx, const char *key)
{
    fn_callpriv *p = priv_of(ctx);
    if (!p || !p->e || !key)
        return NULL;
    const char *out = NULL;
    pthread_mutex_lock(&p->e->lock);
    const char *v = json_string_value(json_object_get(p->e->config, key));
    if (v)
        out = arena_strdup(&p->a, v);
    pthread_mutex_unlock(&p->e->lock);
    return out;
}

static void h_free(void *ptr) { free(ptr); }

/* ---- responses ---- */

static int h_respond(basalt_response *res, int status, const char *ctype, const void *body, size_t len)
{
    if (!res || status < 100 || status > 599)
        return BASALT_EINVAL;
    res->status = status;
    free(res->ctype);
    res->ctype = ctype ? strdup(ctype) : NULL;
    buf_reset(&res->body);
    res->has_body = true;
    if (len && buf_append(&res->body, body, len) != BS_OK)
        return BASALT_ENOMEM;
    return BASALT_OK;
}

static int h_json(basalt_response *res, int status, const char *json)
{
    return h_respond(res, status, "application/json", json, json ? strlen(json) : 0);
}

static int h_header(basalt_response *res, const char *name, const char *value)
{
    if (!res || !name || !value || !*name || strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n"))
        return BASALT_EINVAL;
    return buf_printf(&res->headers, "%s: %s\r\n", name, value) == BS_OK ? BASALT_OK : BASALT_ENOMEM;
}

static int h_error(basalt_response *res, int status, const char *type, const char *message)
{
    if (!res)
        return BASALT_EINVAL;
    free(res->err_type);
    free(res->err_msg);
    res->err_type = strdup(type && *type ? type : "Error");
    res->err_msg = strdup(message ? message : "");
    if (status >= 400 && status <= 599)
        res->status = status;
    else
        res->status = 500;
    res->has_body = false;
    buf_reset(&res->body);
    return res->err_type && res->err_msg ? BASALT_OK : BASALT_ENOMEM;
}

/* ---- documents ---- */

typedef struct docop docop;
/* What an update or delete does to the row (w_existing). */
typedef int (*doc_change)(db_conn *w, docop *o, const char *old);

struct docop {
    const char *coll;
    char canon[64];
    char id[MAX_ID_LEN + 1];
    bool id_given;
    const char *json;
    char *out;
    int64_t now_ms;
    char now[32];
    buf msg;
    doc_change change;
};

static bool coll_ok(const char *c) { return c && db_ident_collection_ok(c); }

static int step_out(db_conn *w, sqlite3_stmt *st, char **out)
{
    int s = sqlite3_step(st);
    int rc = BS_OK;
    *out = NULL;
    if (s == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *out = strdup(t ? t : "null");
        if (!*out)
            rc = BS_ENOMEM;
        s = sqlite3_step(st);
    }
    if (s != SQLITE_DONE && !rc) {
        int ext = sqlite3_extended_errcode(db_conn_handle(w));
        rc = (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) ? BS_EEXISTS : BS_EDB;
    }
    db_stmt_done(st);
    return rc;
}

static sqlite3_stmt *prep(db_conn *c, const char *pre, const char *coll, const char *post)
{
    buf sql = BUF_INIT;
    int rc = buf_puts(&sql, pre);
    if (!rc)
        rc = db_ident_quote(&sql, coll);
    if (!rc)
        rc = buf_puts(&sql, post);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, sql.data, sql.len, NULL);
    buf_free(&sql);
    return st;
}

static int w_insert(db_conn *w, void *arg)
{
    docop *o = arg;
    int rc = BS_OK;
    if (rest_coll_lookup(w, o->coll, o->canon) != BS_OK) {
        rc = rest_coll_create(w, o->coll, NULL, &o->msg);
        if (rc)
            return rc;
        snprintf(o->canon, sizeof o->canon, "%s", o->coll);
    }
    sqlite3_stmt *st =
        prep(w, "INSERT INTO ", o->canon,
             o->id_given ? "(id, data, created_at, updated_at) VALUES(?1, json_set(json(?2), "
                           "'$.created_at', ?3, '$.updated_at', ?3), ?3, ?3) RETURNING data"
                         : "(id, data, created_at, updated_at) VALUES(?1, json_set(json(?2), '$.id', ?1, "
                           "'$.created_at', ?3, '$.updated_at', ?3), ?3, ?3) RETURNING data");
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->now, -1, SQLITE_STATIC);
    rc = step_out(w, st, &o->out);
    if (!rc && o->out)
        rc = db_changelog_append(w, o->canon, "INSERT", o->id, NULL, o->out, o->now_ms);
    return rc;
}

static char *read_data(db_conn *c, const char *coll, const char *id, int *rc)
{
    sqlite3_stmt *st = prep(c, "SELECT data FROM ", coll, " WHERE id = ?");
    if (!st) {
        *rc = BS_EDB;
        return NULL;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    char *d = NULL;
    *rc = BS_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        d = strdup((const char *)sqlite3_column_text(st, 0));
        *rc = d ? BS_OK : BS_ENOMEM;
    }
    db_stmt_done(st);
    return d;
}

/* The document coll/id (canon receives the collection's stored name), or
 * NULL with *rc BS_ENOTFOUND, BS_EDB or BS_ENOMEM. */
static char *find_doc(db_conn *c, const char *coll, const char *id, char canon[64], int *rc)
{
    if (rest_coll_lookup(c, coll, canon) != BS_OK) {
        *rc = BS_ENOTFOUND;
        return NULL;
    }
    return read_data(c, canon, id, rc);
}

/* PATCH old (the stored text) with o->json; o->out receives the new text
 * (NULL when the row vanished). */
static int update_row(db_conn *w, docop *o, const char *old)
{
    /* json_patch matches keys by their spelling: both sides canonical
     * (jsondoc.h), so equal keys are equal text at every depth */
    buf base = BUF_INIT;
    int rc = db_jdoc_canon(&base, old, strlen(old), NULL);
    sqlite3_stmt *st = rc ? NULL
                          : prep(w, "UPDATE ", o->canon,
                                 " SET data = json_set(json_patch(?4, ?1), '$.id', json_extract(?4, '$.id'), "
                                 "'$.created_at', created_at, '$.updated_at', ?2), updated_at = ?2, "
                                 "version = version + 1 WHERE id = ?3 RETURNING data");
    if (st) {
        sqlite3_bind_text(st, 1, o->json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, o->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, o->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, base.data, (int)base.len, SQLITE_STATIC);
        rc = step_out(w, st, &o->out);
    } else if (!rc) {
        rc = BS_EDB;
    }
    buf_free(&base);
    return rc;
}

static int delete_row(db_conn *w, docop *o, const char *old)
{
    sqlite3_stmt *st = prep(w, "DELETE FROM ", o->canon, " WHERE id = ?");
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

/* An update or delete (o->change) of a document that exists, appended to
 * the change log with its old text. */
static int w_existing(db_conn *w, void *arg)
{
    docop *o = arg;
    int rc;
    char *old = find_doc(w, o->coll, o->id, o->canon, &rc);
    if (!old)
        return rc;
    rc = o->change(w, o, old);
    bool deleted = o->change == delete_row;
    if (!rc && (o->out || deleted))
        rc = db_changelog_append(w, o->canon, deleted ? "DELETE" : "UPDATE", o->id, old, o->out, o->now_ms);
    free(old);
    return rc;
}

static db_store *store_of(basalt_ctx *ctx)
{
    fn_callpriv *p = priv_of(ctx);
    return p && p->reg ? p->reg->app->store : NULL;
}

static void op_init(docop *o, const char *coll)
{
    memset(o, 0, sizeof *o);
    o->coll = coll;
    o->now_ms = time_now_ms();
    time_iso_ms(o->now_ms, o->now);
}

static int run_op(basalt_ctx *ctx, db_write_fn fn, docop *o, char **out)
{
    db_store *s = store_of(ctx);
    if (!s)
        return BASALT_EUNSUPP;
    int rc = db_write(s, fn, o);
    if (rc && o->msg.len)
        h_log(ctx, BASALT_LOG_WARN, "document write failed: %s", buf_cstr(&o->msg));
    buf_free(&o->msg);
    if (!rc && out)
        *out = o->out;
    else
        free(o->out);
    return map_rc(rc);
}

static bool id_ok(const char *id) { return id && *id && strlen(id) <= MAX_ID_LEN; }

/* A plugin's document in canonical form (jsondoc.h: one spelling per key,
 * so json_set / json_patch on it never write a key twice); NULL for text
 * that is not UTF-8, not one JSON object, or that repeats a key.  free() it. */
static char *canon_object(const char *json)
{
    buf b = BUF_INIT;
    db_jdoc_info info;
    size_t n = strlen(json);
    if (!utf8_valid(json, n) || db_jdoc_canon(&b, json, n, &info) != BS_OK || b.data[0] != '{' || info.dup_keys) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

static int h_doc_insert(basalt_ctx *ctx, const char *coll, const char *json, char **out)
{
    if (out)
        *out = NULL;
    if (!coll_ok(coll) || !json)
        return BASALT_EINVAL;
    json_t *j = NULL;
    /* plugins pass on what their callers sent: admitted like any outside JSON */
    jsonin_parses(json, JSONIN_ANY_SIZE, 0, &j, NULL, 0);
    if (!json_is_object(j)) {
        json_decref(j);
        return BASALT_EINVAL;
    }
    char *cj = canon_object(json);
    if (!cj) {
        json_decref(j);
        return BASALT_EINVAL;
    }
    docop o;
    op_init(&o, coll);
    o.json = cj;
    json_t *id = json_object_get(j, "id");
    int rc = BASALT_OK;
    if (json_is_string(id) && id_ok(json_string_value(id))) {
        snprintf(o.id, sizeof o.id, "%s", json_string_value(id));
        o.id_given = true;
    } else if (json_is_integer(id)) {
        snprintf(o.id, sizeof o.id, "%lld", (long long)json_integer_value(id));
        o.id_given = true;
    } else if (id && !json_is_null(id)) {
        rc = BASALT_EINVAL;
    } else if (uuid_v7(o.id) != BS_OK) {
        rc = BASALT_EIO;
    }
    json_decref(j);
    if (!rc)
        rc = run_op(ctx, w_insert, &o, out);
    free(cj);
    return rc;
}

static int h_doc_update(basalt_ctx *ctx, const char *coll, const char *id, const char *patch, char **out)
{
    if (out)
        *out = NULL;
    if (!coll_ok(coll) || !id_ok(id) || !patch)
        return BASALT_EINVAL;
    /* the one door for outside JSON first (depth, size), then one spelling
     * per key */
    json_t *j = NULL;
    jsonin_parses(patch, JSONIN_ANY_SIZE, 0, &j, NULL, 0);
    bool ok = json_is_object(j);
    json_decref(j);
    char *cp = ok ? canon_object(patch) : NULL;
    if (!cp)
        return BASALT_EINVAL;
    docop o;
    op_init(&o, coll);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.json = cp;
    o.change = update_row;
    int rc = run_op(ctx, w_existing, &o, out);
    free(cp);
    return rc;
}

static int h_doc_delete(basalt_ctx *ctx, const char *coll, const char *id)
{
    if (!coll_ok(coll) || !id_ok(id))
        return BASALT_EINVAL;
    docop o;
    op_init(&o, coll);
    snprintf(o.id, sizeof o.id, "%s", id);
    o.change = delete_row;
    return run_op(ctx, w_existing, &o, NULL);
}

/* A reader (*c) and the stored name of collection coll (canon): BS_OK,
 * BS_EINVAL (not a collection name), BS_EIO or BS_ENOTFOUND. */
static int open_coll(basalt_ctx *ctx, const char *coll, db_conn **c, char canon[64])
{
    if (!coll_ok(coll))
        return BS_EINVAL;
    db_store *s = store_of(ctx);
    *c = s ? db_reader(s) : NULL;
    if (!*c)
        return BS_EIO;
    return rest_coll_lookup(*c, coll, canon) == BS_OK ? BS_OK : BS_ENOTFOUND;
}

static int h_doc_get(basalt_ctx *ctx, const char *coll, const char *id, char **out)
{
    *out = NULL;
    if (!id_ok(id))
        return BASALT_EINVAL;
    db_conn *c;
    char canon[64];
    int rc = open_coll(ctx, coll, &c, canon);
    if (!rc)
        *out = read_data(c, canon, id, &rc);
    return map_rc(rc);
}

/* The SELECT of a PostgREST query string against collection canon, its
 * binds (LIMIT and OFFSET last) in *binds.  BS_EINVAL (told to the
 * function's log) for a query the grammar refuses. */
static int doc_query_sql(basalt_ctx *ctx, arena *a, const char *canon, const char *query, buf *sql, db_binds *binds)
{
    const http_qparam *params = NULL;
    size_t np = 0;
    rest_qerr e;
    memset(&e, 0, sizeof e);
    rest_query *q = NULL;
    buf where = BUF_INIT, proj = BUF_INIT, order = BUF_INIT;
    int rc = http_query_split(a, query ? query : "", &params, &np);
    if (!rc)
        rc = rest_query_parse(a, params, np, &q, &e);
    /* in the order their text appears in the SELECT: one list of binds */
    if (!rc)
        rc = rest_query_projection(q, a, &proj, binds, &e);
    if (!rc)
        rc = rest_query_where(q, a, &where, binds, &e);
    if (!rc)
        rc = rest_query_order(q, a, &order, binds, &e);
    if (rc) {
        if (e.message[0])
            h_log(ctx, BASALT_LOG_WARN, "doc_query: %s %s", e.message, e.details);
        rc = BS_EINVAL;
    }
    if (!rc)
        rc = buf_printf(sql, "SELECT %s FROM ", proj.data);
    if (!rc)
        rc = db_ident_quote(sql, canon);
    if (!rc)
        rc = buf_printf(sql, " WHERE %s", where.data);
    if (!rc && order.len)
        rc = buf_printf(sql, " ORDER BY %s", order.data);
    if (!rc)
        rc = buf_puts(sql, " LIMIT ? OFFSET ?");
    int64_t lim = q ? rest_query_limit(q) : -1, off = q ? rest_query_offset(q) : 0;
    int64_t max = priv_of(ctx)->reg->app->cfg->max_rows;
    if (!rc)
        rc = db_binds_int(a, binds, lim < 0 || lim > max ? max : lim);
    if (!rc)
        rc = db_binds_int(a, binds, off < 0 ? 0 : off);
    buf_free(&where);
    buf_free(&proj);
    buf_free(&order);
    return rc;
}

/* Run the SELECT: its rows' texts as one JSON array (*out, malloc'd). */
static int doc_query_rows(db_conn *c, const buf *sql, const db_binds *binds, char **out)
{
    sqlite3_stmt *st = db_stmt(c, sql->data, sql->len, NULL);
    if (!st)
        return BS_EDB;
    db_binds_apply(st, binds, 1);
    buf res = BUF_INIT;
    int rc = buf_putc(&res, '[');
    size_t n = 0;
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++)
            rc = buf_putc(&res, ',');
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!rc)
            rc = buf_puts(&res, t ? t : "null");
    }
    if (!rc && step != SQLITE_DONE)
        rc = BS_EDB;
    db_stmt_done(st);
    if (!rc)
        rc = buf_putc(&res, ']');
    if (!rc)
        *out = buf_steal(&res, NULL);
    buf_free(&res);
    return rc;
}

static int h_doc_query(basalt_ctx *ctx, const char *coll, const char *query, char **out)
{
    *out = NULL;
    db_conn *c;
    char canon[64];
    int rc = open_coll(ctx, coll, &c, canon);
    if (rc)
        return map_rc(rc);
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds binds = {0};
    rc = doc_query_sql(ctx, &a, canon, query, &sql, &binds);
    if (!rc)
        rc = doc_query_rows(c, &sql, &binds, out);
    buf_free(&sql);
    arena_free(&a);
    return map_rc(rc);
}

/* ---- storage ----
 * Through storage/'s C API (st_service.h) as service_role: bucket access
 * rules are not checked; key validation and bucket limits (size, MIME
 * types) are.  A write is an upsert with no owner and appears in the change
 * log as "storage.objects" INSERT, so it can trigger functions itself. */

static st_service *storage_of(basalt_ctx *ctx)
{
    fn_callpriv *p = priv_of(ctx);
    return p && p->reg && p->reg->app ? p->reg->app->storage : NULL;
}

static const char *storage_why(int rc)
{
    switch (rc) {
    case BS_EINVAL: return "invalid bucket name, key or content type";
    case BS_ENOTFOUND: return "no such bucket or object";
    case BS_ETOOBIG: return "the object is larger than allowed";
    case BS_EDENIED: return "the bucket does not allow this content type";
    case BS_EEXISTS: return "the object exists";
    default: return "storage error";
    }
}

/* Storage results as plugin codes: size and MIME refusals are bad
 * arguments (retrying cannot help). */
static int storage_rc(basalt_ctx *ctx, const char *what, const char *bucket, const char *name, int rc)
{
    if (rc && rc != BS_ENOTFOUND)
        h_log(ctx, BASALT_LOG_WARN, "%s(%s, %s): %s", what, bucket ? bucket : "", name ? name : "", storage_why(rc));
    if (rc == BS_ETOOBIG || rc == BS_EDENIED)
        return BASALT_EINVAL;
    return map_rc(rc);
}

static int h_object_read(basalt_ctx *ctx, const char *bucket, const char *name, void **data, size_t *len,
                         char **content_type)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (content_type)
        *content_type = NULL;
    if (!data || !len)
        return BASALT_EINVAL;
    st_service *s = storage_of(ctx);
    if (!s)
        return BASALT_EUNSUPP;
    buf b = BUF_INIT;
    int rc = st_object_read(s, bucket, name, &b, content_type);
    if (rc == BS_OK && !b.data) /* never NULL on success (an empty object is "") */
        rc = buf_reserve(&b, 1);
    if (rc == BS_OK) {
        *data = buf_steal(&b, len);
    } else if (content_type) {
        free(*content_type);
        *content_type = NULL;
    }
    buf_free(&b);
    return storage_rc(ctx, "object_read", bucket, name, rc);
}

static int h_object_write(basalt_ctx *ctx, const char *bucket, const char *name, const void *data, size_t len,
                          const char *content_type)
{
    st_service *s = storage_of(ctx);
    if (!s)
        return BASALT_EUNSUPP;
    int rc = st_object_write(s, bucket, name, data, len, content_type, true, NULL);
    return storage_rc(ctx, "object_write", bucket, name, rc);
}

/* ---- invoking other functions ---- */

static bool payload_ok(const char *payload)
{
    if (!payload)
        return true;
    json_t *j = NULL;
    int rc = jsonin_parses(payload, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &j, NULL, 0);
    json_decref(j);
    return rc == BS_OK;
}

static int h_invoke(basalt_ctx *ctx, const char *name, const char *payload, char **result)
{
    if (result)
        *result = NULL;
    fn_callpriv *p = priv_of(ctx);
    if (!p || !name || !payload_ok(payload))
        return BASALT_EINVAL;
    if (p->depth + 1 >= FN_MAX_DEPTH)
        return BASALT_EINVAL;
    fn_entry *e = fn_entry_find(p->reg, name);
    if (!e)
        return BASALT_ENOTFOUND;
    const char *pl = payload ? payload : "null";
    basalt_invoke_event iv = {sizeof iv, pl, strlen(pl), ctx->function ? ctx->function : ""};
    basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_INVOKE, .invoke = &iv};
    fn_call call;
    fn_call_init(&call, &ev);
    call.depth = p->depth + 1;
    int rc = fn_call_run(p->reg, e, &call);
    if (rc) {
        fn_call_done(&call);
        return map_rc(rc);
    }
    int out = call.timed_out ? BASALT_ETIMEOUT : call.rc != BASALT_OK ? BASALT_ERROR : BASALT_OK;
    if (result && call.res.has_body)
        *result = buf_steal(&call.res.body, NULL);
    if (result && !*result && call.res.err_msg) {
        buf b = BUF_INIT;
        if (fn_error_json(&b, call.res.err_type, call.res.err_msg) == BS_OK)
            *result = buf_steal(&b, NULL);
        buf_free(&b);
    }
    fn_call_done(&call);
    return out;
}

static int h_invoke_async(basalt_ctx *ctx, const char *name, const char *payload, char job_id[40])
{
    fn_callpriv *p = priv_of(ctx);
    if (!p || !name || !fn_name_ok(name) || !payload_ok(payload))
        return BASALT_EINVAL;
    char uid[40];
    int rc = fn_queue_invoke(p->reg, name, payload ? payload : "null", ctx->function ? ctx->function : "", uid);
    if (!rc && job_id)
        memcpy(job_id, uid, 40);
    return map_rc(rc);
}

const basalt_host fn_host_api = {
    .struct_size = sizeof(basalt_host),
    .abi_version = BASALT_FUNCTION_ABI,
    .remaining_ms = h_remaining_ms,
    .log = h_log,
    .config = h_config,
    .free = h_free,
    .respond = h_respond,
    .json = h_json,
    .header = h_header,
    .error = h_error,
    .doc_get = h_doc_get,
    .doc_query = h_doc_query,
    .doc_insert = h_doc_insert,
    .doc_update = h_doc_update,
    .doc_delete = h_doc_delete,
    .object_read = h_object_read,
    .object_write = h_object_write,
    .invoke = h_invoke,
    .invoke_async = h_invoke_async,
};
