/* metrics.h - process-wide counters rendered as Prometheus text.
 *
 * Every counter is a relaxed atomic: any thread may record, /metrics reads
 * a slightly torn but never corrupt snapshot.  Groups are fixed at build
 * time so recording is an array index, no lookup and no lock. */
#ifndef BS_METRICS_H
#define BS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
    METRICS_G_REST,
    METRICS_G_AUTH,
    METRICS_G_STORAGE,
    METRICS_G_FUNCTIONS,
    METRICS_G_REALTIME,
    METRICS_G_ADMIN,
    METRICS_G_CONSOLE,
    METRICS_G_SYSTEM,
    METRICS_G_OTHER,
    METRICS_NGROUPS
};

/* One finished HTTP request. */
void metrics_http(int group, int status, uint64_t duration_ns);
/* One committed writer batch of n requests; queue depth seen at its start. */
void metrics_writer_batch(size_t n, size_t queue_depth);
void metrics_writer_queue(size_t depth);

/* Extra lines from other modules (page cache, jwt cache) are appended by
 * the /metrics handler; this renders the ones kept here. */
int metrics_render(buf *out);

#endif
