/* bench/functions/dispatch.c - cold start and warm dispatch of plugins.
 *
 *   bench_fn_dispatch PLUGIN.so [loads] [calls]
 *
 * Cold start: fn_load_file (copy to a private path + dlopen + manifest
 * check + init + install, and the unload of the version it replaces) timed
 * `loads` times; p50/p99.  Warm dispatch: fn_call_run (registry lookup,
 * version reference, concurrency slot, context, metrics) minus a direct
 * call of the plugin's handle with the same event, averaged over `calls`.
 * Build: cmake --build BUILD --target bench_fn_dispatch. */
#include "functions/fn_int.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLUGIN.so [loads] [calls]\n", argv[0]);
        return 2;
    }
    int loads = argc > 2 ? atoi(argv[2]) : 1000;
    long calls = argc > 3 ? atol(argv[3]) : 2000000;
    log_set_level(LOG_WARN);
    bs_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bs_app app;
    memset(&app, 0, sizeof app);
    app.cfg = &cfg;
    static fn_registry reg;
    reg.app = &app;
    pthread_rwlock_init(&reg.lock, NULL);
    pthread_mutex_init(&reg.load_lock, NULL);
    snprintf(reg.tmpdir, sizeof reg.tmpdir, "/tmp/basalt-fnbench-XXXXXX");
    if (!mkdtemp(reg.tmpdir))
        return 1;
    uint64_t *t = calloc((size_t)loads, sizeof *t);
    for (int i = 0; i < loads; i++) {
        uint64_t t0 = time_mono_ns();
        if (fn_load_file(&reg, argv[1], NULL, 0) != 0) {
            fprintf(stderr, "load failed\n");
            return 1;
        }
        t[i] = time_mono_ns() - t0;
    }
    qsort(t, (size_t)loads, sizeof *t, cmp);
    printf("cold start (copy+dlopen+init+swap) over %d loads: p50 %.3f ms  p99 %.3f ms\n", loads,
           (double)t[loads / 2] / 1e6, (double)t[(size_t)loads * 99 / 100] / 1e6);
    fn_entry *e = reg.entries;
    basalt_invoke_event iv = {sizeof iv, "{\"name\":\"x\"}", 12, ""};
    basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_INVOKE, .invoke = &iv};
    /* direct calls */
    fn_version *v = fn_version_acquire(e);
    fn_callpriv priv = {&reg, e, ARENA_INIT, 0};
    basalt_ctx ctx = {.struct_size = sizeof ctx, .host = &fn_host_api, .state = v->state, .function = e->name,
                      .request_id = "x", .job_id = "", .attempt = 1, .deadline_ms = time_now_ms() + 10000,
                      .host_private = &priv};
    double best_direct = 1e9, best_reg = 1e9;
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = time_mono_ns();
        for (long i = 0; i < calls; i++) {
            basalt_response res;
            fn_response_init(&res);
            v->m->handle(&ev, &ctx, &res);
            fn_response_free(&res);
        }
        double direct = (double)(time_mono_ns() - t0) / (double)calls;
        t0 = time_mono_ns();
        for (long i = 0; i < calls; i++) {
            fn_call call;
            memset(&call, 0, sizeof call);
            call.ev = &ev;
            call.job_id = "";
            fn_entry *found = fn_entry_find(&reg, "hello");
            fn_call_run(&reg, found ? found : e, &call);
            fn_call_done(&call);
        }
        double viareg = (double)(time_mono_ns() - t0) / (double)calls;
        if (direct < best_direct)
            best_direct = direct;
        if (viareg < best_reg)
            best_reg = viareg;
    }
    fn_version_release(v);
    printf("warm call: direct handle %.1f ns, through the registry %.1f ns, dispatch overhead %.1f ns (best of 3 x %ld)\n",
           best_direct, best_reg, best_reg - best_direct, calls);
    rmdir(reg.tmpdir);
    return 0;
}
