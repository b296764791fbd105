/* http.c - the civetweb adapter; see http.h.
 *
 * civetweb runs a fixed pool of worker threads, one request per thread at a
 * time.  A single catch-all request handler builds an http_req on the
 * worker's stack, routes it by the table in routes.c, checks keys, calls
 * the handler and records metrics.  Responses are written with an explicit
 * Content-Length so keep-alive works; CORS headers go on every response so
 * browsers can read the headers supabase-js depends on (spec §1.3).
 *
 * Only the files of server/http/ include civetweb.h (via http_int.h).
 */
#include "http/http.h"
#include "http/http_int.h"
#include "http/pgrst.h"
#include "core/jwt.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "core/metrics.h"

#include <civetweb.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct http_req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    http_server *srv;
    bs_app *app;
    const http_route *route;
    unsigned method;
    const char *path;        /* percent-decoded once, NUL-free, UTF-8 */
    const char *subpath;     /* of path, after the route prefix */
    const char *raw_path;    /* as the client sent it (civetweb decode_url=no) */
    const char *raw_subpath; /* of raw_path, after the route prefix */
    arena arena;
    auth_claims *claims;     /* the acting role: bearer, else key_claims */
    auth_claims *key_claims; /* the apikey's, verified (one reference) */
    auth_claims *bearer;     /* the Bearer's, when bearer_rc == BS_OK (one reference) */
    int bearer_rc;           /* http_bearer_claims */
    buf headers;          /* extra response headers, "Name: value\r\n"... */
    bool responded;
    int status;
    bool body_read;
    bool body_stalled;       /* the client stopped sending its body */
    bool body_done;          /* read to its end */
    bool body_watched;       /* the slow-body watch is on (watch.c) */
    http_watch *watch;       /* this worker's slot */
    buf body;
    int64_t body_got;        /* body bytes read so far (http_body or http_read) */
    const char *client;      /* http_remote_addr, once worked out */
    const http_qparam *params;
    size_t nparams;
    bool params_done;
};

#define CORS_ALLOW_HEADERS                                                                       \
    "apikey, authorization, x-client-info, content-type, accept, accept-profile, "                \
    "content-profile, prefer, range, x-supabase-api-version, x-upsert, cache-control, "           \
    "x-metadata, x-region, x-retry-count, traceparent, tracestate, baggage, content-length, "     \
    "if-none-match, if-modified-since"
#define CORS_EXPOSE_HEADERS                                                                      \
    "Content-Range, X-Total-Count, Link, X-Supabase-Api-Version, x-relay-error, Content-Type, "   \
    "Retry-After, Content-Length, ETag, Last-Modified, Content-Disposition, Location, "           \
    "Preference-Applied"

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {{"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},      {"PUT", HTTP_PUT},
               {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS}};

static const char *status_text(int s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

const char *http_access_name(http_access a)
{
    switch (a) {
    case HTTP_PUBLIC: return "public";
    case HTTP_APIKEY: return "apikey";
    case HTTP_APIKEY_OR_USER: return "apikey-or-user";
    case HTTP_SERVICE: return "service_role";
    case HTTP_CONSOLE: return "console-session";
    }
    return "?";
}

const char *http_style_name(http_err_style s)
{
    switch (s) {
    case HTTP_ERR_PGRST: return "postgrest";
    case HTTP_ERR_GOTRUE: return "gotrue";
    case HTTP_ERR_STORAGE: return "storage";
    }
    return "?";
}

int http_methods_names(unsigned m, buf *out)
{
    int rc = BS_OK;
    bool first = true;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0] && !rc; i++)
        if (m & methods[i].bit) {
            rc = buf_printf(out, "%s%s", first ? "" : ",", methods[i].name);
            first = false;
        }
    return rc;
}

unsigned http_method(const http_req *r) { return r->method; }
const char *http_method_name(const http_req *r) { return r->ri->request_method; }
const char *http_path(const http_req *r) { return r->path; }
const char *http_subpath(const http_req *r) { return r->subpath; }
const char *http_subpath_raw(const http_req *r) { return r->raw_subpath; }
const char *http_query(const http_req *r) { return r->ri->query_string ? r->ri->query_string : ""; }
const char *http_header(const http_req *r, const char *name) { return mg_get_header(r->conn, name); }
arena *http_arena(http_req *r) { return &r->arena; }
bs_app *http_app(const http_req *r) { return r->app; }
auth_claims *http_claims(const http_req *r) { return r->claims; }
const char *http_peer_addr(const http_req *r) { return r->ri->remote_addr; }
bool http_responded(const http_req *r) { return r->responded; }

static void watch_body(http_req *r)
{
    if (!r->body_watched) {
        r->body_watched = true;
        http_watch_begin(r->watch, http_gate_fd(r->ri->remote_addr, r->ri->remote_port));
    }
}

