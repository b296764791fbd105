/* fn_queue.c - durable async jobs: workers, retries, dead letters, and the
 * scheduler.  Jobs are put into _basalt_fn_jobs by fn_enqueue.c; the
 * dead-letter table is read and re-driven by fn_dlq.c.
 *
 * Run.  The rows are mirrored in memory (loaded by id > last seen after
 * each wake, and all of them at start).  A worker picks the oldest job that
 * is due, whose function has a free concurrency slot, and whose order key
 * (function + collection + document id, or + bucket/object) has no older
 * job waiting or running; so per-document order holds and a failing job
 * blocks later jobs of the same document until it succeeds or is dead-
 * lettered (like a change-stream shard).  Success deletes the row; failure
 * schedules a retry after base * 2^(attempt-1) ms (base 1 s, env
 * BASALT_FN_BACKOFF_MS overrides) or, past the function's retries, moves the
 * row to _basalt_fn_dlq with the last error.
 *
 * Crashes.  Before the handler runs, the attempt is committed (w_begin):
 * attempt + 1, last_error "ProcessDied: ...", and run_at_ms set to when a
 * retry would be due.  If the process dies in the handler (a plugin that
 * crashes on one document, or a kill), the row already says so: after the
 * restart the job waits its backoff like any failed attempt, and a job
 * whose recorded attempts exceed its retries goes to the dead-letter queue
 * without running again.  So a poisoned document costs at most retries + 1
 * crashes, never a crash loop.  The price is one more commit per job before
 * its handler starts.
 *
 * Durability of the bookkeeping.  A job row is inserted in its change's
 * transaction (synced with it).  The attempt record and the result (the
 * row's deletion, retry or dead letter) are committed with
 * db_write_nosync: they survive the process dying, which is what the
 * crash accounting needs, but not a power loss, after which a finished job
 * may run again and an attempt may go uncounted: what "at least once"
 * allows (handlers key their effects on ctx->job_id).  So the queue adds
 * no fsync of its own; bench/functions/throughput.sh and latency.sh
 * measure the cost.
 *
 * Schedule.  One thread sleeps until the next rate/cron fire of any loaded
 * schedule trigger and enqueues a job for it.  Missed fires while the
 * server was down are not replayed.
 */
#include "fn_int.h"
#include "fn_manifest.h"
#include "fn_sched.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fn_job {
    int64_t id;
    char uid[40];
    char *function;
    int kind;
    char *event;
    uint64_t key;  /* 0: no order key */
    int attempt;   /* tries already made */
    int64_t run_at_ms;
    bool running;
    fn_entry *e;
    struct fn_job *prev, *next;
} fn_job;

typedef struct sched_item {
    fn_entry *e;
    char expr[208];
    fn_sched s;
    int64_t next_ms;
} sched_item;

struct fn_queue {
    fn_registry *reg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    bool dirty;      /* new rows may be in the table */
    int64_t last_id; /* highest row id mirrored */
    fn_job *head, *tail;
    size_t count;
    pthread_t *workers;
    int nworkers;
    /* scheduler */
    pthread_mutex_t slock;
    pthread_cond_t scond;
    sched_item *sched;
    size_t nsched;
    bool sched_dirty;
    pthread_t sched_thread;
    bool sched_started;
};

