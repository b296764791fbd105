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
 *   - fuzz_on_small_stack runs the entry point on a thread with a 256 KiB
 *     stack, a quarter of what jansson's own ceiling needs, so a path that
 *     bypasses the limit crashes the target instead of passing quietly.
 * Header-only; each target includes it once.
 */
#ifndef BS_FUZZ_JSON_H
#define BS_FUZZ_JSON_H

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/jsonin.h"

#define FUZZ_STACK (256 * 1024)

/* Depth of a tree ([[1]] is 2, 1 is 0), breadth first with a queue. */
static int fuzz_tree_depth(json_t *root)
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
static int fuzz_jansson_depth(const char *s, size_t n, size_t flags)
{
    json_t *j = json_loadb(s, n, flags | JSON_DECODE_ANY, NULL);
    int d = j ? fuzz_tree_depth(j) : -1;
    json_decref(j);
    return d;
}

/* Run fn(arg) on a thread with a FUZZ_STACK stack and wait for it. */
static void fuzz_on_small_stack(void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    pthread_t th;
    if (pthread_attr_init(&at) || pthread_attr_setstacksize(&at, FUZZ_STACK) ||
        pthread_create(&th, &at, fn, arg))
        abort();
    pthread_join(th, NULL);
    pthread_attr_destroy(&at);
}

#endif
