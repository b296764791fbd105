/* store.h - the SQLite document store: connections, the writer, group commit.
 *
 * One db_store owns the database file.  Writes go through the single writer
 * thread, which owns the only write connection: db_write() queues a
 * callback, the writer runs up to `writer_batch` queued callbacks in one
 * transaction (each inside its own SAVEPOINT, so a failing callback is
 * rolled back alone), commits, and only then wakes each caller with its own
 * result.  With synchronous=FULL a caller therefore never hears "ok" for a
 * write that is not on disk.
 *
 * Reads use a connection lent to the calling thread (db_reader) from a
 * pool: the thread keeps it until db_reader_release, and it must not be
 * passed to another thread meanwhile.  Up to max_idle_readers connections
 * wait in the pool between uses; when all are lent out a new one is
 * opened, and one given back to a full pool is closed, so a burst of
 * concurrent requests never waits for a reader and the number kept stays
 * bounded however many worker threads the HTTP front runs.  Threads that
 * live for the whole process (the realtime dispatcher, event loops) may
 * keep theirs.  Every connection caches its prepared statements by SQL
 * text.
 *
 * Threads: db_open/db_close on the main thread; db_write and db_reader from
 * any worker thread; write callbacks run on the writer thread and may only
 * use the connection they are given.
 */
#ifndef BS_DB_STORE_H
#define BS_DB_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct db_store db_store;
typedef struct db_conn db_conn;

typedef struct db_options {
    const char *path;            /* database file */
    const char *app_migrations;  /* directory or NULL */
    bool durability_full;
    int writer_batch;
    int max_idle_readers;        /* 0: DB_DEFAULT_IDLE_READERS */
    const struct db_sqlfns *sqlfns; /* SQL functions of the layers above (borrowed) */
    size_t nsqlfns;
} db_options;

/* The SQL functions a module above the store adds to SQLite: the store
 * knows none of them itself.  on_connection runs on every connection as it
 * opens (readers and the writer); for_migrations on the writer just before
 * app migrations run (the functions those may call, such as
 * basalt_create_collection).  Either may be NULL; BS_OK or an error that
 * fails the open. */
typedef struct db_sqlfns {
    int (*on_connection)(sqlite3 *db);
    int (*for_migrations)(struct db_conn *w);
} db_sqlfns;

#define DB_DEFAULT_IDLE_READERS 64

/* Open (creating if needed) and migrate the database, start the writer.
 * On BS_ECHANGED an applied migration's file changed: msg says which.
 * msg (may be NULL) receives a human-readable reason on failure. */
int db_open(const db_options *opt, db_store **out, buf *msg);
/* Drain queued writes, stop the writer, checkpoint the WAL, close every
 * connection.  NULL-safe.  No db_write/db_reader may run concurrently. */
void db_close(db_store *s);

/* A write callback: runs on the writer thread inside a SAVEPOINT.  Return
 * BS_OK to keep its changes, anything else to roll them back; the value is
 * handed back to the caller of db_write. */
typedef int (*db_write_fn)(db_conn *w, void *arg);

/* Run fn on the writer and wait until its transaction is durable.  Returns
 * fn's result, or BS_EDB when the commit itself failed (then nothing of the
 * batch was written), or BS_ESHUTDOWN once db_close has begun. */
int db_write(db_store *s, db_write_fn fn, void *arg);
/* Like db_write, but the commit need only reach the OS: it survives the
 * process dying (a crash, a kill), not the machine losing power.  For
 * bookkeeping that must outlive a crash of this process and whose loss on
 * power failure is harmless (the functions queue records a job's attempt
 * before its handler runs, and its result after).  A batch holding any db_write request is synced as usual;
 * with --durability normal both are the same. */
int db_write_nosync(db_store *s, db_write_fn fn, void *arg);

/* Called on the writer thread after every commit that appended to the
 * change log, with the highest seq appended (a hint: read the log with
 * seq > your last one; keep the hook short: enqueue and wake).
 * Register before serving starts; at most DB_MAX_HOOKS. */
#define DB_MAX_HOOKS 8
typedef void (*db_commit_hook)(void *arg, int64_t last_seq);
int db_add_commit_hook(db_store *s, db_commit_hook fn, void *arg);
/* Unregister (no-op when absent); once it returns the hook is not running
 * and will not run.  Not from inside a hook. */
