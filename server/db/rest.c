/* rest.c - /rest/v1: PostgREST's HTTP surface over collections; see rest.h.
 *
 * Request flow:
 *   path → collection (404 PGRST205) → profile headers (406 PGRST106)
 *   → query string → db_query (400 PGRST100) → access rules
 *   → GET/HEAD: SELECT on the reader;  POST/PATCH/DELETE: one db_write.
 *
 * Access rules (server/rules/): service_role bypasses them.  For anyone
 * else an operation without a rule is closed (42501, 401 anon / 403
 * authenticated).  The select rule is compiled to SQL and ANDed in front of
 * the filters, "(rule) AND (filters)", so rows, counts, Content-Range and
 * single() only ever see permitted rows and no or= can widen it.  Update
 * and delete rules are ANDed into the target selection the same way (rows
 * the caller may not touch are simply not targeted); inside the writer
 * callback each written document is read back (RETURNING data) and checked
 * in C (insert: the new document; update: the result, see
 * rules_write_allowed; representation: the select rule), and a failure
 * rolls the whole request back with 42501.
 *
 * Documents are built by SQLite from the request body's own text
 * (`?body -> '$[i]'`, json_set), so numbers keep their exact spelling and
 * nothing is re-serialised by C.  jansson only validates the body (UTF-8,
 * no NUL, shape) and tells us its keys and ids.
 */
#include "db/rest.h"
#include "auth/jwt.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "db/changelog.h"
#include "db/collections.h"
#include "db/ident.h"
#include "db/query.h"
#include "db/store.h"
#include "rules/cache.h"
#include "rules/rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ID_LEN 255
#define MAX_BULK_ROWS 10000

typedef struct prefer {
    enum { RET_DEFAULT, RET_MINIMAL, RET_REPR, RET_HEADERS } ret;
    bool count;
    enum { RES_NONE, RES_MERGE, RES_IGNORE } resolution;
    bool missing_default;
} prefer;

typedef enum { ACC_JSON, ACC_OBJECT, ACC_CSV } accept_kind;

typedef struct rest_ctx {
    http_req *r;
    arena *a;
    const db_query *q;
    char coll[64];
    prefer pref;
    accept_kind acc;
    int64_t now_ms;
    char now[32];
    /* compiled pieces */
    buf where;          /* condition text */
    db_binds binds;     /* its values */
    buf proj;           /* projection expression */
    buf order;          /* order items (may be empty) */
    /* body */
    const char *body;
    size_t body_len;
    json_t *json;
    /* results */
    buf out;            /* JSON array of representation rows */
    size_t nrows;
    int err_status;
    const char *err_code;
    char err_msg[512];
    char err_details[512];
    char *location;     /* Location of the first insert (return=headers-only) */
    /* access rules (rules_on: the caller is not service_role) */
    const auth_claims *auth;
    bool rules_on;
    int deny_status;                /* 401 anon, 403 otherwise */
    const rules_expr *rule_where;   /* ANDed into reads / update and delete targets */
    const rules_expr *rule_write;   /* checked in C on written documents */
    const rules_expr *rule_upd;     /* upserts that hit an existing row */
    const rules_expr *rule_sel;     /* rows handed back */
} rest_ctx;

static void set_err(rest_ctx *c, int status, const char *code, const char *msg, const char *details)
{
    c->err_status = status;
    c->err_code = code;
    snprintf(c->err_msg, sizeof c->err_msg, "%s", msg);
    snprintf(c->err_details, sizeof c->err_details, "%s", details ? details : "");
}

static int send_err(rest_ctx *c)
{
    return http_error(c->r, c->err_status, c->err_code, c->err_msg, c->err_details[0] ? c->err_details : NULL, NULL);
}

static int send_qerr(http_req *r, const db_qerr *e)
{
    return http_error(r, e->status ? e->status : 400, e->code ? e->code : "PGRST100", e->message,
                      e->details[0] ? e->details : NULL, e->hint);
}

/* ---- headers ---- */

static void parse_prefer(http_req *r, prefer *p)
{
    memset(p, 0, sizeof *p);
    const char *h = http_header(r, "Prefer");
    if (!h)
        return;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", h);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (strcmp(tok, "return=representation") == 0)
            p->ret = RET_REPR;
        else if (strcmp(tok, "return=minimal") == 0)
            p->ret = RET_MINIMAL;
        else if (strcmp(tok, "return=headers-only") == 0)
            p->ret = RET_HEADERS;
        else if (strncmp(tok, "count=", 6) == 0)
            p->count = strcmp(tok + 6, "exact") == 0 || strcmp(tok + 6, "planned") == 0 ||
                       strcmp(tok + 6, "estimated") == 0;
        else if (strcmp(tok, "resolution=merge-duplicates") == 0)
            p->resolution = RES_MERGE;
        else if (strcmp(tok, "resolution=ignore-duplicates") == 0)
            p->resolution = RES_IGNORE;
        else if (strcmp(tok, "missing=default") == 0)
            p->missing_default = true;
    }
}

static accept_kind parse_accept(http_req *r)
{
    const char *h = http_header(r, "Accept");
    if (!h)
        return ACC_JSON;
    if (strstr(h, "application/vnd.pgrst.object"))
        return ACC_OBJECT;
    if (strncmp(h, "text/csv", 8) == 0)
        return ACC_CSV;
    return ACC_JSON;
}

