/* fn_sched.h - schedule expressions: "rate(N unit)" and 5-field cron.
 *
 *   rate(1 second) | rate(30 seconds) | rate(5 minutes) | rate(1 hour) | rate(2 days)
 *   cron: "minute hour day-of-month month day-of-week", UTC, each field
 *   `*`, a number, a range a-b, a list a,b,c, and steps (*\/5, 10-40/10);
 *   months JAN-DEC and weekdays SUN-SAT by name too; day-of-week 7 = Sunday.
 *   When both day fields are restricted a day matches either (Vixie cron).
 *   "@hourly", "@daily", "@weekly", "@monthly", "@yearly" are accepted.
 *
 * Pure functions on caller-owned structs; any thread.
 */
#ifndef FN_SCHED_H
#define FN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fn_sched {
    bool is_rate;
    int64_t rate_ms; /* is_rate */
    uint64_t minute; /* bit i: minute i matches (0-59) */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint16_t month;  /* 1-12 */
    uint8_t dow;     /* 0-6, Sunday = 0 */
    bool dom_star, dow_star;
} fn_sched;

/* Parse expr; BS_OK or BS_EPARSE with a reason in err (may be NULL). */
int fn_sched_parse(const char *expr, fn_sched *out, char *err, size_t errlen);
/* The first fire time strictly after after_ms (epoch ms).  Rates fire at
 * after_ms + rate.  Cron: the next matching whole minute; -1 when none
 * within 8 years (e.g. "0 0 30 2 *"). */
int64_t fn_sched_next(const fn_sched *s, int64_t after_ms);

#endif
