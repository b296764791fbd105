/* fn_http.c - the sync triggers: /functions/v1/NAME and /rest/v1/rpc/NAME.
 *
 * The handler runs on the calling civetweb thread under the function's
 * reserved concurrency: a call over the limit is answered 429 at once,
 * never queued.  A handler cannot be interrupted, so a call that outlives
 * its timeout is recorded as a timeout and answered 504 when it returns.
 *
 * /functions/v1 speaks the Edge Functions protocol (supabase-js
 * functions.invoke): the plugin's status, headers and body pass through;
 * host errors are {"error": type, "message": text} with a non-2xx status.
 * /rest/v1/rpc speaks PostgREST: POST JSON args or GET query args, the
 * result passes through, errors are {"code","details","hint","message"}.
 */
#include "fn_int.h"
#include "app/app.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/jwt.h"
#include "http/pgrst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct http_ev {
    basalt_event ev; /* first: the plugin sees this */
    http_req *r;
} http_ev;

static const char *ev_header(const basalt_event *ev, const char *name)
{
    const http_ev *h = (const http_ev *)ev;
    return name ? http_header(h->r, name) : NULL;
}

static unsigned method_bit(unsigned m)
{
    switch (m) {
    case HTTP_GET: return BASALT_GET;
    case HTTP_HEAD: return BASALT_HEAD;
    case HTTP_POST: return BASALT_POST;
    case HTTP_PUT: return BASALT_PUT;
    case HTTP_PATCH: return BASALT_PATCH;
    case HTTP_DELETE: return BASALT_DELETE;
    default: return 0;
    }
}

/* Does the current version of e have a trigger of this kind (and allow the
 * method)?  0 yes, 404 no such trigger, 405 method not allowed. */
static int trigger_check(fn_entry *e, uint32_t kind, unsigned mbit)
{
    fn_version *v = fn_version_acquire(e);
    if (!v)
        return 404;
    int st = 404;
    for (uint32_t i = 0; i < v->m->ntriggers; i++) {
        const basalt_trigger *t = &v->m->triggers[i];
        if (t->kind != kind)
            continue;
        if (kind != BASALT_TRIGGER_HTTP || !t->flags || (t->flags & mbit) ||
            (mbit == BASALT_HEAD && (t->flags & BASALT_GET))) {
            st = 0;
            break;
        }
        st = 405;
    }
    fn_version_release(v);
    return st;
}

/* A host error in the Edge Functions shape. */
static int edge_error(http_req *r, int status, const char *type, const char *msg)
{
    buf b = BUF_INIT;
    int rc = fn_error_json(&b, type, msg);
    if (!rc)
        rc = http_send(r, status, "application/json", b.data, b.len);
    buf_free(&b);
    return rc;
}

static void fill_auth(http_req *r, fn_call *call)
{
    auth_claims *cl = http_claims(r);
    if (!cl)
        return;
    call->auth_role = cl->role;
    call->auth_sub = cl->sub;
    char *js = cl->json ? json_dumps(cl->json, JSON_COMPACT) : NULL;
    if (js) {
        call->auth_claims = arena_strdup(http_arena(r), js);
        free(js);
    }
}

static void add_plugin_headers(http_req *r, const buf *h)
{
    if (!h->data)
        return;
    const char *p = h->data, *end = h->data + h->len;
    while (p < end) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            char *name = arena_strndup(http_arena(r), p, (size_t)(colon - p));
            const char *vs = colon + 1;
            while (*vs == ' ')
                vs++;
            char *val = arena_strndup(http_arena(r), vs, (size_t)(eol - vs));
            if (name && val && strcasecmp(name, "Content-Length") != 0 && strcasecmp(name, "Content-Type") != 0)
                http_add_header(r, name, val);
        }
        p = eol + 2;
    }
}

/* Run e with ev for the caller of r (fill_auth); fn_call_run's result. */
static int run_for(http_req *r, fn_entry *e, const basalt_event *ev, fn_call *call)
{
    fn_call_init(call, ev);
    fill_auth(r, call);
    return fn_call_run(http_app(r)->fn, e, call);
}

