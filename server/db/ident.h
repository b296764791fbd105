/* ident.h - the one audited place where names become SQL text.
 *
 * Collection names, field names and JSON paths are the only user-chosen
 * text that ever appears inside SQL text (values are always bound).  Each is
 * validated against a strict grammar here and emitted only by these
 * functions; nothing else in the server may splice a name into SQL.
 *
 *   collection : [A-Za-z][A-Za-z0-9_]{0,62}, not starting with "sqlite_"
 *                (case-insensitive); system tables use the "_basalt_"
 *                prefix, which the grammar cannot produce.
 *   field      : [A-Za-z_][A-Za-z0-9_]{0,62}
 *   path       : key ( "->" seg | "->>" seg )*  with seg = key | [0-9]{1,9}
 *                ("->>" only as the last step)
 *   key        : field | a double-quoted name, PostgREST's way: any bytes
 *                but NUL, a backslash taking the next byte as itself
 *                ("a.b", "café", "say \"hi\"", "")
 *
 * A path whose keys are all fields is "plain": only plain paths are ever
 * written into SQL text (db_path_value_expr, _json_expr, _literal, and the
 * index builder).  Any other key is bound: callers write '?' and bind
 * db_path_text (query.h's db_path_*_bound do both).
 *
 * Threads: pure functions; any thread.
 */
#ifndef BS_DB_IDENT_H
#define BS_DB_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"

#define DB_IDENT_MAX 63
#define DB_PATH_MAX_SEGS 16

bool db_ident_collection_ok(const char *name);
bool db_ident_field_ok(const char *s, size_t n);

/* Append "name" (double-quoted) for a valid collection name; BS_EINVAL for
 * an invalid one (nothing appended). */
int db_ident_quote(buf *sql, const char *collection);

/* A parsed field path.  segs[0] is the top-level key; later segments are
 * object keys or array indexes (is_index).  Keys are decoded text (never
 * holding NUL).  text_last is true when the last step was "->>". */
typedef struct db_path {
    const char *segs[DB_PATH_MAX_SEGS];
    bool is_index[DB_PATH_MAX_SEGS];
    size_t n;
    bool text_last;
} db_path;

/* Parse s[0..n) as a path; strings are copied into the arena.  BS_EPARSE
 * when it does not match the grammar. */
int db_path_parse(arena *a, const char *s, size_t n, db_path *out);

/* True when every key of the path is a plain field name. */
bool db_path_is_plain(const db_path *p);

/* Append the SQLite JSON path of any path ("$", then db_jdoc_path_step
 * per key, "[N]" per index): a value to bind, never SQL text.  BS_EINVAL
 * for a malformed path. */
int db_path_text(buf *out, const db_path *p);

/* Plain paths only (BS_EINVAL otherwise): */
/* Append the SQL expression that reads a path as an SQL value, the same
 * text the index builder uses so that SQLite matches expression indexes:
 *   id / created_at / updated_at (one segment) → the column itself
 *   anything else → json_extract(data, '$.a.b[0]') */
int db_path_value_expr(buf *sql, const db_path *p);

/* Append the SQL expression that reads a path as JSON for output:
 * data -> '$.a.b' (or data ->> '$.a.b' when text_last). */
int db_path_json_expr(buf *sql, const db_path *p);

/* Append the JSON path literal itself, quotes included: '$.a.b[0]'. */
int db_path_literal(buf *sql, const db_path *p);

/* Added for select= output names: append 'field' (single-quoted SQL string
 * literal) for a NUL-terminated name that passes db_ident_field_ok;
 * BS_EINVAL for anything else (nothing appended). */
int db_ident_field_literal(buf *sql, const char *field);


/* Append the quoted name of index n of a collection: "_basalt_ix_<c>_<n>".
 * The "_basalt_" prefix keeps index names out of the collection namespace.
 * BS_EINVAL for an invalid collection name or negative n. */
int db_ident_quote_index(buf *sql, const char *collection, int n);

#endif
