/* st_path.c - key, bucket name, size and MIME checks; see st_path.h.
 *
 * Everything here is a pure function over bytes so the unit tests can
 * cover it exhaustively; the HTTP handlers call these before touching the
 * database. */
#include "storage/st_path.h"
#include "core/error.h"
#include "core/utf8.h"
#include "http/http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

bool st_key_valid(const char *s, size_t n)
{
    if (n == 0 || n > ST_KEY_MAX || s[0] == '/')
        return false;
    size_t seg = 0; /* start of the current segment */
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7f)
                return false;
            if (c != '/')
                continue;
        }
        size_t len = i - seg;
        if (len == 0)
            return false;
        if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
            return false;
        seg = i + 1;
    }
    return utf8_valid(s, n);
}

int st_key_decode(arena *a, const char *raw, size_t n, char **out)
{
    *out = NULL;
    if (n > 3 * ST_KEY_MAX)
        return BS_EINVAL;
    /* the HTTP front's path decoding: '+' stays '+', a '%' without two hex
     * digits stays a '%' (storage-js sends "50% off.txt" as is), %00 is
     * refused; the key rules are ours */
    char *d = http_path_decode(a, raw, n);
    if (!d || !st_key_valid(d, strlen(d)))
        return BS_EINVAL;
    *out = d;
    return BS_OK;
}

bool st_bucket_name_valid(const char *s, size_t n)
{
    static const char *const reserved[] = {"public", "authenticated", "sign", "info", "list", "upload", "move", "copy"};
    if (n == 0 || n > ST_BUCKET_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return false;
    }
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
            return false;
    return true;
}

int st_size_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t ip = 0;
    double frac = 0, scale = 0.1;
    bool digits = false, has_frac = false;
    while (*p >= '0' && *p <= '9') {
        if (ip > (INT64_MAX - 9) / 10)
            return BS_EINVAL;
        ip = ip * 10 + (*p++ - '0');
        digits = true;
    }
    if (!digits)
        return BS_EINVAL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return BS_EINVAL;
        while (*p >= '0' && *p <= '9') {
            frac += (*p++ - '0') * scale;
            scale /= 10;
        }
        has_frac = true;
    }
    int64_t mult;
    if (*p == '\0' && !has_frac)
        mult = 1;
    else if (strcasecmp(p, "b") == 0)
        mult = 1;
    else if (strcasecmp(p, "kb") == 0)
        mult = 1000;
    else if (strcasecmp(p, "mb") == 0)
        mult = 1000000;
    else if (strcasecmp(p, "gb") == 0)
        mult = 1000000000;
    else
        return BS_EINVAL;
    if (ip > INT64_MAX / mult - 1)
        return BS_EINVAL;
    /* round half up, as storage-api's Math.round */
    *out = ip * mult + (int64_t)(frac * (double)mult + 0.5);
    return BS_OK;
}

/* Length of the bare type (before ';' and trailing spaces). */
static size_t bare_len(const char *t)
{
    size_t n = strcspn(t, ";");
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return n;
}

bool st_mime_match(const char *pattern, const char *type)
{
    while (*type == ' ')
        type++;
    while (*pattern == ' ')
        pattern++;
    size_t tl = bare_len(type), pl = bare_len(pattern);
    if ((pl == 1 && pattern[0] == '*') || (pl == 3 && memcmp(pattern, "*/*", 3) == 0))
        return true;
    if (pl >= 2 && pattern[pl - 1] == '*' && pattern[pl - 2] == '/') {
        size_t major = pl - 1; /* includes the '/' */
        return tl > major && strncasecmp(pattern, type, major) == 0;
    }
    return pl == tl && strncasecmp(pattern, type, pl) == 0;
}

static bool tchar(int c)
{
    return isalnum(c) || strchr("!#$&^_.+-", c) != NULL;
}

bool st_mime_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    size_t i = 0;
    while (i < n && tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != '/')
        return false;
    size_t j = ++i;
    while (i < n && tchar((unsigned char)s[i]))
        i++;
    if (i == j)
        return false;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == n || s[i] == ';';
}

bool st_mime_active(const char *type)
{
    if (!type || !st_mime_valid(type) || strchr(type, ','))
        return true;
    char ess[256];
    size_t n = strcspn(type, "; \t");
    if (n >= sizeof ess)
        return true;
    for (size_t i = 0; i < n; i++)
        ess[i] = (char)tolower((unsigned char)type[i]);
    ess[n] = '\0';
    static const char *const active[] = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
                                         "application/xml", "text/xsl", "multipart/x-mixed-replace"};
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++)
        if (strcmp(ess, active[i]) == 0)
            return true;
    return n > 4 && strcmp(ess + n - 4, "+xml") == 0;
}