/* The 429's message, with Retry-After set. */
static const char *busy_message(http_req *r, fn_entry *e, char *m, size_t ml)
{
    snprintf(m, ml, "function %s is at its concurrency limit (%d)", e->name, atomic_load(&e->eff_concurrency));
    http_add_header(r, "Retry-After", "1");
    return m;
}

/* ---- /functions/v1 ---- */

/* The entry /functions/v1/NAME[/REST] names if it takes r's method (*rest:
 * the decoded REST); else NULL, answered (404, 405) in rc. */
static fn_entry *http_target(http_req *r, const char **rest, int *rc)
{
    arena *a = http_arena(r);
    const char *sub = http_subpath_raw(r); /* decoded below, once */
    const char *slash = strchr(sub, '/');
    size_t nl = slash ? (size_t)(slash - sub) : strlen(sub);
    char *name = http_url_decode(a, sub, nl, false);
    *rest = slash ? http_url_decode(a, slash, strlen(slash), false) : "";
    fn_entry *e = name && *name && *rest ? fn_entry_find(http_app(r)->fn, name) : NULL;
    int tc = e ? trigger_check(e, BASALT_TRIGGER_HTTP, method_bit(http_method(r))) : 404;
    if (tc == 404) {
        *rc = edge_error(r, 404, "NotFound", "Requested function was not found");
        return NULL;
    }
    if (tc == 405) {
        char m[160];
        snprintf(m, sizeof m, "function %s does not accept %s", e->name, http_method_name(r));
        *rc = edge_error(r, 405, "MethodNotAllowed", m);
        return NULL;
    }
    return e;
}

/* The answer of a call that ran: the plugin's response, or the error. */
static int edge_answer(http_req *r, fn_entry *e, fn_call *call)
{
    http_add_header(r, "X-Request-Id", call->request_id);
    const basalt_response *res = &call->res;
    char m[200];
    if (call->timed_out) {
        snprintf(m, sizeof m, "function %s ran %.0f ms, over its %d ms timeout", e->name, (double)call->dur_ns / 1e6,
                 atomic_load(&e->eff_timeout_ms));
        return edge_error(r, 504, "Timeout", m);
    }
    if (res->err_type)
        return edge_error(r, res->status >= 400 ? res->status : 500, res->err_type, res->err_msg ? res->err_msg : "");
    if (call->rc != BASALT_OK && !(res->has_body && res->status >= 400)) {
        snprintf(m, sizeof m, "function %s failed (%d)", e->name, call->rc);
        return edge_error(r, 500, "FunctionError", m);
    }
    add_plugin_headers(r, &res->headers);
    int status = res->status ? res->status : (res->has_body ? 200 : 204);
    return http_send(r, status, res->ctype ? res->ctype : "application/octet-stream",
                     res->body.data ? res->body.data : "", res->body.len);
}

int fn_http_handle(http_req *r)
{
    const char *rest;
    int rc;
    fn_entry *e = http_target(r, &rest, &rc);
    if (!e)
        return rc;
    const char *body = "";
    size_t blen = 0;
    rc = http_body(r, &body, &blen);
    if (rc == BS_ETOOBIG)
        return edge_error(r, 413, "PayloadTooLarge", "the request body is larger than --max-body");
    if (rc)
        return edge_error(r, 400, "BadRequest", "could not read the request body");
    const char *ct = http_header(r, "Content-Type");
    basalt_http_event he = {sizeof he, http_method_name(r), rest, http_query(r), body, blen, ct ? ct : "", ev_header};
    http_ev hev = {{.struct_size = sizeof hev.ev, .kind = BASALT_EVENT_HTTP, .http = &he}, r};
    fn_call call;
    rc = run_for(r, e, &hev.ev, &call);
    char m[200];
    if (rc == BS_ENOTFOUND)
        rc = edge_error(r, 404, "NotFound", "Requested function was not found or is disabled");
    else if (rc == BS_EBUSY)
        rc = edge_error(r, 429, "TooManyRequests", busy_message(r, e, m, sizeof m));
    else
        rc = edge_answer(r, e, &call);
    fn_call_done(&call);
    return rc;
}

