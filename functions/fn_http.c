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
#include "fn.h"
#include "fn_int.h"
#include "core/jwt.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "rest/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern fn_registry *fn_global(void);

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

static int fn_json_error(http_req *r, int status, const char *type, const char *msg)
{
    buf b = BUF_INIT;
    int rc = buf_puts(&b, "{\"error\":");
    if (!rc)
        rc = buf_json_str(&b, type, strlen(type));
    if (!rc)
        rc = buf_puts(&b, ",\"message\":");
    if (!rc)
        rc = buf_json_str(&b, msg, strlen(msg));
    if (!rc)
        rc = buf_putc(&b, '}');
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

int fn_http_handle(http_req *r)
{
    fn_registry *reg = fn_global();
    arena *a = http_arena(r);
    const char *sub = http_subpath_raw(r); /* decoded below, once */
    const char *slash = strchr(sub, '/');
    size_t nl = slash ? (size_t)(slash - sub) : strlen(sub);
    char *name = http_url_decode(a, sub, nl, false);
    char *rest = slash ? http_url_decode(a, slash, strlen(slash), false) : "";
    if (!name || !*name || !rest)
        return fn_json_error(r, 404, "NotFound", "Requested function was not found");
    fn_entry *e = reg ? fn_entry_find(reg, name) : NULL;
    int tc = e ? trigger_check(e, BASALT_TRIGGER_HTTP, method_bit(http_method(r))) : 404;
    if (tc == 404)
        return fn_json_error(r, 404, "NotFound", "Requested function was not found");
    if (tc == 405) {
        char m[160];
        snprintf(m, sizeof m, "function %s does not accept %s", e->name, http_method_name(r));
        return fn_json_error(r, 405, "MethodNotAllowed", m);
    }
    const char *body = "";
    size_t blen = 0;
    int rc = http_body(r, &body, &blen);
    if (rc == BS_ETOOBIG)
        return fn_json_error(r, 413, "PayloadTooLarge", "the request body is larger than --max-body");
    if (rc)
        return fn_json_error(r, 400, "BadRequest", "could not read the request body");
    const char *ct = http_header(r, "Content-Type");
    http_ev hev;
    basalt_http_event he = {sizeof he, http_method_name(r), rest, http_query(r), body, blen, ct ? ct : "", ev_header};
    hev.ev = (basalt_event){.struct_size = sizeof hev.ev, .kind = BASALT_EVENT_HTTP, .http = &he};
    hev.r = r;
    fn_call call;
    memset(&call, 0, sizeof call);
    call.ev = &hev.ev;
    call.job_id = "";
    call.attempt = 1;
    fill_auth(r, &call);
    rc = fn_call_run(reg, e, &call);
    if (rc == BS_ENOTFOUND)
        return fn_json_error(r, 404, "NotFound", "Requested function was not found or is disabled");
    if (rc == BS_EBUSY) {
        char m[200];
        snprintf(m, sizeof m, "function %s is at its concurrency limit (%d)", e->name, atomic_load(&e->eff_concurrency));
        http_add_header(r, "Retry-After", "1");
        return fn_json_error(r, 429, "TooManyRequests", m);
    }
    http_add_header(r, "X-Request-Id", call.request_id);
    basalt_response *res = &call.res;
    if (call.timed_out) {
        char m[200];
        snprintf(m, sizeof m, "function %s ran %.0f ms, over its %d ms timeout", e->name, (double)call.dur_ns / 1e6,
                 atomic_load(&e->eff_timeout_ms));
        rc = fn_json_error(r, 504, "Timeout", m);
    } else if (res->err_type) {
        rc = fn_json_error(r, res->status >= 400 ? res->status : 500, res->err_type, res->err_msg ? res->err_msg : "");
    } else if (call.rc != BASALT_OK && !(res->has_body && res->status >= 400)) {
        char m[120];
        snprintf(m, sizeof m, "function %s failed (%d)", e->name, call.rc);
        rc = fn_json_error(r, 500, "FunctionError", m);
    } else {
        add_plugin_headers(r, &res->headers);
        int status = res->status ? res->status : (res->has_body ? 200 : 204);
        rc = http_send(r, status, res->ctype ? res->ctype : "application/octet-stream", res->body.data ? res->body.data : "",
                       res->body.len);
    }
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
    return http_error(r, 404, "PGRST202", msg, det, NULL);
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

int fn_rpc_handle(http_req *r)
{
    fn_registry *reg = fn_global();
    arena *a = http_arena(r);
    const char *sub = http_subpath_raw(r);
    char *name = http_url_decode(a, sub, strlen(sub), false);
    if (!name)
        return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
    unsigned m = http_method(r);
    const char *prof = http_header(r, (m & (HTTP_GET | HTTP_HEAD)) ? "Accept-Profile" : "Content-Profile");
    if (prof && strcmp(prof, "public") != 0)
        return http_error(r, 406, "PGRST106", "The schema must be one of the following: public", NULL, NULL);
    fn_entry *e = reg && *name ? fn_entry_find(reg, name) : NULL;
    if (!e || trigger_check(e, BASALT_TRIGGER_RPC, 0) != 0)
        return not_found(r, name);
    buf args = BUF_INIT;
    int rc;
    if (m & (HTTP_GET | HTTP_HEAD)) {
        rc = query_args(r, &args);
        if (rc) {
            buf_free(&args);
            return http_error(r, 400, "PGRST100", "the query string is not valid UTF-8 or contains NUL bytes", NULL,
                              NULL);
        }
    } else {
        const char *body;
        size_t blen;
        rc = http_body(r, &body, &blen);
        if (rc == BS_ETOOBIG)
            return http_error(r, 413, "PGRST413", "Payload Too Large", NULL, NULL);
        char why[JSONIN_MSG_MAX] = "";
        rc = blen ? fn_rpc_check_args(body, blen, why, sizeof why) : BS_OK;
        if (rc == BS_ENOMEM)
            return rc;
        if (rc)
            return http_error(r, 400, "PGRST102", "the request body must be a JSON object of named arguments",
                              why[0] ? why : NULL, NULL);
        rc = blen ? buf_append(&args, body, blen) : buf_puts(&args, "{}");
        if (rc)
            return BS_ENOMEM;
    }
    basalt_rpc_event re = {sizeof re, buf_cstr(&args), args.len};
    basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_RPC, .rpc = &re};
    fn_call call;
    memset(&call, 0, sizeof call);
    call.ev = &ev;
    call.job_id = "";
    call.attempt = 1;
    fill_auth(r, &call);
    rc = fn_call_run(reg, e, &call);
    buf_free(&args);
    if (rc == BS_ENOTFOUND)
        return not_found(r, name);
    if (rc == BS_EBUSY) {
        char msg[200];
        snprintf(msg, sizeof msg, "function %s is at its concurrency limit (%d)", e->name, atomic_load(&e->eff_concurrency));
        http_add_header(r, "Retry-After", "1");
        return http_error(r, 429, "53300", msg, NULL, "Retry later or raise the function's concurrency");
    }
    basalt_response *res = &call.res;
    if (call.timed_out) {
        char msg[200];
        snprintf(msg, sizeof msg, "canceling statement due to statement timeout: function %s ran %.0f ms (limit %d ms)",
                 e->name, (double)call.dur_ns / 1e6, atomic_load(&e->eff_timeout_ms));
        rc = http_error(r, 504, "57014", msg, NULL, NULL);
    } else if (res->err_type) {
        rc = http_error(r, res->status >= 400 ? res->status : 400, "P0001", res->err_msg ? res->err_msg : "",
                        res->err_type, NULL);
    } else if (call.rc != BASALT_OK) {
        char msg[120];
        snprintf(msg, sizeof msg, "function %s failed (%d)", e->name, call.rc);
        rc = http_error(r, 500, "P0001", msg, NULL, NULL);
    } else if (!res->has_body || res->body.len == 0) {
        rc = http_send(r, 204, NULL, NULL, 0);
    } else {
        add_plugin_headers(r, &res->headers);
        rc = http_send(r, res->status ? res->status : 200, res->ctype ? res->ctype : "application/json; charset=utf-8",
                       res->body.data, res->body.len);
    }
    fn_call_done(&call);
    return rc;
}
