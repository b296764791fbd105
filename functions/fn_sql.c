/* fn_sql.c - one statement of the functions' own tables (jobs, dead
 * letters, settings) prepared with its values bound, so each read and
 * write says only its SQL and its values.  Any thread, on the caller's
 * connection (reads: the thread's reader). */
#include "fn_int.h"
#include "core/error.h"

#include <string.h>

db_bind fn_sql_text(const char *s)
{
    return s ? (db_bind){.type = DB_BIND_TEXT, .s = s, .n = strlen(s)} : (db_bind){.type = DB_BIND_NULL};
}

db_bind fn_sql_int(int64_t v) { return (db_bind){.type = DB_BIND_INT, .i = v}; }

db_bind fn_sql_opt(int64_t v) { return v < 0 ? (db_bind){.type = DB_BIND_NULL} : fn_sql_int(v); }

sqlite3_stmt *fn_sql_query(db_store *s, const char *sql, size_t len, const db_bind *v, size_t n)
{
    db_conn *c = s ? db_reader(s) : NULL;
    sqlite3_stmt *st = c ? db_stmt(c, sql, len, NULL) : NULL;
    if (st)
        db_binds_apply(st, &(db_binds){(db_bind *)v, n, n}, 1);
    return st;
}

int fn_sql_run(db_conn *c, const char *sql, size_t len, const db_bind *v, size_t n, int64_t *changes)
{
    sqlite3_stmt *st = db_stmt(c, sql, len, NULL);
    if (!st)
        return BS_EDB;
    db_binds_apply(st, &(db_binds){(db_bind *)v, n, n}, 1);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (changes)
        *changes = rc ? 0 : sqlite3_changes(db_conn_handle(c));
    return rc;
}