/* ---- RPC ---- */

static bool json_number_text(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0' && p - s < 40;
}

static int put_scalar(buf *b, const char *s, size_t n)
{
    char tmp[48];
    if (n < sizeof tmp) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (json_number_text(tmp))
            return buf_puts(b, tmp);
    }
    return buf_json_str(b, s, n);
}

/* GET args: numbers become JSON numbers, "{a,b}" becomes an array,
 * everything else a string. */
static int query_args(http_req *r, buf *out)
{
    const http_qparam *p;
    size_t n;
    if (http_params(r, &p, &n))
        return BS_EPARSE;
    int rc = buf_putc(out, '{');
    for (size_t i = 0; i < n && !rc; i++) {
        if (strcmp(p[i].key, "apikey") == 0)
            continue;
        if (out->len > 1)
            rc = buf_putc(out, ',');
        if (!rc)
            rc = buf_json_str(out, p[i].key, strlen(p[i].key));
        if (!rc)
            rc = buf_putc(out, ':');
        const char *v = p[i].val;
        size_t vl = strlen(v);
        if (!rc && vl >= 2 && v[0] == '{' && v[vl - 1] == '}') {
            rc = buf_putc(out, '[');
            const char *s = v + 1, *end = v + vl - 1;
            bool first = true;
            while (!rc && s < end) {
                const char *c = memchr(s, ',', (size_t)(end - s));
                const char *e = c ? c : end;
                if (!first)
                    rc = buf_putc(out, ',');
                if (!rc)
                    rc = put_scalar(out, s, (size_t)(e - s));
                first = false;
                s = c ? c + 1 : end;
            }
            if (!rc)
                rc = buf_putc(out, ']');
        } else if (!rc) {
            rc = put_scalar(out, v, vl);
        }
    }
    if (!rc)
        rc = buf_putc(out, '}');
    return rc;
}

static int not_found(http_req *r, const char *name)
{
    char msg[320], det[400];
    snprintf(msg, sizeof msg, "Could not find the function public.%.200s without parameters in the schema cache", name);
    snprintf(det, sizeof det, "Searched for the function public.%.200s, but no matches were found in the schema cache",
             name);
    return pgrst_reply(r, PGRST_NO_FUNCTION, msg, det, NULL);
}

int fn_rpc_check_args(const char *body, size_t len, char *msg, size_t msgsz)
{
    json_t *j = NULL;
    /* http_body read it under --max-body */
    int rc = jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, &j, msg, msgsz);
    if (rc == BS_OK && !json_is_object(j)) {
        snprintf(msg, msgsz, "not an object");
        rc = BS_EJSON;
    }
    json_decref(j);
    return rc;
}

/* The named arguments of a POST: the body (an object), or {}.  A refusal
 * is answered (413, 400) and BS_EINVAL returned; BS_ENOMEM unanswered. */
static int body_args(http_req *r, buf *args)
{
    const char *body;
    size_t blen;
    int rc = http_body(r, &body, &blen);
    if (rc == BS_ETOOBIG)
        return pgrst_reply(r, PGRST_TOO_BIG, "Payload Too Large", NULL, NULL), BS_EINVAL;
    if (rc)
        return pgrst_reply(r, PGRST_BAD_BODY, "could not read the request body", NULL, NULL), BS_EINVAL;
    char why[JSONIN_MSG_MAX] = "";
    rc = blen ? fn_rpc_check_args(body, blen, why, sizeof why) : BS_OK;
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return pgrst_reply(r, PGRST_BAD_BODY, "the request body must be a JSON object of named arguments",
                           why[0] ? why : NULL, NULL),
               BS_EINVAL;
    rc = blen ? buf_append(args, body, blen) : buf_puts(args, "{}");
    return rc ? BS_ENOMEM : BS_OK;
}

/* The arguments as a JSON object: GET and HEAD from the query string,
 * POST from the body.  A refusal is answered and BS_EINVAL returned. */
