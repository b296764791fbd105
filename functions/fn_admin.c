/* fn_admin.c - the admin API of functions (service role).
 *
 *   GET    /admin/v1/functions                 every function: triggers, version, settings, metrics
 *   GET    /admin/v1/functions/NAME
 *   PATCH  /admin/v1/functions/NAME            {"timeout_ms","concurrency","retries","enabled","config":{k:v|null}}
 *   POST   /admin/v1/functions/NAME/invoke     {"type":"sync"|"async","payload":...}
 *   GET    /admin/v1/functions/NAME/logs       recent log lines (?limit=N)
 *   GET    /admin/v1/functions/dlq             dead letters (?function=NAME)
 *   POST   /admin/v1/functions/dlq/ID/redrive  back into the queue (202)
 *   DELETE /admin/v1/functions/dlq/ID          204
 *
 * Settings survive restarts in _basalt_fn_settings (fn_settings.c).  Config
 * values are returned masked ("********"): they often hold secrets.
 *
 * Threads: HTTP workers; the registry is http_app(r)->fn.
 */
#include "fn_int.h"
#include "app/app.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/timeutil.h"
#include "http/pgrst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON rendering ---- */

static const char *kind_name(uint32_t k)
{
    switch (k) {
    case BASALT_TRIGGER_HTTP: return "http";
    case BASALT_TRIGGER_RPC: return "rpc";
    case BASALT_TRIGGER_DOCUMENT: return "document";
    case BASALT_TRIGGER_STORAGE: return "storage";
    case BASALT_TRIGGER_AUTH: return "auth";
    case BASALT_TRIGGER_SCHEDULE: return "schedule";
    default: return "unknown";
    }
}

/* The put_* helpers write nothing when rc (an earlier failure) is set and
 * return it, so a run of them reads as a list. */
static int put_flags(buf *b, int rc, const char *key, uint32_t flags, const char *const *names, int n)
{
    if (!rc)
        rc = buf_printf(b, ",\"%s\":[", key);
    bool first = true;
    for (int i = 0; i < n && !rc; i++)
        if (!flags || (flags & (1u << i))) {
            rc = buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]);
            first = false;
        }
    return rc ? rc : buf_putc(b, ']');
}

static int put_opt_str(buf *b, int rc, const char *key, const char *v)
{
    if (rc || !v)
        return rc;
    rc = buf_printf(b, ",\"%s\":", key);
    return rc ? rc : buf_json_str(b, v, strlen(v));
}

static int put_trigger(buf *b, const basalt_trigger *t)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    static const char *const dops[] = {"INSERT", "UPDATE", "DELETE"};
    static const char *const sops[] = {"created", "deleted"};
    static const char *const aev[] = {"user.created", "user.deleted", "recovery_requested"};
    int rc = buf_printf(b, "{\"kind\":\"%s\"", kind_name(t->kind));
    switch (t->kind) {
    case BASALT_TRIGGER_HTTP: rc = put_flags(b, rc, "methods", t->flags, methods, 6); break;
    case BASALT_TRIGGER_DOCUMENT:
        rc = put_opt_str(b, rc, "collection", t->source);
        rc = put_flags(b, rc, "ops", t->flags, dops, 3);
        rc = put_opt_str(b, rc, "filter", t->filter);
        break;
    case BASALT_TRIGGER_STORAGE:
        rc = put_opt_str(b, rc, "bucket", t->source);
        rc = put_flags(b, rc, "ops", t->flags, sops, 2);
        rc = put_opt_str(b, rc, "prefix", t->prefix);
        rc = put_opt_str(b, rc, "suffix", t->suffix);
        break;
    case BASALT_TRIGGER_AUTH: rc = put_flags(b, rc, "events", t->flags, aev, 3); break;
    case BASALT_TRIGGER_SCHEDULE: rc = put_opt_str(b, rc, "schedule", t->source); break;
    default: break;
    }
    return rc ? rc : buf_putc(b, '}');
}

static int put_version(buf *b, const fn_version *v)
{
    char ts[32];
    time_iso_ms(v->loaded_ms, ts);
    int rc = buf_printf(b, ",\"version\":%u,\"loaded_at\":\"%s\",\"abi_version\":%u,\"init_ms\":%.3f", v->generation,
                        ts, v->m->abi_version, (double)v->init_ns / 1e6);
    rc = put_opt_str(b, rc, "source", v->source);
    rc = put_opt_str(b, rc, "description", v->m->description);
    if (!rc)
        rc = buf_puts(b, ",\"triggers\":[");
    for (uint32_t i = 0; i < v->m->ntriggers && !rc; i++) {
        if (i)
            rc = buf_putc(b, ',');
        if (!rc)
            rc = put_trigger(b, &v->m->triggers[i]);
    }
    return rc ? rc : buf_putc(b, ']');
}

