/* fn_admin.c - the subsystem's start/stop, admin API, settings and metrics.
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
 * Settings survive restarts in _basalt_fn_settings.  Config values are
 * returned masked ("********"): they often hold secrets.
 *
 * The registry is a process-wide static: the change observer and commit
 * hook registered with the store cannot be removed, so they must find a
 * valid (stopped) registry even after fn_stop.
 */
#include "fn.h"
#include "app/app.h"
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "rest/query.h"
#include "db/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fn_registry g_reg;
static atomic_bool g_started;

fn_registry *fn_global(void);
fn_registry *fn_global(void) { return atomic_load(&g_started) ? &g_reg : NULL; }

const double *fn_hist_bounds(void);

/* ---- settings ---- */

int fn_settings_load(fn_registry *reg, fn_entry *e)
{
    db_conn *c = reg->app && reg->app->store ? db_reader(reg->app->store) : NULL;
    if (!c)
        return BS_EDB;
    static const char q[] = "SELECT timeout_ms, concurrency, retries, enabled, config FROM _basalt_fn_settings WHERE name = ?";
    sqlite3_stmt *st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        e->timeout_ms = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        e->concurrency = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
        e->retries = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
        e->enabled = sqlite3_column_int(st, 3) != 0;
        json_error_t je;
        /* the config object read_obj admitted and the server wrote back */
        json_t *cfg = json_loads((const char *)sqlite3_column_text(st, 4), 0, &je);
        if (json_is_object(cfg)) {
            json_decref(e->config);
            e->config = cfg;
        } else {
            json_decref(cfg);
        }
    }
    db_stmt_done(st);
    return BS_OK;
}

typedef struct save_arg {
    const char *name;
    int64_t t, c, r;
    bool enabled;
    char *config;
} save_arg;

static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static int w_save(db_conn *w, void *arg)
{
    save_arg *s = arg;
    static const char q[] = "INSERT INTO _basalt_fn_settings(name, timeout_ms, concurrency, retries, enabled, config, "
                            "updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(name) DO UPDATE SET "
                            "timeout_ms=?2, concurrency=?3, retries=?4, enabled=?5, config=?6, updated_at=?7";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    char now[32];
    time_iso_now(now);
    sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
    bind_opt(st, 2, s->t);
    bind_opt(st, 3, s->c);
    bind_opt(st, 4, s->r);
    sqlite3_bind_int(st, 5, s->enabled);
    sqlite3_bind_text(st, 6, s->config, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

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

static int put_flags(buf *b, const char *key, uint32_t flags, const char *const *names, int n)
{
    int rc = buf_printf(b, ",\"%s\":[", key);
    bool first = true;
    for (int i = 0; i < n && !rc; i++)
        if (!flags || (flags & (1u << i))) {
            rc = buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]);
            first = false;
        }
    return rc ? rc : buf_putc(b, ']');
}

static int put_opt_str(buf *b, const char *key, const char *v)
{
    if (!v)
        return BS_OK;
    int rc = buf_printf(b, ",\"%s\":", key);
    return rc ? rc : buf_json_str(b, v, strlen(v));
}

static int put_trigger(buf *b, const basalt_trigger *t)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    static const char *const dops[] = {"INSERT", "UPDATE", "DELETE"};
    static const char *const sops[] = {"created", "deleted"};
    static const char *const aev[] = {"user.created", "user.deleted", "recovery_requested"};
    int rc = buf_printf(b, "{\"kind\":\"%s\"", kind_name(t->kind));
    if (!rc && t->kind == BASALT_TRIGGER_HTTP)
        rc = put_flags(b, "methods", t->flags, methods, 6);
    if (!rc && t->kind == BASALT_TRIGGER_DOCUMENT) {
        rc = put_opt_str(b, "collection", t->source);
        if (!rc)
            rc = put_flags(b, "ops", t->flags, dops, 3);
        if (!rc)
            rc = put_opt_str(b, "filter", t->filter);
    }
    if (!rc && t->kind == BASALT_TRIGGER_STORAGE) {
        rc = put_opt_str(b, "bucket", t->source);
        if (!rc)
            rc = put_flags(b, "ops", t->flags, sops, 2);
        if (!rc)
            rc = put_opt_str(b, "prefix", t->prefix);
        if (!rc)
            rc = put_opt_str(b, "suffix", t->suffix);
    }
    if (!rc && t->kind == BASALT_TRIGGER_AUTH)
        rc = put_flags(b, "events", t->flags, aev, 3);
    if (!rc && t->kind == BASALT_TRIGGER_SCHEDULE)
        rc = put_opt_str(b, "schedule", t->source);
    return rc ? rc : buf_putc(b, '}');
}