static bool profile_ok(http_req *r)
{
    unsigned m = http_method(r);
    const char *h = http_header(r, (m & (HTTP_GET | HTTP_HEAD)) ? "Accept-Profile" : "Content-Profile");
    return !h || strcmp(h, "public") == 0;
}

/* ---- binding and running ---- */

static void bind_all(sqlite3_stmt *st, const db_binds *b, int first)
{
    for (size_t i = 0; i < b->n; i++) {
        const db_bind *v = &b->v[i];
        int idx = first + (int)i;
        switch (v->type) {
        case DB_BIND_NULL: sqlite3_bind_null(st, idx); break;
        case DB_BIND_INT: sqlite3_bind_int64(st, idx, v->i); break;
        case DB_BIND_REAL: sqlite3_bind_double(st, idx, v->r); break;
        case DB_BIND_TEXT: sqlite3_bind_text(st, idx, v->s, (int)v->n, SQLITE_STATIC); break;
        }
    }
}

static int64_t effective_limit(rest_ctx *c)
{
    int64_t max = http_app(c->r)->cfg->max_rows;
    int64_t l = db_query_limit(c->q);
    return l < 0 || l > max ? max : l;
}

static int compile(rest_ctx *c)
{
    db_qerr e;
    memset(&e, 0, sizeof e);
    if (c->rule_where) {
        /* "(rule) AND (filters)": the rule's binds come first */
        int rrc = rules_to_sql_ex(c->rule_where, c->auth, http_method(c->r) == HTTP_PATCH, c->a, &c->where,
                                  &c->binds);
        if (!rrc)
            rrc = buf_puts(&c->where, " AND (");
        if (rrc) {
            set_err(c, 500, "PGRST000", "could not compile the access rule", NULL);
            return BS_EINVAL;
        }
    }
    int rc = db_query_where(c->q, c->a, &c->where, &c->binds, &e);
    if (!rc && c->rule_where)
        rc = buf_putc(&c->where, ')');
    if (!rc)
        rc = db_query_projection(c->q, &c->proj, &e);
    if (!rc)
        rc = db_query_order(c->q, &c->order, &e);
    if (rc) {
        set_err(c, e.status ? e.status : 400, e.code ? e.code : "PGRST100", e.message, e.details);
        return BS_EPARSE;
    }
    return BS_OK;
}

/* "SELECT <cols> FROM "coll" WHERE <where> [ORDER BY ...]" */
static int build_select(rest_ctx *c, buf *sql, const char *cols, bool with_order)
{
    int rc = buf_printf(sql, "SELECT %s FROM ", cols);
    if (!rc)
        rc = db_ident_quote(sql, c->coll);
    if (!rc)
        rc = buf_puts(sql, " WHERE ");
    if (!rc)
        rc = buf_append(sql, c->where.data, c->where.len);
    if (!rc && with_order && c->order.len)
        rc = buf_printf(sql, " ORDER BY %s", c->order.data + (c->order.data[0] == ',' ? 1 : 0));
    return rc;
}

/* Append rows of a one-column statement (JSON text) to out as an array body. */
static int collect_rows(sqlite3_stmt *st, buf *out, size_t *n, sqlite3 *db)
{
    int rc = buf_putc(out, '[');
    int step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n)
            rc = buf_putc(out, ',');
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (!rc)
            rc = t ? buf_append(out, t, (size_t)sqlite3_column_bytes(st, 0)) : buf_puts(out, "null");
        (*n)++;
    }
    if (!rc && step != SQLITE_DONE) {
        log_warn("rest: query failed: %s", sqlite3_errmsg(db));
        rc = BS_EDB;
    }
    if (!rc)
        rc = buf_putc(out, ']');
    return rc;
}

/* ---- reads ---- */