/* One read of the body, for http_body and http_read.  A body that ends
 * before its Content-Length (civetweb's mg_read returns short after
 * --request-timeout of silence) is an error, never a shorter body; a body
 * arriving below the minimum rate is cut by the watch (watch.c). */
static long body_read(http_req *r, void *dst, size_t len)
{
    long long cl = r->ri->content_length;
    if (r->body_done || (cl >= 0 && r->body_got >= cl))
        return 0;
    watch_body(r);
    int n = mg_read(r->conn, dst, len);
    if (n > 0)
        r->body_got += n;
    if (http_watch_was_cut(r->watch) || (n == 0 && cl >= 0 && r->body_got < cl)) {
        r->body_stalled = true;
        return -1;
    }
    if (n < 0)
        return -1;
    if (n == 0 || (cl >= 0 && r->body_got >= cl)) {
        r->body_done = true;
        http_watch_end(r->watch);
    }
    return n;
}

int http_body(http_req *r, const char **data, size_t *len)
{
    if (!r->body_read) {
        size_t max = r->srv->o.max_body;
        long long cl = r->ri->content_length;
        if (cl > 0 && (unsigned long long)cl > max)
            return BS_ETOOBIG;
        if (cl > 0 && buf_reserve(&r->body, (size_t)cl) != BS_OK)
            return BS_ENOMEM;
        char tmp[16384];
        for (;;) {
            long n = body_read(r, tmp, sizeof tmp);
            if (n < 0)
                return BS_EIO;
            if (n == 0)
                break;
            if (r->body.len + (size_t)n > max)
                return BS_ETOOBIG;
            if (buf_append(&r->body, tmp, (size_t)n) != BS_OK)
                return BS_ENOMEM;
        }
        r->body_read = true;
    }
    *data = buf_cstr(&r->body);
    *len = r->body.len;
    return BS_OK;
}

int http_parse_json(const char *data, size_t len, size_t flags, json_t **out, char *msg, size_t msgsz)
{
    /* the caller read data under its own size limit (http_body: --max-body) */
    int rc = jsonin_parse(data, len, JSONIN_ANY_SIZE, flags | JSON_REJECT_DUPLICATES, out, msg, msgsz);
    return rc == BS_EDEPTH ? BS_EJSON : rc;
}

int http_body_json(http_req *r, size_t flags, json_t **out, char *msg, size_t msgsz)
{
    const char *data;
    size_t len;
    *out = NULL;
    int rc = http_body(r, &data, &len);
    if (rc == BS_ETOOBIG) {
        snprintf(msg, msgsz, "the request body is larger than the limit of %zu bytes", r->srv->o.max_body);
        return rc;
    }
    if (rc) {
        snprintf(msg, msgsz, r->body_stalled ? "the request body arrived too slowly or ended before its "
                                               "Content-Length"
                                             : "could not read the request body");
        return BS_EJSON;
    }
    return http_parse_json(data, len, flags, out, msg, msgsz);
}

long http_read(http_req *r, void *dst, size_t len)
{
    if (len > (1u << 30))
        len = 1u << 30;
    return body_read(r, dst, len);
}

int64_t http_content_length(const http_req *r) { return r->ri->content_length; }

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *http_path_decode(arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int h, l;
        if (c == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (c == '\0')
            return NULL;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

char *http_url_decode(arena *a, const char *s, size_t n, bool form)
{
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n)
                return NULL;
            if ((h = hexval((unsigned char)s[i + 1])) < 0 || (l = hexval((unsigned char)s[i + 2])) < 0)
                return NULL;
            c = (char)(h << 4 | l);
            if (c == '\0')
                return NULL;
            i += 2;
        } else if (c == '+' && form) {
            c = ' ';
        } else if (c == '\0') {
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    if (!utf8_valid(out, o))
        return NULL;
    return out;
}

int http_query_split(arena *a, const char *q, const http_qparam **out, size_t *n)
{
    size_t count = 0, cap = 0;
    http_qparam *v = NULL;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len) {
            const char *eq = memchr(q, '=', len);
            size_t kl = eq ? (size_t)(eq - q) : len;
            if (count == cap) {
                size_t nc = cap ? cap * 2 : 16;
                http_qparam *nv = arena_alloc(a, nc * sizeof *nv);
                if (!nv)
                    return BS_ENOMEM;
                if (count)
                    memcpy(nv, v, count * sizeof *nv);
                v = nv;
                cap = nc;
            }
            v[count].key = http_url_decode(a, q, kl, true);
            v[count].val = eq ? http_url_decode(a, eq + 1, len - kl - 1, true) : arena_strdup(a, "");
            if (!v[count].key || !v[count].val)
                return BS_EPARSE;
            count++;
        }
        q += len + (amp ? 1 : 0);
    }
    *out = v;
    *n = count;
    return BS_OK;
}