static int64_t ld(atomic_uint_fast64_t *v) { return (int64_t)atomic_load_explicit(v, memory_order_relaxed); }

static int render_entry(fn_registry *reg, fn_entry *e, buf *b)
{
    fn_version *v = fn_version_acquire(e);
    int rc = buf_puts(b, "{\"name\":");
    if (!rc)
        rc = buf_json_str(b, e->name, strlen(e->name));
    if (!rc)
        rc = buf_printf(b, ",\"loaded\":%s", v ? "true" : "false");
    if (!rc && v) {
        char ts[32];
        time_iso_ms(v->loaded_ms, ts);
        rc = buf_printf(b, ",\"version\":%u,\"loaded_at\":\"%s\",\"abi_version\":%u,\"init_ms\":%.3f", v->generation, ts,
                        v->m->abi_version, (double)v->init_ns / 1e6);
        if (!rc)
            rc = put_opt_str(b, "source", v->source);
        if (!rc)
            rc = put_opt_str(b, "description", v->m->description);
        if (!rc)
            rc = buf_puts(b, ",\"triggers\":[");
        for (uint32_t i = 0; i < v->m->ntriggers && !rc; i++) {
            if (i)
                rc = buf_putc(b, ',');
            if (!rc)
                rc = put_trigger(b, &v->m->triggers[i]);
        }
        if (!rc)
            rc = buf_putc(b, ']');
    }
    pthread_mutex_lock(&e->lock);
    char ov[3][24];
    int64_t ovv[3] = {e->timeout_ms, e->concurrency, e->retries};
    for (int i = 0; i < 3; i++)
        snprintf(ov[i], sizeof ov[i], ovv[i] < 0 ? "null" : "%lld", (long long)ovv[i]);
    if (!rc)
        rc = buf_printf(b, ",\"settings\":{\"timeout_ms\":%d,\"concurrency\":%d,\"retries\":%d,\"enabled\":%s,"
                           "\"overrides\":{\"timeout_ms\":%s,\"concurrency\":%s,\"retries\":%s}}",
                        atomic_load(&e->eff_timeout_ms), atomic_load(&e->eff_concurrency), atomic_load(&e->eff_retries),
                        e->enabled ? "true" : "false", ov[0], ov[1], ov[2]);
    if (!rc)
        rc = buf_puts(b, ",\"config\":{");
    const char *k;
    json_t *val;
    bool first = true;
    json_object_foreach(e->config, k, val)
    {
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
    if (!rc)
        rc = buf_putc(b, '}');
    if (!rc)
        rc = put_opt_str(b, "last_error", e->last_error);
    pthread_mutex_unlock(&e->lock);
    if (!rc)
        rc = buf_printf(b,
                        ",\"metrics\":{\"invocations\":%lld,\"errors\":%lld,\"throttles\":%lld,\"timeouts\":%lld,"
                        "\"cold_starts\":%lld,\"init_ms_last\":%.3f,\"init_ms_total\":%.3f,\"active\":%d,"
                        "\"duration_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f},\"queue_depth\":%zu,"
                        "\"dead_letters\":%lld}}",
                        (long long)ld(&e->invocations), (long long)ld(&e->errors), (long long)ld(&e->throttles),
                        (long long)ld(&e->timeouts), (long long)ld(&e->cold_starts), (double)ld(&e->init_ns_last) / 1e6,
                        (double)ld(&e->init_ns_total) / 1e6, atomic_load(&e->active), fn_hist_pct(e, 50),
                        fn_hist_pct(e, 95), fn_hist_pct(e, 99), reg->q ? fn_queue_depth(reg->q, e) : 0,
                        (long long)fn_dlq_count(reg, e->name));
    fn_version_release(v);
    return rc;
}

static fn_entry *entries_head(fn_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
    fn_entry *e = reg->entries;
    pthread_rwlock_unlock(&reg->lock);
    return e;
}

/* ---- handlers ---- */

static int send_buf(http_req *r, int status, buf *b)
{
    int rc = http_send_json(r, status, b->data ? b->data : "", b->len);
    buf_free(b);
    return rc;
}

static int read_obj(http_req *r, json_t **out)
{
    const char *body;
    size_t len;
    int rc = http_body(r, &body, &len);
    if (rc == BS_ETOOBIG)
        return http_error(r, 413, "PGRST413", "Payload Too Large", NULL, NULL), BS_ETOOBIG;
    *out = NULL;
    char why[JSONIN_MSG_MAX] = "";
    if (!rc && len) /* http_body read it under --max-body */
        jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, out, why, sizeof why);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return http_error(r, 400, "PGRST102", "the request body must be a JSON object", why[0] ? why : NULL, NULL),
               BS_EJSON;
    }
    return BS_OK;
}

