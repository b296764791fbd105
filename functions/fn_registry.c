/* fn_registry.c - function entries, refcounted versions, and one call.
 *
 * Dispatch of a warm call is: read-lock the registry, find the entry by
 * name, lock the entry just long enough to take a reference on the current
 * version, take a concurrency slot (atomic), build the context on the stack
 * and call the plugin.  No allocation on that path beyond what the plugin's
 * response needs.  A replaced version stays alive while calls hold
 * references and is unloaded by whichever thread drops the last one.
 */
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void trigs_free_strings(fn_trig *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].source);
        free(t[i].prefix);
        free(t[i].suffix);
        free(t[i].filter);
    }
}

static void trigs_free(fn_trig *t, size_t n)
{
    trigs_free_strings(t, n);
    free(t);
}

/* ---- the registry ---- */

int fn_registry_new(bs_app *app, fn_registry **out)
{
    *out = NULL;
    fn_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return BS_ENOMEM;
    reg->app = app;
    reg->inotify_fd = -1;
    pthread_rwlock_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->load_lock, NULL);
    const char *env = getenv("BASALT_FN_BACKOFF_MS");
    reg->backoff_base_ms = env && atoll(env) > 0 ? atoll(env) : 1000;
    if (app->cfg->functions_dir)
        snprintf(reg->dir, sizeof reg->dir, "%s", app->cfg->functions_dir);
    else
        snprintf(reg->dir, sizeof reg->dir, "%s/functions", app->cfg->data_dir);
    snprintf(reg->tmpdir, sizeof reg->tmpdir, "%s/basalt-fn-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(reg->tmpdir)) {
        log_error("functions: cannot create a private load directory under /tmp");
        reg->tmpdir[0] = '\0';
        fn_registry_free(reg);
        return BS_EIO;
    }
    *out = reg;
    return BS_OK;
}

static void entry_free(fn_entry *e)
{
    fn_version *v = e->current;
    e->current = NULL;
    fn_version_release(v);
    free(e->source);
    free(e->last_error);
    json_decref(e->config);
    for (size_t i = 0; i < FN_LOG_RING; i++)
        free(e->log[i]);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->log_lock);
    free(e);
}

void fn_registry_free(fn_registry *reg)
{
    if (!reg)
        return;
    trigs_free(reg->trigs, reg->ntrigs);
    for (fn_entry *e = reg->entries, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    if (reg->tmpdir[0])
        rmdir(reg->tmpdir);
    pthread_rwlock_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->load_lock);
    free(reg);
}

size_t fn_registry_loaded(fn_registry *reg)
{
    size_t n = 0;
    for (fn_entry *e = fn_registry_entries(reg); e; e = e->next) {
        pthread_mutex_lock(&e->lock);
        n += e->current != NULL;
        pthread_mutex_unlock(&e->lock);
    }
    return n;
}

/* ---- entries ---- */

fn_entry *fn_registry_entries(fn_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
    fn_entry *e = reg->entries;
    pthread_rwlock_unlock(&reg->lock);
    return e;
}

fn_entry *fn_entry_find(fn_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    fn_entry *e = reg->entries;
    while (e && strcmp(e->name, name) != 0)
        e = e->next;
    pthread_rwlock_unlock(&reg->lock);
    return e;
}

fn_entry *fn_entry_get(fn_registry *reg, const char *name)
{
    fn_entry *e = fn_entry_find(reg, name);
    if (e)
        return e;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->reg = reg;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->log_lock, NULL);
    e->timeout_ms = e->concurrency = e->retries = -1;
    e->enabled = true;
    e->config = json_object();
    fn_settings_load(reg, e);
    pthread_rwlock_wrlock(&reg->lock);
    fn_entry *dup = reg->entries;
    while (dup && strcmp(dup->name, name) != 0)
        dup = dup->next;
    if (dup) { /* lost a race with another loader: keep theirs */
        pthread_rwlock_unlock(&reg->lock);
        entry_free(e);
        return dup;
    }
    e->next = reg->entries;
    reg->entries = e;
    pthread_rwlock_unlock(&reg->lock);
    return e;
}

fn_version *fn_version_acquire(fn_entry *e)
{
    pthread_mutex_lock(&e->lock);
    fn_version *v = e->current;
    if (v)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&e->lock);
    return v;
}

void fn_version_release(fn_version *v)
{
    if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (v->m && v->m->fini)
        v->m->fini(v->state);
    if (v->dl)
        dlclose(v->dl);
    if (v->tmp_path)
        unlink(v->tmp_path);
    log_info("functions: unloaded %s version %u", v->entry ? v->entry->name : "?", v->generation);
    free(v->tmp_path);
    free(v->source);
    free(v);
}