int http_params(http_req *r, const http_qparam **out, size_t *n)
{
    if (!r->params_done) {
        int rc = http_query_split(&r->arena, http_query(r), &r->params, &r->nparams);
        if (rc)
            return rc;
        r->params_done = true;
    }
    *out = r->params;
    *n = r->nparams;
    return BS_OK;
}

int http_add_header(http_req *r, const char *name, const char *value)
{
    /* refuse header injection from any caller-provided value */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return BS_EINVAL;
    return buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

/* Write the status line and headers; a small body rides in the same write
 * (one send(2) instead of two: with TCP_NODELAY that halves the packets of
 * a typical API answer). */
static int write_head_body(http_req *r, int status, const char *ctype, int64_t len, const void *body,
                           size_t blen)
{
    buf h = BUF_INIT;
    int rc = buf_printf(&h,
                        "HTTP/1.1 %d %s\r\n"
                        "Access-Control-Allow-Origin: *\r\n"
                        "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS "\r\n",
                        status, status_text(status));
    if (!rc && ctype)
        rc = buf_printf(&h, "Content-Type: %s\r\n", ctype);
    if (!rc && len >= 0 && status != 304 && !(status == 204))
        rc = buf_printf(&h, "Content-Length: %lld\r\n", (long long)len);
    if (!rc && r->headers.len)
        rc = buf_append(&h, r->headers.data, r->headers.len);
    if (!rc)
        rc = buf_puts(&h, "\r\n");
    if (!rc && blen && r->method != HTTP_HEAD)
        rc = buf_append(&h, body, blen);
    if (!rc && mg_write(r->conn, h.data, h.len) != (int)h.len)
        rc = BS_EIO;
    buf_free(&h);
    r->responded = true;
    r->status = status;
    return rc;
}

static int write_head(http_req *r, int status, const char *ctype, int64_t len)
{
    return write_head_body(r, status, ctype, len, NULL, 0);
}

int http_send_head(http_req *r, int status, const char *ctype, int64_t len)
{
    if (r->responded)
        return BS_EINVAL;
    return write_head(r, status, ctype, len);
}

int http_write(http_req *r, const void *data, size_t len)
{
    if (r->method == HTTP_HEAD)
        return BS_OK;
    const char *p = data;
    while (len) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        if (mg_write(r->conn, p, chunk) != (int)chunk)
            return BS_EIO;
        p += chunk;
        len -= chunk;
    }
    return BS_OK;
}

int http_send(http_req *r, int status, const char *ctype, const void *body, size_t len)
{
    if (r->responded)
        return BS_EINVAL;
    bool nobody = status == 204 || status == 304;
    if (!nobody && len <= 65536)
        return write_head_body(r, status, ctype, (int64_t)len, body, len);
    int rc = write_head(r, status, nobody ? NULL : ctype, nobody ? -1 : (int64_t)len);
    if (!rc && !nobody && len)
        rc = http_write(r, body, len);
    return rc;
}

int http_send_json(http_req *r, int status, const char *json, size_t len)
{
    return http_send(r, status, "application/json; charset=utf-8", json, len);
}

int http_error(http_req *r, int status, const char *code, const char *message, const char *details,
               const char *hint)
{
    buf b = BUF_INIT;
    int rc = BS_OK;
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    switch (r->route ? r->route->style : HTTP_ERR_PGRST) {
    case HTTP_ERR_GOTRUE:
        rc = buf_puts(&b, "{\"code\":");
        if (!rc) rc = buf_json_str(&b, code, strlen(code));
        if (!rc) rc = buf_puts(&b, ",\"error_code\":");
        if (!rc) rc = buf_json_str(&b, code, strlen(code));
        if (!rc) rc = buf_puts(&b, ",\"message\":");
        if (!rc) rc = buf_json_str(&b, message, strlen(message));
        if (!rc) rc = buf_puts(&b, ",\"msg\":");
        if (!rc) rc = buf_json_str(&b, message, strlen(message));
        if (!rc) rc = buf_putc(&b, '}');
        break;
    case HTTP_ERR_STORAGE:
        rc = buf_printf(&b, "{\"statusCode\":\"%s\",\"error\":", st);
        if (!rc) rc = buf_json_str(&b, code, strlen(code));
        if (!rc) rc = buf_puts(&b, ",\"message\":");
        if (!rc) rc = buf_json_str(&b, message, strlen(message));
        if (!rc) rc = buf_putc(&b, '}');
        break;
    case HTTP_ERR_PGRST:
        rc = buf_puts(&b, "{\"code\":");
        if (!rc) rc = buf_json_str(&b, code, strlen(code));
        if (!rc) rc = buf_puts(&b, ",\"details\":");
        if (!rc) rc = details ? buf_json_str(&b, details, strlen(details)) : buf_puts(&b, "null");
        if (!rc) rc = buf_puts(&b, ",\"hint\":");
        if (!rc) rc = hint ? buf_json_str(&b, hint, strlen(hint)) : buf_puts(&b, "null");
        if (!rc) rc = buf_puts(&b, ",\"message\":");
        if (!rc) rc = buf_json_str(&b, message, strlen(message));
        if (!rc) rc = buf_putc(&b, '}');
        break;
    }
    if (!rc)
        rc = http_send_json(r, status, b.data, b.len);
    buf_free(&b);
    return rc;
}