static uint64_t hash_key(const char *fn, const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = fn; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

void fn_queue_wake(fn_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->dirty = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* Wake through the registry: reg->q is cleared (under the write lock)
 * before the queue is freed at stop. */
void fn_queue_kick(fn_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
    fn_queue_wake(reg->q);
    pthread_rwlock_unlock(&reg->lock);
}

static void on_commit(void *arg, int64_t last_seq)
{
    fn_queue_kick(arg);
}

/* ---- in-memory mirror ---- */

static void job_free(fn_job *j)
{
    if (!j)
        return;
    free(j->function);
    free(j->event);
    free(j);
}

static void list_remove(fn_queue *q, fn_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        q->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        q->tail = j->prev;
    q->count--;
}

/* Mirror rows with id > last_id.  Called with q->lock held. */
static void fetch_new(fn_queue *q)
{
    db_conn *c = db_reader(q->reg->app->store);
    if (!c)
        return;
    static const char sql[] = "SELECT id, uid, function, kind, event, order_key, attempt, run_at_ms "
                              "FROM _basalt_fn_jobs WHERE id > ? ORDER BY id LIMIT 2000";
    for (;;) {
        sqlite3_stmt *st = db_stmt(c, sql, sizeof sql - 1, NULL);
        if (!st)
            return;
        sqlite3_bind_int64(st, 1, q->last_id);
        int got = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            got++;
            fn_job *j = calloc(1, sizeof *j);
            const char *uid = (const char *)sqlite3_column_text(st, 1);
            const char *fn = (const char *)sqlite3_column_text(st, 2);
            const char *ev = (const char *)sqlite3_column_text(st, 4);
            const char *key = (const char *)sqlite3_column_text(st, 5);
            q->last_id = sqlite3_column_int64(st, 0);
            if (!j || !(j->function = strdup(fn ? fn : "")) || !(j->event = strdup(ev ? ev : "null"))) {
                job_free(j);
                log_error("functions: out of memory mirroring job %lld", (long long)q->last_id);
                continue;
            }
            j->id = q->last_id;
            snprintf(j->uid, sizeof j->uid, "%s", uid ? uid : "");
            j->kind = sqlite3_column_int(st, 3);
            j->key = key ? hash_key(j->function, key) : 0;
            j->attempt = sqlite3_column_int(st, 6);
            j->run_at_ms = sqlite3_column_int64(st, 7);
            j->e = fn_entry_find(q->reg, j->function);
            if (j->e)
                atomic_fetch_add(&j->e->queued, 1);
            j->prev = q->tail;
            if (q->tail)
                q->tail->next = j;
            else
                q->head = j;
            q->tail = j;
            q->count++;
        }
        db_stmt_done(st);
        if (got < 2000)
            break;
    }
}

/* Choose the next runnable job (q->lock held).  *wake_ms gets the earliest
 * future run time seen (or -1). */
static fn_job *pick(fn_queue *q, int64_t now, int64_t *wake_ms)
{
    *wake_ms = -1;
    size_t cap = 64;
    while (cap < q->count * 2)
        cap *= 2;
    uint64_t small[64];
    uint64_t *set = cap == 64 ? small : calloc(cap, sizeof *set);
    if (!set)
        return NULL;
    if (set == small)
        memset(small, 0, sizeof small);
    fn_job *found = NULL;
    for (fn_job *j = q->head; j; j = j->next) {
        if (j->key) {
            size_t h = (size_t)(j->key & (cap - 1));
            bool seen = false;
            while (set[h]) {
                if (set[h] == j->key) {
                    seen = true;
                    break;
                }
                h = (h + 1) & (cap - 1);
            }
            if (seen)
                continue;
            set[h] = j->key;
        }
        if (j->running)
            continue;
        if (j->run_at_ms > now) {
            if (*wake_ms < 0 || j->run_at_ms < *wake_ms)
                *wake_ms = j->run_at_ms;
            continue;
        }
        if (!j->e)
            j->e = fn_entry_find(q->reg, j->function);
        if (j->e) {
            if (!atomic_load_explicit(&j->e->eff_enabled, memory_order_relaxed))
                continue;
            if (!fn_entry_reserve(j->e))
                continue;
        }
        found = j;
        break;
    }
    if (set != small)
        free(set);
    return found;
}

/* ---- running one job ---- */

static char *dump(json_t *v)
{
    return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static const char *sget(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

typedef struct job_result {
    fn_job *j;
    enum { RES_DONE, RES_RETRY, RES_DEAD, RES_BEGIN } what;
    int attempt;
    int64_t run_at_ms;
    const char *error; /* NULL (RES_DEAD): keep the row's last_error */
} job_result;

/* The error a job's row holds while its handler runs: what the job's
 * record says if the process never comes back from the attempt. */
#define FN_DIED_ERROR "ProcessDied: the process died during the attempt (the handler crashed or the server was killed)"

/* Record the attempt before the handler runs (RES_BEGIN): attempt,
 * run_at_ms (when a retry would be due) and last_error = FN_DIED_ERROR. */
static int w_begin(db_conn *w, const job_result *r)
{
    static const char q[] = "UPDATE _basalt_fn_jobs SET attempt = ?, run_at_ms = ?, last_error = ? WHERE id = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int(st, 1, r->attempt);
    sqlite3_bind_int64(st, 2, r->run_at_ms);
    sqlite3_bind_text(st, 3, FN_DIED_ERROR, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->j->id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc && sqlite3_changes(db_conn_handle(w)) != 1)
        rc = BS_ENOTFOUND; /* the row is gone (cannot happen while it runs) */
    return rc;
}

static int w_finish(db_conn *w, void *arg)
{
    job_result *r = arg;
    int64_t now = time_now_ms();
    sqlite3_stmt *st;
    int rc = BS_OK;
    if (r->what == RES_BEGIN)
        return w_begin(w, r);
    if (r->what == RES_RETRY) {
        static const char q[] = "UPDATE _basalt_fn_jobs SET attempt = ?, run_at_ms = ?, last_error = ? WHERE id = ?";
        st = db_stmt(w, q, sizeof q - 1, NULL);
        if (!st)
            return BS_EDB;
        sqlite3_bind_int(st, 1, r->attempt);
        sqlite3_bind_int64(st, 2, r->run_at_ms);
        sqlite3_bind_text(st, 3, r->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->j->id);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
        return rc;
    }
    if (r->what == RES_DEAD) {
        static const char q[] = "INSERT OR REPLACE INTO _basalt_fn_dlq(uid, function, kind, event, order_key, attempts, "
                                "last_error, created_ms, failed_ms) SELECT uid, function, kind, event, order_key, ?, "
                                "COALESCE(?, last_error), created_ms, ? FROM _basalt_fn_jobs WHERE id = ?";
        st = db_stmt(w, q, sizeof q - 1, NULL);
        if (!st)
            return BS_EDB;
        sqlite3_bind_int(st, 1, r->attempt);
        if (r->error)
            sqlite3_bind_text(st, 2, r->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, r->j->id);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
        if (rc)
            return rc;
    }
    static const char d[] = "DELETE FROM _basalt_fn_jobs WHERE id = ?";
    st = db_stmt(w, d, sizeof d - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, r->j->id);
    rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

/* Build the event from the job's JSON and run it as try number attempt;
 * error receives the failure text ("" on success).  Releases the
 * concurrency slot pick() took. */
static bool run_job(fn_queue *q, fn_job *j, int attempt, char *error, size_t errlen)
{
    error[0] = '\0';
    json_error_t je;
    /* the job's event the server built around admitted documents and
     * payloads (a few levels over JSONIN_MAX_DEPTH at most), on a function
     * worker's full-size stack: plain jansson */
    json_t *o = json_loads(j->event, JSON_DECODE_ANY, &je);
    basalt_event ev = {.struct_size = sizeof ev, .kind = (uint32_t)j->kind};
    basalt_document_event de;
    basalt_storage_event se;
    basalt_auth_event ae;
    basalt_schedule_event sc;
    basalt_invoke_event ie;
    char *a = NULL, *b = NULL, *c = NULL;
    switch (j->kind) {
    case BASALT_EVENT_DOCUMENT:
        a = dump(json_object_get(o, "old"));
        b = dump(json_object_get(o, "new"));
        de = (basalt_document_event){sizeof de, sget(o, "collection"), sget(o, "op"), sget(o, "doc_id"), a, b,
                                     json_integer_value(json_object_get(o, "seq")),
                                     json_integer_value(json_object_get(o, "committed_ms"))};
        ev.document = &de;
        break;
    case BASALT_EVENT_STORAGE:
        a = dump(json_object_get(o, "object"));
        se = (basalt_storage_event){sizeof se, sget(o, "op"), sget(o, "bucket"), sget(o, "name"),
                                    json_integer_value(json_object_get(o, "size")), sget(o, "content_type"),
                                    a ? a : "null", json_integer_value(json_object_get(o, "seq"))};
        ev.storage = &se;
        break;
    case BASALT_EVENT_AUTH:
        a = dump(json_object_get(o, "user"));
        b = dump(json_object_get(o, "data"));
        ae = (basalt_auth_event){sizeof ae, sget(o, "event"), sget(o, "user_id"), a ? a : "null",
                                 json_integer_value(json_object_get(o, "seq")), b ? b : "null"};
        ev.auth = &ae;
        break;
    case BASALT_EVENT_SCHEDULE:
        sc = (basalt_schedule_event){sizeof sc, sget(o, "expr"), json_integer_value(json_object_get(o, "scheduled_ms"))};
        ev.schedule = &sc;
        break;
    case BASALT_EVENT_INVOKE:
        c = json_dumps(json_object_get(o, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
        ie = (basalt_invoke_event){sizeof ie, c ? c : "null", c ? strlen(c) : 4, sget(o, "caller")};
        ev.invoke = &ie;
        break;
    default:
        snprintf(error, errlen, "unknown job kind %d", j->kind);
        break;
    }
    bool ok = false, called = false;
    if (!error[0] && !o) {
        snprintf(error, errlen, "job event is not valid JSON");
    } else if (!error[0] && !j->e) {
        snprintf(error, errlen, "FunctionNotFound: function %s is not loaded", j->function);
    } else if (!error[0]) {
        fn_call call;
        memset(&call, 0, sizeof call);
        call.ev = &ev;
        call.job_id = j->uid;
        call.attempt = (uint32_t)attempt;
        call.reserved = true; /* fn_call_run releases the slot */
        called = true;
        int rc = fn_call_run(q->reg, j->e, &call);
        if (rc)
            snprintf(error, errlen, "FunctionNotFound: function %s is not loaded or disabled", j->function);
        else if (call.timed_out)
            snprintf(error, errlen, "Timeout: the handler ran %.0f ms, over its %d ms timeout",
                     (double)call.dur_ns / 1e6, atomic_load(&j->e->eff_timeout_ms));
        else if (call.rc != BASALT_OK && call.res.err_type)
            snprintf(error, errlen, "%s: %s", call.res.err_type, call.res.err_msg ? call.res.err_msg : "");
        else if (call.rc != BASALT_OK)
            snprintf(error, errlen, "HandlerError: the handler returned %d", call.rc);
        else
            ok = true;
        fn_call_done(&call);
    }
    if (!called && j->e)
        fn_entry_unreserve(j->e);
    free(a);
    free(b);
    free(c);
    json_decref(o);
    return ok;
}

/* Decide and run one picked job (q->lock not held); r receives what to
 * record.  Returns false when the job was neither run nor settled (its
 * attempt could not be recorded): it stays queued. */
static bool run_one(fn_queue *q, fn_job *j, job_result *r, char *error, size_t errlen)
{
    int retries = j->e ? atomic_load(&j->e->eff_retries) : FN_DEFAULT_RETRIES;
    int attempt = j->attempt + 1;
    *r = (job_result){j, RES_DONE, attempt, 0, error};
    error[0] = '\0';
    if (j->attempt > retries) {
        /* every try allowed is spent: the last one(s) ended with the process
         * (the row's last_error says so); dead-letter without running it */
        if (j->e)
            fn_entry_unreserve(j->e);
        *r = (job_result){j, RES_DEAD, j->attempt, 0, NULL};
        log_warn("functions: %s job %s: %d attempts made, the last ended with the process: moved to the "
                 "dead-letter queue",
                 j->function, j->uid, j->attempt);
        return true;
    }
    if (j->e) {
        /* committed before plugin code runs, so a crash in it counts */
        job_result b = {j, RES_BEGIN, attempt,
                        attempt <= retries ? time_now_ms() + fn_backoff_ms(attempt, q->reg->backoff_base_ms, 300000)
                                           : time_now_ms(),
                        NULL};
        int wrc = db_write_nosync(q->reg->app->store, w_finish, &b);
        if (wrc != BS_OK) {
            fn_entry_unreserve(j->e);
            if (wrc != BS_ESHUTDOWN)
                log_error("functions: could not record the start of job %s: %s", j->uid, basalt_strerror(wrc));
            return false;
        }
        j->attempt = attempt; /* only this worker touches a running job's count */
    }
    if (run_job(q, j, attempt, error, errlen))
        return true;
    if (attempt <= retries) {
        r->what = RES_RETRY;
        r->run_at_ms = time_now_ms() + fn_backoff_ms(attempt, q->reg->backoff_base_ms, 300000);
        log_warn("functions: %s job %s attempt %d failed (%s): retry in %lld ms", j->function, j->uid, attempt, error,
                 (long long)(r->run_at_ms - time_now_ms()));
    } else {
        r->what = RES_DEAD;
        log_warn("functions: %s job %s failed %d times (%s): moved to the dead-letter queue", j->function, j->uid,
                 attempt, error);
    }
    return true;
}

static void *worker_main(void *arg)
{
    fn_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    while (!q->stopping) {
        if (q->dirty) {
            q->dirty = false;
            fetch_new(q);
        }
        int64_t now = time_now_ms(), wake;
        fn_job *j = pick(q, now, &wake);
        if (!j) {
            if (wake < 0) {
                pthread_cond_wait(&q->cond, &q->lock);
            } else {
                struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000L};
                pthread_cond_timedwait(&q->cond, &q->lock, &ts);
            }
            continue;
        }
        j->running = true;
        if (j->e)
            atomic_fetch_sub(&j->e->queued, 1);
        pthread_mutex_unlock(&q->lock);

        char error[600];
        job_result r;
        bool settled = run_one(q, j, &r, error, sizeof error);
        int wrc = settled ? db_write_nosync(q->reg->app->store, w_finish, &r) : BS_EDB;
        pthread_mutex_lock(&q->lock);
        j->running = false;
        if (wrc != BS_OK) {
            /* not recorded (shutting down or the disk failed): the row is
             * still queued in the table and runs again after a restart */
            if (j->e)
                atomic_fetch_add(&j->e->queued, 1);
            if (settled && !q->stopping)
                log_error("functions: could not record the result of job %s: %s", j->uid, basalt_strerror(wrc));
            j->run_at_ms = time_now_ms() + 1000;
        } else if (r.what == RES_RETRY) {
            j->attempt = r.attempt;
            j->run_at_ms = r.run_at_ms;
            if (j->e)
                atomic_fetch_add(&j->e->queued, 1);
        } else {
            list_remove(q, j);
            job_free(j);
        }
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void rebuild_sched(fn_queue *q)
{
    fn_registry *reg = q->reg;
    size_t n = 0;
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = 0; i < reg->ntrigs; i++)
        n += reg->trigs[i].kind == BASALT_TRIGGER_SCHEDULE;
    sched_item *v = n ? calloc(n, sizeof *v) : NULL;
    size_t k = 0;
    int64_t now = time_now_ms();
    for (size_t i = 0; i < reg->ntrigs && v; i++) {
        const fn_trig *t = &reg->trigs[i];
        if (t->kind != BASALT_TRIGGER_SCHEDULE || !t->source)
            continue;
        sched_item *s = &v[k];
        s->e = t->e;
        snprintf(s->expr, sizeof s->expr, "%s", t->source);
        if (fn_sched_parse(s->expr, &s->s, NULL, 0) != BS_OK)
            continue;
        s->next_ms = fn_sched_next(&s->s, now);
        for (size_t o = 0; o < q->nsched; o++) /* keep the phase across reloads */
            if (q->sched[o].e == s->e && strcmp(q->sched[o].expr, s->expr) == 0)
                s->next_ms = q->sched[o].next_ms;
        k++;
    }
    pthread_rwlock_unlock(&reg->lock);
    free(q->sched);
    q->sched = v;
    q->nsched = k;
}

static void *sched_main(void *arg)
{
    fn_queue *q = arg;
    pthread_mutex_lock(&q->slock);
    while (!q->stopping) {
        if (q->sched_dirty) {
            q->sched_dirty = false;
            rebuild_sched(q);
        }
        int64_t now = time_now_ms(), next = -1;
        for (size_t i = 0; i < q->nsched; i++) {
            sched_item *s = &q->sched[i];
            if (s->next_ms < 0)
                continue;
            if (s->next_ms <= now) {
                char ev[400], name[64];
                buf e = BUF_INIT;
                buf_puts(&e, "{\"expr\":");
                buf_json_str(&e, s->expr, strlen(s->expr));
                buf_printf(&e, ",\"scheduled_ms\":%lld}", (long long)s->next_ms);
                snprintf(ev, sizeof ev, "%s", buf_cstr(&e));
                buf_free(&e);
                snprintf(name, sizeof name, "%s", s->e->name);
                int64_t due = s->next_ms;
                s->next_ms = fn_sched_next(&s->s, due);
                if (s->next_ms >= 0 && s->next_ms <= now) /* fell behind: skip missed fires */
                    s->next_ms = fn_sched_next(&s->s, now);
                bool enabled = atomic_load(&s->e->eff_enabled);
                pthread_mutex_unlock(&q->slock);
                if (enabled) {
                    if (fn_job_enqueue(q->reg, name, BASALT_EVENT_SCHEDULE, ev, NULL) == BS_OK)
                        fn_queue_wake(q);
                }
                pthread_mutex_lock(&q->slock);
                now = time_now_ms();
                i = (size_t)-1; /* the list may have been rebuilt: rescan */
                if (q->sched_dirty || q->stopping)
                    break;
                continue;
            }
            if (next < 0 || s->next_ms < next)
                next = s->next_ms;
        }
        if (q->stopping || q->sched_dirty)
            continue;
        if (next < 0) {
            pthread_cond_wait(&q->scond, &q->slock);
        } else {
            struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&q->scond, &q->slock, &ts);
        }
    }
    pthread_mutex_unlock(&q->slock);
    return NULL;
}

void fn_queue_triggers_changed(fn_queue *q)
{
    pthread_mutex_lock(&q->slock);
    q->sched_dirty = true;
    pthread_cond_broadcast(&q->scond);
    pthread_mutex_unlock(&q->slock);
    fn_queue_wake(q); /* jobs of a newly loaded function may be runnable */
}

size_t fn_queue_depth(fn_queue *q, fn_entry *e)
{
    if (e)
        return (size_t)atomic_load(&e->queued);
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ---- start / stop ---- */

int fn_queue_start(fn_registry *reg, fn_queue **out)
{
    *out = NULL;
    fn_queue *q = calloc(1, sizeof *q);
    if (!q)
        return BS_ENOMEM;
    q->reg = reg;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    pthread_mutex_init(&q->slock, NULL);
    pthread_cond_init(&q->scond, NULL);
    q->dirty = true;
    q->sched_dirty = true;
    int n = reg->app->cfg->function_workers;
    if (n < 1)
        n = 1;
    int rc = db_add_change_observer(reg->app->store, fn_queue_observe, reg);
    if (!rc)
        rc = db_add_commit_hook(reg->app->store, on_commit, reg);
    if (rc) {
        log_error("functions: cannot register with the store (too many observers?)");
        free(q);
        return rc;
    }
    reg->q = q;
    q->workers = calloc((size_t)n, sizeof *q->workers);
    if (!q->workers)
        return BS_ENOMEM;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&q->workers[i], NULL, worker_main, q) != 0)
            break;
        q->nworkers++;
    }
    q->sched_started = pthread_create(&q->sched_thread, NULL, sched_main, q) == 0;
    *out = q;
    return q->nworkers ? BS_OK : BS_ENOMEM;
}

void fn_queue_stop(fn_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_lock(&q->slock);
    pthread_cond_broadcast(&q->scond);
    pthread_mutex_unlock(&q->slock);
    for (int i = 0; i < q->nworkers; i++)
        pthread_join(q->workers[i], NULL);
    if (q->sched_started)
        pthread_join(q->sched_thread, NULL);
    fn_job *j = q->head;
    while (j) {
        fn_job *n = j->next;
        job_free(j);
        j = n;
    }
    free(q->workers);
    free(q->sched);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->slock);
    pthread_cond_destroy(&q->scond);
    free(q);
}
