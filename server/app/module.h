/* module.h - how a subsystem describes itself to main.c.
 *
 * Each subsystem (store, rules, rest, auth, storage, functions, realtime,
 * console, admin) exports one `const bs_module`: its name, how it starts
 * and stops, the routes it answers (with who may call them), the SQL
 * functions it adds to SQLite, and the store hooks it wants.  main.c keeps
 * one table of them (nginx's ngx_module_t, h2o's handler registration):
 *
 *   open the store with every module's sqlfns
 *   for each module in order: start, then register its hooks (arg: app)
 *   start the listener with every module's routes; call serving
 *   ... SIGTERM ...
 *   stop the listener; for each module in reverse: drain, unregister, stop
 *
 * so no module keeps a pointer of its own to reach its hooks, and whatever
 * is registered for a module is unregistered before it stops.
 *
 * A module keeps its state in bs_app (app->rt, app->storage, ...), set by
 * its start and cleared by its stop; stop must accept a partial start.
 * Hooks and routes get the app and find the state there.
 *
 * Threads: start, serving and stop on the main thread; hooks on the store's
 * writer thread (see db/store.h); route handlers on HTTP workers.
 */
#ifndef BS_APP_MODULE_H
#define BS_APP_MODULE_H

#include <stddef.h>

#include "app/app.h"
#include "db/store.h"
#include "http/http.h"

typedef struct bs_module {
    const char *name;
    /* BS_OK, or an error after saying why on stderr (the start stops and
     * the modules started so far are stopped).  May be NULL. */
    int (*start)(bs_app *app);
    /* After the listener is up (app->http is set).  May be NULL. */
    int (*serving)(bs_app *app);
    /* Stop the module's own threads while its hooks are still registered
     * (so work they finish is still observed); called right before its
     * hooks are removed and stop runs.  May be NULL. */
    void (*drain)(bs_app *app);
    /* Undo start; called for every module whose start was attempted, in
     * reverse order, after the listener stopped.  May be NULL. */
    void (*stop)(bs_app *app);
    const http_route *routes;   /* matched exactly, or by the longest prefix */
    size_t nroutes;
    const db_sqlfns *sqlfns;    /* registered when the store opens; may be NULL */
    db_change_observer observe; /* inside each writing transaction (arg: app) */
    db_commit_hook on_commit;   /* after each commit that logged a change (arg: app) */
    db_external_hook on_external; /* another process committed (arg: app) */
} bs_module;

#define BS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