/* ---- dispatch ---- */

/* The table in matching order: exact paths first, then prefixes longest
 * first, so the order modules list their routes in does not matter
 * ("/rest/v1/rpc/" wins over "/rest/v1/" wherever each is declared). */
static int route_order(const void *a, const void *b)
{
    const http_route *x = a, *y = b;
    size_t nx = strlen(x->path), ny = strlen(y->path);
    bool px = x->path[nx - 1] == '/', py = y->path[ny - 1] == '/';
    if (px != py)
        return px ? 1 : -1;
    return nx < ny ? 1 : nx > ny ? -1 : strcmp(x->path, y->path);
}

/* A copy of the table, sorted; BS_EINVAL (logged) for a path declared
 * twice with a method in common, or an empty one. */
static int sort_routes(http_server *s)
{
    size_t n = s->o.nroutes;
    http_route *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return BS_ENOMEM;
    memcpy(v, s->o.routes, n * sizeof *v);
    qsort(v, n, sizeof *v, route_order);
    for (size_t i = 0; i < n; i++) {
        bool clash = false;
        for (size_t j = i; j-- > 0 && strcmp(v[j].path, v[i].path) == 0;)
            clash |= (v[j].methods & v[i].methods) != 0;
        if (!v[i].path[0] || clash) {
            log_error("route %s is declared twice for one method (or empty)", v[i].path);
            free(v);
            return BS_EINVAL;
        }
    }
    s->o.routes = v;
    s->routes_owned = v;
    return BS_OK;
}

/* Does rt's path take path?  *sub: what follows the prefix. */
static bool path_matches(const http_route *rt, const char *path, const char **sub)
{
    size_t n = strlen(rt->path);
    if (rt->path[n - 1] != '/') {
        *sub = "";
        return strcmp(path, rt->path) == 0;
    }
    if (strncmp(path, rt->path, n) == 0) {
        *sub = path + n;
        return true;
    }
    /* "/rest/v1" without the slash reaches the prefix route too */
    *sub = "";
    return strncmp(path, rt->path, n - 1) == 0 && path[n - 1] == '\0';
}

/* The route for method and path: the first in matching order whose path
 * takes the path and whose methods include the method; else the first
 * whose path takes it (the caller answers 405); else NULL (404). */
static const http_route *match_route(const http_server *srv, unsigned method, const char *path, const char **sub)
{
    const http_route *path_only = NULL;
    const char *path_only_sub = "";
    for (size_t i = 0; i < srv->o.nroutes; i++) {
        const http_route *rt = &srv->o.routes[i];
        const char *s;
        if (!path_matches(rt, path, &s))
            continue;
        if (rt->methods & method) {
            *sub = s;
            return rt;
        }
        if (!path_only) {
            path_only = rt;
            path_only_sub = s;
        }
    }
    *sub = path_only_sub;
    return path_only;
}

const char *http_param(http_req *r, const char *key)
{
    const http_qparam *p;
    size_t n;
    if (http_params(r, &p, &n) != BS_OK)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return p[i].val;
    return NULL;
}

/* The client behind trusted proxies: walk X-Forwarded-For from the right
 * (each proxy appends the address it received from), skipping proxies we
 * trust, and stop at the first address we do not: everything left of it
 * was written by the client and proves nothing.  From an untrusted peer
 * the header is ignored, so nobody can pick their own rate-limit key. */
