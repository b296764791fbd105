/* fuzz_json.h - what the fuzz targets of JSON entry points share.
 *
 * Outside JSON goes through core/jsonin.h: at most JSONIN_MAX_DEPTH deep.
 * The targets check that from the outside, independently of jsonin's own
 * pre-scan:
 *   - fuzz_tree_depth measures a parsed tree without recursion; whatever an
 *     entry point admits must be at most JSONIN_MAX_DEPTH deep;
 *   - fuzz_jansson_depth is jansson's own opinion of the same text (parsed
 *     here on libFuzzer's main-thread stack, which holds jansson's 2048
 *     levels): text that jansson reads deeper than the limit must be
 *     refused;
 *   - fuzz_on_small_stack runs the entry point on a thread with a 128 KiB
 *     stack: the deepest admitted input takes about 30 KiB under ASan
 *     (tests/unit/core/jsonin_stack.c), while jansson alone needs more
 *     than 128 KiB to parse 2,000 levels, which it would admit, so a path
 *     around the limit crashes the target (besides failing the depth
 *     oracles) instead of passing quietly.
 * Header-only; each target includes it once.
 */
#ifndef BS_FUZZ_JSON_H
#define BS_FUZZ_JSON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/jsonin.h"

#define FUZZ_STACK (128 * 1024)

/* Depth of a tree ([[1]] is 2, 1 is 0), breadth first with a queue. */
static inline int fuzz_tree_depth(json_t *root)
{
    typedef struct { json_t *v; int d; } item;
    size_t cap = 64, head = 0, tail = 0;
    item *q = malloc(cap * sizeof *q);
    int max = 0;
    if (!q || !root)
        goto out;
    q[tail++] = (item){root, 0};
    while (head < tail) {
        item it = q[head++];
        if (!json_is_object(it.v) && !json_is_array(it.v))
            continue;
        if (it.d + 1 > max)
            max = it.d + 1;
        size_t n = json_is_array(it.v) ? json_array_size(it.v) : json_object_size(it.v);
        if (tail + n > cap) {
            while (tail + n > cap)
                cap *= 2;
            item *nq = realloc(q, cap * sizeof *q);
            if (!nq)
                abort();
            q = nq;
        }
        if (json_is_array(it.v)) {
            for (size_t i = 0; i < n; i++)
                q[tail++] = (item){json_array_get(it.v, i), it.d + 1};
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(it.v, k, v)
                q[tail++] = (item){v, it.d + 1};
        }
    }
out:
    free(q);
    return max;
}

/* jansson's depth of text (any value, given flags), or -1 when jansson
 * refuses it.  Call on the main thread (deep text recurses in jansson). */
static inline int fuzz_jansson_depth(const char *s, size_t n, size_t flags)
{
    json_t *j = json_loadb(s, n, flags | JSON_DECODE_ANY, NULL);
    int d = j ? fuzz_tree_depth(j) : -1;
    json_decref(j);
    return d;
}

/* Run fn(arg) on a thread with a FUZZ_STACK stack and wait for it.  One
 * worker thread lives for the whole run (creating a thread per input costs
 * more than most inputs under ASan); libFuzzer calls one input at a time. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *(*fn)(void *);
    void *arg;
    bool started, busy;
} fuzz_worker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false, false};

static inline void *fuzz_worker_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&fuzz_worker.mu);
    for (;;) {
        while (!fuzz_worker.busy)
            pthread_cond_wait(&fuzz_worker.cv, &fuzz_worker.mu);
        pthread_mutex_unlock(&fuzz_worker.mu);
        fuzz_worker.fn(fuzz_worker.arg);
        pthread_mutex_lock(&fuzz_worker.mu);
        fuzz_worker.busy = false;
        pthread_cond_broadcast(&fuzz_worker.cv);
    }
    return NULL;
}

static inline void fuzz_on_small_stack(void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&fuzz_worker.mu);
    if (!fuzz_worker.started) {
        pthread_attr_t at;
        pthread_t th;
        if (pthread_attr_init(&at) || pthread_attr_setstacksize(&at, FUZZ_STACK) ||
            pthread_create(&th, &at, fuzz_worker_main, NULL))
            abort();
        pthread_attr_destroy(&at);
        pthread_detach(th);
        fuzz_worker.started = true;
    }
    fuzz_worker.fn = fn;
    fuzz_worker.arg = arg;
    fuzz_worker.busy = true;
    pthread_cond_broadcast(&fuzz_worker.cv);
    while (fuzz_worker.busy)
        pthread_cond_wait(&fuzz_worker.cv, &fuzz_worker.mu);
    pthread_mutex_unlock(&fuzz_worker.mu);
}

#endif
