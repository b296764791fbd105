/* fn_int.h - private structures shared by the files of functions/.
 *
 * Object model:
 *   fn_registry  one per server: made by the module's start (fn_module.c),
 *                kept in app->fn, freed by its stop.  Owns the entries (one
 *                per function name ever loaded; never freed before the
 *                registry, so pointers to entries stay valid), the trigger
 *                snapshot the change observer matches against, the loader,
 *                the job queue and the scheduler.
 *   fn_entry     a function name: its current version, admin settings,
 *                config values, metrics and log ring.
 *   fn_version   one dlopen()ed copy of a plugin.  Reference-counted: the
 *                entry holds one reference while the version is current and
 *                every call holds one while it runs; the last release runs
 *                fini, dlclose()s and deletes the private copy.
 *
 * Locks (always taken in this order, never held across plugin code):
 *   reg->lock (rwlock)  entries list, trigger snapshot, reg->q, reg->sched
 *   e->lock   (mutex)   e->current, settings, config, last_error
 *   e->log_lock         the log ring
 */
#ifndef FN_INT_H
#define FN_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "basalt/function.h"
#include "core/arena.h"
#include "core/buf.h"
#include "db/binds.h"
#include "db/store.h"
#include "fn_sched.h"
#include "http/http.h"

#define FN_LOG_RING 256
#define FN_HIST_BUCKETS 22
#define FN_MAX_DEPTH 8 /* nested sync invokes */

typedef struct fn_registry fn_registry;
typedef struct fn_entry fn_entry;
typedef struct fn_queue fn_queue;

typedef struct fn_version {
    atomic_int refs;
    void *dl;
    const basalt_function *m;
    void *state;
    char *source;   /* the file in the functions dir */
    char *tmp_path; /* the private copy that was dlopen()ed */
    uint32_t generation;
    int64_t loaded_ms;
    uint64_t init_ns;
    fn_entry *entry;
} fn_version;

struct fn_entry {
    char name[64];
    fn_registry *reg;
    pthread_mutex_t lock;
    fn_version *current; /* NULL when unloaded */
    char *source;        /* file that provided current */
    char *last_error;    /* last load/init failure (malloc'd) */
    /* admin overrides (-1: use the manifest) */
    int64_t timeout_ms, concurrency, retries;
    bool enabled;
    json_t *config; /* object of strings; never logged */
    /* effective limits, refreshed on load/PATCH, read lock-free */
    atomic_int eff_timeout_ms, eff_concurrency, eff_retries;
    atomic_bool eff_enabled;
    atomic_int active;
    /* metrics */
    atomic_uint_fast64_t invocations, errors, throttles, timeouts, cold_starts, init_ns_total, init_ns_last;
    atomic_uint_fast64_t hist[FN_HIST_BUCKETS];
    atomic_uint_fast64_t dur_sum_us;
    atomic_int queued; /* jobs waiting in memory */
    /* log ring */
    pthread_mutex_t log_lock;
    char *log[FN_LOG_RING];
    size_t log_next, log_count;
    fn_entry *next;
};

/* A trigger copied out of a manifest (strings owned by the snapshot). */
typedef struct fn_trig {
    fn_entry *e;
    uint32_t kind, flags;
    char *source, *prefix, *suffix, *filter;
} fn_trig;

typedef struct fn_scheduler fn_scheduler;

struct fn_registry {
    bs_app *app;
    pthread_rwlock_t lock;
    fn_entry *entries;
    fn_trig *trigs;
    size_t ntrigs;
    atomic_uint generation;
    atomic_uint_fast64_t requests; /* request ids handed out */
    char tmpdir[256];
    char dir[1024];
    /* loader */
    pthread_t watch;
    bool watching;
    int inotify_fd;
    int stop_pipe[2];
    pthread_mutex_t load_lock; /* one load at a time */
    fn_queue *q;               /* NULL until serving and after drain */
    fn_scheduler *sched;       /* likewise */
    int64_t backoff_base_ms;
};

/* Opaque response of the ABI. */
struct basalt_response {
    int status; /* 0: not set */
    char *ctype;
    buf headers; /* "Name: value\r\n"... */
    buf body;
    bool has_body;
    char *err_type;
    char *err_msg;
};

/* One invocation, filled by the caller of fn_call_run. */
typedef struct fn_call {
    const basalt_event *ev;
    const char *job_id; /* "" for sync */
    uint32_t attempt;
    const char *auth_role, *auth_sub, *auth_claims;
    bool reserved; /* concurrency already taken (async worker) */
    int depth;     /* nesting of sync invokes */
    /* out */
    basalt_response res;
    int rc; /* handler result */
    bool timed_out;
    uint64_t dur_ns;
    uint32_t generation;
    char request_id[40];
} fn_call;