static int count_rows(rest_ctx *c, db_conn *conn, int64_t *total)
{
    buf sql = BUF_INIT;
    int rc = build_select(c, &sql, "count(*)", false);
    sqlite3_stmt *st = rc ? NULL : db_stmt(conn, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return BS_EDB;
    bind_all(st, &c->binds, 1);
    rc = sqlite3_step(st) == SQLITE_ROW ? BS_OK : BS_EDB;
    *total = sqlite3_column_int64(st, 0);
    db_stmt_done(st);
    return rc;
}

static int handle_read(rest_ctx *c)
{
    http_req *r = c->r;
    db_conn *conn = db_reader(http_app(r)->store);
    if (!conn)
        return http_error(r, 503, "PGRST000", "database unavailable", NULL, NULL);
    if (compile(c))
        return send_err(c);
    int64_t limit = effective_limit(c);
    int64_t offset = db_query_offset(c->q);
    if (offset < 0)
        offset = 0;
    buf sql = BUF_INIT;
    int rc = build_select(c, &sql, c->proj.data, true);
    if (!rc)
        rc = buf_puts(&sql, " LIMIT ? OFFSET ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(conn, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return http_error(r, 500, "PGRST000", "could not prepare the query", NULL, NULL);
    bind_all(st, &c->binds, 1);
    sqlite3_bind_int64(st, (int)c->binds.n + 1, limit);
    sqlite3_bind_int64(st, (int)c->binds.n + 2, offset);
    rc = collect_rows(st, &c->out, &c->nrows, db_conn_handle(conn));
    db_stmt_done(st);
    if (rc)
        return http_error(r, 500, "PGRST000", "query failed", NULL, NULL);

    int64_t total = -1;
    if (c->pref.count && count_rows(c, conn, &total))
        return http_error(r, 500, "PGRST000", "count failed", NULL, NULL);
    if (c->acc == ACC_OBJECT && c->nrows != 1) {
        char d[64];
        snprintf(d, sizeof d, "The result contains %zu rows", c->nrows);
        return http_error(r, 406, "PGRST116", "Cannot coerce the result to a single JSON object", d, NULL);
    }
    char range[96];
    if (c->nrows)
        snprintf(range, sizeof range, "%lld-%lld/", (long long)offset, (long long)(offset + (int64_t)c->nrows - 1));
    else
        snprintf(range, sizeof range, "*/");
    size_t rl = strlen(range);
    if (total >= 0)
        snprintf(range + rl, sizeof range - rl, "%lld", (long long)total);
    else
        snprintf(range + rl, sizeof range - rl, "*");
    http_add_header(r, "Content-Range", range);
    int status = 200;
    if (total >= 0) {
        if (c->nrows == 0 && offset > 0 && offset >= total && total > 0) {
            char d[128];
            snprintf(d, sizeof d, "An offset of %lld was requested, but there are only %lld rows.", (long long)offset,
                     (long long)total);
            return http_error(r, 416, "PGRST103", "Requested range not satisfiable", d, NULL);
        }
        if ((int64_t)c->nrows < total)
            status = 206;
    }
    if (c->acc == ACC_OBJECT) {
        /* strip the array brackets: exactly one row */
        return http_send(r, status, "application/vnd.pgrst.object+json; charset=utf-8", c->out.data + 1,
                         c->out.len - 2);
    }
    if (c->acc == ACC_CSV) {
        buf csv = BUF_INIT;
        rc = db_rest_csv(&c->out, &csv);
        if (!rc)
            rc = http_send(r, status, "text/csv; charset=utf-8", csv.data ? csv.data : "", csv.len);
        else
            rc = http_error(r, 500, "PGRST000", "could not render CSV", NULL, NULL);
        buf_free(&csv);
        return rc;
    }
    return http_send(r, status, "application/json; charset=utf-8", c->out.data, c->out.len);
}

/* ---- writes ---- */

/* 42501 for a written row that the rules refuse; the callback's error rolls
 * the whole request back. */
static int deny_row(rest_ctx *c)
{
    char msg[160];
    snprintf(msg, sizeof msg, "new row violates row-level security policy for table \"%s\"", c->coll);
    set_err(c, c->deny_status, "42501", msg, NULL);
    return BS_EDENIED;
}

static bool want_repr(rest_ctx *c);

/* The id of a document: a non-empty string (<= 255 bytes) or an integer. */
static int doc_id(rest_ctx *c, json_t *doc, char *out, size_t outsz, bool *given)
{
    json_t *id = json_object_get(doc, "id");
    *given = id != NULL && !json_is_null(id);
    if (!*given)
        return uuid_v7(out);
    if (json_is_string(id)) {
        size_t n = json_string_length(id);
        if (n == 0 || n > MAX_ID_LEN) {
            set_err(c, 400, "22P02", "invalid document id", "\"id\" must be a non-empty string of at most 255 bytes");
            return BS_EINVAL;
        }
        snprintf(out, outsz, "%s", json_string_value(id));
        return BS_OK;
    }
    if (json_is_number(id)) {
        double v = json_number_value(id);
        if (v == (double)(long long)v && v > -9e15 && v < 9e15) {
            snprintf(out, outsz, "%lld", (long long)v);
            return BS_OK;
        }
    }
    set_err(c, 400, "22P02", "invalid document id", "\"id\" must be a string or an integer");
    return BS_EINVAL;
}

static bool key_ok(const char *k)
{
    return *k && !strchr(k, '"') && strlen(k) <= 255;
}

/* Project the row with this id into c->out. */
static int append_repr(rest_ctx *c, db_conn *w, const char *id)
{
    buf sql = BUF_INIT;
    int rc = buf_printf(&sql, "SELECT %s FROM ", c->proj.data);
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, " WHERE id = ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = BS_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = buf_putc(&c->out, c->nrows ? ',' : '[');
        if (!rc)
            rc = buf_append(&c->out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        c->nrows++;
    }
    db_stmt_done(st);
    return rc;
}

static int constraint_err(rest_ctx *c, sqlite3 *db, const char *id)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
        char d[400];
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            snprintf(d, sizeof d, "Key (id)=(%.300s) already exists.", id);
        else
            snprintf(d, sizeof d, "%.300s", sqlite3_errmsg(db));
        set_err(c, 409, "23505", "duplicate key value violates unique constraint", d);
        return BS_ECONSTRAINT;
    }
    log_warn("rest: write failed: %s", sqlite3_errmsg(db));
    set_err(c, 500, "PGRST000", "write failed", sqlite3_errmsg(db));
    return BS_EDB;
}

/* Find the existing row that an upsert of `doc` collides with, by the
 * on_conflict fields (or id).  BS_OK with found_id filled, BS_ENOTFOUND. */
