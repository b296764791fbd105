/* fn_module.c - functions as a module: plugins, jobs, schedules, and the
 * routes that trigger them (HTTP, RPC) and administer them.
 *
 *   start    the registry (app->fn), every plugin of --functions-dir
 *            (default DATA/functions) and the watcher that reloads them
 *   observe  a change's trigger jobs, inserted in its transaction
 *   on_commit  wakes the job workers
 *   serving  the job workers (--function-workers) and the scheduler: after
 *            the hooks are registered, so every change a job writes is
 *            observed
 *   drain    stops the watcher, the workers (a running handler cannot be
 *            interrupted: they finish it) and the scheduler while the hooks
 *            are still registered; queued jobs stay in the database for
 *            the next start
 *   stop     unloads every plugin and frees the registry
 *
 * The hooks get the app and find the registry in app->fn, which is set
 * before they are registered and cleared after they are removed.
 */
#include "app/module.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "fn_int.h"

static const http_route routes[] = {
    {HTTP_GET | HTTP_HEAD | HTTP_POST, "/rest/v1/rpc/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS,
     fn_rpc_handle},
    {HTTP_ANY & ~HTTP_OPTIONS, "/functions/v1/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS,
     fn_http_handle},
    {HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE, "/admin/v1/functions/", HTTP_SERVICE, HTTP_ERR_PGRST,
     METRICS_G_ADMIN, fn_admin_handle},
};

static int start(bs_app *app)
{
    fn_registry *reg;
    int rc = fn_registry_new(app, &reg);
    if (rc)
        return rc;
    rc = fn_loader_start(reg);
    if (rc) {
        fn_loader_stop(reg);
        fn_registry_free(reg);
        return rc;
    }
    log_info("functions: %zu loaded from %s, %d workers", fn_registry_loaded(reg), reg->dir,
             app->cfg->function_workers);
    app->fn = reg;
    return BS_OK;
}

static int observe(db_conn *w, const db_change *ch, void *arg) { return fn_queue_observe(w, ch, ((bs_app *)arg)->fn); }

static void on_commit(void *arg, int64_t last_seq)
{
    (void)last_seq;
    fn_queue_kick(((bs_app *)arg)->fn);
}

static int serving(bs_app *app)
{
    fn_registry *reg = app->fn;
    fn_queue *q = fn_queue_new(reg);
    fn_scheduler *s = fn_scheduler_new(reg);
    pthread_rwlock_wrlock(&reg->lock); /* before their threads: no wake-up is lost */
    reg->q = q;
    reg->sched = s;
    pthread_rwlock_unlock(&reg->lock);
    if (!q || !s)
        return BS_ENOMEM;
    int rc = fn_queue_run(q);
    return rc ? rc : fn_scheduler_run(s);
}

/* Each step is a no-op once done, so stop can run it again. */
static void drain(bs_app *app)
{
    fn_registry *reg = app->fn;
    if (!reg)
        return;
    fn_loader_stop(reg);
    pthread_rwlock_wrlock(&reg->lock);
    fn_queue *q = reg->q;
    fn_scheduler *s = reg->sched;
    reg->q = NULL;
    reg->sched = NULL;
    pthread_rwlock_unlock(&reg->lock);
    fn_scheduler_stop(s); /* first: it inserts jobs and wakes the queue */
    fn_queue_stop(q);
}

static void stop(bs_app *app)
{
    drain(app);
    fn_registry_free(app->fn);
    app->fn = NULL;
}

const bs_module functions_module = {.name = "functions",
                                    .start = start,
                                    .serving = serving,
                                    .drain = drain,
                                    .stop = stop,
                                    .routes = routes,
                                    .nroutes = BS_COUNT(routes),
                                    .observe = observe,
                                    .on_commit = on_commit};
