/* Unit tests of functions/fn_sched.c: rate and cron parsing, next times. */
#include "../test.h"
#include "core/error.h"
#include "functions/fn_sched.h"

#include <time.h>

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

TEST(rates)
{
    fn_sched s;
    ASSERT_EQ_INT(fn_sched_parse("rate(5 minutes)", &s, NULL, 0), BS_OK);
    ASSERT(s.is_rate);
    ASSERT_EQ_INT(s.rate_ms, 300000);
    ASSERT_EQ_INT(fn_sched_next(&s, 1000), 301000);
    ASSERT_EQ_INT(fn_sched_parse("rate(1 second)", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(s.rate_ms, 1000);
    ASSERT_EQ_INT(fn_sched_parse("rate(2 days)", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(s.rate_ms, 172800000);
    char err[128];
    ASSERT_EQ_INT(fn_sched_parse("rate(1 minutes)", &s, err, sizeof err), BS_EPARSE);
    ASSERT_CONTAINS(err, "minute");
    ASSERT_EQ_INT(fn_sched_parse("rate(5 minute)", &s, NULL, 0), BS_EPARSE);
    ASSERT_EQ_INT(fn_sched_parse("rate(0 seconds)", &s, NULL, 0), BS_EPARSE);
    ASSERT_EQ_INT(fn_sched_parse("rate(5 weeks)", &s, NULL, 0), BS_EPARSE);
    ASSERT_EQ_INT(fn_sched_parse("rate(5 minutes", &s, NULL, 0), BS_EPARSE);
    ASSERT_EQ_INT(fn_sched_parse("rate(5 minutes) x", &s, NULL, 0), BS_EPARSE);
}

TEST(cron_parse_errors)
{
    fn_sched s;
    const char *bad[] = {
        "",           "* * * *",    "* * * * * *", "60 * * * *",  "* 24 * * *", "* * 0 * *",    "* * 32 * *",
        "* * * 13 *", "* * * * 8",  "*/0 * * * *", "5-1 * * * *", "a * * * *",  "1,,2 * * * *", "1, * * * *",
        "@never",     "* * * FOO *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fn_sched_parse(bad[i], &s, NULL, 0) != BS_EPARSE)
            TEST_FAIL_("accepted bad cron \"%s\"", bad[i]);
}

TEST(cron_next)
{
    fn_sched s;
    ASSERT_EQ_INT(fn_sched_parse("*/15 * * * *", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 1, 10, 7)), utc(2026, 1, 1, 10, 15));
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 1, 10, 15)), utc(2026, 1, 1, 10, 30));
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 1, 23, 50)), utc(2026, 1, 2, 0, 0));
    ASSERT_EQ_INT(fn_sched_parse("30 9 * * MON-FRI", &s, NULL, 0), BS_OK);
    /* 2026-01-03 is a Saturday: next is Monday the 5th */
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 3, 12, 0)), utc(2026, 1, 5, 9, 30));
    ASSERT_EQ_INT(fn_sched_parse("0 0 29 2 *", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
    ASSERT_EQ_INT(fn_sched_parse("0 0 30 2 *", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 1, 0, 0)), -1);
    /* both day fields restricted: either matches (1st of month OR Sunday) */
    ASSERT_EQ_INT(fn_sched_parse("0 12 1 * 0", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 2, 0, 0)), utc(2026, 1, 4, 12, 0));
    ASSERT_EQ_INT(fn_sched_parse("0 0 * * 7", &s, NULL, 0), BS_OK); /* 7 = Sunday */
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 1, 0, 0)), utc(2026, 1, 4, 0, 0));
    ASSERT_EQ_INT(fn_sched_parse("@daily", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 6, 1, 5, 0)), utc(2026, 6, 2, 0, 0));
    ASSERT_EQ_INT(fn_sched_parse("0 8-10/2,23 * JAN,dec *", &s, NULL, 0), BS_OK);
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 1, 31, 11, 0)), utc(2026, 1, 31, 23, 0));
    ASSERT_EQ_INT(fn_sched_next(&s, utc(2026, 2, 1, 0, 0)), utc(2026, 12, 1, 8, 0));
}

TEST_MAIN(T(rates), T(cron_parse_errors), T(cron_next))