void db_remove_commit_hook(db_store *s, db_commit_hook fn, void *arg);

/* Called on the writer thread when another process committed to the
 * database (checked before each batch and once a second when idle): the
 * caches of what that process may have changed (rules, collections,
 * settings) must be dropped.  Register before serving starts; at most
 * DB_MAX_HOOKS. */
/* w is the writer connection, for reads only (the hook runs between
 * batches, outside any transaction, with the hooks locked: keep it
 * short and hand anything long to another thread). */
typedef void (*db_external_hook)(void *arg, db_conn *w);
int db_add_external_hook(db_store *s, db_external_hook fn, void *arg);
void db_remove_external_hook(db_store *s, db_external_hook fn, void *arg);

/* One change-log entry, as seen by observers inside the transaction. */
typedef struct db_change {
    int64_t seq;
    const char *collection;
    const char *op;          /* "INSERT", "UPDATE", "DELETE" */
    const char *doc_id;
    const char *old_doc;     /* JSON or NULL */
    const char *new_doc;     /* JSON or NULL */
    int64_t committed_ms;
} db_change;

/* Called on the writer thread for every change-log append, inside the
 * same transaction (e.g. to enqueue trigger jobs that must not be lost).
 * A non-BS_OK return fails the write that caused the change.  Register
 * before serving starts; at most DB_MAX_HOOKS. */
typedef int (*db_change_observer)(db_conn *w, const db_change *ch, void *arg);
int db_add_change_observer(db_store *s, db_change_observer fn, void *arg);
void db_remove_change_observer(db_store *s, db_change_observer fn, void *arg);
/* Run the observers for ch (called by the change log). */
int db_notify_observers(db_conn *w, const db_change *ch);
/* The store a connection belongs to. */
db_store *db_conn_store(db_conn *c);

/* The calling thread's read connection: the one it holds, else one from
 * the pool (or a new one).  NULL on failure (logged). */
db_conn *db_reader(db_store *s);
/* Give the calling thread's read connection back to the pool (no-op when
 * it holds none).  Call at the end of a unit of work (an HTTP request, a
 * WebSocket message, a job): no statement of it may still be stepping. */
void db_reader_release(void);

sqlite3 *db_conn_handle(db_conn *c);
/* A prepared statement for sql (cached on the connection by text).  The
 * statement is reset and its bindings cleared; use it and call
 * db_stmt_done.  NULL on a prepare error, with the SQLite message logged
 * and copied to errmsg when given. */
sqlite3_stmt *db_stmt(db_conn *c, const char *sql, size_t len, buf *errmsg);
void db_stmt_done(sqlite3_stmt *st);

/* Run a statement without result rows (DDL, PRAGMA); BS_EDB on error. */
int db_exec(db_conn *c, const char *sql, buf *errmsg);
/* Does sql, with ?1 bound to arg (text; NULL binds NULL), return a row?
 * BS_OK and *found, or BS_EDB (prepare or step failed; *found false). */
int db_exists(db_conn *c, const char *sql, const char *arg, bool *found);
/* Run sql, a statement without result rows, with ?1 bound to arg (text;
 * NULL binds NULL).  BS_OK or BS_EDB; sqlite3_changes() tells what it did. */
int db_exec_arg(db_conn *c, const char *sql, const char *arg);

/* The connection's change-log seq after the last append (writer only). */
int64_t db_conn_last_seq(db_conn *c);
void db_conn_set_last_seq(db_conn *c, int64_t seq);

/* Page cache statistics summed over all connections, for /metrics: hits
 * and misses since start, bytes held now.  Each connection folds its own
 * numbers in every 256 db_conn_tick calls (readers: once per request). */
void db_cache_stats(db_store *s, int64_t *hits, int64_t *misses, int64_t *used_bytes);
void db_conn_tick(db_conn *c);
/* Process-wide SQLite settings; call once at start, before db_open. */
void db_global_init(void);
/* Current writer queue depth. */
size_t db_queue_depth(db_store *s);
/* Path of the database file. */
const char *db_store_path(db_store *s);

#endif
