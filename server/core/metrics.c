/* metrics.c - see metrics.h. */
#include "core/metrics.h"
#include "core/error.h"

#include <stdatomic.h>
#include <string.h>

static const char *group_names[METRICS_NGROUPS] = {
    "rest", "auth", "storage", "functions", "realtime", "admin", "console", "system", "other"};

/* seconds; the last bucket is +Inf */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NLAT (sizeof lat_bounds / sizeof lat_bounds[0])
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define NBATCH (sizeof batch_bounds / sizeof batch_bounds[0])

static _Atomic uint64_t http_count[METRICS_NGROUPS][600];
static _Atomic uint64_t lat_bucket[METRICS_NGROUPS][NLAT + 1];
static _Atomic uint64_t lat_sum_us[METRICS_NGROUPS];
static _Atomic uint64_t batch_bucket[NBATCH + 1];
static _Atomic uint64_t batch_sum, batch_count;
static _Atomic uint64_t queue_depth;

void metrics_http(int group, int status, uint64_t ns)
{
    if (group < 0 || group >= METRICS_NGROUPS)
        group = METRICS_G_OTHER;
    if (status < 100 || status > 599)
        status = 500;
    atomic_fetch_add_explicit(&http_count[group][status], 1, memory_order_relaxed);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < NLAT && s > lat_bounds[b])
        b++;
    atomic_fetch_add_explicit(&lat_bucket[group][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&lat_sum_us[group], ns / 1000, memory_order_relaxed);
}

void metrics_writer_batch(size_t n, size_t depth)
{
    size_t b = 0;
    while (b < NBATCH && (double)n > batch_bounds[b])
        b++;
    atomic_fetch_add_explicit(&batch_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&batch_sum, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&batch_count, 1, memory_order_relaxed);
    atomic_store_explicit(&queue_depth, depth, memory_order_relaxed);
}

void metrics_writer_queue(size_t depth) { atomic_store_explicit(&queue_depth, depth, memory_order_relaxed); }

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int metrics_render(buf *o)
{
    int rc = buf_puts(o, "# HELP basalt_http_requests_total HTTP requests by route group and status.\n"
                         "# TYPE basalt_http_requests_total counter\n");
    for (int g = 0; g < METRICS_NGROUPS && !rc; g++)
        for (int s = 100; s < 600 && !rc; s++) {
            uint64_t v = LOAD(http_count[g][s]);
            if (v)
                rc = buf_printf(o, "basalt_http_requests_total{group=\"%s\",status=\"%d\"} %llu\n",
                                group_names[g], s, (unsigned long long)v);
        }
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_http_request_duration_seconds HTTP latency by route group.\n"
                         "# TYPE basalt_http_request_duration_seconds histogram\n");
    for (int g = 0; g < METRICS_NGROUPS && !rc; g++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= NLAT && !rc; b++) {
            cum += LOAD(lat_bucket[g][b]);
            if (b < NLAT)
                rc = buf_printf(o, "basalt_http_request_duration_seconds_bucket{group=\"%s\",le=\"%g\"} %llu\n",
                                group_names[g], lat_bounds[b], (unsigned long long)cum);
            else
                rc = buf_printf(o, "basalt_http_request_duration_seconds_bucket{group=\"%s\",le=\"+Inf\"} %llu\n",
                                group_names[g], (unsigned long long)cum);
        }
        if (!rc)
            rc = buf_printf(o, "basalt_http_request_duration_seconds_sum{group=\"%s\"} %.6f\n"
                               "basalt_http_request_duration_seconds_count{group=\"%s\"} %llu\n",
                            group_names[g], (double)LOAD(lat_sum_us[g]) / 1e6, group_names[g],
                            (unsigned long long)cum);
    }
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_writer_batch_size Write requests committed per transaction.\n"
                         "# TYPE basalt_writer_batch_size histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= NBATCH && !rc; b++) {
        cum += LOAD(batch_bucket[b]);
        if (b < NBATCH)
            rc = buf_printf(o, "basalt_writer_batch_size_bucket{le=\"%g\"} %llu\n", batch_bounds[b],
                            (unsigned long long)cum);
        else
            rc = buf_printf(o, "basalt_writer_batch_size_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    if (!rc)
        rc = buf_printf(o, "basalt_writer_batch_size_sum %llu\nbasalt_writer_batch_size_count %llu\n"
                           "# HELP basalt_writer_queue_depth Write requests waiting for the writer.\n"
                           "# TYPE basalt_writer_queue_depth gauge\nbasalt_writer_queue_depth %llu\n",
                        (unsigned long long)LOAD(batch_sum), (unsigned long long)LOAD(batch_count),
                        (unsigned long long)LOAD(queue_depth));
    return rc;
}

void metrics_get_totals(metrics_totals *t)
{
    _Static_assert(NLAT <= METRICS_NLAT_MAX, "METRICS_NLAT_MAX too small");
    memset(t, 0, sizeof *t);
    t->nbounds = NLAT;
    for (size_t b = 0; b < NLAT; b++)
        t->bounds_s[b] = lat_bounds[b];
    uint64_t sum_us = 0;
    for (int g = 0; g < METRICS_NGROUPS; g++) {
        for (int s = 100; s < 600; s++) {
            uint64_t v = LOAD(http_count[g][s]);
            t->requests += v;
            if (s >= 500)
                t->errors += v;
            else if (s >= 400)
                t->client_errors += v;
        }
        for (size_t b = 0; b <= NLAT; b++)
            t->lat_count[b] += LOAD(lat_bucket[g][b]);
        sum_us += LOAD(lat_sum_us[g]);
    }
    t->lat_sum_s = (double)sum_us / 1e6;
}