static int find_conflict(rest_ctx *c, db_conn *w, json_t *doc, const char *id, char found[MAX_ID_LEN + 1])
{
    const char *const *names;
    size_t n;
    db_query_on_conflict(c->q, &names, &n);
    bool by_id = n == 0 || (n == 1 && strcmp(names[0], "id") == 0);
    buf sql = BUF_INIT;
    int rc = buf_puts(&sql, "SELECT id FROM ");
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, " WHERE ");
    for (size_t i = 0; i < (by_id ? 1 : n) && !rc; i++) {
        db_path p;
        if (i)
            rc = buf_puts(&sql, " AND ");
        if (!rc)
            rc = db_path_parse(c->a, by_id ? "id" : names[i], strlen(by_id ? "id" : names[i]), &p);
        if (!rc)
            rc = db_path_value_expr(&sql, &p);
        if (!rc)
            rc = buf_puts(&sql, " = ?");
    }
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return BS_EDB;
    for (size_t i = 0; i < (by_id ? 1 : n); i++) {
        if (by_id) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            break;
        }
        json_t *v = json_object_get(doc, names[i]);
        int idx = (int)i + 1;
        if (json_is_string(v))
            sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v), SQLITE_STATIC);
        else if (json_is_integer(v))
            sqlite3_bind_int64(st, idx, json_integer_value(v));
        else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v))
            sqlite3_bind_int64(st, idx, (int64_t)json_real_value(v));
        else if (json_is_real(v))
            sqlite3_bind_double(st, idx, json_real_value(v));
        else if (json_is_boolean(v))
            sqlite3_bind_int(st, idx, json_is_true(v));
        else
            sqlite3_bind_null(st, idx); /* NULL never equals: no conflict */
    }
    rc = BS_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(found, MAX_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = BS_OK;
    }
    db_stmt_done(st);
    return rc;
}

/* Append ", ?, ? -> ?" per key of obj (restricted to columns= when
 * `use_columns`): target path, the body, and the key's path inside the body
 * (src_prefix is the element's path, "$" or "$[3]").  Every parameter is a
 * plain '?', bound in textual order; the body is bound by reference each
 * time, so repeating it costs nothing. */
static int build_pairs(rest_ctx *c, buf *sql, db_binds *b, json_t *obj, const char *src_prefix, bool use_columns)
{
    const char *const *cols;
    size_t ncols;
    db_query_columns(c->q, &cols, &ncols);
    int rc = BS_OK;
    size_t nkeys = use_columns && ncols ? ncols : json_object_size(obj);
    void *it = json_object_iter(obj);
    for (size_t i = 0; i < nkeys && !rc; i++) {
        const char *k;
        if (use_columns && ncols) {
            k = cols[i];
            if (!json_object_get(obj, k) && c->pref.missing_default)
                continue;
        } else {
            k = json_object_iter_key(it);
            it = json_object_iter_next(obj, it);
        }
        if (strcmp(k, "id") == 0 || strcmp(k, "created_at") == 0 || strcmp(k, "updated_at") == 0)
            continue;
        if (!key_ok(k)) {
            set_err(c, 400, "PGRST102", "field names may not be empty, longer than 255 bytes or contain '\"'", k);
            return BS_EINVAL;
        }
        size_t kl = strlen(k);
        char *path = arena_alloc(c->a, kl + 8);
        char *src = arena_alloc(c->a, strlen(src_prefix) + kl + 8);
        if (!path || !src)
            return BS_ENOMEM;
        snprintf(path, kl + 8, "$.\"%s\"", k);
        snprintf(src, strlen(src_prefix) + kl + 8, "%s.\"%s\"", src_prefix, k);
        rc = buf_puts(sql, ", ?, ? -> ?");
        if (!rc)
            rc = db_binds_text(c->a, b, path, strlen(path));
        if (!rc)
            rc = db_binds_text(c->a, b, c->body, c->body_len);
        if (!rc)
            rc = db_binds_text(c->a, b, src, strlen(src));
    }
    return rc;
}

static sqlite3_stmt *prepare_bound(rest_ctx *c, db_conn *w, const buf *sql, const db_binds *b)
{
    sqlite3_stmt *st = db_stmt(w, sql->data, sql->len, NULL);
    if (!st) {
        set_err(c, 500, "PGRST000", "could not prepare the write", sqlite3_errmsg(db_conn_handle(w)));
        return NULL;
    }
    bind_all(st, b, 1);
    return st;
}

/* Run a statement ending in RETURNING data; copy the row into the arena. */
static int step_returning(rest_ctx *c, db_conn *w, sqlite3_stmt *st, const char *id, char **doc)
{
    int step = sqlite3_step(st);
    int rc = BS_OK;
    *doc = NULL;
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *doc = arena_strdup(c->a, t ? t : "null");
        step = sqlite3_step(st);
        if (!*doc)
            rc = BS_ENOMEM;
    }
    if (step != SQLITE_DONE)
        rc = constraint_err(c, db_conn_handle(w), id);
    db_stmt_done(st);
    return rc;
}

static char *read_doc(rest_ctx *c, db_conn *w, const char *id)
{
    buf q = BUF_INIT;
    int rc = buf_puts(&q, "SELECT data FROM ");
    if (!rc)
        rc = db_ident_quote(&q, c->coll);
    if (!rc)
        rc = buf_puts(&q, " WHERE id = ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, q.data, q.len, NULL);
    buf_free(&q);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    char *doc = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        doc = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 0));
    db_stmt_done(st);
    return doc;
}