/* Per-call private data behind ctx->host_private. */
typedef struct fn_callpriv {
    fn_registry *reg;
    fn_entry *e;
    arena a;
    int depth;
} fn_callpriv;

/* ---- registry (fn_registry.c) ---- */
/* A registry for app with no entries (main thread, at start): its
 * functions directory and a private load directory made under $TMPDIR.
 * BS_ENOMEM, or BS_EIO when the load directory cannot be made (logged). */
int fn_registry_new(bs_app *app, fn_registry **out);
/* Unload every plugin and free reg (NULL: nothing); the loader, queue and
 * scheduler are stopped. */
void fn_registry_free(fn_registry *reg);
/* How many entries have a version loaded. */
size_t fn_registry_loaded(fn_registry *reg);
/* The head of the entry list: entries are only ever prepended and never
 * freed before the registry, so walking ->next from it needs no lock. */
fn_entry *fn_registry_entries(fn_registry *reg);
fn_entry *fn_entry_find(fn_registry *reg, const char *name);
/* Find or create the entry for name (loader). */
fn_entry *fn_entry_get(fn_registry *reg, const char *name);
/* Current version with a reference, or NULL. */
fn_version *fn_version_acquire(fn_entry *e);
void fn_version_release(fn_version *v);
/* Make v current (takes over the caller's reference); the old one is
 * released.  Rebuilds the trigger snapshot. */
void fn_entry_install(fn_entry *e, fn_version *v);
/* Unload the version that came from source (file removed). */
void fn_registry_remove_source(fn_registry *reg, const char *source);
void fn_registry_rebuild_triggers(fn_registry *reg);
void fn_entry_refresh_limits(fn_entry *e);
bool fn_entry_reserve(fn_entry *e);
void fn_entry_unreserve(fn_entry *e);
void fn_entry_set_error(fn_entry *e, const char *msg);
void fn_entry_log(fn_entry *e, const char *line);
/* Under m: set *flag (may be NULL) and wake every waiter on c. */
void fn_signal(pthread_mutex_t *m, pthread_cond_t *c, bool *flag);

/* A call of event ev at depth 0, first attempt, no job, no caller. */
void fn_call_init(fn_call *call, const basalt_event *ev);
/* Run one invocation of entry e.  BS_ENOTFOUND (nothing loaded or
 * disabled), BS_EBUSY (throttled, counted), else BS_OK with call->rc,
 * call->timed_out and call->res filled.  fn_call_done frees call->res. */
int fn_call_run(fn_registry *reg, fn_entry *e, fn_call *call);
void fn_call_done(fn_call *call);
void fn_response_init(basalt_response *r);
void fn_response_free(basalt_response *r);
/* {"error": type, "message": msg}: the body of a host error (the Edge
 * Functions shape). */
int fn_error_json(buf *b, const char *type, const char *msg);

/* ---- metrics (fn_metrics.c) ---- */
void fn_hist_add(fn_entry *e, uint64_t ns);
/* Estimated percentile (0-100) of call durations in milliseconds. */
double fn_hist_pct(fn_entry *e, double pct);
/* A relaxed read of one of e's counters. */
int64_t fn_counter(const atomic_uint_fast64_t *v);

/* ---- host API (fn_host.c) ---- */
extern const basalt_host fn_host_api;

/* ---- HTTP and RPC triggers (fn_http.c); route handlers on HTTP workers ---- */
/* /functions/v1/NAME[/...] (HTTP trigger), /rest/v1/rpc/NAME (RPC). */
int fn_http_handle(http_req *r);
int fn_rpc_handle(http_req *r);
/* An RPC body (named arguments) through jsonin_parse (at most
 * JSONIN_MAX_DEPTH deep): BS_OK when it is a JSON object, else an error
 * with the reason in msg; BS_ENOMEM.  Pure, any thread. */
int fn_rpc_check_args(const char *body, size_t len, char *msg, size_t msgsz);

/* ---- admin API (fn_admin.c) ---- */
/* /admin/v1/functions[/...] (service role). */
int fn_admin_handle(http_req *r);

