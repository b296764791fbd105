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
    static const char q[] = "SELECT json_group_array(json_object('id', uid, 'function', function, 'kind', kind, "
                            "'event', json(event), 'attempts', attempts, 'last_error', last_error, 'created_ms', "
                            "created_ms, 'failed_ms', failed_ms)) FROM (SELECT * FROM _basalt_fn_dlq "
                            "WHERE ?1 IS NULL OR function = ?1 ORDER BY failed_ms LIMIT 1000)";
    const db_bind v[] = {fn_sql_text(function)};
    sqlite3_stmt *st = fn_sql_query(reg->app->store, q, sizeof q - 1, v, 1);
    int rc = BS_EDB;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        rc = buf_puts(out, (const char *)sqlite3_column_text(st, 0));
    db_stmt_done(st);
    return rc;
}

int64_t fn_dlq_count(fn_registry *reg, const char *function)
{
    static const char q[] = "SELECT count(*) FROM _basalt_fn_dlq WHERE ?1 IS NULL OR function = ?1";
    const db_bind v[] = {fn_sql_text(function)};
    sqlite3_stmt *st = fn_sql_query(reg->app->store, q, sizeof q - 1, v, 1);
    int64_t n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    db_stmt_done(st);
    return n;
}

/* Drop the dead letter uid (arg); BS_ENOTFOUND when there is none. */
static int w_drop(db_conn *w, void *arg)
{
    static const char q[] = "DELETE FROM _basalt_fn_dlq WHERE uid = ?";
    const db_bind v[] = {fn_sql_text(arg)};
    int64_t changed;
    int rc = fn_sql_run(w, q, sizeof q - 1, v, 1, &changed);
    return rc ? rc : changed ? BS_OK : BS_ENOTFOUND;
}

/* Put the dead letter uid (arg) back into the job queue, then drop it. */
static int w_redrive(db_conn *w, void *arg)
{
    static const char q[] = "INSERT INTO _basalt_fn_jobs(uid, function, kind, event, order_key, attempt, run_at_ms, "
                            "created_ms) SELECT uid, function, kind, event, order_key, 0, ?, created_ms "
                            "FROM _basalt_fn_dlq WHERE uid = ?";
    const db_bind v[] = {fn_sql_int(time_now_ms()), fn_sql_text(arg)};
    int64_t changed;
    int rc = fn_sql_run(w, q, sizeof q - 1, v, FN_COUNT(v), &changed);
    return rc ? rc : changed ? w_drop(w, arg) : BS_ENOTFOUND;
}

int fn_dlq_redrive(fn_registry *reg, const char *uid)
{
    int rc = db_write(reg->app->store, w_redrive, (void *)uid);
    if (!rc)
        fn_queue_kick(reg);
    return rc;
}

int fn_dlq_delete(fn_registry *reg, const char *uid) { return db_write(reg->app->store, w_drop, (void *)uid); }