static const char *client_addr(http_req *r)
{
    const char *peer = r->ri->remote_addr;
    net_addr a;
    if (!r->srv->trusted.n || !net_addr_parse(peer, strlen(peer), &a) || !net_cidr_list_match(&r->srv->trusted, &a))
        return peer;
    net_addr client = a;
    for (int h = r->ri->num_headers - 1; h >= 0; h--) {
        if (strcasecmp(r->ri->http_headers[h].name, "X-Forwarded-For") != 0)
            continue;
        const char *v = r->ri->http_headers[h].value;
        size_t end = strlen(v);
        for (;;) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            if (!net_addr_parse(v + start, end - start, &client))
                goto done; /* garbage: the last good hop is the client */
            if (!net_cidr_list_match(&r->srv->trusted, &client))
                goto done;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
done:;
    char *out = arena_alloc(&r->arena, NET_ADDR_STRLEN);
    if (!out)
        return peer;
    net_addr_format(&client, out);
    return out;
}

const char *http_remote_addr(http_req *r)
{
    if (!r->client)
        r->client = client_addr(r);
    return r->client;
}

/* civetweb keeps a connection alive unless the request asked otherwise and
 * gives a handler no call to close it: it decides from the request's own
 * Connection header (should_keep_alive).  So a handler that must close
 * makes that header say "close" in the parsed request, which is the
 * handler's until it returns, and says so in the response. */
static void force_close(http_req *r)
{
    struct mg_request_info *ri = (struct mg_request_info *)r->ri;
    bool found = false;
    for (int i = 0; i < ri->num_headers; i++)
        if (strcasecmp(ri->http_headers[i].name, "Connection") == 0) {
            ri->http_headers[i].value = "close";
            found = true;
        }
    if (!found) {
        int slot = ri->num_headers < MG_MAX_HEADERS ? ri->num_headers++ : ri->num_headers - 1;
        ri->http_headers[slot].name = "Connection";
        ri->http_headers[slot].value = "close";
    }
    http_add_header(r, "Connection", "close");
}

static bool is_chunked(const struct mg_request_info *ri)
{
    for (int i = 0; i < ri->num_headers; i++)
        if (strcasecmp(ri->http_headers[i].name, "Transfer-Encoding") == 0)
            return true;
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Request smuggling (RFC 9112 §6.1, §6.3): a proxy in front may frame a
 * request with both Transfer-Encoding and Content-Length, or with
 * Content-Length values that disagree, differently from civetweb (which
 * takes chunked first, then the first Content-Length), and the bytes one
 * side thinks are a body become the other side's next request.  Such a
 * request is refused and its connection closed. */
static const char *framing_error(const struct mg_request_info *ri)
{
    const char *cl = NULL;
    int te = 0;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *n = ri->http_headers[i].name, *v = ri->http_headers[i].value;
        if (strcasecmp(n, "Transfer-Encoding") == 0) {
            te++;
        } else if (strcasecmp(n, "Content-Length") == 0) {
            if (!all_digits(v))
                return "Content-Length must be a decimal number";
            if (cl && strcmp(cl, v) != 0)
                return "conflicting Content-Length headers";
            cl = v;
        }
    }
    if (te > 1)
        return "more than one Transfer-Encoding header";
    if (te && cl)
        return "both Transfer-Encoding and Content-Length";
    return NULL;
}

/* ---- the gate ---- */

/* Why the gate refuses, and how each protocol says it (status, code,
 * message, hint): the one table of the gate's answers. */
typedef enum {
    GATE_NO_KEY,         /* neither apikey nor Bearer (or no apikey where one is required) */
    GATE_BAD_KEY,
    GATE_EXPIRED_KEY,
    GATE_BAD_TOKEN,
    GATE_EXPIRED_TOKEN,
    GATE_ANON,           /* the anon role on a service_role route */
    GATE_NOT_SERVICE,    /* a user on a service_role route */
    GATE_NREASONS
} gate_reason;

typedef struct gate_answer {
    int status;
    const char *code, *message, *hint;
} gate_answer;

#define KEY_HINT "Send the project's anon or service_role key in the apikey header"
static const gate_answer gate_answers[3][GATE_NREASONS] = {
    [HTTP_ERR_PGRST] = {
        [GATE_NO_KEY] = {401, "PGRST301", "No API key found in request", KEY_HINT},
        [GATE_BAD_KEY] = {401, "PGRST301", "Invalid API key",
                          "Double check the apikey header: it must be a key of this project"},
        [GATE_EXPIRED_KEY] = {401, "PGRST303", "Invalid API key: JWT expired",
                              "Double check the apikey header: it must be a key of this project"},
        [GATE_BAD_TOKEN] = {401, "PGRST301", "JWT could not be verified", NULL},
        [GATE_EXPIRED_TOKEN] = {401, "PGRST303", "JWT expired", NULL},
        [GATE_ANON] = {401, "42501", "This endpoint requires the service_role key", NULL},
        [GATE_NOT_SERVICE] = {403, "42501", "This endpoint requires the service_role key", NULL},
    },
    [HTTP_ERR_GOTRUE] = {
        [GATE_NO_KEY] = {401, "no_authorization", "No API key found in request", NULL},
        [GATE_BAD_KEY] = {401, "bad_jwt", "Invalid API key", NULL},
        [GATE_EXPIRED_KEY] = {401, "bad_jwt", "Invalid API key: JWT expired", NULL},
        [GATE_BAD_TOKEN] = {403, "bad_jwt", "invalid JWT: unable to parse or verify signature, token signature is invalid",
                            NULL},
        [GATE_EXPIRED_TOKEN] = {403, "bad_jwt",
                                "invalid JWT: unable to parse or verify signature, token has invalid claims: token is "
                                "expired",
                                NULL},
        [GATE_ANON] = {403, "not_admin", "User not allowed", NULL},
        [GATE_NOT_SERVICE] = {403, "not_admin", "User not allowed", NULL},
    },
    [HTTP_ERR_STORAGE] = {
        [GATE_NO_KEY] = {401, "Unauthorized", "No API key found in request", NULL},
        [GATE_BAD_KEY] = {401, "Unauthorized", "Invalid API key", NULL},
        [GATE_EXPIRED_KEY] = {401, "Unauthorized", "Invalid API key", NULL}, /* as storage said it */
        [GATE_BAD_TOKEN] = {400, "InvalidJWT", "invalid signature", NULL},
        [GATE_EXPIRED_TOKEN] = {400, "InvalidJWT", "jwt expired", NULL},
        [GATE_ANON] = {401, "Unauthorized", "This endpoint requires the service_role key", NULL},
        [GATE_NOT_SERVICE] = {403, "Unauthorized", "This endpoint requires the service_role key", NULL},
    },
};

/* Answer the refusal; always false, for `return refuse(...)`. */
static bool gate_refuse(http_req *r, gate_reason why)
{
    const gate_answer *a = &gate_answers[r->route->style][why];
    if (r->route->style == HTTP_ERR_GOTRUE) /* as every answer of GoTrue: clients read `code` by it */
        http_add_header(r, "X-Supabase-Api-Version", "2024-01-01");
    if (why == GATE_NO_KEY)
        http_add_header(r, "WWW-Authenticate", "Bearer");
    else if (why == GATE_EXPIRED_TOKEN)
        http_add_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"JWT expired\"");
    else if (why != GATE_ANON && why != GATE_NOT_SERVICE)
        http_add_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    http_error(r, a->status, a->code, a->message, NULL, a->hint);
    return false;
}

