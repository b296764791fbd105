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

/* Read key's row and open its blob: BS_OK with *o and *fd, or an answer
 * (404, 500).  An overwrite that commits between the two unlinks the old
 * blob: then the row is read once more. */
static int open_object(st_ctx *c, const st_bucket *b, const char *key, bool check_rules, st_object *o, int *fd)
{
    db_conn *db = db_reader(c->app->store);
    *fd = -1;
    for (int attempt = 0; attempt < 2 && *fd < 0; attempt++) {
        int rc = db ? st_object_get(db, c->a, b->id, key, o) : BS_EDB;
        if (rc == BS_OK && check_rules && !st_allowed(b, c->caller, RULES_SELECT, o))
            rc = BS_ENOTFOUND;
        if (rc) {
            if (rc == BS_ENOTFOUND)
                st_reply_error(c->r, ST_ERR_NO_OBJECT);
            else
                st_reply_failure(c->r, rc);
            return rc;
        }
        char path[4400];
        st_blob_path(c->s, o->blob, path, sizeof path);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0 && errno != ENOENT) {
            log_error("storage: open %s: %s", path, strerror(errno));
            break;
        }
    }
    if (*fd >= 0)
        return BS_OK;
    st_reply_errorf(c->r, ST_ERR_INTERNAL, "Internal server error (the object's bytes are missing)");
    return BS_EIO;
}

/* ETag, Last-Modified, Cache-Control, and what keeps active content from
 * running in our origin (see the top of the file). */
static void add_object_headers(st_ctx *c, const st_bucket *b, const st_object *o)
{
    http_req *r = c->r;
    char lm[40];
    http_date(o->updated_at, lm);
    http_add_header(r, "ETag", o->etag);
    if (lm[0])
        http_add_header(r, "Last-Modified", lm);
    http_add_header(r, "Cache-Control", o->cache_control);
    http_add_header(r, "Accept-Ranges", "bytes");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    bool active = st_mime_active(o->content_type);
    if (active)
        http_add_header(r, "Content-Security-Policy", "sandbox");
    const char *dl = http_param(r, "download");
    if (dl || (active && !b->allow_inline)) {
        const char *name = dl && *dl ? dl : strrchr(o->name, '/') ? strrchr(o->name, '/') + 1 : o->name;
        add_disposition(r, c->a, name);
    }
}

/* 200 with all the bytes, 206 with the asked range, or 416. */
static int send_object(http_req *r, int fd, int64_t size, const char *content_type)
{
    int64_t from = 0, to = size - 1;
    const char *range = http_header(r, "Range");
    int rr = range ? parse_range(range, size, &from, &to) : 0;
    char cr[80];
    if (rr < 0) {
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
        http_add_header(r, "Content-Range", cr);
        return st_reply_error(r, ST_ERR_RANGE);
    }
    if (rr > 0) {
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)from, (long long)to, (long long)size);
        http_add_header(r, "Content-Range", cr);
    } else {
        from = 0;
        to = size - 1;
    }
    int64_t len = size ? to - from + 1 : 0;
    int rc = http_send_head(r, rr > 0 ? 206 : 200, content_type, len);
    if (rc == BS_OK && http_method(r) != HTTP_HEAD && len > 0)
        send_bytes(r, fd, from, len);
    /* a failure after the head was sent cannot be reported: the client sees
     * a short body against Content-Length */
    return BS_OK;
}

static int download(st_ctx *c, const st_bucket *b, const char *key, bool check_rules)
{
    st_object o;
    int fd;
    if (open_object(c, b, key, check_rules, &o, &fd))
        return BS_OK;
    struct stat sb;
    int64_t size = fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : o.size;
    add_object_headers(c, b, &o);
    const char *inm = http_header(c->r, "If-None-Match");
    int rc = inm && etag_matches(inm, o.etag) ? http_send(c->r, 304, NULL, NULL, 0)
                                              : send_object(c->r, fd, size, o.content_type);
    close(fd);
    return rc;
}

int st_download_from(st_ctx *c, const char *bucket, const char *key, st_dl_access access)
{
    st_bucket b;
    if (st_load_bucket_or_reply(c, bucket, &b))
        return BS_OK;
    int rc;
    if (access == ST_DL_PUBLIC && !b.public_)
        rc = st_reply_error(c->r, ST_ERR_NO_OBJECT);
    else
        rc = download(c, &b, key, access == ST_DL_RULES);
    st_bucket_clear(&b);
    return rc;
}
