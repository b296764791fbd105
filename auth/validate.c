/* validate.c - input checks shared by the auth endpoints; see auth_int.h.
 *
 * E-mail syntax follows GoTrue's pattern (RFC 5322 atext local part,
 * LDH domain labels of at most 63 characters); addresses are compared and
 * stored lower-cased.  Durations are Go's time.ParseDuration syntax plus
 * the units "d" (24h) and "y" (365d) that ban_duration users ask for.
 */
#include "auth/auth_int.h"
#include "core/error.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool atext(unsigned char c) { return isalnum(c) || (c && strchr(".!#$%&'*+/=?^_`{|}~-", c)); }

static bool email_syntax(const char *e)
{
    const char *at = strchr(e, '@');
    if (!at || at == e || strchr(at + 1, '@'))
        return false;
    for (const char *p = e; p < at; p++)
        if (!atext((unsigned char)*p))
            return false;
    const char *d = at + 1;
    if (!*d)
        return false;
    while (*d) {
        const char *dot = strchr(d, '.');
        size_t n = dot ? (size_t)(dot - d) : strlen(d);
        if (n == 0 || n > 63 || d[0] == '-' || d[n - 1] == '-')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)d[i]) && d[i] != '-')
                return false;
        d += n + (dot ? 1 : 0);
        if (dot && !*d)
            return false;
    }
    return true;
}

bool auth_valid_email(http_req *r, json_t *v, char *out, size_t cap)
{
    if (!json_is_string(v)) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Unable to validate email address: email must be a string");
        return false;
    }
    size_t n = json_string_length(v);
    if (n > AUTH_EMAIL_MAX || n >= cap) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "An email address is too long");
        return false;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    if (n == 0 || strlen(out) != n || !email_syntax(out)) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Unable to validate email address: invalid format");
        return false;
    }
    return true;
}

bool auth_valid_password(http_req *r, auth_service *s, json_t *v, const char **pw, size_t *len)
{
    if (!json_is_string(v)) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Password must be a string");
        return false;
    }
    size_t n = json_string_length(v);
    const char *p = json_string_value(v);
    if (n > AUTH_PASSWORD_MAX) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Password is too long (at most 1024 bytes)");
        return false;
    }
    if (strlen(p) != n) {
        auth_reply_error(r, AUTH_E_VALIDATION_FAILED, "Password must not contain NUL characters");
        return false;
    }
    /* the minimum counts characters (UTF-8 code points), as GoTrue does */
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] & 0xc0) != 0x80)
            chars++;
    if (chars < (size_t)s->cfg->password_min_length) {
        char msg[96];
        snprintf(msg, sizeof msg, "Password should be at least %d characters.", s->cfg->password_min_length);
        auth_reply_weak_password(r, msg, "length");
        return false;
    }
    *pw = p;
    *len = n;
    return true;
}

bool auth_valid_object(http_req *r, json_t *v, const char *name)
{
    if (!v || json_is_null(v) || json_is_object(v))
        return true;
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a JSON object", name);
    auth_reply_error(r, AUTH_E_VALIDATION_FAILED, msg);
    return false;
}

size_t auth_metadata_size(const json_t *obj)
{
    if (!obj)
        return 2; /* {} */
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    return n ? n : SIZE_MAX;
}

int auth_user_metadata_check(const auth_user *u, const char **which)
{
    *which = NULL;
    if (auth_metadata_size(u->user_metadata) > AUTH_METADATA_MAX)
        *which = "user_metadata";
    else if (auth_metadata_size(u->app_metadata) > AUTH_METADATA_MAX)
        *which = "app_metadata";
    return *which ? BS_ETOOBIG : BS_OK;
}

void auth_merge_metadata(json_t *obj, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach (patch, k, v) {
        if (json_is_null(v))
            json_object_del(obj, k);
        else
            json_object_set(obj, k, v);
    }
}

int auth_parse_duration(const char *s, int64_t *ms)
{
    *ms = 0;
    if (!s || !*s)
        return BS_EINVAL;
    if (strcmp(s, "none") == 0)
        return BS_OK;
    if (strcmp(s, "0") == 0)
        return BS_OK;
    static const struct {
        const char *u;
        long double ms;
    } units[] = {{"ns", 1e-6L}, {"us", 1e-3L}, {"\xc2\xb5s", 1e-3L}, {"\xce\xbcs", 1e-3L}, {"ms", 1.0L},
                 {"s", 1e3L},   {"m", 6e4L},   {"h", 3.6e6L},        {"d", 8.64e7L},       {"y", 3.1536e10L}};
    long double total = 0;
    const char *p = s;
    while (*p) {
        long double v = 0;
        bool digits = false;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            digits = true;
            if (v > 1e15L)
                return BS_EINVAL;
        }
        if (*p == '.') {
            p++;
            long double f = 0.1L;
            while (*p >= '0' && *p <= '9') {
                v += (*p++ - '0') * f;
                f /= 10;
                digits = true;
            }
        }
        if (!digits)
            return BS_EINVAL;
        size_t best = 0;
        long double mult = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].u);
            if (n > best && strncmp(p, units[i].u, n) == 0) {
                best = n;
                mult = units[i].ms;
            }
        }
        if (!best)
            return BS_EINVAL;
        p += best;
        total += v * mult;
        if (total > 2.5e14L) /* about 7900 years */
            return BS_EINVAL;
    }
    /* banned_until must stay before year 10000 */
    if ((long double)time_now_ms() + total >= 253402300799000.0L)
        return BS_EINVAL;
    *ms = (int64_t)total;
    return BS_OK;
}
