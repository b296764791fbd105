/* http.h - the HTTP front: a thin adapter over civetweb.
 *
 * Handlers see only this header, never civetweb.h.  A request arrives on a
 * civetweb worker thread; the adapter matches it against the route table
 * (routes.c), answers CORS preflights, checks the caller's keys as the
 * route demands, then calls the handler on the same thread.  Everything a
 * handler allocates from http_arena() is freed when the request ends.
 *
 * A handler must answer exactly once (http_send, http_send_json or
 * http_error) and return BS_OK; if it returns an error code without having
 * answered, the adapter answers 500 in the route's error style.
 *
 * Threads: all functions taking an http_req run on that request's worker
 * thread only.
 */
#ifndef BS_HTTP_H
#define BS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

struct auth_claims;

typedef struct http_req http_req;

/* One decoded query parameter (form-decoding already done: '+' is a space,
 * %XX decoded).  Keys may repeat; order is the request's order. */
typedef struct http_qparam {
    const char *key;
    const char *val;
} http_qparam;

enum {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
    HTTP_ANY = 0x7f,
};

/* Who may call a route: checked once, by the front, before any handler
 * runs (the one gate); the handler gets the verified caller (http_claims,
 * http_bearer_claims) and never verifies a key itself.
 *   HTTP_PUBLIC          nobody is checked (a handler may still check a
 *                        token of its own kind, e.g. a signed URL's)
 *   HTTP_APIKEY          a valid project key in apikey (header or ?apikey=);
 *                        a Bearer token is verified for the handler but not
 *                        refused here (GoTrue decides per endpoint)
 *   HTTP_APIKEY_OR_USER  a valid apikey, or a valid Bearer token, or both;
 *                        the Bearer (else the key) is the caller
 *   HTTP_SERVICE         as HTTP_APIKEY_OR_USER, and the caller's role is
 *                        service_role
 *   HTTP_CONSOLE         as HTTP_SERVICE: the service key, or the session
 *                        token of a console admin (a service_role token
 *                        POST /admin/v1/login issues); marks the routes
 *                        that exist for the console */
typedef enum {
    HTTP_PUBLIC,
    HTTP_APIKEY,
    HTTP_APIKEY_OR_USER,
    HTTP_SERVICE,
    HTTP_CONSOLE,
} http_access;

/* Which protocol's error body the route speaks. */
typedef enum {
    HTTP_ERR_PGRST,    /* {"code","details","hint","message"} */
    HTTP_ERR_GOTRUE,   /* {"code","message"} + X-Supabase-Api-Version */
    HTTP_ERR_STORAGE,  /* {"statusCode":"404","error","message"} */
} http_err_style;

typedef int (*http_handler)(http_req *r);

typedef struct http_route {
    unsigned methods;
    const char *path;     /* exact path, or a prefix when it ends in '/'; a path may
                           * appear again only with other methods */
    http_access access;
    http_err_style style;
    int group;            /* metrics group, METRICS_G_* */
    http_handler fn;
} http_route;

/* Names for `basalt routes`: "public", "apikey", "service_role"; "postgrest",
 * "gotrue", "storage".  http_methods_names writes "GET,HEAD,..." to out. */
const char *http_access_name(http_access a);
const char *http_style_name(http_err_style s);
int http_methods_names(unsigned methods, buf *out);

typedef struct http_server http_server;
typedef struct bs_app bs_app;   /* app/app.h: handed to handlers, opaque here */
struct auth_jwt;

typedef struct http_options {
    const char *listen_addr;
    int port;
    int threads;                 /* workers: connections served at once */
    size_t max_body;             /* http_body's limit */
    int request_timeout_s;       /* headers; silence inside a body or response */
    int keep_alive_timeout_s;    /* idle between requests */
    int max_conns_per_ip;        /* 0: no cap */
    const char *trusted_proxies; /* CIDR list (NULL: none) */
    int main_websockets;         /* WebSockets allowed on this port */
    struct auth_jwt *jwt;        /* verifies apikeys and tokens at the gate */
    const http_route *routes;    /* an exact path, else the longest prefix, wins (copied) */
    size_t nroutes;
    /* After every request and WebSocket message, on its worker thread (the
     * store lends its read connection back).  May be NULL. */
    void (*work_done)(void);
    bs_app *app;                 /* what http_app() gives handlers */
} http_options;

/* Start listening; handlers get o->app.  o is copied (its strings and
 * tables are borrowed until http_stop).  BS_EIO when the port cannot be
 * bound, BS_EINVAL for a bad trusted_proxies list.
 *
 * Connections: each open connection holds one of cfg->threads workers,
 * idle or not, so the front bounds how long a client may hold one: the
 * headers of a request must arrive within --request-timeout, an idle
 * keep-alive connection is closed after --keep-alive-timeout, a body must
 * keep a minimum average rate, and one client address may hold at most
 * --max-connections-per-ip connections (refused at accept with 429;
 * addresses in --trusted-proxies are exempt).  Worker stacks are
 * HTTP_WORKER_STACK bytes. */
int http_start(const http_options *o, http_server **out);
/* Drain and stop: new requests get 503 + Connection: close, in-flight ones
 * get up to timeout_s seconds to answer, then civetweb stops and joins its
 * workers, and s is freed.  Returns false, leaving civetweb running and s
 * allocated, when requests were still running at the deadline (joining
 * them could wait for ever): the caller should then exit without tearing
 * down what those handlers may still use.  NULL-safe. */
bool http_stop(http_server *s, int timeout_s);
/* Open connections holding a per-address slot, connections refused by the
 * per-address cap since start, and WebSockets open on the main port. */
