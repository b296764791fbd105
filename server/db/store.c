/* store.c - connections, statement caches, and the group-commit writer.
 *
 * The writer loop (one thread):
 *     wait until the queue is non-empty
 *     take up to writer_batch requests
 *     BEGIN IMMEDIATE
 *       for each: SAVEPOINT w; fn(); RELEASE w  (or ROLLBACK TO w on error)
 *     COMMIT            (one fsync for the whole batch)
 *     commit hook; wake every waiter of the batch
 * If COMMIT fails the whole batch is rolled back and every caller gets
 * BS_EDB, so no caller is told "ok" for a write that is not durable.
 * Each caller waits on its own condition variable, so finishing a batch
 * wakes exactly the callers of that batch.
 */
#include "db/store.h"
#include "core/error.h"
#include "core/log.h"
#include "db/migrate.h"
#include "core/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STMT_CACHE_SLOTS 256

/* process-wide page cache statistics; see harvest_stats */
static _Atomic int64_t g_cache_hits, g_cache_misses, g_cache_used;

typedef struct stmt_slot {
    char *sql;
    size_t len;
    uint64_t hash;
    sqlite3_stmt *st;
} stmt_slot;

struct db_conn {
    sqlite3 *db;
    stmt_slot slots[STMT_CACHE_SLOTS];
    size_t nslots;
    unsigned stat_tick;     /* statements since the last cache-stat harvest */
    int64_t cache_used;     /* bytes this connection's page cache held then */
    int64_t last_seq;
    db_conn *next_reader;   /* every reader of the store (readers_lock) */
    db_conn *next_idle;     /* the idle pool (readers_lock) */
    db_store *store;
};

/* Hooks of one kind; fn is the kind's own type, stored as a plain function
 * pointer and converted back before the call. */
typedef void (*any_fn)(void);
typedef struct hook_list {
    struct {
        any_fn fn;
        void *arg;
    } v[DB_MAX_HOOKS];
    size_t n;
} hook_list;

typedef struct wreq {
    db_write_fn fn;
    void *arg;
    int rc;
    bool done;
    bool nosync;           /* db_write_nosync: the OS is durable enough */
    pthread_cond_t cond;   /* the caller's own: waking a batch wakes only it */
    struct wreq *next;
} wreq;

struct db_store {
    char *path;
    db_options opt;
    db_conn *writer;
    pthread_t writer_thread;
    bool writer_started;

    pthread_mutex_t lock;
    pthread_cond_t work_cond;
    wreq *head, *tail;
    size_t depth;
    bool stopping;

    /* Only the writer thread runs hooks, holding hooks_mu, so a hook that
     * was removed is not running and will not run. */
    pthread_mutex_t hooks_mu;
    hook_list commit_hooks, observers, ext_hooks;
    int data_version;       /* the writer's PRAGMA data_version (writer thread) */

    pthread_mutex_t readers_lock;
    db_conn *readers;       /* all of them: the idle ones and those lent out */
    db_conn *idle;
    int nidle;
};

static uint64_t hash_sql(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void conn_close(db_conn *c)
{
    if (!c)
        return;
    atomic_fetch_sub_explicit(&g_cache_used, c->cache_used, memory_order_relaxed);
    for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
        sqlite3_finalize(c->slots[i].st);
        free(c->slots[i].sql);
    }
    sqlite3_close_v2(c->db);
    free(c);
}

static int conn_open(const db_options *o, const char *path, bool writer, bool full, db_conn **out, buf *msg)
{
    *out = NULL;
    db_conn *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    int flags = SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (msg)
            buf_printf(msg, "cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return BS_EDB;
    }
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_extended_result_codes(c->db, 1);
    const char *pragmas = writer ? (full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                           "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; "
                                           "PRAGMA wal_autocheckpoint=4000; PRAGMA temp_store=MEMORY;"
                                         : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                           "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; "
                                           "PRAGMA wal_autocheckpoint=4000; PRAGMA temp_store=MEMORY;")
                                 : "PRAGMA cache_size=-1024; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;";
    char *err = NULL;
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &err) != SQLITE_OK) {
        if (msg)
            buf_printf(msg, "cannot configure %s: %s", path, err ? err : "?");
        sqlite3_free(err);
        conn_close(c);
        return BS_EDB;
    }
    for (size_t i = 0; i < o->nsqlfns; i++)
        if (o->sqlfns[i].on_connection && o->sqlfns[i].on_connection(c->db) != BS_OK) {
            if (msg)
                buf_printf(msg, "cannot register SQL functions on %s", path);
            conn_close(c);
            return BS_EDB;
        }
    *out = c;
    return BS_OK;
}