/* The config's keys, values masked (e->lock held). */
static int put_config(buf *b, fn_entry *e)
{
    int rc = buf_puts(b, ",\"config\":{");
    const char *k;
    json_t *val;
    bool first = true;
    json_object_foreach (e->config, k, val) {
        if (rc)
            break;
        if (!first)
            rc = buf_putc(b, ',');
        first = false;
        if (!rc)
            rc = buf_json_str(b, k, strlen(k));
        if (!rc)
            rc = buf_puts(b, ":\"********\"");
    }
    return rc ? rc : buf_putc(b, '}');
}

/* Effective settings and overrides, config and last error. */
static int put_settings(buf *b, fn_entry *e)
{
    pthread_mutex_lock(&e->lock);
    char ov[3][24];
    int64_t ovv[3] = {e->timeout_ms, e->concurrency, e->retries};
    for (int i = 0; i < 3; i++)
        snprintf(ov[i], sizeof ov[i], ovv[i] < 0 ? "null" : "%lld", (long long)ovv[i]);
    int rc = buf_printf(b,
                        ",\"settings\":{\"timeout_ms\":%d,\"concurrency\":%d,\"retries\":%d,\"enabled\":%s,"
                        "\"overrides\":{\"timeout_ms\":%s,\"concurrency\":%s,\"retries\":%s}}",
                        atomic_load(&e->eff_timeout_ms), atomic_load(&e->eff_concurrency), atomic_load(&e->eff_retries),
                        e->enabled ? "true" : "false", ov[0], ov[1], ov[2]);
    if (!rc)
        rc = put_config(b, e);
    rc = put_opt_str(b, rc, "last_error", e->last_error);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int put_metrics(buf *b, fn_registry *reg, fn_entry *e)
{
    return buf_printf(b,
                      ",\"metrics\":{\"invocations\":%lld,\"errors\":%lld,\"throttles\":%lld,\"timeouts\":%lld,"
                      "\"cold_starts\":%lld,\"init_ms_last\":%.3f,\"init_ms_total\":%.3f,\"active\":%d,"
                      "\"duration_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f},\"queue_depth\":%zu,"
                      "\"dead_letters\":%lld}}",
                      (long long)fn_counter(&e->invocations), (long long)fn_counter(&e->errors),
                      (long long)fn_counter(&e->throttles), (long long)fn_counter(&e->timeouts),
                      (long long)fn_counter(&e->cold_starts), (double)fn_counter(&e->init_ns_last) / 1e6,
                      (double)fn_counter(&e->init_ns_total) / 1e6, atomic_load(&e->active), fn_hist_pct(e, 50),
                      fn_hist_pct(e, 95), fn_hist_pct(e, 99), (size_t)atomic_load(&e->queued),
                      (long long)fn_dlq_count(reg, e->name));
}

static int render_entry(fn_registry *reg, fn_entry *e, buf *b)
{
    fn_version *v = fn_version_acquire(e);
    int rc = buf_printf(b, "{\"name\":\"%s\",\"loaded\":%s", e->name, v ? "true" : "false");
    if (!rc && v)
        rc = put_version(b, v);
    if (!rc)
        rc = put_settings(b, e);
    if (!rc)
        rc = put_metrics(b, reg, e);
    fn_version_release(v);
    return rc;
}

/* ---- handlers ---- */

/* Answer b (freed) as JSON with status; an error of building b is
 * returned unanswered (the front answers 500). */
static int send_buf(http_req *r, int status, buf *b, int built)
{
    int rc = built ? built : http_send_json(r, status, b->data ? b->data : "", b->len);
    buf_free(b);
    return rc;
}

static int send_entry(http_req *r, fn_registry *reg, fn_entry *e)
{
    buf b = BUF_INIT;
    return send_buf(r, 200, &b, render_entry(reg, e, &b));
}

static int list_fns(http_req *r, fn_registry *reg)
{
    buf b = BUF_INIT;
    int rc = buf_putc(&b, '[');
    for (fn_entry *e = fn_registry_entries(reg), *first = e; e && !rc; e = e->next) {
        if (e != first)
            rc = buf_putc(&b, ',');
        if (!rc)
            rc = render_entry(reg, e, &b);
    }
    if (!rc)
        rc = buf_putc(&b, ']');
    return send_buf(r, 200, &b, rc);
}

/* The body as a JSON object (*out), else answered (413, 400) and an
 * error returned. */
static int read_obj(http_req *r, json_t **out)
{
    const char *body;
    size_t len;
    int rc = http_body(r, &body, &len);
    if (rc == BS_ETOOBIG)
        return pgrst_reply(r, PGRST_TOO_BIG, "Payload Too Large", NULL, NULL), BS_ETOOBIG;
    *out = NULL;
    char why[JSONIN_MSG_MAX] = "";
    if (!rc && len) /* http_body read it under --max-body */
        jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, out, why, sizeof why);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return pgrst_reply(r, PGRST_BAD_BODY, "the request body must be a JSON object", why[0] ? why : NULL, NULL),
               BS_EJSON;
    }
    return BS_OK;
}

