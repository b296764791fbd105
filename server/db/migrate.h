/* migrate.h - numbered .sql migrations, applied once each, in name order.
 *
 * System migrations (migrations/NNNN_name.sql) are embedded in the binary at
 * build time; app migrations are read from --migrations-dir.  Each applied
 * file is recorded in _basalt_migrations with its SHA-256; at every start a
 * recorded file whose text changed stops the start (BS_ECHANGED) with a
 * message naming it, because silently skipping or re-running it would leave
 * the schema different from what version control says.
 * Each file runs in its own transaction: it applies fully or not at all.
 *
 * App migrations may call basalt_create_collection(name, spec_json) and
 * basalt_set_rules(name, rules_json) to declare collections.
 *
 * Threads: main thread, on the write connection, before the writer starts.
 */
#ifndef BS_DB_MIGRATE_H
#define BS_DB_MIGRATE_H

#include <stddef.h>

#include "core/buf.h"

typedef struct db_migration {
    const char *name;
    const char *sql;
    size_t len;
} db_migration;

/* Generated from migrations/ by the build; ends with {NULL, NULL, 0}. */
extern const db_migration db_system_migrations[];

struct db_conn;
struct db_sqlfns;
/* Apply pending system migrations, then those in app_dir (may be NULL),
 * after registering the for_migrations functions of fns[0..nfns). */
int db_migrate(struct db_conn *w, const char *app_dir, const struct db_sqlfns *fns, size_t nfns, buf *msg);
struct sqlite3_context;
struct sqlite3_value;
struct json_t;
/* A JSON text argument of such a function, parsed by jsonin_parses (no
 * size limit, nesting bounded, no decode flags); NULL when it is SQL NULL
 * or does not parse.  The caller json_decref's it. */
struct json_t *db_migrate_fn_json(struct sqlite3_value *v);
/* The result of a SQL function app migrations call (basalt_create_bucket,
 * basalt_set_rules, ...): 1 when rc is BS_OK, else the error
 * "<fname>: <msg>" (msg NULL or empty: rc's text), which fails the
 * migration with that message.  Inside the function, on its thread. */
void db_migrate_fn_result(struct sqlite3_context *ctx, const char *fname, int rc, const char *msg);
/* Apply one list under a scope ("system" or "app"); exposed for tests. */
int db_migrate_list(struct db_conn *w, const char *scope, const db_migration *list, size_t n, buf *msg);

#endif