sqlite3 *db_conn_handle(db_conn *c) { return c->db; }
int64_t db_conn_last_seq(db_conn *c) { return c->last_seq; }
void db_conn_set_last_seq(db_conn *c, int64_t seq) { c->last_seq = seq; }

sqlite3_stmt *db_stmt(db_conn *c, const char *sql, size_t len, buf *errmsg)
{
    uint64_t h = hash_sql(sql, len);
    size_t i = h % STMT_CACHE_SLOTS;
    for (size_t probe = 0; probe < 8; probe++) {
        stmt_slot *sl = &c->slots[(i + probe) % STMT_CACHE_SLOTS];
        if (sl->st && sl->hash == h && sl->len == len && memcmp(sl->sql, sql, len) == 0)
            return sl->st;
        if (!sl->st) {
            i = (i + probe) % STMT_CACHE_SLOTS;
            goto prepare;
        }
    }
    /* neighbourhood full: evict the home slot */
    sqlite3_finalize(c->slots[i].st);
    free(c->slots[i].sql);
    c->slots[i].st = NULL;
    c->slots[i].sql = NULL;
prepare:;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_debug("prepare failed: %s: %.*s", sqlite3_errmsg(c->db), (int)len, sql);
        if (errmsg)
            buf_puts(errmsg, sqlite3_errmsg(c->db));
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        /* still usable, just not cached: the caller's db_stmt_done would
         * leak it, so refuse instead */
        sqlite3_finalize(st);
        return NULL;
    }
    memcpy(copy, sql, len);
    copy[len] = '\0';
    c->slots[i] = (stmt_slot){copy, len, h, st};
    return st;
}

/* Page-cache statistics are harvested by each connection's own thread
 * (sqlite3_db_status is not safe across threads on a NOMUTEX connection)
 * into process-wide atomics.  SQLite's global memory statistics are off
 * (SQLITE_CONFIG_MEMSTATUS=0): they take a global mutex on every
 * allocation, which every reader thread would contend on. */
static void harvest_stats(db_conn *c)
{
    int cur = 0, hi = 0;
    if (sqlite3_db_status(c->db, SQLITE_DBSTATUS_CACHE_HIT, &cur, &hi, 1) == SQLITE_OK)
        atomic_fetch_add_explicit(&g_cache_hits, cur, memory_order_relaxed);
    if (sqlite3_db_status(c->db, SQLITE_DBSTATUS_CACHE_MISS, &cur, &hi, 1) == SQLITE_OK)
        atomic_fetch_add_explicit(&g_cache_misses, cur, memory_order_relaxed);
    if (sqlite3_db_status(c->db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0) == SQLITE_OK) {
        atomic_fetch_add_explicit(&g_cache_used, (int64_t)cur - c->cache_used, memory_order_relaxed);
        c->cache_used = cur;
    }
}

void db_stmt_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

void db_conn_tick(db_conn *c)
{
    if ((++c->stat_tick & 255) == 0)
        harvest_stats(c);
}

int db_exec(db_conn *c, const char *sql, buf *errmsg)
{
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        if (errmsg)
            buf_puts(errmsg, err ? err : sqlite3_errmsg(c->db));
        sqlite3_free(err);
        return BS_EDB;
    }
    return BS_OK;
}

/* Step sql once with ?1 bound to arg: sqlite3_step's code, or SQLITE_ERROR
 * when it does not prepare. */
static int step_arg(db_conn *c, const char *sql, const char *arg)
{
    sqlite3_stmt *st = db_stmt(c, sql, strlen(sql), NULL);
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    db_stmt_done(st);
    return step;
}

int db_exists(db_conn *c, const char *sql, const char *arg, bool *found)
{
    int step = step_arg(c, sql, arg);
    *found = step == SQLITE_ROW;
    return step == SQLITE_ROW || step == SQLITE_DONE ? BS_OK : BS_EDB;
}

