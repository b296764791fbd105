/* query_parse.c - libFuzzer target for server/db/query.c.
 *
 * The input is a query string: split on '&' into params, each on its first
 * '=' into key and value (no URL decoding; the parser sees decoded text).
 * Every input must parse or fail cleanly; every query that parses must
 * compile to SQL that SQLite accepts, with exactly as many binds as `?`,
 * and must run against a small table of documents (which also exercises
 * bs_json_contains / bs_json_overlaps with fuzzed operands).  A compiled
 * query SQLite rejects is a bug in the compiler, so it aborts.  A plain
 * KEY=[not.]cs|cd|ov.VALUE filter whose VALUE jansson reads deeper than
 * JSONIN_MAX_DEPTH must be refused; everything runs on a small stack
 * (fuzz_json.h), SQLite's evaluation of the JSON functions included.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "rest/query.h"
#include "fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARAMS 1024

static sqlite3 *db;

static void setup(void)
{
    static const char *const docs[] = {
        ("{\"id\":\"a\",\"n\":1,\"s\":\"x\",\"b\":true,\"t\":[\"a\",1,{\"k\":2}],"
         "\"o\":{\"k\":1,\"p\":{\"q\":[1,2]}},\"z\":null}"),
        "{\"id\":\"b\",\"n\":\"1\",\"s\":\"X*?[\",\"b\":false,\"t\":[],\"o\":[1,{\"k\":1}]}",
        "{\"id\":\"c\",\"n\":2.5,\"t\":{\"a\":[1]},\"o\":\"str\"}",
        "{\"id\":\"d\"}",
        /* keys spelled as the store writes them (jsondoc.h) */
        "{\"id\":\"e\",\"a b\":1,\"q\\\"t\\u002ex\":[1],\"\":{\"c.d\":true}}",
    };
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || rest_query_register_functions(db) != BS_OK)
        abort();
    sqlite3_exec(db,
                 "CREATE TABLE t(id TEXT PRIMARY KEY, data TEXT, created_at TEXT, "
                 "updated_at TEXT, version INTEGER)",
                 NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES(json_extract(?1, '$.id'), ?1, '2024', "
                               "'2025', 1)",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, docs[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            abort();
        sqlite3_finalize(st);
    }
}

static void run_sql(const rest_query *q, const buf *where, const buf *proj, const buf *order,
                    const db_binds *binds)
{
    buf sql = BUF_INIT;
    if (buf_printf(&sql, "SELECT %s FROM t WHERE %s", buf_cstr(proj), buf_cstr(where)) != BS_OK)
        abort();
    if (rest_query_has_order(q))
        buf_printf(&sql, " ORDER BY %s", buf_cstr(order));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "compiled SQL rejected: %s\n%s\n", sqlite3_errmsg(db), buf_cstr(&sql));
        abort();
    }
    if ((size_t)sqlite3_bind_parameter_count(st) != binds->n) {
        fprintf(stderr, "bind count %d != %zu\n%s\n", sqlite3_bind_parameter_count(st), binds->n,
                buf_cstr(&sql));
        abort();
    }
    for (size_t i = 0; i < binds->n; i++) {
        const db_bind *b = &binds->v[i];
        int k = (int)i + 1;
        switch (b->type) {
        case DB_BIND_INT: sqlite3_bind_int64(st, k, b->i); break;
        case DB_BIND_REAL: sqlite3_bind_double(st, k, b->r); break;
        case DB_BIND_TEXT: sqlite3_bind_text(st, k, b->s, (int)b->n, SQLITE_STATIC); break;
        default: sqlite3_bind_null(st, k); break;
        }
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "step failed: %s\n%s\n", sqlite3_errmsg(db), buf_cstr(&sql));
        abort();
    }
    sqlite3_finalize(st);
    buf_free(&sql);
}

/* The JSON operand of a plain KEY=[not.]cs|cd|ov.VALUE filter, or NULL. */
static const char *json_operand(const char *key, const char *val)
{
    static const char *const reserved[] = {"select", "order", "limit", "offset", "on_conflict", "columns",
                                           "or", "and", "not.or", "not.and"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(key, reserved[i]) == 0)
            return NULL;
    if (strncmp(val, "not.", 4) == 0)
        val += 4;
    if (strncmp(val, "cs.", 3) == 0 || strncmp(val, "cd.", 3) == 0 || strncmp(val, "ov.", 3) == 0)
        return val + 3;
    return NULL;
}

typedef struct input {
    http_qparam *params;
    size_t n;
    bool too_deep;
} input;

static void *run(void *arg)
{
    const input *in = arg;
    const http_qparam *params = in->params;
    size_t n = in->n;
    bool too_deep = in->too_deep;
    arena a = ARENA_INIT;
    rest_query *q = NULL;
    rest_qerr err;
    if (rest_query_parse(&a, params, n, &q, &err) == BS_OK) {
        if (too_deep)
            abort(); /* a cs/cd/ov operand deeper than the limit was admitted */
        buf where = BUF_INIT, proj = BUF_INIT, order = BUF_INIT;
        db_binds binds = {0};
        /* one list of binds, in the order the texts appear in the SELECT */
        if (rest_query_projection(q, &a, &proj, &binds, &err) != BS_OK ||
            rest_query_where(q, &a, &where, &binds, &err) != BS_OK ||
            rest_query_order(q, &a, &order, &binds, &err) != BS_OK)
            abort(); /* only out of memory may fail here */
        (void)rest_query_limit(q);
        (void)rest_query_has_filters(q);
        const char *const *names;
        size_t nn;
        /* names are decoded text: any bytes but NUL (quoted names) */
        rest_query_columns(q, &names, &nn);
        for (size_t i = 0; i < nn; i++)
            if (!names[i])
                abort();
        rest_query_on_conflict(q, &names, &nn);
        for (size_t i = 0; i < nn; i++)
            if (!names[i])
                abort();
        run_sql(q, &where, &proj, &order, &binds);
        buf_free(&where);
        buf_free(&proj);
        buf_free(&order);
    } else {
        /* errors are well formed */
        if (!err.code || err.status < 400 || strlen(err.message) == 0)
            abort();
    }
    arena_free(&a);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        setup();
    if (size > 65536)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    static http_qparam params[MAX_PARAMS];
    input in = {params, 0, false};
    char *p = s;
    while (p && in.n < MAX_PARAMS) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        params[in.n].key = p;
        params[in.n].val = eq ? eq + 1 : "";
        /* jansson's own reading, here on the main thread's big stack */
        const char *op = json_operand(params[in.n].key, params[in.n].val);
        if (op && fuzz_jansson_depth(op, strlen(op), 0) > JSONIN_MAX_DEPTH)
            in.too_deep = true;
        in.n++;
        p = amp ? amp + 1 : NULL;
    }
    fuzz_on_small_stack(run, &in);
    free(s);
    return 0;
}