static int patch_fn(http_req *r, fn_registry *reg, fn_entry *e)
{
    json_t *j;
    if (read_obj(r, &j))
        return BS_OK;
    int rc = BS_OK;
    const char *bad = NULL;
    int64_t t = e->timeout_ms, c = e->concurrency, rt = e->retries;
    bool enabled = e->enabled;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (strcmp(k, "timeout_ms") == 0) {
            if (json_is_null(v))
                t = -1;
            else if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= FN_MAX_TIMEOUT_MS)
                t = json_integer_value(v);
            else
                bad = "timeout_ms must be an integer from 1 to 900000, or null";
        } else if (strcmp(k, "concurrency") == 0) {
            if (json_is_null(v))
                c = -1;
            else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= FN_MAX_CONCURRENCY)
                c = json_integer_value(v);
            else
                bad = "concurrency must be an integer from 0 to 1024, or null";
        } else if (strcmp(k, "retries") == 0) {
            if (json_is_null(v))
                rt = -1;
            else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= FN_MAX_RETRIES)
                rt = json_integer_value(v);
            else
                bad = "retries must be an integer from 0 to 20, or null";
        } else if (strcmp(k, "enabled") == 0) {
            if (json_is_boolean(v))
                enabled = json_is_true(v);
            else
                bad = "enabled must be true or false";
        } else if (strcmp(k, "config") == 0) {
            if (!json_is_object(v)) {
                bad = "config must be an object of strings (null removes a key)";
            } else {
                const char *ck;
                json_t *cv;
                json_object_foreach(v, ck, cv) if (!json_is_string(cv) && !json_is_null(cv))
                    bad = "config values must be strings (null removes a key)";
            }
        } else {
            bad = "unknown setting: use timeout_ms, concurrency, retries, enabled or config";
        }
        if (bad)
            break;
    }
    if (bad) {
        json_decref(j);
        return http_error(r, 400, "PGRST100", bad, NULL, NULL);
    }
    pthread_mutex_lock(&e->lock);
    json_t *cfg = json_deep_copy(e->config);
    pthread_mutex_unlock(&e->lock);
    json_t *patch = json_object_get(j, "config");
    const char *ck;
    json_t *cv;
    json_object_foreach(patch, ck, cv)
    {
        if (json_is_null(cv))
            json_object_del(cfg, ck);
        else
            json_object_set(cfg, ck, cv);
    }
    save_arg s = {e->name, t, c, rt, enabled, json_dumps(cfg, JSON_COMPACT)};
    rc = s.config ? db_write(reg->app->store, w_save, &s) : BS_ENOMEM;
    free(s.config);
    json_decref(j);
    if (rc) {
        json_decref(cfg);
        return http_error(r, 500, "PGRST000", "could not save the settings", NULL, NULL);
    }
    pthread_mutex_lock(&e->lock);
    e->timeout_ms = t;
    e->concurrency = c;
    e->retries = rt;
    e->enabled = enabled;
    json_decref(e->config);
    e->config = cfg;
    pthread_mutex_unlock(&e->lock);
    fn_entry_refresh_limits(e);
    log_info("functions: settings of %s changed", e->name); /* values are not logged */
    fn_queue_kick(reg);
    buf b = BUF_INIT;
    rc = render_entry(reg, e, &b);
    return rc ? (buf_free(&b), rc) : send_buf(r, 200, &b);
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
    if (!pl) {
        rc = BS_ENOMEM;
    } else if (strcmp(type, "async") == 0) {
        char uid[40];
        rc = fn_queue_invoke(reg, e->name, pl, "", uid);
        if (!rc) {
            buf b = BUF_INIT;
            buf_printf(&b, "{\"job_id\":\"%s\",\"function\":", uid);
            buf_json_str(&b, e->name, strlen(e->name));
            buf_putc(&b, '}');
            rc = send_buf(r, 202, &b);
        } else {
            rc = http_error(r, 500, "PGRST000", "could not queue the job", basalt_strerror(rc), NULL);
        }
    } else if (strcmp(type, "sync") == 0) {
        basalt_invoke_event iv = {sizeof iv, pl, strlen(pl), ""};
        basalt_event ev = {.struct_size = sizeof ev, .kind = BASALT_EVENT_INVOKE, .invoke = &iv};
        fn_call call;
        memset(&call, 0, sizeof call);
        call.ev = &ev;
        call.job_id = "";
        call.attempt = 1;
        rc = fn_call_run(reg, e, &call);
        if (rc == BS_ENOTFOUND) {
            rc = http_error(r, 404, "PGRST202", "function is not loaded or is disabled", NULL, NULL);
        } else if (rc == BS_EBUSY) {
            rc = http_error(r, 429, "53300", "function is at its concurrency limit", NULL, NULL);
        } else if (call.timed_out) {
            rc = http_error(r, 504, "57014", "function timed out", NULL, NULL);
        } else if (call.res.err_type || call.rc != BASALT_OK) {
            buf b = BUF_INIT;
            const char *t = call.res.err_type ? call.res.err_type : "FunctionError";
            const char *m = call.res.err_msg ? call.res.err_msg : "the handler failed";
            buf_puts(&b, "{\"error\":");
            buf_json_str(&b, t, strlen(t));
            buf_puts(&b, ",\"message\":");
            buf_json_str(&b, m, strlen(m));
            buf_putc(&b, '}');
            rc = send_buf(r, call.res.status >= 400 ? call.res.status : 500, &b);
        } else {
            int st = call.res.status ? call.res.status : call.res.has_body ? 200 : 204;
            rc = http_send(r, st, call.res.ctype ? call.res.ctype : "application/json", call.res.body.data ? call.res.body.data : "",
                           call.res.body.len);
        }
        fn_call_done(&call);
    } else {
        rc = http_error(r, 400, "PGRST100", "type must be \"sync\" or \"async\"", NULL, NULL);
    }
    free(pl);
    json_decref(j);
    return rc;
}

