/* rt_module.c - realtime as a module: the engine (dispatcher, optional lws
 * listener), the main port's WebSockets once it listens, and the REST
 * broadcast and channel-rules routes. */
#include "app/module.h"
#include "core/error.h"
#include "core/metrics.h"
#include "realtime/rt_engine.h"
#include "realtime/rt_rest.h"

static const http_route routes[] = {
    {HTTP_POST, "/realtime/v1/api/broadcast", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_REALTIME, rt_rest_broadcast},
    {HTTP_POST, "/realtime/v1/api/broadcast/", HTTP_APIKEY_OR_USER, HTTP_ERR_PGRST, METRICS_G_REALTIME,
     rt_rest_broadcast_event},
    {HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH, "/admin/v1/realtime/rules", HTTP_SERVICE,
     HTTP_ERR_PGRST, METRICS_G_ADMIN, rt_rules_admin},
};

static int start(bs_app *app) { return rt_engine_start(app, &app->rt); }

/* A commit appended to the change log: wake the dispatcher (writer
 * thread: enqueue and wake only). */
static void on_commit(void *arg, int64_t last_seq)
{
    rt_dispatch_committed(((bs_app *)arg)->rt, last_seq);
}

/* Another process committed (an app migration setting realtime rules,
 * say): take the stored channel rules now, on the writer thread, and let
 * the dispatcher re-check the joined private channels. */
static void on_external(void *arg, db_conn *w)
{
    rt_dispatch_external(((bs_app *)arg)->rt, w);
}

static int serving(bs_app *app)
{
    rt_civet_attach(app->rt, app->http);
    return BS_OK;
}

static void stop(bs_app *app)
{
    rt_engine_stop(app->rt);
    app->rt = NULL;
}

const bs_module realtime_module = {.name = "realtime", .start = start, .serving = serving, .stop = stop,
                                   .routes = routes, .nroutes = BS_COUNT(routes), .on_commit = on_commit,
                                   .on_external = on_external};