/* Merge the keys of `patch` (found in the body at src_prefix) into row id. */
static int update_row(rest_ctx *c, db_conn *w, const char *id, const char *old_doc, json_t *patch,
                      const char *src_prefix, bool use_columns)
{
    buf sql = BUF_INIT;
    db_binds b = {0};
    int rc = buf_puts(&sql, "UPDATE ");
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, " SET data = json_set(data");
    if (!rc)
        rc = build_pairs(c, &sql, &b, patch, src_prefix, use_columns);
    if (!rc)
        rc = buf_puts(&sql, ", '$.updated_at', ?), updated_at = ?, version = version + 1 WHERE id = ? RETURNING data");
    if (!rc)
        rc = db_binds_text(c->a, &b, c->now, strlen(c->now));
    if (!rc)
        rc = db_binds_text(c->a, &b, c->now, strlen(c->now));
    if (!rc)
        rc = db_binds_text(c->a, &b, id, strlen(id));
    sqlite3_stmt *st = rc ? NULL : prepare_bound(c, w, &sql, &b);
    buf_free(&sql);
    if (!st)
        return rc ? rc : BS_EDB;
    char *new_doc;
    rc = step_returning(c, w, st, id, &new_doc);
    if (!rc && new_doc && c->rules_on &&
        !rules_write_allowed(c->rule_upd, c->auth, old_doc, new_doc, c->rule_sel, want_repr(c)))
        rc = deny_row(c);
    if (!rc && new_doc)
        rc = db_changelog_append(w, c->coll, "UPDATE", id, old_doc, new_doc, c->now_ms);
    return rc;
}

static int insert_one(rest_ctx *c, db_conn *w, json_t *doc, const char *src, bool *written, char id[MAX_ID_LEN + 1])
{
    bool given;
    int rc = doc_id(c, doc, id, MAX_ID_LEN + 1, &given);
    if (rc)
        return rc;
    *written = false;
    if (c->pref.resolution != RES_NONE) {
        char found[MAX_ID_LEN + 1];
        rc = find_conflict(c, w, doc, id, found);
        if (rc == BS_OK) {
            if (c->pref.resolution == RES_IGNORE)
                return BS_OK;
            char *old = read_doc(c, w, found);
            /* the stored row must be one the caller may update */
            if (c->rules_on &&
                (!c->rule_upd || !old || !rules_write_allowed(c->rule_upd, c->auth, old, old, NULL, false)))
                return deny_row(c);
            rc = update_row(c, w, found, old, doc, src, true);
            if (!rc) {
                snprintf(id, MAX_ID_LEN + 1, "%s", found);
                *written = true;
            }
            return rc;
        }
        if (rc != BS_ENOTFOUND) {
            set_err(c, 500, "PGRST000", "upsert lookup failed", sqlite3_errmsg(db_conn_handle(w)));
            return rc;
        }
    }
    const char *const *cols;
    size_t ncols;
    db_query_columns(c->q, &cols, &ncols);
    buf sql = BUF_INIT;
    db_binds b = {0};
    rc = buf_puts(&sql, "INSERT INTO ");
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, "(data, id, created_at, updated_at) VALUES(json_set(");
    if (!rc && ncols) {
        rc = buf_puts(&sql, "'{}'");
        if (!rc)
            rc = build_pairs(c, &sql, &b, doc, src, true);
        /* columns= may name id: keep the client's id value */
        for (size_t i = 0; i < ncols && !rc && given; i++)
            if (strcmp(cols[i], "id") == 0) {
                rc = buf_puts(&sql, ", '$.id', ? -> ?");
                if (!rc)
                    rc = db_binds_text(c->a, &b, c->body, c->body_len);
                if (!rc) {
                    char *p = arena_alloc(c->a, strlen(src) + 8);
                    if (!p)
                        rc = BS_ENOMEM;
                    else {
                        snprintf(p, strlen(src) + 8, "%s.\"id\"", src);
                        rc = db_binds_text(c->a, &b, p, strlen(p));
                    }
                }
            }
    } else if (!rc) {
        rc = buf_puts(&sql, "? -> ?");
        if (!rc)
            rc = db_binds_text(c->a, &b, c->body, c->body_len);
        if (!rc)
            rc = db_binds_text(c->a, &b, src, strlen(src));
    }
    if (!rc && !given) {
        rc = buf_puts(&sql, ", '$.id', ?");
        if (!rc)
            rc = db_binds_text(c->a, &b, id, strlen(id));
    }
    if (!rc)
        rc = buf_puts(&sql, ", '$.created_at', ?, '$.updated_at', ?), ?, ?, ?) RETURNING data");
    const char *vals[] = {c->now, c->now, id, c->now, c->now};
    for (size_t i = 0; i < 5 && !rc; i++)
        rc = db_binds_text(c->a, &b, vals[i], strlen(vals[i]));
    sqlite3_stmt *st = rc ? NULL : prepare_bound(c, w, &sql, &b);
    buf_free(&sql);
    if (!st)
        return rc ? rc : BS_EDB;
    char *new_doc;
    rc = step_returning(c, w, st, id, &new_doc);
    if (!rc && new_doc && c->rules_on &&
        !rules_write_allowed(c->rule_write, c->auth, NULL, new_doc, c->rule_sel, want_repr(c)))
        rc = deny_row(c);
    if (!rc && new_doc) {
        rc = db_changelog_append(w, c->coll, "INSERT", id, NULL, new_doc, c->now_ms);
        *written = true;
    }
    return rc;
}

static bool want_repr(rest_ctx *c) { return c->pref.ret == RET_REPR; }

