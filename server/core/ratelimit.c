/* ratelimit.c - token buckets in a bounded set-associative table; see
 * ratelimit.h.  Each bucket is kept in the equivalent GCRA form: one
 * "theoretical arrival time" (tat, microseconds) instead of a token count,
 * so refills need no rounding: a token costs T = period/capacity, a
 * request at `now` is allowed when max(tat, now) + T - now <= period, and
 * then tat advances by T.  A full bucket is tat <= now. */
#include "core/ratelimit.h"
#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define STRIPES 64

typedef struct way {
    char key[AUTH_RL_KEY_MAX + 1];
    int64_t tat_us;    /* theoretical arrival time */
    int64_t last_ms;   /* last use; 0 = empty way */
} way;

struct auth_rl {
    int64_t cost_us;     /* period / capacity */
    int64_t period_us;
    uint64_t seed;
    pthread_mutex_t locks[STRIPES];
    way (*sets)[AUTH_RL_WAYS];
};

int auth_rl_new(int capacity, int64_t period_ms, auth_rl **out)
{
    *out = NULL;
    if (capacity < 1 || period_ms < 1)
        return BS_EINVAL;
    auth_rl *rl = calloc(1, sizeof *rl);
    if (!rl)
        return BS_ENOMEM;
    rl->sets = calloc(AUTH_RL_SETS, sizeof *rl->sets);
    if (!rl->sets) {
        free(rl);
        return BS_ENOMEM;
    }
    if (RAND_bytes((unsigned char *)&rl->seed, sizeof rl->seed) != 1)
        rl->seed = 0x9e3779b97f4a7c15ULL;
    rl->period_us = period_ms * 1000;
    rl->cost_us = rl->period_us / capacity;
    if (rl->cost_us < 1)
        rl->cost_us = 1;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&rl->locks[i], NULL);
    *out = rl;
    return BS_OK;
}

void auth_rl_free(auth_rl *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&rl->locks[i]);
    free(rl->sets);
    free(rl);
}

/* FNV-1a over the seed and the key, then a final mix. */
static uint64_t hash_key(uint64_t seed, const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* The way of key (n bytes) in its set, or NULL; the set's lock held. */
static way *find_way(way *ws, const char *key, size_t n)
{
    for (int i = 0; i < AUTH_RL_WAYS; i++)
        if (ws[i].last_ms && strncmp(ws[i].key, key, n) == 0 && ws[i].key[n] == '\0')
            return &ws[i];
    return NULL;
}

/* The set of key and its lock. */
static way *key_set(auth_rl *rl, const char *key, size_t n, pthread_mutex_t **lk)
{
    size_t set = (size_t)(hash_key(rl->seed, key, n) % AUTH_RL_SETS);
    *lk = &rl->locks[set % STRIPES];
    return rl->sets[set];
}

bool auth_rl_take(auth_rl *rl, const char *key, int64_t now_ms, int64_t *retry_after_s)
{
    size_t n = strnlen(key, AUTH_RL_KEY_MAX);
    pthread_mutex_t *lk;
    way *ws = key_set(rl, key, n, &lk);
    if (now_ms < 1)
        now_ms = 1;
    pthread_mutex_lock(lk);
    way *w = find_way(ws, key, n);
    int64_t now_us = now_ms * 1000;
    if (!w) { /* a fresh way: the one touched longest ago */
        w = &ws[0];
        for (int i = 1; i < AUTH_RL_WAYS; i++)
            if (ws[i].last_ms < w->last_ms)
                w = &ws[i];
        memcpy(w->key, key, n);
        w->key[n] = '\0';
        w->tat_us = now_us;
    }
    w->last_ms = now_ms;
    int64_t tat = w->tat_us > now_us ? w->tat_us : now_us;
    int64_t next = tat + rl->cost_us;
    bool ok = next - now_us <= rl->period_us;
    if (ok) {
        w->tat_us = next;
    } else if (retry_after_s) {
        int64_t wait_us = next - rl->period_us - now_us;
        int64_t s = (wait_us + 999999) / 1000000;
        *retry_after_s = s < 1 ? 1 : s;
    }
    pthread_mutex_unlock(lk);
    return ok;
}

void auth_rl_refund(auth_rl *rl, const char *key, int64_t now_ms)
{
    size_t n = strnlen(key, AUTH_RL_KEY_MAX);
    pthread_mutex_t *lk;
    way *ws = key_set(rl, key, n, &lk);
    int64_t now_us = (now_ms < 1 ? 1 : now_ms) * 1000;
    pthread_mutex_lock(lk);
    way *w = find_way(ws, key, n);
    if (w) { /* a full bucket is tat <= now: never fuller than full */
        w->tat_us -= rl->cost_us;
        if (w->tat_us < now_us)
            w->tat_us = now_us;
    }
    pthread_mutex_unlock(lk);
}
