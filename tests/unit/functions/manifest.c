/* Unit tests of functions/fn_manifest.c: manifest checks, backoff, filters. */
#include "../test.h"
#include "core/error.h"
#include "functions/fn_manifest.h"

static int h(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res) { return 0; }

static const basalt_trigger good_t[] = {BASALT_ON_HTTP(BASALT_GET),
                                        BASALT_ON_RPC(),
                                        BASALT_ON_DOCUMENT("todos", BASALT_INSERT, "done=true"),
                                        BASALT_ON_STORAGE("images", BASALT_CREATED, "uploads/", ".jpg"),
                                        BASALT_ON_AUTH(BASALT_USER_CREATED),
                                        BASALT_ON_SCHEDULE("rate(5 minutes)")};

static basalt_function good(void)
{
    basalt_function m = {.magic = BASALT_FUNCTION_MAGIC,
                         .abi_version = BASALT_FUNCTION_ABI,
                         .struct_size = sizeof(basalt_function),
                         .name = "ok_fn-1",
                         .triggers = good_t,
                         .ntriggers = BASALT_COUNT(good_t),
                         .handle = h};
    return m;
}

TEST(valid)
{
    basalt_function m = good();
    char why[256];
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_OK);
    ASSERT_EQ_INT(fn_manifest_timeout(&m), 10000);
    ASSERT_EQ_INT(fn_manifest_concurrency(&m), 16);
    ASSERT_EQ_INT(fn_manifest_retries(&m), 2);
    m.retries = -1;
    ASSERT_EQ_INT(fn_manifest_retries(&m), 0);
    m.retries = 5;
    ASSERT_EQ_INT(fn_manifest_retries(&m), 5);
}

TEST(refused)
{
    char why[256];
    basalt_function m = good();
    m.magic = 42;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    ASSERT_CONTAINS(why, "bad magic");
    m = good();
    m.abi_version = 2;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EUNSUPP);
    ASSERT_CONTAINS(why, "built for function ABI 2, this server speaks ABI 1");
    m = good();
    ASSERT_EQ_INT(fn_manifest_check(&m, 8, why, sizeof why), BS_EINVAL);
    m.struct_size = 16;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    const char *names[] = {"",    "Hello", "1abc",
                           "a b", "dlq",   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        m = good();
        m.name = names[i];
        if (fn_manifest_check(&m, sizeof m, why, sizeof why) == BS_OK)
            TEST_FAIL_("accepted name \"%s\"", names[i]);
    }
    m = good();
    m.handle = NULL;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    m = good();
    m.retries = 21;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    m = good();
    m.timeout_ms = 16 * 60 * 1000;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    static const basalt_trigger bad_sched[] = {BASALT_ON_SCHEDULE("every minute")};
    m = good();
    m.triggers = bad_sched;
    m.ntriggers = 1;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    ASSERT_CONTAINS(why, "schedule");
    static const basalt_trigger bad_doc[] = {BASALT_ON_DOCUMENT(NULL, 0, NULL)};
    m.triggers = bad_doc;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    static const basalt_trigger bad_filter[] = {BASALT_ON_DOCUMENT("t", 0, "=x")};
    m.triggers = bad_filter;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    static const basalt_trigger bad_kind[] = {{99, 0, NULL, NULL, NULL, NULL, {0}}};
    m.triggers = bad_kind;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
    m.triggers = NULL;
    ASSERT_EQ_INT(fn_manifest_check(&m, sizeof m, why, sizeof why), BS_EINVAL);
}

TEST(backoff)
{
    ASSERT_EQ_INT(fn_backoff_ms(1, 1000, 300000), 1000);
    ASSERT_EQ_INT(fn_backoff_ms(2, 1000, 300000), 2000);
    ASSERT_EQ_INT(fn_backoff_ms(3, 1000, 300000), 4000);
    ASSERT_EQ_INT(fn_backoff_ms(10, 1000, 300000), 300000);
    ASSERT_EQ_INT(fn_backoff_ms(60, 1000, 300000), 300000);
    ASSERT_EQ_INT(fn_backoff_ms(0, 100, 300000), 100);
}

TEST(filters)
{
    ASSERT(fn_filter_match(NULL, "{}"));
    ASSERT(fn_filter_match("done=true", "{\"done\":true}"));
    ASSERT(!fn_filter_match("done=true", "{\"done\":false}"));
    ASSERT(fn_filter_match("status=open", "{\"status\":\"open\"}"));
    ASSERT(!fn_filter_match("status=open", "{\"status\":\"opened\"}"));
    ASSERT(fn_filter_match("n=5", "{\"n\":5}"));
    ASSERT(fn_filter_match("x=1.5", "{\"x\":1.5}"));
    ASSERT(fn_filter_match("x=null", "{\"x\":null}"));
    ASSERT(!fn_filter_match("x=1", "{}"));
    ASSERT(!fn_filter_match("x=1", NULL));
    ASSERT(!fn_filter_match("x=1", "not json"));
}

TEST_MAIN(T(valid), T(refused), T(backoff), T(filters))