const char *http_bearer(const http_req *r)
{
    const char *h = http_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

const char *http_apikey(http_req *r)
{
    const char *k = http_header(r, "apikey");
    return k ? k : http_param(r, "apikey");
}

int http_bearer_claims(const http_req *r, auth_claims **out)
{
    *out = r->bearer_rc == BS_OK ? r->bearer : NULL;
    return r->bearer_rc;
}

/* Verify both credentials once; refuse as the route's level demands.
 * Returns true when the handler may run; otherwise has answered. */
static bool check_access(http_req *r)
{
    http_access level = r->route->access;
    r->bearer_rc = BS_ENOTFOUND;
    if (level == HTTP_PUBLIC)
        return true;
    int64_t now = time_now_s();
    const char *key = http_apikey(r), *tok = http_bearer(r);
    if (!key && (!tok || level == HTTP_APIKEY))
        return gate_refuse(r, GATE_NO_KEY);
    auth_claims *kc = NULL;
    int krc = key ? auth_jwt_verify(r->srv->o.jwt, key, now, &kc) : BS_ENOTFOUND;
    if (key && krc)
        return gate_refuse(r, krc == BS_EEXPIRED ? GATE_EXPIRED_KEY : GATE_BAD_KEY);
    r->key_claims = kc;
    if (tok && key && strcmp(tok, key) == 0) {
        r->bearer = auth_claims_retain(kc);
        r->bearer_rc = BS_OK;
    } else if (tok) {
        r->bearer_rc = auth_jwt_verify(r->srv->o.jwt, tok, now, &r->bearer);
        if (r->bearer_rc && level != HTTP_APIKEY)
            return gate_refuse(r, r->bearer_rc == BS_EEXPIRED ? GATE_EXPIRED_TOKEN : GATE_BAD_TOKEN);
    }
    /* the acting role: a Bearer that verified, else the key (on
     * HTTP_APIKEY routes a bad Bearer leaves the key acting) */
    r->claims = r->bearer_rc == BS_OK ? r->bearer : kc;
    if ((level == HTTP_SERVICE || level == HTTP_CONSOLE) && strcmp(r->claims->role, "service_role") != 0)
        return gate_refuse(r, strcmp(r->claims->role, "anon") == 0 ? GATE_ANON : GATE_NOT_SERVICE);
    return true;
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
    http_server *srv = cbdata;
    uint64_t t0 = time_mono_ns();
    atomic_fetch_add(&srv->inflight, 1);
    http_req r;
    memset(&r, 0, sizeof r);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    r.srv = srv;
    r.app = srv->o.app;
    /* a watch left on by the last request's unread body ends here: civetweb
     * has finished discarding it */
    r.watch = http_watch_self(srv->watch);
    http_watch_end(r.watch);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(r.ri->request_method, methods[i].name) == 0)
            r.method = methods[i].bit;
    /* civetweb runs with decode_url=no: it would decode the path in place
     * and a %00 would silently cut it short ("a%00b.txt" became "a").
     * Route on the raw path (the prefixes are plain ASCII), then decode
     * once here as civetweb did, but refusing %00. */
    const char *raw = r.ri->local_uri_raw ? r.ri->local_uri_raw : r.ri->local_uri;
    const char *rsub = "";
    r.raw_path = raw ? raw : "/";
    r.route = match_route(srv, r.method, r.raw_path, &rsub);
    r.raw_subpath = rsub;
    r.path = http_path_decode(&r.arena, r.raw_path, strlen(r.raw_path));
    bool bad_path = !r.path;
    if (bad_path) { /* logs and handlers that take the raw path still see one */
        r.path = r.raw_path;
        r.subpath = r.raw_subpath;
    } else {
        /* a route prefix holds no '%', so it decodes to itself: the decoded
         * subpath starts at the same offset */
        r.subpath = *rsub ? r.path + (rsub - r.raw_path) : "";
    }
    const char *path = r.path;
    int group = r.route ? r.route->group : METRICS_G_OTHER;

    const char *framing = framing_error(r.ri);
    if (atomic_load(&srv->draining)) {
        force_close(&r);
        http_add_header(&r, "Retry-After", "1");
        pgrst_reply(&r, PGRST_UNAVAILABLE, "the server is shutting down", NULL, NULL);
    } else if (framing) {
        force_close(&r);
        http_error(&r, 400, r.route && r.route->style == HTTP_ERR_GOTRUE ? "validation_failed" : "PGRST000",
                   framing, NULL, NULL);
    } else if (r.method == HTTP_OPTIONS) {
        /* CORS preflight for every path: answer what browsers need */
        http_add_header(&r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        http_add_header(&r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        http_add_header(&r, "Access-Control-Max-Age", "86400");
        http_send(&r, 204, NULL, NULL, 0);
    } else if (!r.route) {
        pgrst_reply(&r, PGRST_NO_PATH, "Invalid path specified in request URL", NULL, NULL);
    } else if (bad_path && r.route->style != HTTP_ERR_STORAGE) {
        /* storage decodes object names itself (raw subpath) and answers
         * InvalidKey in its own words */
        http_error(&r, 400, r.route->style == HTTP_ERR_GOTRUE ? "validation_failed" : "PGRST125",
                   "Invalid path: %00 (NUL) is not allowed", NULL, NULL);
    } else if (!(r.route->methods & r.method)) {
        http_add_header(&r, "Allow", "GET, HEAD, POST, PUT, PATCH, DELETE");
        pgrst_reply(&r, PGRST_METHOD, "Unsupported HTTP method", NULL, NULL);
    } else if (check_access(&r)) {
        int rc = r.route->fn(&r);
        if (r.body_stalled && !r.responded) {
            force_close(&r);
            http_error(&r, 408, r.route->style == HTTP_ERR_GOTRUE ? "request_timeout" : "PGRST000",
                       "the request body arrived too slowly or ended before its Content-Length", NULL, NULL);
        } else if (r.body_stalled) {
            force_close(&r);
        }
        if (!r.responded) {
            log_error("%s %s: handler returned %s without answering", r.ri->request_method, path,
                      basalt_errname(rc));
            http_error(&r, 500, "PGRST000", basalt_strerror(rc ? rc : BS_EINVAL), NULL, NULL);
        }
    }
    /* civetweb reads and discards what the handler left of the body before
     * the next request: keep the watch on it (ended at the next request or
     * at close) */
    long long cl = r.ri->content_length;
    bool has_body = cl > 0 || (cl < 0 && is_chunked(r.ri));
    if (has_body && !r.body_done)
        watch_body(&r);
    else if (r.body_watched)
        http_watch_end(r.watch);
    http_work_done(srv); /* the worker may wait idle for a long time: lend its reader out */
    int status = r.status ? r.status : 500;
    metrics_http(group, status, time_mono_ns() - t0);
    log_debug("%s %s -> %d", r.ri->request_method, path, status);
    auth_claims_release(r.key_claims);
    auth_claims_release(r.bearer);
    buf_free(&r.headers);
    buf_free(&r.body);
    arena_free(&r.arena);
    atomic_fetch_sub(&srv->inflight, 1);
    return status;
}

/* civetweb's own errors (request line too long, bad headers): JSON too. */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    buf b = BUF_INIT;
    int rc = buf_puts(&b, "{\"code\":\"PGRST000\",\"details\":null,\"hint\":null,\"message\":");
    if (!rc)
        rc = buf_json_str(&b, msg ? msg : "bad request", strlen(msg ? msg : "bad request"));
    if (!rc)
        rc = buf_putc(&b, '}');
    if (rc) {
        buf_free(&b);
        return 1;
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
              status, status_text(status), b.len);
    mg_write(conn, b.data, b.len);
    buf_free(&b);
    return 0;
}

static int on_log(const struct mg_connection *conn, const char *msg)
{
    log_warn("civetweb: %s", msg);
    return 1;
}

static void on_connection_close(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    http_watch_end(http_watch_self(NULL));
    http_gate_closed(ri->remote_addr, ri->remote_port);
}

static void server_free(http_server *s)
{
    if (!s)
        return;
    http_gate_set(NULL);
    http_watch_stop(s->watch);
    free(s->routes_owned);
    net_conncap_free(s->cap);
    net_cidr_list_free(&s->trusted);
    free(s);
}

int http_start(const http_options *o, http_server **out)
{
    *out = NULL;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    s->o = *o;
    char err[160];
    int rc = sort_routes(s);
    if (!rc)
        rc = net_cidr_list_parse(o->trusted_proxies, &s->trusted, err, sizeof err);
    if (!rc)
        rc = net_conncap_new(o->max_conns_per_ip, &s->trusted, &s->cap);
    if (!rc)
        rc = http_watch_start(o->threads + 1, o->request_timeout_s, &s->watch);
    if (rc) {
        server_free(s);
        return rc;
    }
    if (!http_gate_check())
        log_warn("the connection gate is not in effect (civetweb linked statically?): "
                 "--max-connections-per-ip is off and workers keep civetweb's stack size");
    char ports[160], threads[16], req_to[16], ka_to[16];
    if (strchr(o->listen_addr, ':'))
        snprintf(ports, sizeof ports, "[%s]:%d", o->listen_addr, o->port);
    else
        snprintf(ports, sizeof ports, "%s:%d", o->listen_addr, o->port);
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(req_to, sizeof req_to, "%d", o->request_timeout_s * 1000);
    snprintf(ka_to, sizeof ka_to, "%d", o->keep_alive_timeout_s * 1000);
    const char *options[] = {"listening_ports", ports,
                             "num_threads", threads,
                             "enable_keep_alive", "yes",
                             /* a worker is held while a connection is open,
                              * idle or not: short timeouts for the headers
                              * of a request and between requests keep
                              * slow or silent clients from holding them */
                             "keep_alive_timeout_ms", ka_to,
                             "request_timeout_ms", req_to,
                             /* otherwise civetweb times WebSockets out
                              * after request_timeout_ms of silence; Phoenix
                              * clients send a heartbeat every 25-30 s */
                             "websocket_timeout_ms", "60000",
                             "listen_backlog", "1024",
                             "connection_queue", "1024",
                             "tcp_nodelay", "1",
                             /* paths reach on_request raw: it decodes them
                              * once, refusing %00 (civetweb's decoder would
                              * end the string there) */
                             "decode_url", "no",
                             /* CORS preflights are answered by on_request
                              * with our header lists, not by civetweb */
                             "access_control_allow_origin", "",
                             "max_request_size", "65536",
                             NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = on_log;
    cb.http_error = on_http_error;
    cb.connection_close = on_connection_close;
    http_gate_set(s->cap);
    http_gate_start_threads(HTTP_WORKER_STACK);
    s->ctx = mg_start(&cb, s, options);
    http_gate_start_threads(0);
    if (!s->ctx) {
        server_free(s);
        return BS_EIO;
    }
    mg_set_request_handler(s->ctx, "/", on_request, s);
    *out = s;
    return BS_OK;
}

bool http_stop(http_server *s, int timeout_s)
{
    if (!s)
        return true;
    /* drain: new requests get 503 + Connection: close; wait (bounded) for
     * the ones inside handlers to answer, then stop civetweb.  mg_stop
     * joins every worker, so with a handler that never returns (a plugin
     * in an endless loop) it would never return either: then leave
     * civetweb running and tell the caller. */
    atomic_store(&s->draining, true);
    int64_t deadline = (int64_t)time_mono_ns() + (int64_t)timeout_s * 1000000000;
    while (atomic_load(&s->inflight) > 0 && (int64_t)time_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s->inflight);
    if (left > 0) {
        log_error("%d request%s still running after the %d s drain (--shutdown-timeout): not waiting for them",
                  left, left == 1 ? "" : "s", timeout_s);
        return false;
    }
    mg_stop(s->ctx);
    server_free(s);
    return true;
}

void http_conn_stats(http_server *s, size_t *held, uint64_t *refused, int *websockets)
{
    *held = s ? net_conncap_held(s->cap) : 0;
    *refused = s ? net_conncap_refused(s->cap) : 0;
    *websockets = s ? atomic_load(&s->ws_active) : 0;
}
