/* Tests for auth/ratelimit.c: burst, refill, Retry-After, separate keys,
 * bounded table, threads. */
#include "../test.h"
#include "core/ratelimit.h"
#include "core/error.h"

#include <pthread.h>
#include <stdio.h>

#define PERIOD (5 * 60 * 1000)

TEST(burst_then_refused_with_retry_after)
{
    auth_rl *rl = NULL;
    ASSERT_EQ_INT(auth_rl_new(3, PERIOD, &rl), BS_OK);
    int64_t t = 1000000, retry = 0;
    ASSERT(auth_rl_take(rl, "10.0.0.1", t, &retry));
    ASSERT(auth_rl_take(rl, "10.0.0.1", t, &retry));
    ASSERT(auth_rl_take(rl, "10.0.0.1", t, &retry));
    ASSERT(!auth_rl_take(rl, "10.0.0.1", t, &retry));
    /* one token per 100 s */
    ASSERT_EQ_INT(retry, 100);
    ASSERT(!auth_rl_take(rl, "10.0.0.1", t + 50000, &retry));
    ASSERT_EQ_INT(retry, 50);
    ASSERT(!auth_rl_take(rl, "10.0.0.1", t + 99999, &retry));
    ASSERT_EQ_INT(retry, 1);
    ASSERT(auth_rl_take(rl, "10.0.0.1", t + 100000, &retry));
    ASSERT(!auth_rl_take(rl, "10.0.0.1", t + 100000, &retry));
    /* after a full period the bucket is full again, not fuller */
    ASSERT(auth_rl_take(rl, "10.0.0.1", t + 10 * PERIOD, &retry));
    ASSERT(auth_rl_take(rl, "10.0.0.1", t + 10 * PERIOD, &retry));
    ASSERT(auth_rl_take(rl, "10.0.0.1", t + 10 * PERIOD, &retry));
    ASSERT(!auth_rl_take(rl, "10.0.0.1", t + 10 * PERIOD, &retry));
    auth_rl_free(rl);
}

TEST(keys_are_independent)
{
    auth_rl *rl = NULL;
    ASSERT_EQ_INT(auth_rl_new(1, PERIOD, &rl), BS_OK);
    ASSERT(auth_rl_take(rl, "a", 5000, NULL));
    ASSERT(!auth_rl_take(rl, "a", 5000, NULL));
    ASSERT(auth_rl_take(rl, "b", 5000, NULL));
    ASSERT(auth_rl_take(rl, "ab", 5000, NULL));
    ASSERT(!auth_rl_take(rl, "b", 5000, NULL));
    auth_rl_free(rl);
}

TEST(frequent_calls_still_refill)
{
    /* 30 per 5 min = one per 10 s; calls every 100 ms must not starve it */
    auth_rl *rl = NULL;
    ASSERT_EQ_INT(auth_rl_new(30, PERIOD, &rl), BS_OK);
    int allowed = 0;
    for (int64_t t = 1000; t < 1000 + 60000; t += 100)
        allowed += auth_rl_take(rl, "x", t, NULL);
    /* 30 at once, then one per 10 s over the minute */
    ASSERT(allowed >= 35 && allowed <= 36);
    auth_rl_free(rl);
}

TEST(many_keys_bounded)
{
    auth_rl *rl = NULL;
    ASSERT_EQ_INT(auth_rl_new(2, PERIOD, &rl), BS_OK);
    char k[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof k, "ip-%d", i);
        ASSERT(auth_rl_take(rl, k, 1000, NULL));
    }
    auth_rl_free(rl);
}

TEST(bad_args)
{
    auth_rl *rl = (auth_rl *)1;
    ASSERT_EQ_INT(auth_rl_new(0, PERIOD, &rl), BS_EINVAL);
    ASSERT(rl == NULL);
    auth_rl_free(NULL);
}

static auth_rl *shared;
static int granted[4];

static void *worker(void *arg)
{
    int idx = (int)(intptr_t)arg;
    for (int i = 0; i < 10000; i++)
        granted[idx] += auth_rl_take(shared, "same", 1000, NULL);
    return NULL;
}

TEST(threads_share_one_bucket)
{
    ASSERT_EQ_INT(auth_rl_new(100, PERIOD, &shared), BS_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ_INT(granted[0] + granted[1] + granted[2] + granted[3], 100);
    auth_rl_free(shared);
}

TEST(refund_gives_a_token_back_never_more)
{
    auth_rl *rl = NULL;
    ASSERT_EQ_INT(auth_rl_new(2, PERIOD, &rl), BS_OK);
    int64_t t = 1000000;
    /* taken and given back: the bucket is as full as before */
    for (int i = 0; i < 5; i++) {
        ASSERT(auth_rl_take(rl, "k", t, NULL));
        auth_rl_refund(rl, "k", t);
    }
    ASSERT(auth_rl_take(rl, "k", t, NULL));
    ASSERT(auth_rl_take(rl, "k", t, NULL));
    ASSERT(!auth_rl_take(rl, "k", t, NULL));
    auth_rl_refund(rl, "k", t);
    ASSERT(auth_rl_take(rl, "k", t, NULL));
    ASSERT(!auth_rl_take(rl, "k", t, NULL));
    /* refunds on a full bucket do not raise it above capacity */
    auth_rl_refund(rl, "k", t);
    auth_rl_refund(rl, "k", t);
    auth_rl_refund(rl, "k", t);
    ASSERT(auth_rl_take(rl, "k", t, NULL));
    ASSERT(auth_rl_take(rl, "k", t, NULL));
    ASSERT(!auth_rl_take(rl, "k", t, NULL));
    /* an unknown key: nothing happens */
    auth_rl_refund(rl, "never-seen", t);
    ASSERT(auth_rl_take(rl, "never-seen", t, NULL));
    ASSERT(auth_rl_take(rl, "never-seen", t, NULL));
    ASSERT(!auth_rl_take(rl, "never-seen", t, NULL));
    auth_rl_free(rl);
}

TEST_MAIN(T(burst_then_refused_with_retry_after), T(keys_are_independent), T(frequent_calls_still_refill),
          T(many_keys_bounded), T(bad_args), T(threads_share_one_bucket), T(refund_gives_a_token_back_never_more))