void http_conn_stats(http_server *s, size_t *held, uint64_t *refused, int *websockets);

/* ---- request ---- */
unsigned http_method(const http_req *r);
const char *http_method_name(const http_req *r);
/* The path without the query string, percent-decoded once with
 * http_path_decode (a path with %00 is refused with 400 before any handler
 * runs, except on storage routes, which answer InvalidKey themselves). */
const char *http_path(const http_req *r);
/* The decoded path after the matched route prefix. */
const char *http_subpath(const http_req *r);
/* The path after the route prefix exactly as the client sent it, still
 * percent-encoded: handlers that take names out of the path decode each
 * name exactly once themselves (a decoded "/" inside a name must not
 * split it, and "%2520" must stay "%20"). */
const char *http_subpath_raw(const http_req *r);
const char *http_query(const http_req *r);
/* Header value or NULL (case-insensitive name). */
const char *http_header(const http_req *r, const char *name);
arena *http_arena(http_req *r);
bs_app *http_app(const http_req *r);
/* The verified claims of the acting role (Bearer token, else apikey);
 * NULL on HTTP_PUBLIC routes.  Owned by the request. */
struct auth_claims *http_claims(const http_req *r);
/* The Bearer token as the gate verified it: BS_OK and *out (owned by the
 * request), BS_ENOTFOUND when none was sent (or the route is public),
 * BS_EEXPIRED or BS_EAUTH when it does not verify (only on HTTP_APIKEY
 * routes: elsewhere the gate refused the request). */
int http_bearer_claims(const http_req *r, struct auth_claims **out);
/* The client's address: the socket peer, or, when the peer is one of
 * --trusted-proxies, the right-most address of X-Forwarded-For that is not
 * a trusted proxy.  Use it for rate limits and logs. */
const char *http_remote_addr(http_req *r);
/* The socket peer's address, whatever X-Forwarded-For says. */
const char *http_peer_addr(const http_req *r);
/* Read the whole body (up to cfg->max_body).  BS_ETOOBIG past the limit
 * (the caller answers 413), BS_EIO when the connection failed or the
 * client stalled (see http_read).  Repeated calls return the same
 * bytes. */
int http_body(http_req *r, const char **data, size_t *len);
/* Read and parse a JSON body: http_body's size limit, then jsonin_parse
 * (core/jsonin.h: nesting deeper than JSONIN_MAX_DEPTH refused before
 * jansson runs, since deep nesting would exhaust the worker's stack inside
 * the parser) with duplicate keys refused (a document whose readers
 * disagree on which duplicate wins could slip past a rule), NUL bytes in
 * strings refused and invalid UTF-8 refused.  Returns BS_OK and *out
 * (caller json_decref's), BS_ETOOBIG, BS_EJSON (malformed or too deep)
 * with a message (line/column) in msg (at least JSONIN_MSG_MAX bytes), or
 * BS_ENOMEM.  flags: extra jansson decode flags (e.g.
 * JSON_DECODE_INT_AS_REAL). */
struct json_t;
int http_body_json(http_req *r, size_t flags, struct json_t **out, char *msg, size_t msgsz);
/* The same checks on a buffer the caller already holds. */
int http_parse_json(const char *data, size_t len, size_t flags, struct json_t **out, char *msg, size_t msgsz);

/* Streaming body reads (instead of http_body, never both): returns bytes
 * read, 0 at the end, -1 on a connection error or when the client stalled
 * (the body stopped short of its Content-Length or fell below the minimum
 * rate; the front then closes the connection after the handler's answer).
 * The caller enforces its own size limit while reading. */
long http_read(http_req *r, void *dst, size_t len);
/* Content-Length of the request, or -1 when absent (chunked). */
int64_t http_content_length(const http_req *r);

/* Form-decoded query parameters in request order, from the arena.
 * BS_EPARSE for a NUL byte (%00) or invalid UTF-8 after decoding. */
int http_params(http_req *r, const struct http_qparam **out, size_t *n);
/* The same for any query string q (without the '?'), from arena a. */
int http_query_split(arena *a, const char *q, const struct http_qparam **out, size_t *n);
/* The first value of query parameter `key`, or NULL. */
const char *http_param(http_req *r, const char *key);
/* The token of "Authorization: Bearer <token>", or NULL. */
const char *http_bearer(const http_req *r);
/* The apikey header, else the apikey query parameter, or NULL. */
const char *http_apikey(http_req *r);
/* Percent-decode s (no '+' handling) into the arena; NULL on %00, a bad
 * escape, or invalid UTF-8. */
char *http_url_decode(arena *a, const char *s, size_t n, bool form);
/* Percent-decode a URL path the lenient way browsers and civetweb do: a
 * '%' not followed by two hex digits stays a literal '%', '+' stays '+'.
 * NULL on ENOMEM or when the result would contain a NUL (%00). */
char *http_path_decode(arena *a, const char *s, size_t n);

/* ---- response ---- */
/* Add a response header for the coming http_send; copies both. */
int http_add_header(http_req *r, const char *name, const char *value);
/* Send status, headers and body (for HEAD the body is counted in
 * Content-Length but not sent). */
int http_send(http_req *r, int status, const char *content_type, const void *body, size_t len);
int http_send_json(http_req *r, int status, const char *json, size_t len);
/* Error body in the route's style.  details/hint may be NULL. */
int http_error(http_req *r, int status, const char *code, const char *message,
               const char *details, const char *hint);
bool http_responded(const http_req *r);

/* Stream the response in parts: headers first (Content-Length known), then
 * http_write for the body. */
int http_send_head(http_req *r, int status, const char *content_type, int64_t content_length);
int http_write(http_req *r, const void *data, size_t len);

#endif