static int logs_fn(http_req *r, fn_entry *e)
{
    const http_qparam *p;
    size_t n;
    long limit = 100;
    if (http_params(r, &p, &n) == BS_OK)
        for (size_t i = 0; i < n; i++)
            if (strcmp(p[i].key, "limit") == 0)
                limit = strtol(p[i].val, NULL, 10);
    if (limit < 1 || limit > FN_LOG_RING)
        limit = FN_LOG_RING;
    buf b = BUF_INIT;
    int rc = buf_puts(&b, "{\"function\":");
    if (!rc)
        rc = buf_json_str(&b, e->name, strlen(e->name));
    if (!rc)
        rc = buf_puts(&b, ",\"lines\":[");
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
    return rc ? (buf_free(&b), rc) : send_buf(r, 200, &b);
}

static int dlq_handle(http_req *r, fn_registry *reg, const char *rest)
{
    unsigned m = http_method(r);
    if (!*rest) {
        if (!(m & (HTTP_GET | HTTP_HEAD)))
            return http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
        const http_qparam *p;
        size_t n;
        const char *function = NULL;
        if (http_params(r, &p, &n) == BS_OK)
            for (size_t i = 0; i < n; i++)
                if (strcmp(p[i].key, "function") == 0)
                    function = p[i].val;
        buf b = BUF_INIT;
        int rc = fn_dlq_list(reg, function, &b);
        if (rc) {
            buf_free(&b);
            return http_error(r, 500, "PGRST000", "could not read the dead-letter queue", NULL, NULL);
        }
        return send_buf(r, 200, &b);
    }
    char id[64];
    const char *slash = strchr(rest, '/');
    size_t il = slash ? (size_t)(slash - rest) : strlen(rest);
    if (il == 0 || il >= sizeof id)
        return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
    memcpy(id, rest, il);
    id[il] = '\0';
    int rc;
    if (slash && strcmp(slash, "/redrive") == 0 && m == HTTP_POST) {
        rc = fn_dlq_redrive(reg, id);
        if (!rc) {
            buf b = BUF_INIT;
            buf_printf(&b, "{\"job_id\":\"%s\"}", id);
            return send_buf(r, 202, &b);
        }
    } else if (!slash && m == HTTP_DELETE) {
        rc = fn_dlq_delete(reg, id);
        if (!rc)
            return http_send(r, 204, NULL, NULL, 0);
    } else {
        return http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    }
    if (rc == BS_ENOTFOUND)
        return http_error(r, 404, "PGRST116", "no dead letter with that id", NULL, NULL);
    return http_error(r, 500, "PGRST000", basalt_strerror(rc), NULL, NULL);
}