void fn_entry_refresh_limits(fn_entry *e)
{
    pthread_mutex_lock(&e->lock);
    const basalt_function *m = e->current ? e->current->m : NULL;
    int t = e->timeout_ms >= 0 ? (int)e->timeout_ms : m ? (int)fn_manifest_timeout(m) : FN_DEFAULT_TIMEOUT_MS;
    int c = e->concurrency >= 0 ? (int)e->concurrency : m ? (int)fn_manifest_concurrency(m) : FN_DEFAULT_CONCURRENCY;
    int r = e->retries >= 0 ? (int)e->retries : m ? fn_manifest_retries(m) : FN_DEFAULT_RETRIES;
    atomic_store(&e->eff_timeout_ms, t);
    atomic_store(&e->eff_concurrency, c);
    atomic_store(&e->eff_retries, r);
    atomic_store(&e->eff_enabled, e->enabled);
    pthread_mutex_unlock(&e->lock);
}

void fn_entry_install(fn_entry *e, fn_version *v)
{
    pthread_mutex_lock(&e->lock);
    fn_version *old = e->current;
    e->current = v;
    free(e->source);
    e->source = v && v->source ? strdup(v->source) : NULL;
    if (v) {
        free(e->last_error);
        e->last_error = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    fn_entry_refresh_limits(e);
    fn_registry_rebuild_triggers(e->reg);
    fn_version_release(old);
}

void fn_registry_remove_source(fn_registry *reg, const char *source)
{
    for (fn_entry *e = fn_registry_entries(reg); e; e = e->next) {
        pthread_mutex_lock(&e->lock);
        bool match = e->current && e->source && strcmp(e->source, source) == 0;
        pthread_mutex_unlock(&e->lock);
        if (match) {
            log_info("functions: %s removed: unloading %s", source, e->name);
            fn_entry_install(e, NULL);
        }
    }
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

/* Append a copy of every trigger of e's current version to v (an array of
 * fn_trig). */
static int copy_triggers(fn_entry *e, buf *v)
{
    fn_version *ver = fn_version_acquire(e);
    if (!ver)
        return BS_OK;
    int rc = BS_OK;
    for (uint32_t i = 0; i < ver->m->ntriggers && !rc; i++) {
        const basalt_trigger *t = &ver->m->triggers[i];
        fn_trig c = {e,
                     t->kind,
                     t->flags,
                     dup_or_null(t->source),
                     dup_or_null(t->prefix),
                     dup_or_null(t->suffix),
                     dup_or_null(t->filter)};
        rc = buf_append(v, &c, sizeof c);
        if (rc)
            trigs_free_strings(&c, 1);
    }
    fn_version_release(ver);
    return rc;
}

void fn_registry_rebuild_triggers(fn_registry *reg)
{
    buf v = BUF_INIT;
    int rc = BS_OK;
    for (fn_entry *e = fn_registry_entries(reg); e && !rc; e = e->next)
        rc = copy_triggers(e, &v);
    size_t len = 0;
    fn_trig *t = (fn_trig *)buf_steal(&v, &len);
    if (rc) {
        log_error("functions: out of memory rebuilding the trigger table (keeping the old one)");
        trigs_free(t, len / sizeof *t);
        return;
    }
    pthread_rwlock_wrlock(&reg->lock);
    fn_trig *old = reg->trigs;
    size_t oldn = reg->ntrigs;
    reg->trigs = t;
    reg->ntrigs = len / sizeof *t;
    pthread_rwlock_unlock(&reg->lock);
    trigs_free(old, oldn);
    fn_scheduler_changed(reg);
    fn_queue_kick(reg); /* jobs of a newly loaded function may be runnable */
}

bool fn_entry_reserve(fn_entry *e)
{
    int limit = atomic_load_explicit(&e->eff_concurrency, memory_order_relaxed);
    int cur = atomic_fetch_add_explicit(&e->active, 1, memory_order_acq_rel);
    if (cur >= limit) {
        atomic_fetch_sub_explicit(&e->active, 1, memory_order_acq_rel);
        return false;
    }
    return true;
}

void fn_entry_unreserve(fn_entry *e) { atomic_fetch_sub_explicit(&e->active, 1, memory_order_acq_rel); }

void fn_entry_set_error(fn_entry *e, const char *msg)
{
    pthread_mutex_lock(&e->lock);
    free(e->last_error);
    e->last_error = msg ? strdup(msg) : NULL;
    pthread_mutex_unlock(&e->lock);
}

void fn_entry_log(fn_entry *e, const char *line)
{
    char *copy = strdup(line);
    if (!copy)
        return;
    pthread_mutex_lock(&e->log_lock);
    free(e->log[e->log_next]);
    e->log[e->log_next] = copy;
    e->log_next = (e->log_next + 1) % FN_LOG_RING;
    if (e->log_count < FN_LOG_RING)
        e->log_count++;
    pthread_mutex_unlock(&e->log_lock);
}

void fn_signal(pthread_mutex_t *m, pthread_cond_t *c, bool *flag)
{
    pthread_mutex_lock(m);
    if (flag)
        *flag = true;
    pthread_cond_broadcast(c);
    pthread_mutex_unlock(m);
}

/* ---- responses ---- */

void fn_response_init(basalt_response *r) { memset(r, 0, sizeof *r); }

void fn_response_free(basalt_response *r)
{
    free(r->ctype);
    buf_free(&r->headers);
    buf_free(&r->body);
    free(r->err_type);
    free(r->err_msg);
    memset(r, 0, sizeof *r);
}

int fn_error_json(buf *b, const char *type, const char *msg)
{
    int rc = buf_puts(b, "{\"error\":");
    if (!rc)
        rc = buf_json_str(b, type, strlen(type));
    if (!rc)
        rc = buf_puts(b, ",\"message\":");
    if (!rc)
        rc = buf_json_str(b, msg, strlen(msg));
    return rc ? rc : buf_putc(b, '}');
}

/* ---- one call ---- */

void fn_call_init(fn_call *call, const basalt_event *ev)
{
    memset(call, 0, sizeof *call);
    call->ev = ev;
    call->job_id = "";
    call->attempt = 1;
}

void fn_call_done(fn_call *call) { fn_response_free(&call->res); }

int fn_call_run(fn_registry *reg, fn_entry *e, fn_call *call)
{
    fn_response_init(&call->res);
    call->rc = BASALT_OK;
    call->timed_out = false;
    call->dur_ns = 0;
    if (!atomic_load_explicit(&e->eff_enabled, memory_order_relaxed)) {
        if (call->reserved)
            fn_entry_unreserve(e);
        return BS_ENOTFOUND;
    }
    fn_version *v = fn_version_acquire(e);
    if (!v) {
        if (call->reserved)
            fn_entry_unreserve(e);
        return BS_ENOTFOUND;
    }
    if (!call->reserved && !fn_entry_reserve(e)) {
        atomic_fetch_add_explicit(&e->throttles, 1, memory_order_relaxed);
        fn_version_release(v);
        return BS_EBUSY;
    }
    uint64_t n = atomic_fetch_add_explicit(&reg->requests, 1, memory_order_relaxed);
    snprintf(call->request_id, sizeof call->request_id, "%08llx-%06llx",
             (unsigned long long)(reg->app->started_ms & 0xffffffff), (unsigned long long)n);
    int64_t timeout = atomic_load_explicit(&e->eff_timeout_ms, memory_order_relaxed);
    fn_callpriv priv = {reg, e, ARENA_INIT, call->depth};
    basalt_ctx ctx = {
        .struct_size = sizeof ctx,
        .host = &fn_host_api,
        .state = v->state,
        .function = e->name,
        .request_id = call->request_id,
        .job_id = call->job_id ? call->job_id : "",
        .attempt = call->attempt ? call->attempt : 1,
        .version = v->generation,
        .auth_role = call->auth_role,
        .auth_sub = call->auth_sub,
        .auth_claims = call->auth_claims,
        .deadline_ms = time_now_ms() + timeout,
        .host_private = &priv,
    };
    call->generation = v->generation;
    uint64_t t0 = time_mono_ns();
    call->rc = v->m->handle(call->ev, &ctx, &call->res);
    call->dur_ns = time_mono_ns() - t0;
    fn_entry_unreserve(e);
    fn_version_release(v);
    arena_free(&priv.a);
    atomic_fetch_add_explicit(&e->invocations, 1, memory_order_relaxed);
    fn_hist_add(e, call->dur_ns);
    if (call->dur_ns > (uint64_t)timeout * 1000000ull) {
        call->timed_out = true;
        atomic_fetch_add_explicit(&e->timeouts, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&e->errors, 1, memory_order_relaxed);
    } else if (call->rc != BASALT_OK) {
        atomic_fetch_add_explicit(&e->errors, 1, memory_order_relaxed);
    }
    return BS_OK;
}