int db_exec_arg(db_conn *c, const char *sql, const char *arg)
{
    return step_arg(c, sql, arg) == SQLITE_DONE ? BS_OK : BS_EDB;
}

static int exec_simple(db_conn *c, const char *sql)
{
    sqlite3_stmt *st = db_stmt(c, sql, strlen(sql), NULL);
    if (!st)
        return BS_EDB;
    int rc = sqlite3_step(st);
    db_stmt_done(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? BS_OK : BS_EDB;
}

static int data_version(db_conn *w)
{
    sqlite3_stmt *st = db_stmt(w, "PRAGMA data_version", 19, NULL);
    int v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    db_stmt_done(st);
    return v;
}

/* PRAGMA data_version on the writer's connection moves only when another
 * connection commits, and every connection of this process but the writer
 * only reads: so a move is another process (`basalt migrate`, `basalt
 * admin`, a sqlite3 shell) changing the database under the caches. */
static void check_external(db_store *s)
{
    int v = data_version(s->writer);
    if (v == s->data_version)
        return;
    s->data_version = v;
    log_info("the database was changed by another process: reloading cached rules and collections");
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t i = 0; i < s->ext_hooks.n; i++)
        ((db_external_hook)s->ext_hooks.v[i].fn)(s->ext_hooks.v[i].arg, s->writer);
    pthread_mutex_unlock(&s->hooks_mu);
}

static void run_commit_hooks(db_store *s)
{
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t h = 0; h < s->commit_hooks.n; h++)
        ((db_commit_hook)s->commit_hooks.v[h].fn)(s->commit_hooks.v[h].arg, s->writer->last_seq);
    pthread_mutex_unlock(&s->hooks_mu);
}

static void *writer_main(void *arg)
{
    db_store *s = arg;
    wreq **batch = calloc((size_t)s->opt.writer_batch, sizeof *batch);
    if (!batch) {
        log_error("writer: out of memory");
        abort();
    }
    s->data_version = data_version(s->writer);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stopping) {
            /* idle: look for other processes' commits once a second */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&s->work_cond, &s->lock, &ts) == ETIMEDOUT) {
                pthread_mutex_unlock(&s->lock);
                check_external(s);
                pthread_mutex_lock(&s->lock);
            }
        }
        if (!s->head && s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        size_t n = 0;
        while (s->head && n < (size_t)s->opt.writer_batch) {
            batch[n++] = s->head;
            s->head = s->head->next;
        }
        if (!s->head)
            s->tail = NULL;
        s->depth -= n;
        size_t depth = s->depth;
        pthread_mutex_unlock(&s->lock);

        check_external(s);
        /* a batch of db_write_nosync requests only: commit without the
         * fsync (synchronous=NORMAL); any db_write in it syncs it all */
        bool relax = s->opt.durability_full;
        for (size_t i = 0; i < n && relax; i++)
            relax = batch[i]->nosync;
        if (relax && exec_simple(s->writer, "PRAGMA synchronous=NORMAL") != BS_OK)
            relax = false;
        int64_t seq_before = s->writer->last_seq;
        int brc = exec_simple(s->writer, "BEGIN IMMEDIATE");
        for (size_t i = 0; i < n; i++) {
            if (brc) {
                batch[i]->rc = BS_EDB;
                continue;
            }
            if (exec_simple(s->writer, "SAVEPOINT w")) {
                batch[i]->rc = BS_EDB;
                continue;
            }
            int rc = batch[i]->fn(s->writer, batch[i]->arg);
            if (rc != BS_OK)
                exec_simple(s->writer, "ROLLBACK TO w");
            exec_simple(s->writer, "RELEASE w");
            batch[i]->rc = rc;
        }
        if (!brc && exec_simple(s->writer, "COMMIT") != BS_OK) {
            log_error("writer: commit failed: %s", sqlite3_errmsg(s->writer->db));
            exec_simple(s->writer, "ROLLBACK");
            brc = BS_EDB;
            for (size_t i = 0; i < n; i++)
                batch[i]->rc = BS_EDB;
        }
        if (relax && exec_simple(s->writer, "PRAGMA synchronous=FULL") != BS_OK) {
            /* never leave the writer unsynced: stop rather than lie */
            log_error("writer: cannot restore synchronous=FULL: %s", sqlite3_errmsg(s->writer->db));
            abort();
        }
        if (brc)
            s->writer->last_seq = seq_before;
        metrics_writer_batch(n, depth);
        harvest_stats(s->writer);
        if (!brc && s->writer->last_seq != seq_before)
            run_commit_hooks(s);
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = true;
            pthread_cond_signal(&batch[i]->cond);
        }
        pthread_mutex_unlock(&s->lock);
    }
    free(batch);
    return NULL;
}

