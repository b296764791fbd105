/* ratelimit.h - per-client token buckets (e.g. sign-in attempts per IP).
 *
 * A bucket holds up to `capacity` tokens and refills continuously at
 * capacity per `period_ms`; each request takes one.  Buckets live in a
 * fixed table of AUTH_RL_SETS sets of AUTH_RL_WAYS ways keyed by a keyed
 * hash of the client key, so memory is bounded whatever the number of
 * clients: a new client in a full set evicts the way touched longest ago
 * (an attacker cycling through many addresses can at worst reset buckets,
 * not grow memory).
 *
 * Threads: auth_rl_take from any thread (striped mutexes); new/free on
 * one thread with no concurrent take.
 */
#ifndef BS_AUTH_RATELIMIT_H
#define BS_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_RL_SETS 2048
#define AUTH_RL_WAYS 8
#define AUTH_RL_KEY_MAX 63

typedef struct auth_rl auth_rl;

/* capacity >= 1, period_ms >= 1.  BS_OK, BS_EINVAL or BS_ENOMEM. */
int auth_rl_new(int capacity, int64_t period_ms, auth_rl **out);
void auth_rl_free(auth_rl *rl);

/* Take one token for `key` (truncated to AUTH_RL_KEY_MAX bytes) at time
 * now_ms.  True when allowed; otherwise false and *retry_after_s (may be
 * NULL) is the whole seconds (>= 1) until a token is available. */
bool auth_rl_take(auth_rl *rl, const char *key, int64_t now_ms, int64_t *retry_after_s);
/* Give back the token a successful auth_rl_take of `key` took (an attempt
 * counted before it was checked turned out to be one that does not
 * count).  Nothing when key's bucket has gone (evicted) meanwhile; the
 * bucket never holds more than `capacity`. */
void auth_rl_refund(auth_rl *rl, const char *key, int64_t now_ms);

#endif
