/* fn_metrics.c - per-function metrics: the duration histogram every call
 * adds to, and their Prometheus lines for /admin/v1/metrics.  Counters
 * are atomics on the entry (fn_int.h), read relaxed. */
#include "fn.h"
#include "fn_int.h"
#include "core/error.h"

#include <stddef.h>

/* Duration histogram bounds in microseconds (last bucket: +Inf). */
static const double hist_bounds_us[FN_HIST_BUCKETS - 1] = {10,     25,   50,    100,   250,   500,    1000,
                                                           2500,   5000, 10000, 25000, 50000, 100000, 250000,
                                                           500000, 1e6,  2.5e6, 5e6,   10e6,  30e6,   60e6};

int64_t fn_counter(const atomic_uint_fast64_t *v) { return (int64_t)atomic_load_explicit(v, memory_order_relaxed); }

void fn_hist_add(fn_entry *e, uint64_t ns)
{
    double us = (double)ns / 1000.0;
    size_t b = 0;
    while (b < FN_HIST_BUCKETS - 1 && us > hist_bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&e->hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->dur_sum_us, (uint64_t)us, memory_order_relaxed);
}

double fn_hist_pct(fn_entry *e, double pct)
{
    uint64_t c[FN_HIST_BUCKETS], total = 0;
    for (size_t i = 0; i < FN_HIST_BUCKETS; i++) {
        c[i] = atomic_load_explicit(&e->hist[i], memory_order_relaxed);
        total += c[i];
    }
    if (!total)
        return 0;
    double rank = pct / 100.0 * (double)total, cum = 0;
    for (size_t i = 0; i < FN_HIST_BUCKETS; i++) {
        if (cum + (double)c[i] >= rank && c[i]) {
            double lo = i ? hist_bounds_us[i - 1] : 0;
            double hi = i < FN_HIST_BUCKETS - 1 ? hist_bounds_us[i] : hist_bounds_us[FN_HIST_BUCKETS - 2] * 2;
            double frac = ((rank - cum) / (double)c[i]);
            return (lo + (hi - lo) * frac) / 1000.0;
        }
        cum += (double)c[i];
    }
    return hist_bounds_us[FN_HIST_BUCKETS - 2] / 1000.0;
}

/* ---- Prometheus ---- */

static int counters(buf *o, fn_entry *head)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } rows[] = {
        {"invocations", "Handler calls", offsetof(fn_entry, invocations)},
        {"errors", "Failed calls (errors and timeouts)", offsetof(fn_entry, errors)},
        {"throttles", "Sync calls refused at the concurrency limit (429)", offsetof(fn_entry, throttles)},
        {"timeouts", "Calls that outlived their timeout", offsetof(fn_entry, timeouts)},
        {"cold_starts", "Loads (dlopen + init)", offsetof(fn_entry, cold_starts)},
    };
    int rc = BS_OK;
    for (size_t c = 0; c < sizeof rows / sizeof rows[0] && !rc; c++) {
        rc = buf_printf(o, "# HELP basalt_function_%s_total %s.\n# TYPE basalt_function_%s_total counter\n",
                        rows[c].name, rows[c].help, rows[c].name);
        for (fn_entry *e = head; e && !rc; e = e->next)
            rc = buf_printf(o, "basalt_function_%s_total{function=\"%s\"} %lld\n", rows[c].name, e->name,
                            (long long)fn_counter((atomic_uint_fast64_t *)((char *)e + rows[c].off)));
    }
    return rc;
}

static int histogram(buf *o, fn_entry *head)
{
    int rc = buf_puts(o, "# HELP basalt_function_duration_seconds Handler duration.\n"
                         "# TYPE basalt_function_duration_seconds histogram\n");
    for (fn_entry *e = head; e && !rc; e = e->next) {
        uint64_t cum = 0;
        for (size_t b = 0; b < FN_HIST_BUCKETS && !rc; b++) {
            cum += (uint64_t)fn_counter(&e->hist[b]);
            if (b < FN_HIST_BUCKETS - 1)
                rc = buf_printf(o, "basalt_function_duration_seconds_bucket{function=\"%s\",le=\"%g\"} %llu\n", e->name,
                                hist_bounds_us[b] / 1e6, (unsigned long long)cum);
            else
                rc = buf_printf(o, "basalt_function_duration_seconds_bucket{function=\"%s\",le=\"+Inf\"} %llu\n",
                                e->name, (unsigned long long)cum);
        }
        if (!rc)
            rc = buf_printf(o,
                            "basalt_function_duration_seconds_sum{function=\"%s\"} %.6f\n"
                            "basalt_function_duration_seconds_count{function=\"%s\"} %llu\n",
                            e->name, (double)fn_counter(&e->dur_sum_us) / 1e6, e->name, (unsigned long long)cum);
    }
    return rc;
}

/* One gauge line's value for e (with its newline). */
typedef int (*gauge_value)(buf *o, fn_registry *reg, fn_entry *e);

static int init_seconds(buf *o, fn_registry *reg, fn_entry *e)
{
    return buf_printf(o, "%.6f\n", (double)fn_counter(&e->init_ns_last) / 1e9);
}

static int queue_depth(buf *o, fn_registry *reg, fn_entry *e)
{
    return buf_printf(o, "%zu\n", (size_t)atomic_load(&e->queued));
}

static int dead_letters(buf *o, fn_registry *reg, fn_entry *e)
{
    return buf_printf(o, "%lld\n", (long long)fn_dlq_count(reg, e->name));
}

static int gauge(buf *o, fn_registry *reg, const char *name, const char *help, gauge_value value)
{
    int rc = buf_printf(o, "# HELP basalt_function_%s %s.\n# TYPE basalt_function_%s gauge\n", name, help, name);
    for (fn_entry *e = fn_registry_entries(reg); e && !rc; e = e->next) {
        rc = buf_printf(o, "basalt_function_%s{function=\"%s\"} ", name, e->name);
        if (!rc)
            rc = value(o, reg, e);
    }
    return rc;
}

int fn_metrics_render(struct fn_registry *reg, buf *o)
{
    if (!reg)
        return BS_OK;
    fn_entry *head = fn_registry_entries(reg);
    int rc = counters(o, head);
    if (!rc)
        rc = gauge(o, reg, "init_seconds", "Duration of the last init (cold start)", init_seconds);
    if (!rc)
        rc = histogram(o, head);
    if (!rc)
        rc = gauge(o, reg, "queue_depth", "Async jobs waiting", queue_depth);
    if (!rc)
        rc = gauge(o, reg, "dead_letters", "Jobs in the dead-letter queue", dead_letters);
    return rc;
}
