/* The civetweb shims of server/http/gate.c, exercised directly: the stack
 * size hook and the accept hook must be the ones libcivetweb resolves. */
#include "../test.h"
#include "http/http_int.h"

#include <pthread.h>

TEST(hooks_are_in_effect)
{
    /* the test executable links the same library the server does */
    ASSERT(http_gate_check());
}

TEST(stack_size_raised_only_while_starting)
{
    pthread_attr_t at;
    size_t sz = 0;
    pthread_attr_init(&at);
    ASSERT_EQ_INT(pthread_attr_setstacksize(&at, 102400), 0);
    pthread_attr_getstacksize(&at, &sz);
    ASSERT_EQ_INT(sz, 102400);
    http_gate_start_threads(HTTP_WORKER_STACK);
    ASSERT_EQ_INT(pthread_attr_setstacksize(&at, 102400), 0);
    pthread_attr_getstacksize(&at, &sz);
    ASSERT_EQ_INT(sz, HTTP_WORKER_STACK);
    /* larger requests are kept */
    ASSERT_EQ_INT(pthread_attr_setstacksize(&at, 4u << 20), 0);
    pthread_attr_getstacksize(&at, &sz);
    ASSERT_EQ_INT(sz, 4u << 20);
    http_gate_start_threads(0);
    ASSERT_EQ_INT(pthread_attr_setstacksize(&at, 102400), 0);
    pthread_attr_getstacksize(&at, &sz);
    ASSERT_EQ_INT(sz, 102400);
    pthread_attr_destroy(&at);
}

TEST_MAIN(T(hooks_are_in_effect), T(stack_size_raised_only_while_starting))
