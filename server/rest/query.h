/* query.h - the PostgREST grammar of /rest/v1, parsed and compiled to SQL.
 *
 * A collection is a table
 *     id TEXT PRIMARY KEY, data TEXT (JSON object), created_at TEXT,
 *     updated_at TEXT, version INTEGER
 * where `data` holds the whole document, including its "id", "created_at"
 * and "updated_at" keys.  PostgREST columns name top-level fields of the
 * document; `a->b->>c` reaches nested ones.
 *
 * This module turns the decoded query parameters of one request into a
 * rest_query (parse), and a rest_query into SQL fragments with bound values
 * (compile).  User text never reaches SQL text: values become db_bind
 * entries, and field names / JSON paths are checked against the strict
 * grammar of ident.h and emitted only through ident.h.
 *
 * Memory: everything is allocated from the caller's arena and lives until
 * arena_free.  Threads: pure functions; any thread.
 */
#ifndef BS_REST_QUERY_H
#define BS_REST_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "http/http.h"
#include "db/binds.h"
#include "db/ident.h"


/* An error in PostgREST's shape.  `code` is a static string ("PGRST100",
 * "42703", ...); message/details are copied in; hint may be NULL. */
typedef struct rest_qerr {
    int status;
    const char *code;
    char message[256];
    char details[512];
    const char *hint;
} rest_qerr;

/* Fill err (NULL-safe) and return BS_EPARSE. printf-style details; hint is
 * reset to NULL. */
int rest_qerr_set(rest_qerr *err, int status, const char *code, const char *message,
                const char *details_fmt, ...) __attribute__((format(printf, 5, 6)));

typedef struct rest_query rest_query;

/* Limits that keep hostile query strings cheap. */
#define DB_QUERY_MAX_DEPTH 16     /* nesting of or()/and()/not */
#define DB_QUERY_MAX_NODES 256    /* filter conditions in one request */
#define DB_QUERY_MAX_SELECT 128   /* entries in select= */
#define DB_QUERY_MAX_ORDER 16     /* entries in order= */
#define DB_QUERY_MAX_IN 1000      /* values in one in.(...) */

/* Parse every parameter of a table request.  Reserved keys: select, order,
 * limit, offset, columns, on_conflict, or, and, not.or, not.and; any other
 * key is a filter on the column it names (`col=op.value`).
 * Returns BS_OK and *out, or BS_EPARSE with err filled (400 PGRST100 for
 * grammar errors; 400 PGRST200 for embedded resources, which a document
 * store does not have; 400 "42883"-style for unknown operators as PostgREST
 * reports them: use PGRST100 with a message naming the operator). */
int rest_query_parse(arena *a, const http_qparam *params, size_t n, rest_query **out, rest_qerr *err);

/* Append the WHERE condition (without the keyword) of the filters to sql and
 * their values to binds, in emission order.  No filters → "1".  Top-level
 * filters are ANDed; or=/and= trees nest with parentheses. */
int rest_query_where(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err);

/* Append an SQL expression producing one JSON object (TEXT) per row from
 * the current row: select=* (or no select) → `data`; a column list →
 * json_object('k', expr, ...) with PostgREST's output names (alias, else
 * the last path element); `*,x` → every field plus x.  Quoted names and
 * paths are bound: their values are appended to binds, in text order (the
 * projection's binds come before the WHERE clause's in a SELECT). */
int rest_query_projection(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err);

/* Append "expr ASC|DESC [NULLS FIRST|LAST]" items for order=, separated by
 * ", ", without the ORDER BY keyword or a leading comma; appends nothing
 * and returns BS_OK when there is no order.  PostgreSQL's defaults are
 * kept: ASC → NULLS LAST, DESC → NULLS FIRST, except for never-null columns
 * (id, created_at, updated_at) where no NULLS clause is emitted so the
 * primary key or index can serve the sort. */
int rest_query_order(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err);
bool rest_query_has_order(const rest_query *q);

/* The SQL expression of a path (ident.h) for any path: a plain one in SQL
 * text exactly as db_path_value_expr / _json_expr / _literal write it (so
 * expression indexes match), any other as "?" with its db_path_text
 * appended to binds.  BS_EINVAL for a malformed path, BS_ENOMEM. */
int db_path_value_expr_bound(buf *sql, arena *a, db_binds *binds, const db_path *p);
int db_path_json_expr_bound(buf *sql, arena *a, db_binds *binds, const db_path *p);
int db_path_literal_bound(buf *sql, arena *a, db_binds *binds, const db_path *p);

/* limit= / offset= as given (-1 when absent). */
int64_t rest_query_limit(const rest_query *q);
int64_t rest_query_offset(const rest_query *q);

/* columns= of an insert: names in order (decoded top-level field names),
 * or n=0 when absent or when it did not parse. */
void rest_query_columns(const rest_query *q, const char *const **names, size_t *n);
/* columns= as given (NULL when absent), and *err the parse error when it
 * did not parse (else NULL).  postgrest-js sends the body's keys as
 * "k1","k2" without escaping, which PostgREST's grammar reads differently
 * for keys holding '"' or '\': the write path compares this text with the
 * body's keys before it trusts the parse (or reports *err). */
const char *rest_query_columns_raw(const rest_query *q, const rest_qerr **err);
/* on_conflict= of an upsert, same shape. */
void rest_query_on_conflict(const rest_query *q, const char *const **names, size_t *n);
/* True when the request has at least one filter (PATCH/DELETE guard). */
bool rest_query_has_filters(const rest_query *q);
/* True when select= was given and is not plain "*". */
bool rest_query_has_select(const rest_query *q);

/* Register the SQL functions the compiled SQL may call on a connection
 * (bs_json_contains, bs_json_overlaps, ...). Call once per connection. */
struct sqlite3;
int rest_query_register_functions(struct sqlite3 *db);

#endif