static int finish_repr(rest_ctx *c)
{
    if (!c->nrows)
        return buf_puts(&c->out, "[]");
    return buf_putc(&c->out, ']');
}

/* Writer callback for POST. */
static int do_insert(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    json_t *j = c->json;
    size_t n = json_is_array(j) ? json_array_size(j) : 1;
    int rc = BS_OK;
    size_t nwritten = 0;
    char id[MAX_ID_LEN + 1];
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *doc = json_is_array(j) ? json_array_get(j, i) : j;
        char src[32];
        if (json_is_array(j))
            snprintf(src, sizeof src, "$[%zu]", i);
        else
            snprintf(src, sizeof src, "$");
        bool written = false;
        rc = insert_one(c, w, doc, src, &written, id);
        if (!rc && written)
            nwritten++;
        if (!rc && written && (want_repr(c) || c->pref.ret == RET_HEADERS))
            rc = want_repr(c) ? append_repr(c, w, id) : BS_OK;
        if (!rc && written && c->pref.ret == RET_HEADERS && i == 0) {
            char *loc = arena_alloc(c->a, strlen(c->coll) + strlen(id) + 16);
            if (loc) {
                snprintf(loc, strlen(c->coll) + strlen(id) + 16, "/%s?id=eq.%s", c->coll, id);
                c->location = loc;
            }
        }
    }
    if (!rc && !want_repr(c))
        c->nrows = nwritten; /* for Content-Range with Prefer: count */
    if (!rc && want_repr(c))
        rc = finish_repr(c);
    if (!rc && c->acc == ACC_OBJECT && want_repr(c) && c->nrows != 1) {
        char d[64];
        snprintf(d, sizeof d, "The result contains %zu rows", c->nrows);
        set_err(c, 406, "PGRST116", "Cannot coerce the result to a single JSON object", d);
        rc = BS_EINVAL;
    }
    if (rc && !c->err_status)
        set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
    return rc;
}

typedef struct target {
    const char *id;
    const char *data;
} target;

/* Select the rows the filters reach (with order/limit when given). */
static int select_targets(rest_ctx *c, db_conn *w, target **out, size_t *n)
{
    buf sql = BUF_INIT;
    int rc = build_select(c, &sql, "id, data", true);
    int64_t lim = db_query_limit(c->q);
    if (!rc && lim >= 0)
        rc = buf_printf(&sql, " LIMIT %lld", (long long)lim);
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st) {
        set_err(c, 500, "PGRST000", "could not prepare the filter", sqlite3_errmsg(db_conn_handle(w)));
        return BS_EDB;
    }
    bind_all(st, &c->binds, 1);
    size_t cap = 16;
    target *v = arena_alloc(c->a, cap * sizeof *v);
    *n = 0;
    int step;
    while (v && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            target *nv = arena_alloc(c->a, cap * 2 * sizeof *nv);
            if (!nv) {
                v = NULL;
                break;
            }
            memcpy(nv, v, cap * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[*n].id = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 0));
        v[*n].data = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        if (!v[*n].id || !v[*n].data)
            v = NULL;
        else
            (*n)++;
    }
    db_stmt_done(st);
    if (!v) {
        set_err(c, 500, "PGRST000", "out of memory", NULL);
        return BS_ENOMEM;
    }
    *out = v;
    return BS_OK;
}

static int do_update(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    target *t;
    size_t n;
    int rc = select_targets(c, w, &t, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = update_row(c, w, t[i].id, t[i].data, c->json, "$", false);
        if (!rc && want_repr(c))
            rc = append_repr(c, w, t[i].id);
    }
    if (!rc)
        c->nrows = want_repr(c) ? c->nrows : n;
    if (!rc && want_repr(c))
        rc = finish_repr(c);
    if (!rc && c->acc == ACC_OBJECT && want_repr(c) && n != 1) {
        char d[64];
        snprintf(d, sizeof d, "The result contains %zu rows", n);
        set_err(c, 406, "PGRST116", "Cannot coerce the result to a single JSON object", d);
        rc = BS_EINVAL;
    }
    if (rc && !c->err_status)
        set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
    return rc;
}