static int patch_fn(http_req *r, fn_registry *reg, fn_entry *e)
{
    json_t *j;
    if (read_obj(r, &j))
        return BS_OK;
    fn_settings s;
    const char *bad = fn_settings_parse(e, j, &s);
    int rc;
    if (bad)
        rc = pgrst_reply(r, PGRST_PARSE, bad, NULL, NULL);
    else if (fn_settings_save(reg, e, &s, json_object_get(j, "config")) != BS_OK)
        rc = pgrst_reply(r, PGRST_INTERNAL, "could not save the settings", NULL, NULL);
    else {
        fn_queue_kick(reg);
        rc = send_entry(r, reg, e);
    }
    json_decref(j);
    return rc;
}

static int invoke_async(http_req *r, fn_registry *reg, fn_entry *e, const char *payload)
{
    char uid[40];
    int rc = fn_queue_invoke(reg, e->name, payload, "", uid);
    if (rc)
        return pgrst_reply(r, PGRST_INTERNAL, "could not queue the job", basalt_strerror(rc), NULL);
    buf b = BUF_INIT;
    return send_buf(r, 202, &b, buf_printf(&b, "{\"job_id\":\"%s\",\"function\":\"%s\"}", uid, e->name));
}

/* The answer of a sync invoke that ran (rc BS_OK) or did not. */
static int invoke_answer(http_req *r, int rc, fn_call *call)
{
    if (rc == BS_ENOTFOUND)
        return pgrst_reply(r, PGRST_NO_FUNCTION, "function is not loaded or is disabled", NULL, NULL);
    if (rc == BS_EBUSY)
        return pgrst_reply(r, PGRST_TOO_MANY, "function is at its concurrency limit", NULL, NULL);
    if (call->timed_out)
        return pgrst_reply(r, PGRST_TIMEOUT, "function timed out", NULL, NULL);
    const basalt_response *res = &call->res;
    if (res->err_type || call->rc != BASALT_OK) {
        buf b = BUF_INIT;
        rc = fn_error_json(&b, res->err_type ? res->err_type : "FunctionError",
                           res->err_msg ? res->err_msg : "the handler failed");
        return send_buf(r, res->status >= 400 ? res->status : 500, &b, rc);
    }
    int st = res->status ? res->status : res->has_body ? 200 : 204;
    return http_send(r, st, res->ctype ? res->ctype : "application/json", res->body.data ? res->body.data : "",
                     res->body.len);
}

static int invoke_sync(http_req *r, fn_registry *reg, fn_entry *e, const char *payload)
{
    basalt_invoke_event iv = {sizeof iv, payload, strlen(payload), ""};
    basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_INVOKE, .invoke = &iv};
    fn_call call;
    fn_call_init(&call, &ev);
    int rc = invoke_answer(r, fn_call_run(reg, e, &call), &call);
    fn_call_done(&call);
    return rc;
}

static int invoke_fn(http_req *r, fn_registry *reg, fn_entry *e)
{
    json_t *j;
    if (read_obj(r, &j))
        return BS_OK;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type)
        type = "sync";
    json_t *payload = json_object_get(j, "payload");
    char *pl = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
    int rc;
    if (!pl)
        rc = BS_ENOMEM;
    else if (strcmp(type, "async") == 0)
        rc = invoke_async(r, reg, e, pl);
    else if (strcmp(type, "sync") == 0)
        rc = invoke_sync(r, reg, e, pl);
    else
        rc = pgrst_reply(r, PGRST_PARSE, "type must be \"sync\" or \"async\"", NULL, NULL);
    free(pl);
    json_decref(j);
    return rc;
}

/* The last value of query parameter key (the admin API's rule), or NULL. */
static const char *param_last(http_req *r, const char *key)
{
    const http_qparam *p;
    size_t n;
    const char *v = NULL;
    if (http_params(r, &p, &n) == BS_OK)
        for (size_t i = 0; i < n; i++)
            if (strcmp(p[i].key, key) == 0)
                v = p[i].val;
    return v;
}

