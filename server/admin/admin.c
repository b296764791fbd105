/* admin.c - collection management over HTTP, /health and /metrics.
 *
 *   GET    /admin/v1/collections          list
 *   POST   /admin/v1/collections          {"name","indexes":[...],"rules":{op: text}}  201 / 409 / 400
 *   GET    /admin/v1/collections/NAME     one (with its rules)
 *   PATCH  /admin/v1/collections/NAME     {"indexes":[...]} replaces the index set;
 *                                         {"rules":{op: text|null}} replaces the named
 *                                         ops' rules (null: closed again)
 *   DELETE /admin/v1/collections/NAME     204
 *   GET    /admin/v1/collections/NAME/check[?after=ID&limit=N]
 *                                         documents with duplicated or escaped
 *                                         keys (db/doccheck.h), one page
 * Errors use the PostgREST shape, like the rest of the data API.
 */
#include "admin/admin.h"
#include "app/app.h"
#include "core/jwt.h"
#include "core/error.h"
#include "core/timeutil.h"
#include "rest/collections.h"
#include "rest/doccheck.h"
#include "db/store.h"
#include "core/metrics.h"
#include "functions/fn.h"
#include "realtime/rt_engine.h"
#include "rules/cache.h"
#include "rules/rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct coll_op {
    enum { OP_CREATE, OP_PATCH, OP_DROP } op;
    const char *name;
    json_t *spec;
    buf msg;
    buf details;
} coll_op;

static int run_op(db_conn *w, void *arg)
{
    coll_op *o = arg;
    int rc = BS_OK;
    switch (o->op) {
    case OP_CREATE: return rest_coll_create(w, o->name, o->spec, &o->msg);
    case OP_PATCH:
        if (json_object_get(o->spec, "indexes"))
            rc = rest_coll_set_indexes(w, o->name, json_object_get(o->spec, "indexes"), &o->msg);
        if (!rc && json_object_get(o->spec, "rules"))
            rc = rest_coll_set_rules(w, o->name, json_object_get(o->spec, "rules"), &o->msg, &o->details);
        return rc;
    case OP_DROP: return rest_coll_drop(w, o->name, &o->msg);
    }
    return BS_EINVAL;
}

static int op_error(http_req *r, int rc, coll_op *o)
{
    const char *m = o->msg.len ? buf_cstr(&o->msg) : basalt_strerror(rc);
    switch (rc) {
    case BS_EINVAL: return http_error(r, 400, "PGRST100", m, o->details.len ? buf_cstr(&o->details) : NULL, NULL);
    case BS_EEXISTS: return http_error(r, 409, "23505", m, NULL, NULL);
    case BS_ENOTFOUND: return http_error(r, 404, "PGRST205", m, NULL, NULL);
    case BS_ESHUTDOWN: return http_error(r, 503, "PGRST000", "the server is shutting down", NULL, NULL);
    default: return http_error(r, 500, "PGRST000", m, NULL, NULL);
    }
}

/* Parse the body as a JSON object; answers the error itself. */
static int read_json(http_req *r, json_t **out)
{
    char msg[256];
    int rc = http_body_json(r, 0, out, msg, sizeof msg);
    if (rc == BS_ETOOBIG)
        return http_error(r, 413, "PGRST413", "Payload Too Large", msg, NULL), rc;
    if (rc)
        return http_error(r, 400, "PGRST102", "Empty or invalid json", msg, NULL), rc;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return http_error(r, 400, "PGRST102", "the request body must be a JSON object", NULL, NULL), BS_EJSON;
    }
    return BS_OK;
}

/* ---- GET /admin/v1/collections/NAME/check ---- */

#define CHECK_LIMIT_DEFAULT 10000
#define CHECK_LIMIT_MAX 100000
#define CHECK_LIST_MAX 1000

/* A kept key spelling (the inside of a JSON string) as the key itself. */
static json_t *key_names(const char names[][DB_JDOC_NAME_MAX], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        buf q = BUF_INIT;
        json_error_t je;
        json_t *k = NULL;
        if (buf_printf(&q, "\"%s\"", names[i]) == BS_OK) /* one string, no nesting: plain jansson */
            k = json_loadb(q.data, q.len, JSON_DECODE_ANY, &je);
        if (!json_is_string(k)) { /* \u0000 or a lone surrogate: show the spelling */
            json_decref(k);
            k = json_string(names[i]);
        }
        json_array_append_new(a, k);
        buf_free(&q);
    }
    return a;
}

static int check_found(void *arg, const char *id, const db_jdoc_info *info)
{
    json_t *docs = arg;
    if (json_array_size(docs) >= CHECK_LIST_MAX)
        return BS_OK;
    json_t *d = info ? json_pack("{s:s?, s:o, s:o}", "id", id, "duplicate_keys",
                                 key_names(info->dup_names, info->ndup_names), "escaped_keys",
                                 key_names(info->respelled_names, info->nrespelled_names))
                     : json_pack("{s:s?, s:b}", "id", id, "not_an_object", 1);
    if (!d)
        d = json_pack("{s:s}", "id", "?"); /* an id that is not UTF-8 */
    return json_array_append_new(docs, d) == 0 ? BS_OK : BS_ENOMEM;
}

