/* fn_dlq.c - the dead-letter queue: jobs that failed every retry
 * (_basalt_fn_dlq, filled by fn_queue.c), listed, re-driven into the job
 * queue or dropped by the admin API. */
#include "fn_int.h"
#include "core/error.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <string.h>

int fn_dlq_list(fn_registry *reg, const char *function, buf *out)
{
    db_conn *c = db_reader(reg->app->store);
    if (!c)
        return BS_EDB;
    static const char q[] = "SELECT json_group_array(json_object('id', uid, 'function', function, 'kind', kind, "
                            "'event', json(event), 'attempts', attempts, 'last_error', last_error, 'created_ms', "
                            "created_ms, 'failed_ms', failed_ms)) FROM (SELECT * FROM _basalt_fn_dlq "
                            "WHERE ?1 IS NULL OR function = ?1 ORDER BY failed_ms LIMIT 1000)";
    sqlite3_stmt *st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    if (function)
        sqlite3_bind_text(st, 1, function, -1, SQLITE_STATIC);
    int rc = BS_EDB;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = buf_puts(out, (const char *)sqlite3_column_text(st, 0));
    db_stmt_done(st);
    return rc;
}

int64_t fn_dlq_count(fn_registry *reg, const char *function)
{
    db_conn *c = db_reader(reg->app->store);
    if (!c)
        return -1;
    static const char q[] = "SELECT count(*) FROM _basalt_fn_dlq WHERE ?1 IS NULL OR function = ?1";
    sqlite3_stmt *st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return -1;
    if (function)
        sqlite3_bind_text(st, 1, function, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    db_stmt_done(st);
    return n;
}

typedef struct dlq_arg {
    const char *uid;
    bool redrive;
} dlq_arg;

static int w_dlq(db_conn *w, void *arg)
{
    dlq_arg *a = arg;
    if (a->redrive) {
        static const char q[] = "INSERT INTO _basalt_fn_jobs(uid, function, kind, event, order_key, attempt, run_at_ms, "
                                "created_ms) SELECT uid, function, kind, event, order_key, 0, ?, created_ms "
                                "FROM _basalt_fn_dlq WHERE uid = ?";
        sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
        if (!st)
            return BS_EDB;
        sqlite3_bind_int64(st, 1, time_now_ms());
        sqlite3_bind_text(st, 2, a->uid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
        if (rc)
            return rc;
        if (sqlite3_changes(db_conn_handle(w)) == 0)
            return BS_ENOTFOUND;
    }
    static const char d[] = "DELETE FROM _basalt_fn_dlq WHERE uid = ?";
    sqlite3_stmt *st = db_stmt(w, d, sizeof d - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, a->uid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc && sqlite3_changes(db_conn_handle(w)) == 0)
        rc = BS_ENOTFOUND;
    return rc;
}

int fn_dlq_redrive(fn_registry *reg, const char *uid)
{
    dlq_arg a = {uid, true};
    int rc = db_write(reg->app->store, w_dlq, &a);
    if (!rc)
        fn_queue_kick(reg);
    return rc;
}

int fn_dlq_delete(fn_registry *reg, const char *uid)
{
    dlq_arg a = {uid, false};
    return db_write(reg->app->store, w_dlq, &a);
}
