/* console_static.c - serves the embedded web/ tree at /console.
 *
 * Files come from the table the build generates (console_files); nothing is
 * read from disk at run time, so the binary is the whole deployment.  Every
 * answer carries a strong ETag (a SHA-256 prefix of the bytes, computed at
 * build time) and Cache-Control: no-cache, so browsers revalidate each time
 * and get 304 for what did not change.  The Content-Security-Policy allows
 * only this origin (plus WebSockets for realtime): the console loads no
 * script, style or font from anywhere else, and inline script is refused.
 */
#include "console/console.h"
#include "core/error.h"

#include <stdbool.h>
#include <string.h>

#define CSP                                                                         \
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; " \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

const char *console_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

const console_file *console_find(const char *path)
{
    for (const console_file *f = console_files; f->path; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

/* True when an If-None-Match list names etag (or is "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

int console_static(http_req *r)
{
    const char *path = http_path(r);
    const char *rel;
    if (strcmp(path, "/console") == 0 || strcmp(path, "/console/") == 0)
        rel = "index.html";
    else
        rel = path + strlen("/console/");
    /* names in the table are plain; anything encoded or climbing is unknown */
    const console_file *f = strchr(rel, '%') || strstr(rel, "..") ? NULL : console_find(rel);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_add_header(r, "Content-Security-Policy", CSP);
    http_add_header(r, "Referrer-Policy", "no-referrer");
    if (!f)
        return http_error(r, 404, "PGRST125", "no such console file", NULL, NULL);
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "ETag", f->etag);
    const char *inm = http_header(r, "If-None-Match");
    if (inm && etag_matches(inm, f->etag))
        return http_send(r, 304, NULL, NULL, 0);
    return http_send(r, 200, console_content_type(f->path), f->data, f->len);
}
