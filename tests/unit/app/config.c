/* Unit tests for server/config.c: on/off flags alone, with a value, with
 * '=', from the environment; bad values refused. */
#include "../test.h"
#include "app/config.h"
#include "core/error.h"

#include <stdlib.h>

static int load(bs_config *c, int argc, char **argv)
{
    bool help = false;
    return cfg_load(c, argc, argv, 0, &help);
}

TEST(disable_signup)
{
    bs_config c;
    unsetenv("BASALT_DISABLE_SIGNUP");
    ASSERT_EQ_INT(load(&c, 0, NULL), BS_OK);
    ASSERT(!c.disable_signup);
    cfg_free(&c);

    char *bare[] = {"--disable-signup"};
    ASSERT_EQ_INT(load(&c, 1, bare), BS_OK);
    ASSERT(c.disable_signup);
    cfg_free(&c);

    char *then_flag[] = {"--disable-signup", "--port", "9000"};
    ASSERT_EQ_INT(load(&c, 3, then_flag), BS_OK);
    ASSERT(c.disable_signup);
    ASSERT_EQ_INT(c.port, 9000);
    cfg_free(&c);

    char *off[] = {"--disable-signup", "off"};
    ASSERT_EQ_INT(load(&c, 2, off), BS_OK);
    ASSERT(!c.disable_signup);
    cfg_free(&c);

    char *eq[] = {"--disable-signup=true"};
    ASSERT_EQ_INT(load(&c, 1, eq), BS_OK);
    ASSERT(c.disable_signup);
    cfg_free(&c);

    char *bad[] = {"--disable-signup=maybe"};
    ASSERT_EQ_INT(load(&c, 1, bad), BS_EINVAL);
    cfg_free(&c);

    setenv("BASALT_DISABLE_SIGNUP", "1", 1);
    ASSERT_EQ_INT(load(&c, 0, NULL), BS_OK);
    ASSERT(c.disable_signup);
    cfg_free(&c);
    char *flag_wins[] = {"--disable-signup", "off"};
    ASSERT_EQ_INT(load(&c, 2, flag_wins), BS_OK);
    ASSERT(!c.disable_signup);
    cfg_free(&c);
    unsetenv("BASALT_DISABLE_SIGNUP");

    /* the other on/off flag still takes its value as before */
    char *anon[] = {"--anonymous-signins", "off", "--disable-signup"};
    ASSERT_EQ_INT(load(&c, 3, anon), BS_OK);
    ASSERT(!c.anonymous_signins);
    ASSERT(c.disable_signup);
    char *json = cfg_to_json(&c);
    ASSERT_CONTAINS(json, "\"disable-signup\":true");
    free(json);
    cfg_free(&c);
}

TEST_MAIN(T(disable_signup))
