/* fn_sched.c - schedule parsing and next-time computation; see fn_sched.h.
 *
 * Cron fields become bit sets; next-time walks forward from the next whole
 * minute, skipping a whole day when the day does not match and a whole hour
 * when the hour does not, so the walk is at most ~3000 days + 24 hours + 60
 * minutes of steps per year searched. */
#include "fn_sched.h"
#include "core/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void set_err(char *err, size_t n, const char *msg)
{
    if (err && n)
        snprintf(err, n, "%s", msg);
}

static int parse_rate(const char *s, fn_sched *out, char *err, size_t errlen)
{
    /* s points after "rate(" */
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p)) {
        set_err(err, errlen, "rate(N unit): N must be a positive integer");
        return BS_EPARSE;
    }
    int64_t n = 0;
    while (isdigit((unsigned char)*p)) {
        n = n * 10 + (*p++ - '0');
        if (n > 1000000) {
            set_err(err, errlen, "rate(N unit): N is too large");
            return BS_EPARSE;
        }
    }
    if (n <= 0) {
        set_err(err, errlen, "rate(N unit): N must be at least 1");
        return BS_EPARSE;
    }
    while (*p == ' ')
        p++;
    const char *u = p;
    while (isalpha((unsigned char)*p))
        p++;
    size_t ul = (size_t)(p - u);
    while (*p == ' ')
        p++;
    if (*p != ')' || p[1] != '\0') {
        set_err(err, errlen, "rate(N unit): missing ')' or trailing text");
        return BS_EPARSE;
    }
    static const struct {
        const char *one, *many;
        int64_t ms;
    } units[] = {{"second", "seconds", 1000},
                 {"minute", "minutes", 60000},
                 {"hour", "hours", 3600000},
                 {"day", "days", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        const char *want = n == 1 ? units[i].one : units[i].many;
        if (strlen(want) == ul && strncmp(u, want, ul) == 0) {
            out->is_rate = true;
            out->rate_ms = n * units[i].ms;
            return BS_OK;
        }
    }
    set_err(err, errlen,
            n == 1 ? "rate(1 unit): unit must be second, minute, hour or day"
                   : "rate(N units): unit must be seconds, minutes, hours or days");
    return BS_EPARSE;
}

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* A number or (for month/dow) a name; advances *pp. -1 on error. */
static int field_value(const char **pp, int which)
{
    const char *p = *pp;
    if (isdigit((unsigned char)*p)) {
        int v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p++ - '0');
            if (++digits > 2)
                return -1;
        }
        *pp = p;
        return v;
    }
    if (which == 3 || which == 4) {
        const char *const *names = which == 3 ? month_names : dow_names;
        int n = which == 3 ? 12 : 7;
        for (int i = 0; i < n; i++)
            if (strncasecmp(p, names[i], 3) == 0) {
                *pp = p + 3;
                return which == 3 ? i + 1 : i;
            }
    }
    return -1;
}

/* Parse one field [p, end) into bits; lo/hi are the value range. */
static int parse_field(const char *p, const char *end, int which, int lo, int hi, uint64_t *bits, bool *star)
{
    *bits = 0;
    *star = false;
    if (p == end)
        return BS_EPARSE;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *iend = comma ? comma : end;
        if (iend == p)
            return BS_EPARSE;
        int a, b, step = 1;
        bool item_star = false;
        const char *q = p;
        if (*q == '*') {
            a = lo;
            b = hi;
            q++;
            item_star = true;
        } else {
            a = field_value(&q, which);
            if (a < 0)
                return BS_EPARSE;
            b = a;
            if (q < iend && *q == '-') {
                q++;
                b = field_value(&q, which);
                if (b < 0)
                    return BS_EPARSE;
            }
        }
        if (q < iend && *q == '/') {
            q++;
            if (q >= iend || !isdigit((unsigned char)*q))
                return BS_EPARSE;
            step = 0;
            int digits = 0;
            while (q < iend && isdigit((unsigned char)*q)) {
                step = step * 10 + (*q++ - '0');
                if (++digits > 2)
                    return BS_EPARSE;
            }
            if (step < 1)
                return BS_EPARSE;
            if (!item_star && a == b)
                b = hi; /* "5/15" means 5-max/15 */
            item_star = false;
        }
        if (q != iend)
            return BS_EPARSE;
        if (which == 4 && b == 7 && a <= 7) { /* 7 = Sunday */
            if (a == 7)
                a = 0, b = 0, *bits |= 1;
            else {
                b = 6;
                *bits |= 1;
            }
        }
        if (a < lo || b > hi || a > b)
            return BS_EPARSE;
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << v;
        if (item_star)
            *star = true;
        p = comma ? comma + 1 : end;
        if (comma && p == end)
            return BS_EPARSE;
    }
    return BS_OK;
}