static int logs_fn(http_req *r, fn_entry *e)
{
    const char *lp = param_last(r, "limit");
    long limit = lp ? strtol(lp, NULL, 10) : 100;
    if (limit < 1 || limit > FN_LOG_RING)
        limit = FN_LOG_RING;
    buf b = BUF_INIT;
    int rc = buf_printf(&b, "{\"function\":\"%s\",\"lines\":[", e->name); /* a name needs no escape */
    pthread_mutex_lock(&e->log_lock);
    size_t cnt = e->log_count < (size_t)limit ? e->log_count : (size_t)limit;
    for (size_t i = 0; i < cnt && !rc; i++) {
        size_t idx = (e->log_next + FN_LOG_RING - cnt + i) % FN_LOG_RING;
        if (i)
            rc = buf_putc(&b, ',');
        if (!rc)
            rc = buf_json_str(&b, e->log[idx], strlen(e->log[idx]));
    }
    pthread_mutex_unlock(&e->log_lock);
    if (!rc)
        rc = buf_puts(&b, "]}");
    return send_buf(r, 200, &b, rc);
}

static int method_not_allowed(http_req *r)
{
    return pgrst_reply(r, PGRST_METHOD, "Unsupported HTTP method", NULL, NULL);
}

static int bad_path(http_req *r)
{
    return pgrst_reply(r, PGRST_NO_PATH, "Invalid path specified in request URL", NULL, NULL);
}

static int dlq_list(http_req *r, fn_registry *reg)
{
    if (!(http_method(r) & (HTTP_GET | HTTP_HEAD)))
        return method_not_allowed(r);
    buf b = BUF_INIT;
    if (fn_dlq_list(reg, param_last(r, "function"), &b) != BS_OK) {
        buf_free(&b);
        return pgrst_reply(r, PGRST_INTERNAL, "could not read the dead-letter queue", NULL, NULL);
    }
    return send_buf(r, 200, &b, BS_OK);
}

/* /dlq/ID/redrive (POST) and /dlq/ID (DELETE). */
static int dlq_one(http_req *r, fn_registry *reg, const char *rest)
{
    char id[64];
    const char *slash = strchr(rest, '/');
    size_t il = slash ? (size_t)(slash - rest) : strlen(rest);
    if (il == 0 || il >= sizeof id)
        return bad_path(r);
    memcpy(id, rest, il);
    id[il] = '\0';
    unsigned m = http_method(r);
    int rc;
    if (slash && strcmp(slash, "/redrive") == 0 && m == HTTP_POST) {
        rc = fn_dlq_redrive(reg, id);
        if (!rc) {
            buf b = BUF_INIT;
            return send_buf(r, 202, &b, buf_printf(&b, "{\"job_id\":\"%s\"}", id));
        }
    } else if (!slash && m == HTTP_DELETE) {
        rc = fn_dlq_delete(reg, id);
        if (!rc)
            return http_send(r, 204, NULL, NULL, 0);
    } else {
        return method_not_allowed(r);
    }
    if (rc == BS_ENOTFOUND)
        return pgrst_reply(r, PGRST_NO_ROW, "no dead letter with that id", NULL, NULL);
    return pgrst_reply(r, PGRST_INTERNAL, basalt_strerror(rc), NULL, NULL);
}

/* /NAME[/ACTION] */
static int fn_route(http_req *r, fn_registry *reg, const char *sub)
{
    const char *slash = strchr(sub, '/');
    char name[80];
    size_t nl = slash ? (size_t)(slash - sub) : strlen(sub);
    fn_entry *e = NULL;
    if (nl < sizeof name) {
        memcpy(name, sub, nl);
        name[nl] = '\0';
        e = fn_entry_find(reg, name);
    }
    if (!e)
        return pgrst_reply(r, PGRST_NO_FUNCTION, "function not found", NULL, NULL);
    const char *action = slash ? slash + 1 : "";
    unsigned m = http_method(r);
    bool get = m & (HTTP_GET | HTTP_HEAD);
    if (!*action)
        return get ? send_entry(r, reg, e) : m == HTTP_PATCH ? patch_fn(r, reg, e) : method_not_allowed(r);
    if (strcmp(action, "invoke") == 0)
        return m == HTTP_POST ? invoke_fn(r, reg, e) : method_not_allowed(r);
    if (strcmp(action, "logs") == 0)
        return get ? logs_fn(r, e) : method_not_allowed(r);
    return bad_path(r);
}

int fn_admin_handle(http_req *r)
{
    fn_registry *reg = http_app(r)->fn;
    const char *sub = http_subpath(r);
    if (!*sub)
        return http_method(r) & (HTTP_GET | HTTP_HEAD) ? list_fns(r, reg) : method_not_allowed(r);
    if (strncmp(sub, "dlq", 3) == 0 && (sub[3] == '\0' || sub[3] == '/')) {
        const char *rest = sub[3] ? sub + 4 : "";
        return *rest ? dlq_one(r, reg, rest) : dlq_list(r, reg);
    }
    return fn_route(r, reg, sub);
}
