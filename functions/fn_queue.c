/* fn_queue.c - durable async jobs: workers, retries, dead letters.  Jobs
 * are put into _basalt_fn_jobs by fn_enqueue.c (changes, invokes) and
 * fn_scheduler.c (schedules); the dead-letter table is read and re-driven
 * by fn_dlq.c.
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
 * Crashes.  Before the handler runs, the attempt is committed (RES_BEGIN):
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
 * Threads: --function-workers workers, started when the server serves
 * (fn_queue_run) and joined at drain (fn_queue_stop); q->lock guards the
 * mirror; a running job is touched only by its worker.
 */
#include "fn_int.h"
#include "fn_manifest.h"
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
    uint64_t key; /* 0: no order key */
    int attempt;  /* tries already made */
    int64_t run_at_ms;
    bool running;
    fn_entry *e;
    struct fn_job *prev, *next;
} fn_job;

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

/* Through the registry: reg->q is cleared (under the write lock) before
 * the queue is freed. */
void fn_queue_kick(fn_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
    if (reg->q)
        fn_signal(&reg->q->lock, &reg->q->cond, &reg->q->dirty);
    pthread_rwlock_unlock(&reg->lock);
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

static void list_append(fn_queue *q, fn_job *j)
{
    j->prev = q->tail;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->count++;
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

/* The job of the current row of st, or NULL (ENOMEM, logged). */
static fn_job *job_from_row(fn_queue *q, sqlite3_stmt *st)
{
    fn_job *j = calloc(1, sizeof *j);
    const char *uid = (const char *)sqlite3_column_text(st, 1);
    const char *fn = (const char *)sqlite3_column_text(st, 2);
    const char *ev = (const char *)sqlite3_column_text(st, 4);
    const char *key = (const char *)sqlite3_column_text(st, 5);
    int64_t id = sqlite3_column_int64(st, 0);
    if (!j || !(j->function = strdup(fn ? fn : "")) || !(j->event = strdup(ev ? ev : "null"))) {
        job_free(j);
        log_error("functions: out of memory mirroring job %lld", (long long)id);
        return NULL;
    }
    j->id = id;
    snprintf(j->uid, sizeof j->uid, "%s", uid ? uid : "");
    j->kind = sqlite3_column_int(st, 3);
    j->key = key ? hash_key(j->function, key) : 0;
    j->attempt = sqlite3_column_int(st, 6);
    j->run_at_ms = sqlite3_column_int64(st, 7);
    j->e = fn_entry_find(q->reg, j->function);
    if (j->e)
        atomic_fetch_add(&j->e->queued, 1);
    return j;
}

/* Mirror rows with id > last_id.  Called with q->lock held. */
static void fetch_new(fn_queue *q)
{
    static const char sql[] = "SELECT id, uid, function, kind, event, order_key, attempt, run_at_ms "
                              "FROM _basalt_fn_jobs WHERE id > ? ORDER BY id LIMIT 2000";
    for (int got = 2000; got == 2000;) {
        const db_bind v[] = {fn_sql_int(q->last_id)};
        sqlite3_stmt *st = fn_sql_query(q->reg->app->store, sql, sizeof sql - 1, v, 1);
        if (!st)
            return;
        for (got = 0; sqlite3_step(st) == SQLITE_ROW; got++) {
            q->last_id = sqlite3_column_int64(st, 0);
            fn_job *j = job_from_row(q, st);
            if (j)
                list_append(q, j);
        }
        db_stmt_done(st);
    }
}

/* Has an older job with key been seen?  Records key in the open-addressed
 * set (cap a power of two, more than twice the jobs). */
static bool key_seen(uint64_t *set, size_t cap, uint64_t key)
{
    size_t h = (size_t)(key & (cap - 1));
    while (set[h]) {
        if (set[h] == key)
            return true;
        h = (h + 1) & (cap - 1);
    }
    set[h] = key;
    return false;
}

/* May j run now?  Takes its function's concurrency slot when so. */
static bool runnable(fn_queue *q, fn_job *j, int64_t now, int64_t *wake_ms)
{
    if (j->running)
        return false;
    if (j->run_at_ms > now) {
        if (*wake_ms < 0 || j->run_at_ms < *wake_ms)
            *wake_ms = j->run_at_ms;
        return false;
    }
    if (!j->e)
        j->e = fn_entry_find(q->reg, j->function);
    if (!j->e)
        return true; /* run: it fails as not loaded */
    return atomic_load_explicit(&j->e->eff_enabled, memory_order_relaxed) && fn_entry_reserve(j->e);
}

/* Choose the next runnable job (q->lock held): the oldest whose order key
 * no older job holds.  *wake_ms gets the earliest future run time seen (or
 * -1). */
static fn_job *pick(fn_queue *q, int64_t now, int64_t *wake_ms)
{
    *wake_ms = -1;
    size_t cap = 64;
    while (cap < q->count * 2)
        cap *= 2;
    uint64_t small[64] = {0};
    uint64_t *set = cap == 64 ? small : calloc(cap, sizeof *set);
    if (!set)
        return NULL;
    fn_job *found = NULL;
    for (fn_job *j = q->head; j && !found; j = j->next)
        if (!(j->key && key_seen(set, cap, j->key)) && runnable(q, j, now, wake_ms))
            found = j;
    if (set != small)
        free(set);
    return found;
}

/* ---- recording attempts and results ---- */

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

/* Record attempt, run_at_ms and last_error: before the handler runs
 * (RES_BEGIN: when a retry would be due, FN_DIED_ERROR) or for a retry. */
static int w_attempt(db_conn *w, const job_result *r, const char *error)
{
    static const char q[] = "UPDATE _basalt_fn_jobs SET attempt = ?, run_at_ms = ?, last_error = ? WHERE id = ?";
    const db_bind v[] = {fn_sql_int(r->attempt), fn_sql_int(r->run_at_ms), fn_sql_text(error), fn_sql_int(r->j->id)};
    int64_t changed;
    int rc = fn_sql_run(w, q, sizeof q - 1, v, FN_COUNT(v), &changed);
    if (!rc && r->what == RES_BEGIN && changed != 1)
        rc = BS_ENOTFOUND; /* the row is gone (cannot happen while it runs) */
    return rc;
}

/* Move the row to the dead-letter table (r->error NULL: keep its
 * last_error). */
static int w_dead(db_conn *w, const job_result *r)
{
    static const char q[] = "INSERT OR REPLACE INTO _basalt_fn_dlq(uid, function, kind, event, order_key, attempts, "
                            "last_error, created_ms, failed_ms) SELECT uid, function, kind, event, order_key, ?, "
                            "COALESCE(?, last_error), created_ms, ? FROM _basalt_fn_jobs WHERE id = ?";
    const db_bind v[] = {fn_sql_int(r->attempt), fn_sql_text(r->error), fn_sql_int(time_now_ms()),
                         fn_sql_int(r->j->id)};
    return fn_sql_run(w, q, sizeof q - 1, v, FN_COUNT(v), NULL);
}

static int w_finish(db_conn *w, void *arg)
{
    job_result *r = arg;
    if (r->what == RES_BEGIN)
        return w_attempt(w, r, FN_DIED_ERROR);
    if (r->what == RES_RETRY)
        return w_attempt(w, r, r->error);
    int rc = r->what == RES_DEAD ? w_dead(w, r) : BS_OK;
    static const char d[] = "DELETE FROM _basalt_fn_jobs WHERE id = ?";
    const db_bind v[] = {fn_sql_int(r->j->id)};
    return rc ? rc : fn_sql_run(w, d, sizeof d - 1, v, 1, NULL);
}

/* ---- running one job ---- */

/* A job's event, rebuilt from the JSON the observer stored. */
typedef struct job_event {
    basalt_event ev;
    union {
        basalt_document_event document;
        basalt_storage_event storage;
        basalt_auth_event auth;
        basalt_schedule_event schedule;
        basalt_invoke_event invoke;
    } u;
    json_t *o;
    char *a, *b; /* texts the event points into */
} job_event;

static char *dump(json_t *v) { return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL; }

static const char *sget(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Point the event of kind at the fields of je->o; false for an unknown
 * kind. */
static bool job_event_fill(job_event *je, int kind)
{
    json_t *o = je->o;
    switch (kind) {
    case BASALT_EVENT_DOCUMENT:
        je->a = dump(json_object_get(o, "old"));
        je->b = dump(json_object_get(o, "new"));
        je->u.document = (basalt_document_event){
            sizeof je->u.document, sget(o, "collection"),  sget(o, "op"), sget(o, "doc_id"), je->a, je->b,
            iget(o, "seq"),        iget(o, "committed_ms")};
        je->ev.document = &je->u.document;
        return true;
    case BASALT_EVENT_STORAGE:
        je->a = dump(json_object_get(o, "object"));
        je->u.storage = (basalt_storage_event){sizeof je->u.storage,   sget(o, "op"),   sget(o, "bucket"),
                                               sget(o, "name"),        iget(o, "size"), sget(o, "content_type"),
                                               je->a ? je->a : "null", iget(o, "seq")};
        je->ev.storage = &je->u.storage;
        return true;
    case BASALT_EVENT_AUTH:
        je->a = dump(json_object_get(o, "user"));
        je->b = dump(json_object_get(o, "data"));
        je->u.auth = (basalt_auth_event){sizeof je->u.auth,      sget(o, "event"), sget(o, "user_id"),
                                         je->a ? je->a : "null", iget(o, "seq"),   je->b ? je->b : "null"};
        je->ev.auth = &je->u.auth;
        return true;
    case BASALT_EVENT_SCHEDULE:
        je->u.schedule = (basalt_schedule_event){sizeof je->u.schedule, sget(o, "expr"), iget(o, "scheduled_ms")};
        je->ev.schedule = &je->u.schedule;
        return true;
    case BASALT_EVENT_INVOKE:
        je->a = json_dumps(json_object_get(o, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
        je->u.invoke = (basalt_invoke_event){sizeof je->u.invoke, je->a ? je->a : "null", je->a ? strlen(je->a) : 4,
                                             sget(o, "caller")};
        je->ev.invoke = &je->u.invoke;
        return true;
    default: return false;
    }
}

/* Rebuild j's event; false with the reason in error. */
static bool job_event_open(job_event *je, const fn_job *j, char *error, size_t errlen)
{
    memset(je, 0, sizeof *je);
    je->ev = (basalt_event){.struct_size = sizeof je->ev, .kind = (uint32_t)j->kind};
    json_error_t jerr;
    /* the job's event the server built around admitted documents and
     * payloads (a few levels over JSONIN_MAX_DEPTH at most), on a function
     * worker's full-size stack: plain jansson */
    je->o = json_loads(j->event, JSON_DECODE_ANY, &jerr);
    if (!job_event_fill(je, j->kind))
        snprintf(error, errlen, "unknown job kind %d", j->kind);
    else if (!je->o)
        snprintf(error, errlen, "job event is not valid JSON");
    return !error[0];
}

static void job_event_close(job_event *je)
{
    free(je->a);
    free(je->b);
    json_decref(je->o);
}

/* Run j's handler with ev as try number attempt (fn_call_run releases
 * the slot pick() took); false with the failure in error. */
static bool job_call(fn_queue *q, fn_job *j, const basalt_event *ev, int attempt, char *error, size_t errlen)
{
    fn_call call;
    fn_call_init(&call, ev);
    call.job_id = j->uid;
    call.attempt = (uint32_t)attempt;
    call.reserved = true;
    int rc = fn_call_run(q->reg, j->e, &call);
    if (rc)
        snprintf(error, errlen, "FunctionNotFound: function %s is not loaded or disabled", j->function);
    else if (call.timed_out)
        snprintf(error, errlen, "Timeout: the handler ran %.0f ms, over its %d ms timeout", (double)call.dur_ns / 1e6,
                 atomic_load(&j->e->eff_timeout_ms));
    else if (call.rc != BASALT_OK && call.res.err_type)
        snprintf(error, errlen, "%s: %s", call.res.err_type, call.res.err_msg ? call.res.err_msg : "");
    else if (call.rc != BASALT_OK)
        snprintf(error, errlen, "HandlerError: the handler returned %d", call.rc);
    fn_call_done(&call);
    return !error[0];
}

/* Build the event from the job's JSON and run it as try number attempt;
 * error receives the failure text ("" on success).  Releases the
 * concurrency slot pick() took. */
static bool run_job(fn_queue *q, fn_job *j, int attempt, char *error, size_t errlen)
{
    error[0] = '\0';
    job_event je;
    bool ok = false;
    if (!job_event_open(&je, j, error, errlen)) {
        if (j->e)
            fn_entry_unreserve(j->e);
    } else if (!j->e) {
        snprintf(error, errlen, "FunctionNotFound: function %s is not loaded", j->function);
    } else {
        ok = job_call(q, j, &je.ev, attempt, error, errlen);
    }
    job_event_close(&je);
    return ok;
}

/* Record the attempt before plugin code runs, so a crash in it counts;
 * false (the slot released) when it could not be recorded. */
static bool begin_attempt(fn_queue *q, fn_job *j, int attempt, int retries)
{
    int64_t now = time_now_ms();
    job_result b = {j, RES_BEGIN, attempt,
                    attempt <= retries ? now + fn_backoff_ms(attempt, q->reg->backoff_base_ms, 300000) : now, NULL};
    int wrc = db_write_nosync(q->reg->app->store, w_finish, &b);
    if (wrc == BS_OK) {
        j->attempt = attempt; /* only this worker touches a running job's count */
        return true;
    }
    fn_entry_unreserve(j->e);
    if (wrc != BS_ESHUTDOWN)
        log_error("functions: could not record the start of job %s: %s", j->uid, basalt_strerror(wrc));
    return false;
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
    if (j->e && !begin_attempt(q, j, attempt, retries))
        return false;
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

/* Put what happened to a run job into the mirror (q->lock held): wrc is
 * how recording r went. */
static void settle(fn_queue *q, fn_job *j, bool settled, const job_result *r, int wrc)
{
    j->running = false;
    if (wrc != BS_OK) {
        /* not recorded (shutting down or the disk failed): the row is
         * still queued in the table and runs again after a restart */
        if (j->e)
            atomic_fetch_add(&j->e->queued, 1);
        if (settled && !q->stopping)
            log_error("functions: could not record the result of job %s: %s", j->uid, basalt_strerror(wrc));
        j->run_at_ms = time_now_ms() + 1000;
    } else if (r->what == RES_RETRY) {
        j->attempt = r->attempt;
        j->run_at_ms = r->run_at_ms;
        if (j->e)
            atomic_fetch_add(&j->e->queued, 1);
    } else {
        list_remove(q, j);
        job_free(j);
    }
}

/* Sleep until woken or until wake_ms (-1: until woken); q->lock held. */
static void idle(fn_queue *q, int64_t wake_ms)
{
    if (wake_ms < 0) {
        pthread_cond_wait(&q->cond, &q->lock);
    } else {
        struct timespec ts = {(time_t)(wake_ms / 1000), (long)(wake_ms % 1000) * 1000000L};
        pthread_cond_timedwait(&q->cond, &q->lock, &ts);
    }
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
        int64_t wake_ms;
        fn_job *j = pick(q, time_now_ms(), &wake_ms);
        if (!j) {
            idle(q, wake_ms);
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
        settle(q, j, settled, &r, wrc);
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* ---- start / stop ---- */

fn_queue *fn_queue_new(fn_registry *reg)
{
    int n = reg->app->cfg->function_workers < 1 ? 1 : reg->app->cfg->function_workers;
    fn_queue *q = malloc(sizeof *q);
    pthread_t *workers = calloc((size_t)n, sizeof *workers);
    if (!q || !workers) {
        free(q);
        free(workers);
        return NULL;
    }
    *q = (fn_queue){.reg = reg,
                    .lock = PTHREAD_MUTEX_INITIALIZER,
                    .cond = PTHREAD_COND_INITIALIZER,
                    .dirty = true,
                    .workers = workers,
                    .nworkers = n};
    return q;
}

int fn_queue_run(fn_queue *q)
{
    int n = q->nworkers;
    q->nworkers = 0;
    for (int i = 0; i < n && pthread_create(&q->workers[i], NULL, worker_main, q) == 0; i++)
        q->nworkers++;
    return q->nworkers ? BS_OK : BS_ENOMEM;
}

void fn_queue_stop(fn_queue *q)
{
    if (!q)
        return;
    fn_signal(&q->lock, &q->cond, &q->stopping);
    for (int i = 0; i < q->nworkers; i++)
        pthread_join(q->workers[i], NULL);
    for (fn_job *j = q->head, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    free(q->workers);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}
