/* rt_map.c - see rt_map.h.  FNV-1a hashing; the table doubles past a load
 * factor of 1 and never shrinks (the engine's maps live as long as it). */
#include "realtime/rt_map.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

uint64_t rt_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static rt_map_ent **find(const rt_map *m, const char *key, size_t klen, uint64_t h)
{
    if (!m->nb)
        return NULL;
    rt_map_ent **pp = &m->b[h & (m->nb - 1)];
    while (*pp) {
        rt_map_ent *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return pp;
        pp = &e->next;
    }
    return pp;
}

void *rt_map_get(const rt_map *m, const char *key, size_t klen)
{
    rt_map_ent **pp = find(m, key, klen, rt_hash(key, klen));
    return pp && *pp ? (*pp)->val : NULL;
}

static int grow(rt_map *m)
{
    size_t nb = m->nb ? m->nb * 2 : 16;
    rt_map_ent **b = calloc(nb, sizeof *b);
    if (!b)
        return BS_ENOMEM;
    for (size_t i = 0; i < m->nb; i++) {
        rt_map_ent *e = m->b[i];
        while (e) {
            rt_map_ent *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return BS_OK;
}

int rt_map_put(rt_map *m, const char *key, size_t klen, void *val)
{
    uint64_t h = rt_hash(key, klen);
    rt_map_ent **pp = find(m, key, klen, h);
    if (pp && *pp) {
        (*pp)->val = val;
        return BS_OK;
    }
    if (m->n >= m->nb) {
        if (grow(m))
            return BS_ENOMEM;
    }
    rt_map_ent *e = malloc(sizeof *e + klen + 1);
    if (!e)
        return BS_ENOMEM;
    e->hash = h;
    e->val = val;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->key[klen] = 0;
    e->next = m->b[h & (m->nb - 1)];
    m->b[h & (m->nb - 1)] = e;
    m->n++;
    return BS_OK;
}

void *rt_map_del(rt_map *m, const char *key, size_t klen)
{
    rt_map_ent **pp = find(m, key, klen, rt_hash(key, klen));
    if (!pp || !*pp)
        return NULL;
    rt_map_ent *e = *pp;
    void *v = e->val;
    *pp = e->next;
    free(e);
    m->n--;
    return v;
}

void rt_map_free(rt_map *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        rt_map_ent *e = m->b[i];
        while (e) {
            rt_map_ent *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

rt_map_ent *rt_map_first(const rt_map *m, size_t *i)
{
    for (*i = 0; *i < m->nb; (*i)++)
        if (m->b[*i])
            return m->b[*i];
    return NULL;
}

rt_map_ent *rt_map_next(const rt_map *m, rt_map_ent *e, size_t *i)
{
    if (e->next)
        return e->next;
    for ((*i)++; *i < m->nb; (*i)++)
        if (m->b[*i])
            return m->b[*i];
    return NULL;
}

int rt_vec_push(rt_vec *v, void *p)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4;
        void **nv = realloc(v->v, nc * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        v->v = nv;
        v->cap = nc;
    }
    v->v[v->n++] = p;
    return BS_OK;
}

void *rt_vec_swap_remove(rt_vec *v, size_t i)
{
    v->n--;
    if (i == v->n)
        return NULL;
    v->v[i] = v->v[v->n];
    return v->v[i];
}

void rt_vec_free(rt_vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}
