/* fn.h - the functions subsystem as the rest of the server sees it.
 *
 * fn_start loads every plugin of --functions-dir (default DATA/functions),
 * starts the directory watcher (hot reload), the async job workers
 * (--function-workers) and the scheduler, and registers the change observer
 * that turns document, storage and auth changes into durable jobs in the
 * same transaction.  fn_stop undoes it: it waits for running jobs (a
 * handler cannot be interrupted), leaves queued ones in the database for
 * the next start, and unloads every plugin.
 *
 * Threads: fn_start/fn_stop on the main thread (after db_open, before
 * db_close; fn_stop after http_stop).  The handlers run on civetweb
 * workers.  fn_metrics_render from any thread.
 */
#ifndef FN_H
#define FN_H

#include "app/app.h"
#include "core/buf.h"
#include "http/http.h"

struct fn_registry;

int fn_start(bs_app *app, struct fn_registry **out);
void fn_stop(struct fn_registry *reg);

/* /functions/v1/NAME[/...] (HTTP trigger), /rest/v1/rpc/NAME (RPC),
 * /admin/v1/functions[/...] (service role). */
int fn_http_handle(http_req *r);
int fn_rpc_handle(http_req *r);
int fn_admin_handle(http_req *r);

/* Prometheus lines for every function (nothing when not started). */
int fn_metrics_render(buf *out);

/* `basalt fn ...` subcommands (argv[1] == "fn"). */
int fn_cli_main(int argc, char **argv);

#endif
