/* st_download.c - object downloads: GET and HEAD with Content-Type, ETag,
 * Last-Modified, Cache-Control, Content-Length, single byte ranges (206 /
 * 416), If-None-Match (304) and ?download[=name] (Content-Disposition).
 *
 * Objects are served from the server's own origin, the console's too, so
 * uploaded bytes must never run as a page there: every download carries
 * X-Content-Type-Options: nosniff, and active content (st_mime_active:
 * HTML, SVG, XML) also Content-Security-Policy: sandbox (scripts off, an
 * opaque origin) and, unless its bucket sets allow_inline, Content-
 * Disposition: attachment.  This holds for public, authenticated and
 * signed URLs alike (they all end here).
 *
 * The bytes are streamed from the blob file with pread in ST_DL_CHUNK
 * pieces.  The file is opened once, right after the row is read; an
 * overwrite that commits in between unlinks the old blob, which is then
 * retried once with the new row (an open descriptor keeps its bytes
 * readable to the end, so a download never mixes two versions).
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ST_DL_CHUNK (256 * 1024)

/* "2026-11-26T15:00:00.123Z" -> "Thu, 26 Nov 2026 15:00:00 GMT" */
static void http_date(const char *iso, char out[40])
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    out[0] = '\0';
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        return;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    struct tm g;
    gmtime_r(&t, &g);
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[g.tm_wday], g.tm_mday, mons[g.tm_mon],
             g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec);
}

/* If-None-Match: "*", or a comma list of (weak or strong) entity tags. */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == el && memcmp(p, etag, el) == 0)
            return true;
        /* tolerate an unquoted tag */
        if (el >= 2 && n == el - 2 && memcmp(p, etag + 1, n) == 0)
            return true;
        p = end;
    }
    return false;
}

/* Parse "bytes=a-b" | "bytes=a-" | "bytes=-n" against size.  Returns 1 for a
 * satisfiable range (*from, *to inclusive), 0 to ignore the header (not a
 * single byte range: serve everything), -1 for unsatisfiable. */
static int parse_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    if (strncasecmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    while (*h == ' ')
        h++;
    if (strchr(h, ','))
        return 0;
    char *end;
    if (*h == '-') {
        long long n = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end || n < 0)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    long long a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return 0;
    const char *bp = end + 1;
    long long b = size - 1;
    if (*bp) {
        b = strtoll(bp, &end, 10);
        if (end == bp || *end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

static int add_disposition(http_req *r, arena *a, const char *name)
{
    size_t n = strlen(name);
    /* an ASCII fallback (quotes/backslashes/non-ASCII replaced) plus the
     * RFC 5987 form with the exact UTF-8 name */
    char *ascii = arena_alloc(a, n + 1), *pct = arena_alloc(a, 3 * n + 1), *h = arena_alloc(a, 5 * n + 64);
    if (!ascii || !pct || !h)
        return BS_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        ascii[i] = (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') ? '_' : (char)ch;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch))
            pct[o++] = (char)ch;
        else
            o += (size_t)snprintf(pct + o, 3 * n + 1 - o, "%%%02X", ch);
    }
    ascii[n] = '\0';
    pct[o] = '\0';
    snprintf(h, 5 * n + 64, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, pct);
    return http_add_header(r, "Content-Disposition", h);
}

static int send_bytes(http_req *r, int fd, int64_t from, int64_t len)
{
    char *chunk = malloc(ST_DL_CHUNK);
    if (!chunk)
        return BS_ENOMEM;
    int rc = BS_OK;
    while (len > 0 && rc == BS_OK) {
        size_t want = len > ST_DL_CHUNK ? ST_DL_CHUNK : (size_t)len;
        ssize_t got = pread(fd, chunk, want, from);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = BS_EIO;
            break;
        }
        rc = http_write(r, chunk, (size_t)got);
        from += got;
        len -= got;
    }
    free(chunk);
    return rc;
}

int st_download(st_ctx *c, const st_bucket *b, const char *key, bool check_rules)
{
    http_req *r = c->r;
    db_conn *db = db_reader(c->app->store);
    st_object o;
    int fd = -1, rc = BS_OK;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        rc = db ? st_object_get(db, c->a, b->id, key, &o) : BS_EDB;
        if (rc == BS_ENOTFOUND)
            return st_err(r, 404, "not_found", "Object not found");
        if (rc)
            return st_err_db(r, rc);
        if (check_rules && !st_allowed(b, c->caller, RULES_SELECT, &o))
            return st_err(r, 404, "not_found", "Object not found");
        char path[4400];
        st_blob_path(c->s, o.blob, path, sizeof path);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) {
            log_error("storage: open %s: %s", path, strerror(errno));
            break;
        }
    }
    if (fd < 0)
        return st_err(r, 500, "InternalError", "Internal server error (the object's bytes are missing)");
    struct stat sb;
    int64_t size = fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : o.size;

    char lm[40];
    http_date(o.updated_at, lm);
    http_add_header(r, "ETag", o.etag);
    if (lm[0])
        http_add_header(r, "Last-Modified", lm);
    http_add_header(r, "Cache-Control", o.cache_control);
    http_add_header(r, "Accept-Ranges", "bytes");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    bool active = st_mime_active(o.content_type);
    if (active)
        http_add_header(r, "Content-Security-Policy", "sandbox");
    const char *dl = http_param(r, "download");
    if (dl || (active && !b->allow_inline)) {
        const char *name = dl && *dl ? dl : strrchr(o.name, '/') ? strrchr(o.name, '/') + 1 : o.name;
        add_disposition(r, c->a, name);
    }
    const char *inm = http_header(r, "If-None-Match");
    if (inm && etag_matches(inm, o.etag)) {
        rc = http_send(r, 304, NULL, NULL, 0);
        goto out;
    }
    int64_t from = 0, to = size - 1;
    const char *range = http_header(r, "Range");
    int rr = range ? parse_range(range, size, &from, &to) : 0;
    char cr[80];
    if (rr < 0) {
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
        http_add_header(r, "Content-Range", cr);
        rc = st_err(r, 416, "InvalidRange", "The range is not satisfiable");
        goto out;
    }
    if (rr > 0) {
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)from, (long long)to, (long long)size);
        http_add_header(r, "Content-Range", cr);
    } else {
        from = 0;
        to = size - 1;
    }
    int64_t len = size ? to - from + 1 : 0;
    rc = http_send_head(r, rr > 0 ? 206 : 200, o.content_type, len);
    if (rc == BS_OK && http_method(r) != HTTP_HEAD && len > 0)
        rc = send_bytes(r, fd, from, len);
    /* a failure after the head was sent cannot be reported: the client sees
     * a short body against Content-Length */
    rc = BS_OK;
out:
    close(fd);
    return rc;
}
