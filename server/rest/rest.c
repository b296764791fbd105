/* rest.c - /rest/v1: PostgREST's HTTP surface over collections; see rest.h.
 *
 * Request flow:
 *   path → collection (404 PGRST205) → profile headers (406 PGRST106)
 *   → query string → rest_query (400 PGRST100) → access rules
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
 * Files: this one has the request flow, the headers, reads and the rules
 * a request needs; rest_write.c the writes (documents are built there, from
 * canonical texts: see jsondoc.h); rest_upsert.c the upserts; rest_int.h
 * what they share.
 */
#include "rest/rest_int.h"
#include "app/app.h"
#include "core/error.h"
#include "core/log.h"
#include "db/ident.h"
#include "rules/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void rest_set_err(rest_ctx *c, int status, const char *code, const char *msg, const char *details)
{
    c->err_status = status;
    c->err_code = code;
    snprintf(c->err_msg, sizeof c->err_msg, "%s", msg);
    snprintf(c->err_details, sizeof c->err_details, "%s", details ? details : "");
}

int rest_send_err(rest_ctx *c)
{
    return http_error(c->r, c->err_status, c->err_code, c->err_msg, c->err_details[0] ? c->err_details : NULL, NULL);
}

static int send_qerr(http_req *r, const rest_qerr *e)
{
    return http_error(r, e->status ? e->status : 400, e->code ? e->code : "PGRST100", e->message,
                      e->details[0] ? e->details : NULL, e->hint);
}

/* ---- headers ---- */

static void parse_prefer(http_req *r, rest_prefer *p)
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

static rest_accept parse_accept(http_req *r)
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

static int64_t effective_limit(rest_ctx *c)
{
    int64_t max = http_app(c->r)->cfg->max_rows;
    int64_t l = rest_query_limit(c->q);
    return l < 0 || l > max ? max : l;
}

int rest_compile(rest_ctx *c)
{
    rest_qerr e;
    memset(&e, 0, sizeof e);
    if (c->rule_where) {
        /* "(rule) AND (filters)": the rule's binds come first */
        int rrc = rules_to_sql_ex(c->rule_where, c->auth, http_method(c->r) == HTTP_PATCH, c->a, &c->where,
                                  &c->binds);
        if (!rrc)
            rrc = buf_puts(&c->where, " AND (");
        if (rrc) {
            rest_set_err(c, 500, "PGRST000", "could not compile the access rule", NULL);
            return BS_EINVAL;
        }
    }
    int rc = rest_query_where(c->q, c->a, &c->where, &c->binds, &e);
    if (!rc && c->rule_where)
        rc = buf_putc(&c->where, ')');
    if (!rc)
        rc = rest_query_projection(c->q, c->a, &c->proj, &c->pbinds, &e);
    if (!rc)
        rc = rest_query_order(c->q, c->a, &c->order, &c->obinds, &e);
    if (rc) {
        rest_set_err(c, e.status ? e.status : 400, e.code ? e.code : "PGRST100", e.message, e.details);
        return BS_EPARSE;
    }
    return BS_OK;
}

int rest_select_sql(rest_ctx *c, buf *sql, const char *cols, bool with_order)
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

int rest_bind_select(rest_ctx *c, sqlite3_stmt *st, bool with_proj, bool with_order)
{
    int next = 1;
    if (with_proj)
        next = db_binds_apply(st, &c->pbinds, next);
    next = db_binds_apply(st, &c->binds, next);
    if (with_order && c->order.len)
        next = db_binds_apply(st, &c->obinds, next);
    return next;
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
    int rc = rest_select_sql(c, &sql, "count(*)", false);
    sqlite3_stmt *st = rc ? NULL : db_stmt(conn, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return BS_EDB;
    rest_bind_select(c, st, false, false);
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
    if (rest_compile(c))
        return rest_send_err(c);
    int64_t limit = effective_limit(c);
    int64_t offset = rest_query_offset(c->q);
    if (offset < 0)
        offset = 0;
    buf sql = BUF_INIT;
    int rc = rest_select_sql(c, &sql, c->proj.data, true);
    if (!rc)
        rc = buf_puts(&sql, " LIMIT ? OFFSET ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(conn, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return http_error(r, 500, "PGRST000", "could not prepare the query", NULL, NULL);
    int next = rest_bind_select(c, st, true, true);
    sqlite3_bind_int64(st, next, limit);
    sqlite3_bind_int64(st, next + 1, offset);
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
        rc = rest_csv(&c->out, &csv);
        if (!rc)
            rc = http_send(r, status, "text/csv; charset=utf-8", csv.data ? csv.data : "", csv.len);
        else
            rc = http_error(r, 500, "PGRST000", "could not render CSV", NULL, NULL);
        buf_free(&csv);
        return rc;
    }
    return http_send(r, status, "application/json; charset=utf-8", c->out.data, c->out.len);
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
        rest_set_err(c, 404, "PGRST205", msg, NULL);
    } else if (rc) {
        rest_set_err(c, 500, "PGRST000", "could not load the access rules", NULL);
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
        rest_set_err(c, c->deny_status, "42501", msg, NULL);
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
    /* rows handed back pass select; so do upserted rows, new and existing,
     * as PostgreSQL checks SELECT policies for INSERT ... ON CONFLICT */
    if (!rc && op != RULES_SELECT && (c->pref.ret == RET_REPR || (op == RULES_INSERT && c->pref.resolution != RES_NONE)))
        rc = get_rule(c, conn, RULES_SELECT, &c->rule_sel);
    return rc;
}

int rest_handle(http_req *r)
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
    const http_qparam *params;
    size_t np;
    if (http_params(r, &params, &np))
        return http_error(r, 400, "PGRST100", "the query string is not valid UTF-8 or contains NUL bytes", NULL, NULL);
    /* the apikey may travel in the query string (browsers' WebSocket
     * fallbacks do that): it is a credential, not a filter */
    http_qparam *kept = arena_alloc(a, (np ? np : 1) * sizeof *kept);
    if (!kept)
        return BS_ENOMEM;
    size_t nk = 0;
    for (size_t i = 0; i < np; i++)
        if (strcmp(params[i].key, "apikey") != 0)
            kept[nk++] = params[i];
    rest_qerr e;
    memset(&e, 0, sizeof e);
    rest_query *q;
    if (rest_query_parse(a, kept, nk, &q, &e))
        return send_qerr(r, &e);
    c->q = q;
    parse_prefer(r, &c->pref);
    c->acc = parse_accept(r);
    int rc;
    if (c->rules_on && !(http_method(r) & (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)))
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    else if (c->rules_on && load_rules(c, conn))
        rc = rest_send_err(c);
    else if (http_method(r) & (HTTP_GET | HTTP_HEAD))
        rc = handle_read(c);
    else if (http_method(r) & (HTTP_POST | HTTP_PATCH | HTTP_DELETE))
        rc = rest_write(c);
    else
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    rules_cache_put(c->rule_where);
    rules_cache_put(c->rule_write);
    rules_cache_put(c->rule_upd);
    rules_cache_put(c->rule_sel);
    json_decref(c->json);
    buf_free(&c->cbody);
    buf_free(&c->where);
    buf_free(&c->proj);
    buf_free(&c->order);
    buf_free(&c->out);
    return rc;
}