int fn_admin_handle(http_req *r)
{
    fn_registry *reg = fn_global();
    if (!reg)
        return http_error(r, 503, "PGRST000", "functions are not running", NULL, NULL);
    const char *sub = http_subpath(r);
    unsigned m = http_method(r);
    if (!*sub) {
        if (!(m & (HTTP_GET | HTTP_HEAD)))
            return http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
        buf b = BUF_INIT;
        int rc = buf_putc(&b, '[');
        bool first = true;
        for (fn_entry *e = entries_head(reg); e && !rc; e = e->next) {
            if (!first)
                rc = buf_putc(&b, ',');
            first = false;
            if (!rc)
                rc = render_entry(reg, e, &b);
        }
        if (!rc)
            rc = buf_putc(&b, ']');
        return rc ? (buf_free(&b), rc) : send_buf(r, 200, &b);
    }
    if (strncmp(sub, "dlq", 3) == 0 && (sub[3] == '\0' || sub[3] == '/'))
        return dlq_handle(r, reg, sub[3] ? sub + 4 : "");
    const char *slash = strchr(sub, '/');
    char name[80];
    size_t nl = slash ? (size_t)(slash - sub) : strlen(sub);
    if (nl >= sizeof name)
        return http_error(r, 404, "PGRST202", "function not found", NULL, NULL);
    memcpy(name, sub, nl);
    name[nl] = '\0';
    fn_entry *e = fn_entry_find(reg, name);
    if (!e)
        return http_error(r, 404, "PGRST202", "function not found", NULL, NULL);
    const char *action = slash ? slash + 1 : "";
    if (!*action && (m & (HTTP_GET | HTTP_HEAD))) {
        buf b = BUF_INIT;
        int rc = render_entry(reg, e, &b);
        return rc ? (buf_free(&b), rc) : send_buf(r, 200, &b);
    }
    if (!*action && m == HTTP_PATCH)
        return patch_fn(r, reg, e);
    if (strcmp(action, "invoke") == 0 && m == HTTP_POST)
        return invoke_fn(r, reg, e);
    if (strcmp(action, "logs") == 0 && (m & (HTTP_GET | HTTP_HEAD)))
        return logs_fn(r, e);
    if (!*action || strcmp(action, "invoke") == 0 || strcmp(action, "logs") == 0)
        return http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
    return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
}

/* ---- metrics ---- */

int fn_metrics_render(buf *o)
{
    fn_registry *reg = fn_global();
    if (!reg)
        return BS_OK;
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"invocations", "Handler calls", offsetof(fn_entry, invocations)},
        {"errors", "Failed calls (errors and timeouts)", offsetof(fn_entry, errors)},
        {"throttles", "Sync calls refused at the concurrency limit (429)", offsetof(fn_entry, throttles)},
        {"timeouts", "Calls that outlived their timeout", offsetof(fn_entry, timeouts)},
        {"cold_starts", "Loads (dlopen + init)", offsetof(fn_entry, cold_starts)},
    };
    int rc = BS_OK;
    fn_entry *head = entries_head(reg);
    for (size_t c = 0; c < sizeof counters / sizeof counters[0] && !rc; c++) {
        rc = buf_printf(o, "# HELP basalt_function_%s_total %s.\n# TYPE basalt_function_%s_total counter\n",
                        counters[c].name, counters[c].help, counters[c].name);
        for (fn_entry *e = head; e && !rc; e = e->next)
            rc = buf_printf(o, "basalt_function_%s_total{function=\"%s\"} %lld\n", counters[c].name, e->name,
                            (long long)ld((atomic_uint_fast64_t *)((char *)e + counters[c].off)));
    }
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_function_init_seconds Duration of the last init (cold start).\n"
                         "# TYPE basalt_function_init_seconds gauge\n");
    for (fn_entry *e = head; e && !rc; e = e->next)
        rc = buf_printf(o, "basalt_function_init_seconds{function=\"%s\"} %.6f\n", e->name,
                        (double)ld(&e->init_ns_last) / 1e9);
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_function_duration_seconds Handler duration.\n"
                         "# TYPE basalt_function_duration_seconds histogram\n");
    const double *bounds = fn_hist_bounds();
    for (fn_entry *e = head; e && !rc; e = e->next) {
        uint64_t cum = 0;
        for (size_t b = 0; b < FN_HIST_BUCKETS && !rc; b++) {
            cum += (uint64_t)ld(&e->hist[b]);
            if (b < FN_HIST_BUCKETS - 1)
                rc = buf_printf(o, "basalt_function_duration_seconds_bucket{function=\"%s\",le=\"%g\"} %llu\n", e->name,
                                bounds[b] / 1e6, (unsigned long long)cum);
            else
                rc = buf_printf(o, "basalt_function_duration_seconds_bucket{function=\"%s\",le=\"+Inf\"} %llu\n",
                                e->name, (unsigned long long)cum);
        }
        if (!rc)
            rc = buf_printf(o, "basalt_function_duration_seconds_sum{function=\"%s\"} %.6f\n"
                               "basalt_function_duration_seconds_count{function=\"%s\"} %llu\n",
                            e->name, (double)ld(&e->dur_sum_us) / 1e6, e->name, (unsigned long long)cum);
    }
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_function_queue_depth Async jobs waiting.\n"
                         "# TYPE basalt_function_queue_depth gauge\n");
    for (fn_entry *e = head; e && !rc; e = e->next)
        rc = buf_printf(o, "basalt_function_queue_depth{function=\"%s\"} %zu\n", e->name,
                        reg->q ? fn_queue_depth(reg->q, e) : 0);
    if (!rc)
        rc = buf_puts(o, "# HELP basalt_function_dead_letters Jobs in the dead-letter queue.\n"
                         "# TYPE basalt_function_dead_letters gauge\n");
    for (fn_entry *e = head; e && !rc; e = e->next)
        rc = buf_printf(o, "basalt_function_dead_letters{function=\"%s\"} %lld\n", e->name,
                        (long long)fn_dlq_count(reg, e->name));
    return rc;
}

