/* fn.h - the functions subsystem as the rest of the server sees it: the
 * module itself is functions_module (fn_module.c, listed in
 * server/modules.h); this header has what other layers call.
 *
 * Threads: fn_metrics_render from any thread while the module runs;
 * fn_cli_main on the main thread of `basalt fn`.
 */
#ifndef FN_H
#define FN_H

#include "core/buf.h"

struct fn_registry;

/* Prometheus lines for every function of reg (app->fn; nothing when
 * NULL). */
int fn_metrics_render(struct fn_registry *reg, buf *out);

/* `basalt fn ...` subcommands (argv[1] == "fn"). */
int fn_cli_main(int argc, char **argv);

#endif