int fn_sched_parse(const char *expr, fn_sched *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!expr || !*expr) {
        set_err(err, errlen, "empty schedule expression");
        return BS_EPARSE;
    }
    if (strlen(expr) > 200) {
        set_err(err, errlen, "schedule expression too long");
        return BS_EPARSE;
    }
    if (strncmp(expr, "rate(", 5) == 0)
        return parse_rate(expr + 5, out, err, errlen);
    static const struct {
        const char *name, *cron;
    } macros[] = {{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                  {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
                  {"@annually", "0 0 1 1 *"}};
    if (expr[0] == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strcmp(expr, macros[i].name) == 0)
                return fn_sched_parse(macros[i].cron, out, err, errlen);
        set_err(err, errlen, "unknown @macro (use @hourly, @daily, @weekly, @monthly or @yearly)");
        return BS_EPARSE;
    }
    static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 7};
    static const char *const names[5] = {"minute", "hour", "day-of-month", "month", "day-of-week"};
    uint64_t bits[5];
    bool star[5];
    const char *p = expr;
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (s == p || parse_field(s, p, f, lo[f], hi[f], &bits[f], &star[f]) != BS_OK) {
            char m[96];
            snprintf(m, sizeof m, "%s field %s", names[f], s == p ? "is missing" : "is not valid");
            set_err(err, errlen, m);
            return BS_EPARSE;
        }
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) {
        set_err(err, errlen, "cron needs exactly 5 fields: minute hour day-of-month month day-of-week");
        return BS_EPARSE;
    }
    out->is_rate = false;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)(bits[4] & 0x7f);
    out->dom_star = star[2];
    out->dow_star = star[4];
    return BS_OK;
}

static bool day_matches(const fn_sched *s, const struct tm *t)
{
    bool dom = (s->dom >> t->tm_mday) & 1;
    bool dow = (s->dow >> t->tm_wday) & 1;
    if (s->dom_star || s->dow_star)
        return dom && dow;
    return dom || dow;
}

int64_t fn_sched_next(const fn_sched *s, int64_t after_ms)
{
    if (s->is_rate)
        return after_ms + s->rate_ms;
    time_t t = (time_t)(after_ms / 1000);
    if (after_ms < 0)
        return -1;
    t = t - t % 60 + 60; /* next whole minute strictly after */
    time_t limit = t + (time_t)8 * 366 * 86400;
    while (t < limit) {
        struct tm tm;
        gmtime_r(&t, &tm);
        if (!((s->month >> (tm.tm_mon + 1)) & 1) || !day_matches(s, &tm)) {
            /* to the next midnight */
            t += (time_t)(86400 - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec));
            continue;
        }
        if (!((s->hour >> tm.tm_hour) & 1)) {
            t += (time_t)(3600 - (tm.tm_min * 60 + tm.tm_sec));
            continue;
        }
        if (!((s->minute >> tm.tm_min) & 1)) {
            t += 60;
            continue;
        }
        return (int64_t)t * 1000;
    }
    return -1;
}