static int rpc_args(http_req *r, buf *args)
{
    if (!(http_method(r) & (HTTP_GET | HTTP_HEAD)))
        return body_args(r, args);
    if (query_args(r, args) == BS_OK)
        return BS_OK;
    return pgrst_reply(r, PGRST_PARSE, "the query string is not valid UTF-8 or contains NUL bytes", NULL, NULL),
           BS_EINVAL;
}

/* The entry /rest/v1/rpc/NAME names if it has an RPC trigger; else NULL,
 * answered (404, 406) in rc. */
static fn_entry *rpc_target(http_req *r, int *rc)
{
    const char *sub = http_subpath_raw(r);
    char *name = http_url_decode(http_arena(r), sub, strlen(sub), false);
    if (!name) {
        *rc = pgrst_reply(r, PGRST_NO_PATH, "Invalid path specified in request URL", NULL, NULL);
        return NULL;
    }
    const char *prof = http_header(r, (http_method(r) & (HTTP_GET | HTTP_HEAD)) ? "Accept-Profile" : "Content-Profile");
    if (prof && strcmp(prof, "public") != 0) {
        *rc = pgrst_reply(r, PGRST_PROFILE, "The schema must be one of the following: public", NULL, NULL);
        return NULL;
    }
    fn_entry *e = *name ? fn_entry_find(http_app(r)->fn, name) : NULL;
    if (!e || trigger_check(e, BASALT_TRIGGER_RPC, 0) != 0) {
        *rc = not_found(r, name);
        return NULL;
    }
    return e;
}

/* The answer of a call that ran, in PostgREST's shape. */
static int rpc_answer(http_req *r, fn_entry *e, const fn_call *call)
{
    const basalt_response *res = &call->res;
    char msg[200];
    if (call->timed_out) {
        snprintf(msg, sizeof msg, "canceling statement due to statement timeout: function %s ran %.0f ms (limit %d ms)",
                 e->name, (double)call->dur_ns / 1e6, atomic_load(&e->eff_timeout_ms));
        return pgrst_reply(r, PGRST_TIMEOUT, msg, NULL, NULL);
    }
    if (res->err_type) /* the plugin's status when it set an error one */
        return http_error(r, res->status >= 400 ? res->status : pgrst_status(PGRST_RAISED), pgrst_code(PGRST_RAISED),
                          res->err_msg ? res->err_msg : "", res->err_type, NULL);
    if (call->rc != BASALT_OK) {
        snprintf(msg, sizeof msg, "function %s failed (%d)", e->name, call->rc);
        return pgrst_reply(r, PGRST_FUNCTION_FAILED, msg, NULL, NULL);
    }
    if (!res->has_body || res->body.len == 0)
        return http_send(r, 204, NULL, NULL, 0);
    add_plugin_headers(r, &res->headers);
    return http_send(r, res->status ? res->status : 200, res->ctype ? res->ctype : "application/json; charset=utf-8",
                     res->body.data, res->body.len);
}

int fn_rpc_handle(http_req *r)
{
    int rc;
    fn_entry *e = rpc_target(r, &rc);
    if (!e)
        return rc;
    buf args = BUF_INIT;
    rc = rpc_args(r, &args);
    if (rc) {
        buf_free(&args);
        return rc == BS_EINVAL ? BS_OK : rc;
    }
    basalt_rpc_event re = {sizeof re, buf_cstr(&args), args.len};
    basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_RPC, .rpc = &re};
    fn_call call;
    rc = run_for(r, e, &ev, &call);
    buf_free(&args);
    char msg[200];
    if (rc == BS_ENOTFOUND)
        rc = not_found(r, e->name);
    else if (rc == BS_EBUSY)
        rc = pgrst_reply(r, PGRST_TOO_MANY, busy_message(r, e, msg, sizeof msg), NULL,
                         "Retry later or raise the function's concurrency");
    else
        rc = rpc_answer(r, e, &call);
    fn_call_done(&call);
    return rc;
}