static int enqueue(db_store *s, db_write_fn fn, void *arg, bool nosync)
{
    wreq r = {.fn = fn, .arg = arg, .rc = BS_OK, .nosync = nosync};
    pthread_cond_init(&r.cond, NULL);
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        pthread_cond_destroy(&r.cond);
        return BS_ESHUTDOWN;
    }
    if (s->tail)
        s->tail->next = &r;
    else
        s->head = &r;
    s->tail = &r;
    if (s->depth++ == 0)
        pthread_cond_signal(&s->work_cond);
    while (!r.done)
        pthread_cond_wait(&r.cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&r.cond);
    return r.rc;
}

int db_write(db_store *s, db_write_fn fn, void *arg)
{
    return enqueue(s, fn, arg, false);
}

int db_write_nosync(db_store *s, db_write_fn fn, void *arg)
{
    return enqueue(s, fn, arg, true);
}

static int hooks_add(db_store *s, hook_list *l, any_fn fn, void *arg)
{
    pthread_mutex_lock(&s->hooks_mu);
    int rc = BS_EINVAL;
    if (l->n < DB_MAX_HOOKS) {
        l->v[l->n].fn = fn;
        l->v[l->n].arg = arg;
        l->n++;
        rc = BS_OK;
    }
    pthread_mutex_unlock(&s->hooks_mu);
    return rc;
}

static void hooks_remove(db_store *s, hook_list *l, any_fn fn, void *arg)
{
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].fn == fn && l->v[i].arg == arg) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
            l->n--;
            break;
        }
    pthread_mutex_unlock(&s->hooks_mu);
}

int db_add_commit_hook(db_store *s, db_commit_hook fn, void *arg)
{
    return hooks_add(s, &s->commit_hooks, (any_fn)fn, arg);
}

void db_remove_commit_hook(db_store *s, db_commit_hook fn, void *arg)
{
    hooks_remove(s, &s->commit_hooks, (any_fn)fn, arg);
}

int db_add_change_observer(db_store *s, db_change_observer fn, void *arg)
{
    return hooks_add(s, &s->observers, (any_fn)fn, arg);
}

void db_remove_change_observer(db_store *s, db_change_observer fn, void *arg)
{
    hooks_remove(s, &s->observers, (any_fn)fn, arg);
}

int db_add_external_hook(db_store *s, db_external_hook fn, void *arg)
{
    return hooks_add(s, &s->ext_hooks, (any_fn)fn, arg);
}

void db_remove_external_hook(db_store *s, db_external_hook fn, void *arg)
{
    hooks_remove(s, &s->ext_hooks, (any_fn)fn, arg);
}

int db_notify_observers(db_conn *w, const db_change *ch)
{
    db_store *s = w->store;
    if (!s)
        return BS_OK;
    int rc = BS_OK;
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t i = 0; i < s->observers.n && rc == BS_OK; i++)
        rc = ((db_change_observer)s->observers.v[i].fn)(w, ch, s->observers.v[i].arg);
    pthread_mutex_unlock(&s->hooks_mu);
    return rc;
}

db_store *db_conn_store(db_conn *c) { return c->store; }

static _Thread_local struct {
    db_store *store;
    db_conn *conn;
} tl_reader;

db_conn *db_reader(db_store *s)
{
    if (tl_reader.store == s && tl_reader.conn) {
        db_conn_tick(tl_reader.conn);
        return tl_reader.conn;
    }
    pthread_mutex_lock(&s->readers_lock);
    db_conn *c = s->idle;
    if (c) {
        s->idle = c->next_idle;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->readers_lock);
    if (!c) {
        buf msg = BUF_INIT;
        if (conn_open(&s->opt, s->path, false, s->opt.durability_full, &c, &msg) != BS_OK) {
            log_error("reader: %s", buf_cstr(&msg));
            buf_free(&msg);
            return NULL;
        }
        c->store = s;
        pthread_mutex_lock(&s->readers_lock);
        c->next_reader = s->readers;
        s->readers = c;
        pthread_mutex_unlock(&s->readers_lock);
    }
    tl_reader.store = s;
    tl_reader.conn = c;
    db_conn_tick(c);
    return c;
}