static int check_collection(http_req *r, const char *name)
{
    db_conn *c = db_reader(http_app(r)->store);
    if (!c)
        return http_error(r, 503, "PGRST000", "database unavailable", NULL, NULL);
    const char *after = http_param(r, "after");
    const char *ls = http_param(r, "limit");
    long limit = CHECK_LIMIT_DEFAULT;
    if (ls) {
        char *end;
        limit = strtol(ls, &end, 10);
        if (!*ls || *end || limit < 1 || limit > CHECK_LIMIT_MAX)
            return http_error(r, 400, "PGRST100", "\"limit\" must be an integer from 1 to 100000", NULL, NULL);
    }
    json_t *docs = json_array();
    if (!docs)
        return BS_ENOMEM;
    rest_doccheck_page page;
    int rc = rest_doccheck_scan(c, name, after, (size_t)limit, NULL, check_found, docs, &page);
    if (rc == BS_ENOTFOUND) {
        json_decref(docs);
        return http_error(r, 404, "PGRST205", "collection not found", NULL, NULL);
    }
    if (rc) {
        json_decref(docs);
        return http_error(r, 500, "PGRST000", "could not check the collection", NULL, NULL);
    }
    json_t *out = json_pack("{s:s, s:I, s:b, s:o, s:I, s:o}", "collection", name, "scanned", (json_int_t)page.scanned,
                            "complete", page.complete, "next",
                            page.complete ? json_null() : json_string(page.last_id), "found",
                            (json_int_t)page.found, "documents", docs);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    if (!text)
        return http_error(r, 500, "PGRST000", "could not render the check", NULL, NULL);
    rc = http_send_json(r, 200, text, strlen(text));
    free(text);
    return rc;
}

int admin_collections(http_req *r)
{
    bs_app *app = http_app(r);
    const char *sub = http_subpath_raw(r); /* "" or "collections" or "collections/NAME" (decoded below) */
    const char *name = NULL;
    if (strncmp(sub, "collections", 11) != 0 || (sub[11] && sub[11] != '/'))
        return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
    size_t nlen = sub[11] == '/' ? strlen(sub + 12) : 0;
    bool check = nlen > 6 && strcmp(sub + 12 + nlen - 6, "/check") == 0;
    if (check)
        nlen -= 6;
    if (sub[11] == '/' && sub[12])
        name = http_url_decode(http_arena(r), sub + 12, nlen, false);
    if (sub[11] == '/' && !name)
        return http_error(r, 404, "PGRST205", "collection not found", NULL, NULL);
    unsigned m = http_method(r);
    coll_op o = {0};
    int rc;
    if (check)
        return m & (HTTP_GET | HTTP_HEAD) ? check_collection(r, name)
                                          : http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    if (m & (HTTP_GET | HTTP_HEAD)) {
        db_conn *c = db_reader(app->store);
        if (!c)
            return http_error(r, 503, "PGRST000", "database unavailable", NULL, NULL);
        buf out = BUF_INIT;
        rc = name ? rest_coll_get_json(c, name, &out) : rest_coll_list_json(c, &out);
        if (rc == BS_ENOTFOUND)
            rc = http_error(r, 404, "PGRST205", "collection not found", NULL, NULL);
        else if (rc)
            rc = http_error(r, 500, "PGRST000", "could not read collections", NULL, NULL);
        else
            rc = http_send_json(r, 200, out.data, out.len);
        buf_free(&out);
        return rc;
    }
    if (m == HTTP_POST && !name) {
        if (read_json(r, &o.spec))
            return BS_OK;
        json_t *n = json_object_get(o.spec, "name");
        if (!json_is_string(n)) {
            json_decref(o.spec);
            return http_error(r, 400, "PGRST100", "\"name\" must be a string", NULL, NULL);
        }
        o.op = OP_CREATE;
        o.name = json_string_value(n);
    } else if (m == HTTP_PATCH && name) {
        if (read_json(r, &o.spec))
            return BS_OK;
        if (!json_object_get(o.spec, "indexes") && !json_object_get(o.spec, "rules")) {
            json_decref(o.spec);
            return http_error(r, 400, "PGRST100", "nothing to change: give \"indexes\" and/or \"rules\"", NULL, NULL);
        }
        o.op = OP_PATCH;
        o.name = name;
    } else if (m == HTTP_DELETE && name) {
        o.op = OP_DROP;
        o.name = name;
    } else {
        return http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    }
    /* Check rules on this thread first, so that a bad one costs the writer
     * nothing and the error carries the rule text with a caret. */
    json_t *rules = o.op == OP_DROP ? NULL : json_object_get(o.spec, "rules");
    if (rules && !(o.op == OP_CREATE && json_is_null(rules))) {
        json_t *merged = NULL;
        rc = rules_merge(NULL, rules, &merged, &o.msg, &o.details);
        json_decref(merged);
        if (rc) {
            rc = op_error(r, rc, &o);
            json_decref(o.spec);
            buf_free(&o.msg);
            buf_free(&o.details);
            return rc;
        }
    }
    rc = db_write(app->store, run_op, &o);
    /* after the commit: the next request reloads this collection's rules */
    if (!rc)
        rules_cache_invalidate(app->rules, o.name);
    if (rc) {
        rc = op_error(r, rc, &o);
    } else if (o.op == OP_DROP) {
        rc = http_send(r, 204, NULL, NULL, 0);
    } else {
        db_conn *c = db_reader(app->store);
        buf out = BUF_INIT;
        if (c && rest_coll_get_json(c, o.name, &out) == BS_OK)
            rc = http_send_json(r, o.op == OP_CREATE ? 201 : 200, out.data, out.len);
        else
            rc = http_error(r, 500, "PGRST000", "collection written but not readable", NULL, NULL);
        buf_free(&out);
    }
    json_decref(o.spec);
    buf_free(&o.msg);
    buf_free(&o.details);
    return rc;
}