/* ---- start / stop ---- */

int fn_start(bs_app *app, struct fn_registry **out)
{
    *out = NULL;
    fn_registry *reg = &g_reg;
    memset(reg, 0, sizeof *reg);
    reg->app = app;
    reg->inotify_fd = -1;
    pthread_rwlock_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->load_lock, NULL);
    const char *env = getenv("BASALT_FN_BACKOFF_MS");
    reg->backoff_base_ms = env && atoll(env) > 0 ? atoll(env) : 1000;
    if (app->cfg->functions_dir)
        snprintf(reg->dir, sizeof reg->dir, "%s", app->cfg->functions_dir);
    else
        snprintf(reg->dir, sizeof reg->dir, "%s/functions", app->cfg->data_dir);
    snprintf(reg->tmpdir, sizeof reg->tmpdir, "%s/basalt-fn-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(reg->tmpdir)) {
        log_error("functions: cannot create a private load directory under /tmp");
        return BS_EIO;
    }
    atomic_store(&g_started, true);
    int rc = fn_loader_start(reg);
    if (!rc) {
        fn_queue *q;
        rc = fn_queue_start(reg, &q);
    }
    if (rc) {
        fn_stop(reg);
        return rc;
    }
    size_t n = 0;
    for (fn_entry *e = entries_head(reg); e; e = e->next)
        n += e->current != NULL;
    log_info("functions: %zu loaded from %s, %d workers", n, reg->dir, app->cfg->function_workers);
    *out = reg;
    return BS_OK;
}

void fn_stop(struct fn_registry *reg)
{
    if (!reg)
        return;
    fn_loader_stop(reg);
    pthread_rwlock_wrlock(&reg->lock);
    fn_queue *q = reg->q;
    reg->q = NULL;
    pthread_rwlock_unlock(&reg->lock);
    fn_queue_stop(q);
    pthread_rwlock_wrlock(&reg->lock);
    fn_trig *t = reg->trigs;
    size_t nt = reg->ntrigs;
    reg->trigs = NULL;
    reg->ntrigs = 0;
    fn_entry *e = reg->entries;
    reg->entries = NULL;
    pthread_rwlock_unlock(&reg->lock);
    atomic_store(&g_started, false);
    for (size_t i = 0; i < nt; i++) {
        free(t[i].source);
        free(t[i].prefix);
        free(t[i].suffix);
        free(t[i].filter);
    }
    free(t);
    while (e) {
        fn_entry *next = e->next;
        fn_version *v = e->current;
        e->current = NULL;
        fn_version_release(v);
        free(e->source);
        free(e->last_error);
        json_decref(e->config);
        for (size_t i = 0; i < FN_LOG_RING; i++)
            free(e->log[i]);
        pthread_mutex_destroy(&e->lock);
        pthread_mutex_destroy(&e->log_lock);
        free(e);
        e = next;
    }
    rmdir(reg->tmpdir);
}
