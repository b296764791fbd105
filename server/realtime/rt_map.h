/* rt_map.h - a string-keyed hash map (chained, power-of-two buckets) and a
 * pointer vector, the two containers of the realtime engine.
 *
 * Keys are copied (binary-safe: key + length); values are borrowed
 * pointers the caller owns.  Not thread-safe: the engine guards them with
 * its lock.  rt_map_free / rt_vec_free release the containers only.
 */
#ifndef BS_RT_MAP_H
#define BS_RT_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rt_map_ent {
    struct rt_map_ent *next;
    uint64_t hash;
    void *val;
    size_t klen;
    char key[];
} rt_map_ent;

typedef struct rt_map {
    rt_map_ent **b;
    size_t nb, n;
} rt_map;

#define RT_MAP_INIT {NULL, 0, 0}

uint64_t rt_hash(const void *p, size_t n);
/* The value or NULL. */
void *rt_map_get(const rt_map *m, const char *key, size_t klen);
/* Insert or replace; BS_OK or BS_ENOMEM. */
int rt_map_put(rt_map *m, const char *key, size_t klen, void *val);
/* Remove; returns the old value or NULL. */
void *rt_map_del(rt_map *m, const char *key, size_t klen);
void rt_map_free(rt_map *m);
/* Iterate: for (rt_map_ent *e = rt_map_first(m, &i); e; e = rt_map_next(m, e, &i)) */
rt_map_ent *rt_map_first(const rt_map *m, size_t *i);
rt_map_ent *rt_map_next(const rt_map *m, rt_map_ent *e, size_t *i);

typedef struct rt_vec {
    void **v;
    size_t n, cap;
} rt_vec;

#define RT_VEC_INIT {NULL, 0, 0}

int rt_vec_push(rt_vec *v, void *p);
/* Remove index i by moving the last element into it; returns the moved
 * element (now at i) or NULL when i was last. */
void *rt_vec_swap_remove(rt_vec *v, size_t i);
void rt_vec_free(rt_vec *v);

#endif
