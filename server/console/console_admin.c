/* console_admin.c - the console's own admin API besides sign-in
 * (console_login.c): stats and keys, HTTP_CONSOLE routes (the service key
 * or a console session token).
 *
 * Stats read counts only from tables that exist (sqlite_master), so a
 * subsystem that is not built or not migrated reads 0.  Every SQL text here
 * is a constant; nothing from the request reaches SQL except bound values.
 */
#include "console/console.h"
#include "app/app.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "core/metrics.h"
#include "http/pgrst.h"
#include "realtime/rt_engine.h"

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- keys ---- */

int console_reply_json(http_req *r, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc =
        text ? http_send_json(r, 200, text, strlen(text)) : pgrst_reply(r, PGRST_INTERNAL, "out of memory", NULL, NULL);
    free(text);
    return rc;
}

int console_keys(http_req *r)
{
    bs_app *app = http_app(r);
    http_add_header(r, "Cache-Control", "no-store");
    return console_reply_json(r, json_pack("{s:s, s:s}", "anon", app->anon_key, "service_role", app->service_key));
}

/* ---- stats ---- */

static bool table_exists(db_conn *c, const char *name)
{
    static const char q[] = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?";
    sqlite3_stmt *st = db_stmt(c, q, sizeof q - 1, NULL);
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    db_stmt_done(st);
    return yes;
}

/* First two integer columns of a constant query on `table`; 0s when the
 * table does not exist. */
static void scalar2(db_conn *c, const char *table, const char *sql, int64_t *a, int64_t *b)
{
    *a = 0;
    if (b)
        *b = 0;
    if (!table_exists(c, table))
        return;
    sqlite3_stmt *st = db_stmt(c, sql, strlen(sql), NULL);
    if (!st)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *a = sqlite3_column_int64(st, 0);
        if (b)
            *b = sqlite3_column_int64(st, 1);
    }
    db_stmt_done(st);
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Deployed plugins: *.so files in the functions directory. */
static int64_t count_plugins(const bs_config *cfg)
{
    char dir[4096];
    if (cfg->functions_dir)
        snprintf(dir, sizeof dir, "%s", cfg->functions_dir);
    else
        snprintf(dir, sizeof dir, "%s/functions", cfg->data_dir);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 3 && strcmp(e->d_name + l - 3, ".so") == 0 && e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

/* The value of a Prometheus line "name value" in text, or 0. */
static int64_t prom_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
    return 0;
}

static double p99_ms(const metrics_totals *t)
{
    uint64_t total = 0;
    for (size_t b = 0; b <= t->nbounds; b++)
        total += t->lat_count[b];
    if (!total)
        return 0;
    uint64_t want = total - total / 100, cum = 0; /* ceil(0.99 * total) for small totals */
    for (size_t b = 0; b < t->nbounds; b++) {
        cum += t->lat_count[b];
        if (cum >= want)
            return t->bounds_s[b] * 1000;
    }
    return t->bounds_s[t->nbounds - 1] * 1000;
}

int console_stats(http_req *r)
{
    bs_app *app = http_app(r);
    const bs_config *cfg = app->cfg;
    db_conn *c = db_reader(app->store);
    if (!c)
        return pgrst_reply(r, PGRST_UNAVAILABLE, "database unavailable", NULL, NULL);
    int64_t colls, users, objects, obj_bytes, buckets, dlq;
    scalar2(c, "_basalt_collections", "SELECT count(*) FROM _basalt_collections", &colls, NULL);
    scalar2(c, "_basalt_users", "SELECT count(*) FROM _basalt_users", &users, NULL);
    scalar2(c, "_basalt_objects", "SELECT count(*), coalesce(sum(size), 0) FROM _basalt_objects", &objects, &obj_bytes);
    scalar2(c, "_basalt_buckets", "SELECT count(*) FROM _basalt_buckets", &buckets, NULL);
    scalar2(c, "_basalt_fn_dlq", "SELECT count(*) FROM _basalt_fn_dlq", &dlq, NULL);
    int64_t functions = count_plugins(cfg);
    char path[4200];
    snprintf(path, sizeof path, "%s/basalt.db", cfg->data_dir);
    int64_t db_bytes = file_size(path);
    snprintf(path, sizeof path, "%s/basalt.db-wal", cfg->data_dir);
    int64_t wal_bytes = file_size(path);
    int64_t rt_conns = 0, rt_chans = 0;
    if (app->rt) {
        buf m = BUF_INIT;
        if (rt_metrics_render(app->rt, &m) == BS_OK && m.len) {
            rt_conns = prom_value(buf_cstr(&m), "basalt_realtime_connections");
            rt_chans = prom_value(buf_cstr(&m), "basalt_realtime_channels");
        }
        buf_free(&m);
    }
    metrics_totals t;
    metrics_get_totals(&t);
    int64_t now = time_now_ms();
    char started[32];
    time_iso_ms(app->started_ms, started);
    buf o = BUF_INIT;
    int rc = buf_printf(
        &o,
        "{\"version\":\"%s\",\"started_at\":\"%s\",\"uptime_s\":%lld,\"now_ms\":%lld,"
        "\"data\":{\"db_bytes\":%lld,\"wal_bytes\":%lld,\"storage_bytes\":%lld,\"total_bytes\":%lld},"
        "\"counts\":{\"collections\":%lld,\"users\":%lld,\"buckets\":%lld,\"objects\":%lld,\"functions\":%lld,"
        "\"dead_letters\":%lld},"
        "\"realtime\":{\"enabled\":%s,\"connections\":%lld,\"channels\":%lld},"
        "\"requests\":{\"total\":%llu,\"errors\":%llu,\"client_errors\":%llu,\"p99_ms\":%g,\"latency_sum_s\":%.6f,"
        "\"latency_bounds_ms\":[",
        BASALT_VERSION, started, (long long)((now - app->started_ms) / 1000), (long long)now, (long long)db_bytes,
        (long long)wal_bytes, (long long)obj_bytes, (long long)(db_bytes + wal_bytes + obj_bytes), (long long)colls,
        (long long)users, (long long)buckets, (long long)objects, (long long)functions, (long long)dlq,
        app->rt ? "true" : "false", (long long)rt_conns, (long long)rt_chans, (unsigned long long)t.requests,
        (unsigned long long)t.errors, (unsigned long long)t.client_errors, p99_ms(&t), t.lat_sum_s);
    for (size_t b = 0; b < t.nbounds && !rc; b++)
        rc = buf_printf(&o, "%s%g", b ? "," : "", t.bounds_s[b] * 1000);
    if (!rc)
        rc = buf_puts(&o, "],\"latency_counts\":[");
    for (size_t b = 0; b <= t.nbounds && !rc; b++)
        rc = buf_printf(&o, "%s%llu", b ? "," : "", (unsigned long long)t.lat_count[b]);
    if (!rc)
        rc = buf_puts(&o, "]}}");
    http_add_header(r, "Cache-Control", "no-store");
    rc = rc ? pgrst_reply(r, PGRST_INTERNAL, "out of memory", NULL, NULL) : http_send_json(r, 200, o.data, o.len);
    buf_free(&o);
    return rc;
}