void db_reader_release(void)
{
    db_store *s = tl_reader.store;
    db_conn *c = tl_reader.conn;
    if (!s || !c)
        return;
    tl_reader.store = NULL;
    tl_reader.conn = NULL;
    pthread_mutex_lock(&s->readers_lock);
    if (s->nidle < s->opt.max_idle_readers) {
        c->next_idle = s->idle;
        s->idle = c;
        s->nidle++;
        c = NULL;
    } else {
        db_conn **pp = &s->readers;
        while (*pp && *pp != c)
            pp = &(*pp)->next_reader;
        if (*pp)
            *pp = c->next_reader;
    }
    pthread_mutex_unlock(&s->readers_lock);
    if (c) {
        harvest_stats(c); /* its counts so far, before conn_close takes its bytes back */
        conn_close(c);
    }
}

int db_open(const db_options *opt, db_store **out, buf *msg)
{
    *out = NULL;
    db_store *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    s->opt = *opt;
    if (s->opt.writer_batch < 1)
        s->opt.writer_batch = 1;
    if (s->opt.max_idle_readers <= 0)
        s->opt.max_idle_readers = DB_DEFAULT_IDLE_READERS;
    s->path = strdup(opt->path);
    s->opt.path = s->path;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->hooks_mu, NULL);
    pthread_cond_init(&s->work_cond, NULL);
    pthread_mutex_init(&s->readers_lock, NULL);
    int rc = s->path ? BS_OK : BS_ENOMEM;
    if (!rc)
        rc = conn_open(&s->opt, s->path, true, opt->durability_full, &s->writer, msg);
    if (!rc) {
        s->writer->store = s;
        rc = db_migrate(s->writer, opt->app_migrations, opt->sqlfns, opt->nsqlfns, msg);
    }
    if (!rc) {
        sqlite3_stmt *st = db_stmt(s->writer, "SELECT coalesce(max(seq),0) FROM _basalt_changes", 49, msg);
        if (!st) {
            rc = BS_EDB;
        } else {
            if (sqlite3_step(st) == SQLITE_ROW)
                s->writer->last_seq = sqlite3_column_int64(st, 0);
            db_stmt_done(st);
        }
    }
    if (!rc) {
        if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0)
            rc = BS_ENOMEM;
        else
            s->writer_started = true;
    }
    if (rc) {
        db_close(s);
        return rc;
    }
    *out = s;
    return BS_OK;
}

void db_close(db_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
    if (s->writer_started)
        pthread_join(s->writer_thread, NULL);
    db_conn *r = s->readers;
    while (r) {
        db_conn *n = r->next_reader;
        conn_close(r);
        r = n;
    }
    if (tl_reader.store == s) {
        tl_reader.store = NULL;
        tl_reader.conn = NULL;
    }
    if (s->writer) {
        char *err = NULL;
        if (sqlite3_exec(s->writer->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, &err) != SQLITE_OK)
            log_warn("checkpoint at close: %s", err ? err : "?");
        sqlite3_free(err);
        conn_close(s->writer);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->hooks_mu);
    pthread_cond_destroy(&s->work_cond);
    pthread_mutex_destroy(&s->readers_lock);
    free(s->path);
    free(s);
}

void db_cache_stats(db_store *s, int64_t *hits, int64_t *misses, int64_t *used)
{
    (void)s;
    *hits = atomic_load_explicit(&g_cache_hits, memory_order_relaxed);
    *misses = atomic_load_explicit(&g_cache_misses, memory_order_relaxed);
    *used = atomic_load_explicit(&g_cache_used, memory_order_relaxed);
}

void db_global_init(void)
{
    /* before any connection exists; see harvest_stats */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

size_t db_queue_depth(db_store *s)
{
    pthread_mutex_lock(&s->lock);
    size_t d = s->depth;
    pthread_mutex_unlock(&s->lock);
    return d;
}

const char *db_store_path(db_store *s) { return s->path; }