int admin_config(http_req *r)
{
    char *j = cfg_to_json(http_app(r)->cfg);
    if (!j)
        return BS_ENOMEM;
    int rc = http_send_json(r, 200, j, strlen(j));
    free(j);
    return rc;
}

int admin_health(http_req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return http_send_json(r, 200, ok, sizeof ok - 1);
}

int admin_metrics(http_req *r)
{
    bs_app *app = http_app(r);
    buf out = BUF_INIT;
    int rc = metrics_render(&out);
    if (!rc)
        rc = rt_metrics_render(app->rt, &out);
    if (!rc)
        rc = fn_metrics_render(app->fn, &out);
    int64_t hits, misses, used;
    db_cache_stats(app->store, &hits, &misses, &used);
    uint64_t jh, jm;
    size_t je;
    auth_jwt_cache_stats(app->jwt, &jh, &jm, &je);
    size_t held;
    uint64_t refused;
    int ws;
    http_conn_stats(app->http, &held, &refused, &ws);
    if (!rc)
        rc = buf_printf(&out,
                        "# HELP basalt_http_connections Open connections counted against --max-connections-per-ip.\n"
                        "# TYPE basalt_http_connections gauge\nbasalt_http_connections %zu\n"
                        "# HELP basalt_http_connections_refused_total Connections refused by --max-connections-per-ip.\n"
                        "# TYPE basalt_http_connections_refused_total counter\nbasalt_http_connections_refused_total %llu\n"
                        "# HELP basalt_main_websockets WebSockets open on the main port (--main-websockets).\n"
                        "# TYPE basalt_main_websockets gauge\nbasalt_main_websockets %d\n",
                        held, (unsigned long long)refused, ws);
    if (!rc)
        rc = buf_printf(&out,
                        "# HELP basalt_sqlite_cache_used_bytes Bytes held by the page caches of all connections.\n"
                        "# TYPE basalt_sqlite_cache_used_bytes gauge\nbasalt_sqlite_cache_used_bytes %lld\n"
                        "# HELP basalt_sqlite_cache_hits_total Page cache hits, all connections.\n"
                        "# TYPE basalt_sqlite_cache_hits_total counter\nbasalt_sqlite_cache_hits_total %lld\n"
                        "# HELP basalt_sqlite_cache_misses_total Page cache misses, all connections.\n"
                        "# TYPE basalt_sqlite_cache_misses_total counter\nbasalt_sqlite_cache_misses_total %lld\n"
                        "# HELP basalt_jwt_cache_hits_total Verified-token cache hits.\n"
                        "# TYPE basalt_jwt_cache_hits_total counter\nbasalt_jwt_cache_hits_total %llu\n"
                        "# HELP basalt_jwt_cache_misses_total Verified-token cache misses.\n"
                        "# TYPE basalt_jwt_cache_misses_total counter\nbasalt_jwt_cache_misses_total %llu\n"
                        "# HELP basalt_jwt_cache_entries Tokens in the verified-token cache.\n"
                        "# TYPE basalt_jwt_cache_entries gauge\nbasalt_jwt_cache_entries %zu\n"
                        "# HELP basalt_uptime_seconds Seconds since the server started.\n"
                        "# TYPE basalt_uptime_seconds gauge\nbasalt_uptime_seconds %lld\n",
                        (long long)used, (long long)hits, (long long)misses, (unsigned long long)jh,
                        (unsigned long long)jm, je, (long long)((time_now_ms() - app->started_ms) / 1000));
    if (!rc)
        rc = http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    buf_free(&out);
    return rc;
}
