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

/* Totals over every route group since start, for the console's overview
 * (GET /admin/v1/stats).  Latency buckets are per bucket (not cumulative);
 * bucket i counts requests of at most bounds_s[i] seconds, the last one
 * (index nbounds) the rest.  A relaxed snapshot, like /metrics. */
#define METRICS_NLAT_MAX 16
typedef struct metrics_totals {
    uint64_t requests;      /* every finished request */
    uint64_t errors;        /* status >= 500 */
    uint64_t client_errors; /* status 400..499 */
    size_t nbounds;
    double bounds_s[METRICS_NLAT_MAX];
    uint64_t lat_count[METRICS_NLAT_MAX + 1];
    double lat_sum_s;
} metrics_totals;
void metrics_get_totals(metrics_totals *out);

/* Extra lines from other modules (page cache, jwt cache) are appended by
 * the /metrics handler; this renders the ones kept here. */
int metrics_render(buf *out);

#endif