/* ---- loader (fn_loader.c) ---- */
/* Load (or reload) one .so; logs and records failures. */
int fn_load_file(fn_registry *reg, const char *path, char *why, size_t whylen);
/* Load every plugin of reg->dir and start watching it (hot reload). */
int fn_loader_start(fn_registry *reg);
/* Stop watching; a no-op when not watching. */
void fn_loader_stop(fn_registry *reg);

/* ---- enqueue (fn_enqueue.c) ---- */
/* Insert a job row (writer thread); run_at 0 = now; uid_out (may be NULL)
 * receives its id. */
int fn_job_insert(db_conn *w, const char *function, int kind, const char *event, const char *order_key, int64_t run_at,
                  char uid_out[40]);
/* Insert a job through the writer (durable on return); uid may be NULL.
 * The caller wakes the workers. */
int fn_job_enqueue(fn_registry *reg, const char *function, int kind, const char *event, char uid[40]);
/* Queue the jobs of every async trigger that ch matches (the module's
 * change observer: writer thread, inside ch's transaction). */
int fn_queue_observe(db_conn *w, const db_change *ch, fn_registry *reg);
/* Insert an async invoke job (durable on return) and wake the workers;
 * uid receives its id. */
int fn_queue_invoke(fn_registry *reg, const char *function, const char *payload, const char *caller, char uid[40]);

/* ---- queue (fn_queue.c) ---- */
/* The queue and the scheduler are made, published in the registry (under
 * its write lock, so wake-ups through it reach them), then run; they are
 * withdrawn from the registry before they are stopped (fn_module.c). */
/* A queue of --function-workers workers, not running; NULL on ENOMEM. */
fn_queue *fn_queue_new(fn_registry *reg);
/* Start the workers; BS_ENOMEM when none started. */
int fn_queue_run(fn_queue *q);
/* Wait for the running jobs, stop the workers and free q (NULL: nothing);
 * queued jobs stay in the table. */
void fn_queue_stop(fn_queue *q);
/* Wake the workers of reg if they run (any thread). */
void fn_queue_kick(fn_registry *reg);

/* ---- scheduler (fn_scheduler.c) ---- */
/* The thread that fires schedule triggers, not running; NULL on ENOMEM. */
fn_scheduler *fn_scheduler_new(fn_registry *reg);
int fn_scheduler_run(fn_scheduler *s);
/* Stop the thread and free s (NULL: nothing). */
void fn_scheduler_stop(fn_scheduler *s);
/* The trigger snapshot changed: recompute the schedules (any thread). */
void fn_scheduler_changed(fn_registry *reg);

/* ---- one statement (fn_sql.c) ---- */
/* Values for fn_sql_run: text (NULL binds NULL; not copied), an integer,
 * an optional integer (negative binds NULL). */
db_bind fn_sql_text(const char *s);
db_bind fn_sql_int(int64_t v);
db_bind fn_sql_opt(int64_t v);
/* Run sql (len bytes, no rows expected) on c with v[0..n) bound to ?1..?n;
 * BS_OK when it completed (*changes, if not NULL: the rows it changed),
 * else BS_EDB. */
int fn_sql_run(db_conn *c, const char *sql, size_t len, const db_bind *v, size_t n, int64_t *changes);
/* sql on the calling thread's reader of s, v bound, ready to step (the
 * caller db_stmt_done()s it); NULL on failure. */
sqlite3_stmt *fn_sql_query(db_store *s, const char *sql, size_t len, const db_bind *v, size_t n);
#define FN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- dead letters (fn_dlq.c) ---- */
int fn_dlq_list(fn_registry *reg, const char *function, buf *out);
int64_t fn_dlq_count(fn_registry *reg, const char *function);
int fn_dlq_redrive(fn_registry *reg, const char *uid);
int fn_dlq_delete(fn_registry *reg, const char *uid);

/* ---- settings (fn_settings.c) ---- */
/* An entry's admin overrides (-1: the manifest's value). */
typedef struct fn_settings {
    int64_t timeout_ms, concurrency, retries;
    bool enabled;
} fn_settings;

/* Read e's stored settings (when the entry is made). */
int fn_settings_load(fn_registry *reg, fn_entry *e);
/* e's settings with the changes of a PATCH body (an object): NULL, or why
 * the body is refused. */
const char *fn_settings_parse(fn_entry *e, json_t *body, fn_settings *out);
/* Store s and e's config with config_patch's changes (null removes a key;
 * config_patch may be NULL), then make them e's.  BS_OK, BS_ENOMEM or the
 * write's error (nothing changed). */
int fn_settings_save(fn_registry *reg, fn_entry *e, const fn_settings *s, json_t *config_patch);

#endif