static int do_delete(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    target *t;
    size_t n;
    int rc = select_targets(c, w, &t, &n);
    buf del = BUF_INIT;
    if (!rc)
        rc = buf_puts(&del, "DELETE FROM ");
    if (!rc)
        rc = db_ident_quote(&del, c->coll);
    if (!rc)
        rc = buf_puts(&del, " WHERE id = ?");
    buf proj = BUF_INIT;
    if (!rc)
        rc = buf_printf(&proj, "SELECT %s FROM (SELECT ? AS data)", c->proj.data);
    for (size_t i = 0; i < n && !rc; i++) {
        if (want_repr(c) && c->rules_on && !rules_write_allowed(NULL, c->auth, t[i].data, NULL, c->rule_sel, true)) {
            rc = deny_row(c);
            break;
        }
        if (want_repr(c)) {
            sqlite3_stmt *ps = db_stmt(w, proj.data, proj.len, NULL);
            if (!ps) {
                rc = BS_EDB;
                break;
            }
            sqlite3_bind_text(ps, 1, t[i].data, -1, SQLITE_STATIC);
            if (sqlite3_step(ps) == SQLITE_ROW) {
                rc = buf_putc(&c->out, c->nrows ? ',' : '[');
                if (!rc)
                    rc = buf_append(&c->out, sqlite3_column_text(ps, 0), (size_t)sqlite3_column_bytes(ps, 0));
                c->nrows++;
            }
            db_stmt_done(ps);
        }
        sqlite3_stmt *st = rc ? NULL : db_stmt(w, del.data, del.len, NULL);
        if (!st) {
            rc = rc ? rc : BS_EDB;
            break;
        }
        sqlite3_bind_text(st, 1, t[i].id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
        if (!rc)
            rc = db_changelog_append(w, c->coll, "DELETE", t[i].id, t[i].data, NULL, c->now_ms);
    }
    buf_free(&del);
    buf_free(&proj);
    if (!rc)
        c->nrows = want_repr(c) ? c->nrows : n;
    if (!rc && want_repr(c))
        rc = finish_repr(c);
    if (!rc && c->acc == ACC_OBJECT && want_repr(c) && n != 1) {
        char d[64];
        snprintf(d, sizeof d, "The result contains %zu rows", n);
        set_err(c, 406, "PGRST116", "Cannot coerce the result to a single JSON object", d);
        rc = BS_EINVAL;
    }
    if (rc && !c->err_status)
        set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
    return rc;
}

/* Parse and check the body of a write: an object, or (POST only) a
 * non-empty array of objects. */
static int load_body(rest_ctx *c, bool allow_array)
{
    http_req *r = c->r;
    int rc = http_body(r, &c->body, &c->body_len);
    if (rc == BS_ETOOBIG) {
        http_add_header(r, "Connection", "close");
        char d[96];
        snprintf(d, sizeof d, "The request body is larger than the limit of %zu bytes", http_app(r)->cfg->max_body);
        set_err(c, 413, "PGRST413", "Payload Too Large", d);
        return rc;
    }
    if (rc) {
        set_err(c, 400, "PGRST102", "could not read the request body", NULL);
        return rc;
    }
    /* depth-bounded, duplicate keys refused (http.h explains why) */
    char d[256];
    if (http_parse_json(c->body, c->body_len, JSON_DECODE_INT_AS_REAL, &c->json, d, sizeof d)) {
        set_err(c, 400, "PGRST102", "Empty or invalid json", d);
        return BS_EJSON;
    }
    if (json_is_object(c->json))
        return BS_OK;
    if (json_is_array(c->json) && allow_array) {
        size_t i;
        json_t *e;
        if (json_array_size(c->json) > MAX_BULK_ROWS) {
            set_err(c, 413, "PGRST413", "Payload Too Large", "at most 10000 documents per request");
            return BS_ETOOBIG;
        }
        json_array_foreach(c->json, i, e)
        {
            if (!json_is_object(e)) {
                char det[96];
                snprintf(det, sizeof det, "element %zu of the array is not an object", i);
                set_err(c, 400, "PGRST102", "All object keys must match", det);
                return BS_EJSON;
            }
        }
        return BS_OK;
    }
    set_err(c, 400, "PGRST102", allow_array ? "a document must be a JSON object or an array of objects"
                                            : "the request body must be a JSON object",
            NULL);
    return BS_EJSON;
}

static int respond_write(rest_ctx *c, int ok_status)
{
    http_req *r = c->r;
    char range[64];
    if (c->pref.count) {
        snprintf(range, sizeof range, "*/%zu", c->nrows);
        http_add_header(r, "Content-Range", range);
    }
    if (c->pref.ret == RET_HEADERS && c->location)
        http_add_header(r, "Location", c->location);
    if (want_repr(c)) {
        if (c->acc == ACC_OBJECT)
            return http_send(r, ok_status == 201 ? 201 : 200, "application/vnd.pgrst.object+json; charset=utf-8",
                             c->out.data + 1, c->out.len - 2);
        return http_send(r, ok_status == 201 ? 201 : 200, "application/json; charset=utf-8", c->out.data, c->out.len);
    }
    return http_send(r, ok_status == 201 ? 201 : 204, NULL, NULL, 0);
}

static int handle_write(rest_ctx *c)
{
    http_req *r = c->r;
    unsigned m = http_method(r);
    db_write_fn fn = m == HTTP_POST ? do_insert : m == HTTP_PATCH ? do_update : do_delete;
    if ((m == HTTP_PATCH || m == HTTP_DELETE) && !db_query_has_filters(c->q) &&
        strcmp(((auth_claims *)http_claims(r))->role, "service_role") != 0)
        return http_error(r, 400, "21000", m == HTTP_PATCH ? "UPDATE requires a WHERE clause" : "DELETE requires a WHERE clause",
                          NULL, "Add a filter, e.g. ?id=eq.<id>");
    if (m != HTTP_DELETE && load_body(c, m == HTTP_POST))
        return send_err(c);
    if (compile(c))
        return send_err(c);
    c->now_ms = time_now_ms();
    time_iso_ms(c->now_ms, c->now);
    int rc = db_write(http_app(r)->store, fn, c);
    if (rc == BS_ESHUTDOWN)
        return http_error(r, 503, "PGRST000", "the server is shutting down", NULL, NULL);
    if (rc) {
        if (!c->err_status)
            set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
        return send_err(c);
    }
    return respond_write(c, m == HTTP_POST ? 201 : 204);
}

/* Take the rules this request needs from the cache.  An operation without
 * a rule is closed: 42501 "permission denied". */
static int get_rule(rest_ctx *c, db_conn *conn, rules_op op, const rules_expr **out)
{
    int rc = rules_cache_get(http_app(c->r)->rules, conn, c->coll, op, out);
    if (rc == BS_EPARSE)
        rc = BS_OK; /* a stored rule that no longer parses: closed (logged) */
    if (rc == BS_ENOTFOUND) {
        char msg[256];
        snprintf(msg, sizeof msg, "Could not find the table 'public.%.100s' in the schema cache", c->coll);
        set_err(c, 404, "PGRST205", msg, NULL);
    } else if (rc) {
        set_err(c, 500, "PGRST000", "could not load the access rules", NULL);
    }
    return rc;
}

static int load_rules(rest_ctx *c, db_conn *conn)
{
    unsigned m = http_method(c->r);
    rules_op op = (m & (HTTP_GET | HTTP_HEAD)) ? RULES_SELECT
                  : m == HTTP_POST              ? RULES_INSERT
                  : m == HTTP_PATCH             ? RULES_UPDATE
                                                : RULES_DELETE;
    const rules_expr *rule;
    int rc = get_rule(c, conn, op, &rule);
    if (rc)
        return rc;
    if (!rule) {
        char msg[160];
        snprintf(msg, sizeof msg, "permission denied for table %s", c->coll);
        set_err(c, c->deny_status, "42501", msg, NULL);
        return BS_EDENIED;
    }
    switch (op) {
    case RULES_SELECT: c->rule_where = rule; break;
    case RULES_INSERT: c->rule_write = rule; break;
    case RULES_UPDATE:
        c->rule_where = rule;
        c->rule_upd = rules_retain(rule);
        break;
    default: c->rule_where = rule; break;
    }
    if (!rc && op == RULES_INSERT && c->pref.resolution == RES_MERGE)
        rc = get_rule(c, conn, RULES_UPDATE, &c->rule_upd);
    if (!rc && op != RULES_SELECT && c->pref.ret == RET_REPR)
        rc = get_rule(c, conn, RULES_SELECT, &c->rule_sel);
    return rc;
}

int db_rest_handle(http_req *r)
{
    const char *sub = http_subpath_raw(r); /* names are decoded below, once */
    arena *a = http_arena(r);
    if (strncmp(sub, "rpc/", 4) == 0) {
        char *fn = http_url_decode(a, sub + 4, strlen(sub + 4), false);
        char msg[320], det[400];
        snprintf(msg, sizeof msg, "Could not find the function public.%.200s without parameters in the schema cache",
                 fn ? fn : "?");
        snprintf(det, sizeof det, "Searched for the function public.%.200s, but no matches were found in the schema cache",
                 fn ? fn : "?");
        return http_error(r, 404, "PGRST202", msg, det, NULL);
    }
    char *name = http_url_decode(a, sub, strlen(sub), false);
    if (!name || !*name || strchr(name, '/'))
        return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
    if (!profile_ok(r))
        return http_error(r, 406, "PGRST106", "The schema must be one of the following: public", NULL, NULL);

    rest_ctx *c = arena_calloc(a, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    c->r = r;
    c->a = a;
    db_conn *conn = db_reader(http_app(r)->store);
    if (!conn)
        return http_error(r, 503, "PGRST000", "database unavailable", NULL, NULL);
    if (rules_cache_collection(http_app(r)->rules, conn, name, c->coll) != BS_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "Could not find the table 'public.%.100s' in the schema cache", name);
        return http_error(r, 404, "PGRST205", msg, NULL, NULL);
    }
    auth_claims *cl = http_claims(r);
    c->auth = cl;
    c->rules_on = strcmp(cl->role, "service_role") != 0;
    c->deny_status = strcmp(cl->role, "anon") == 0 ? 401 : 403;
    const db_param *params;
    size_t np;
    if (http_params(r, &params, &np))
        return http_error(r, 400, "PGRST100", "the query string is not valid UTF-8 or contains NUL bytes", NULL, NULL);
    /* the apikey may travel in the query string (browsers' WebSocket
     * fallbacks do that): it is a credential, not a filter */
    db_param *kept = arena_alloc(a, (np ? np : 1) * sizeof *kept);
    if (!kept)
        return BS_ENOMEM;
    size_t nk = 0;
    for (size_t i = 0; i < np; i++)
        if (strcmp(params[i].key, "apikey") != 0)
            kept[nk++] = params[i];
    db_qerr e;
    memset(&e, 0, sizeof e);
    db_query *q;
    if (db_query_parse(a, kept, nk, &q, &e))
        return send_qerr(r, &e);
    c->q = q;
    parse_prefer(r, &c->pref);
    c->acc = parse_accept(r);
    int rc;
    if (c->rules_on && !(http_method(r) & (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)))
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    else if (c->rules_on && load_rules(c, conn))
        rc = send_err(c);
    else if (http_method(r) & (HTTP_GET | HTTP_HEAD))
        rc = handle_read(c);
    else if (http_method(r) & (HTTP_POST | HTTP_PATCH | HTTP_DELETE))
        rc = handle_write(c);
    else
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    rules_cache_put(c->rule_where);
    rules_cache_put(c->rule_write);
    rules_cache_put(c->rule_upd);
    rules_cache_put(c->rule_sel);
    json_decref(c->json);
    buf_free(&c->where);
    buf_free(&c->proj);
    buf_free(&c->order);
    buf_free(&c->out);
    return rc;
}
