/* console_admin.c - the console's own admin API: login, stats, keys.
 *
 * Login checks an admin account of _basalt_admins (migrations/0006_admin.sql,
 * made by `basalt admin create`) with auth/password.h and answers a
 * service_role JWT marked "admin": true.  An unknown email still costs one
 * password verification (against a dummy hash) so timing does not tell
 * which emails exist.  Failed attempts are counted per client address in a
 * small fixed table (bounded memory whatever the number of clients); past
 * CONSOLE_LOGIN_MAX_FAILS in CONSOLE_LOGIN_WINDOW_MS the address gets 429
 * with Retry-After until the window ends, even with the right password.
 * An attempt is counted (check and count under one lock) before its
 * password is verified and given back only when it succeeds, so parallel
 * wrong logins from one address get at most CONSOLE_LOGIN_MAX_FAILS
 * password verifications per window, not one per request in flight.
 *
 * Stats read counts only from tables that exist (sqlite_master), so a
 * subsystem that is not built or not migrated reads 0.  Every SQL text here
 * is a constant; nothing from the request reaches SQL except bound values.
 */
#include "core/jwt.h"
#include "app/app.h"
#include "core/password.h"
#include "console/console.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "core/metrics.h"
#include "realtime/rt_engine.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- failed-login limiter ---- */

#define RL_SLOTS 1024
#define RL_WAYS 4
#define RL_KEY 64

typedef struct rl_slot {
    char key[RL_KEY];
    int fails;
    int64_t window_start;
} rl_slot;

static rl_slot rl_table[RL_SLOTS];
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t rl_hash(const char *k)
{
    size_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

/* The slot of key (lock held); with create, a fresh or the stalest way. */
static rl_slot *rl_find(const char *key, bool create, int64_t now)
{
    size_t base = rl_hash(key) % RL_SLOTS;
    rl_slot *victim = NULL;
    for (size_t w = 0; w < RL_WAYS; w++) {
        rl_slot *s = &rl_table[(base + w) % RL_SLOTS];
        if (strcmp(s->key, key) == 0)
            return s;
        if (!victim || s->window_start < victim->window_start)
            victim = s;
    }
    if (!create)
        return NULL;
    snprintf(victim->key, sizeof victim->key, "%s", key);
    victim->fails = 0;
    victim->window_start = now;
    return victim;
}

/* Count an attempt of key as failed before it is checked.  Returns 0 when
 * it may go on (*window receives the window it was counted in, for
 * rl_refund), else the seconds until key may try again. */
static int64_t rl_take(const char *key, int64_t now, int64_t *window)
{
    pthread_mutex_lock(&rl_lock);
    rl_slot *s = rl_find(key, true, now);
    if (now - s->window_start >= CONSOLE_LOGIN_WINDOW_MS) {
        s->fails = 0;
        s->window_start = now;
    }
    int64_t wait = 0;
    if (s->fails >= CONSOLE_LOGIN_MAX_FAILS)
        wait = (s->window_start + CONSOLE_LOGIN_WINDOW_MS - now + 999) / 1000;
    else
        s->fails++;
    *window = s->window_start;
    pthread_mutex_unlock(&rl_lock);
    return wait; /* >= 1 when blocked: the window has not ended */
}

/* The attempt counted by rl_take succeeded: give it back (unless its
 * window has ended or its slot went to another address meanwhile). */
static void rl_refund(const char *key, int64_t window)
{
    pthread_mutex_lock(&rl_lock);
    rl_slot *s = rl_find(key, false, 0);
    if (s && s->window_start == window && s->fails > 0)
        s->fails--;
    pthread_mutex_unlock(&rl_lock);
}

/* ---- login ---- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void make_dummy(void)
{
    if (auth_password_hash("basalt-console-dummy", 20, &dummy_hash) != BS_OK)
        dummy_hash = NULL;
}

typedef struct signin_arg {
    const char *id;
    int64_t now;
} signin_arg;

static int record_signin(db_conn *w, void *arg)
{
    signin_arg *a = arg;
    static const char q[] = "UPDATE _basalt_admins SET last_sign_in_at = ? WHERE id = ?";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, a->now);
    sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc;
}

static int bad_credentials(http_req *r)
{
    return http_error(r, 400, "invalid_credentials", "Invalid login credentials", NULL, NULL);
}

/* Count the attempt of ip; false (after answering 429) when over the
 * limit. */
static bool login_allowed(http_req *r, const char *ip, int64_t now, int64_t *window)
{
    int64_t wait = rl_take(ip, now, window);
    if (!wait)
        return true;
    char ra[32];
    snprintf(ra, sizeof ra, "%lld", (long long)wait);
    http_add_header(r, "Retry-After", ra);
    http_error(r, 429, "over_request_rate_limit", "Too many failed sign-in attempts: try again later", NULL, NULL);
    return false;
}

/* Sign the admin token of id and answer it. */
static int send_login(http_req *r, const char *id, const char *email, int64_t now)
{
    bs_app *app = http_app(r);
    char *token = NULL;
    int64_t now_s = now / 1000;
    json_t *claims = json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:I}", "iss", "basalt", "role", "service_role", "admin",
                               1, "sub", id, "email", email, "iat", (json_int_t)now_s, "exp",
                               (json_int_t)(now_s + CONSOLE_TOKEN_TTL_S));
    int sr = claims ? auth_jwt_sign(app->jwt, claims, &token) : BS_ENOMEM;
    json_decref(claims);
    if (sr != BS_OK)
        return http_error(r, 500, "PGRST000", "could not sign the token", NULL, NULL);
    buf o = BUF_INIT;
    int brc = buf_puts(&o, "{\"access_token\":");
    if (!brc)
        brc = buf_json_str(&o, token, strlen(token));
    if (!brc)
        brc = buf_printf(&o, ",\"token_type\":\"bearer\",\"expires_in\":%d,\"expires_at\":%lld,\"admin\":{\"id\":",
                         CONSOLE_TOKEN_TTL_S, (long long)(now_s + CONSOLE_TOKEN_TTL_S));
    if (!brc)
        brc = buf_json_str(&o, id, strlen(id));
    if (!brc)
        brc = buf_puts(&o, ",\"email\":");
    if (!brc)
        brc = buf_json_str(&o, email, strlen(email));
    if (!brc)
        brc = buf_puts(&o, "}}");
    int rc = brc ? http_error(r, 500, "PGRST000", "out of memory", NULL, NULL) : http_send_json(r, 200, o.data, o.len);
    buf_free(&o);
    free(token);
    return rc;
}

int console_login(http_req *r)
{
    bs_app *app = http_app(r);
    const char *ip = http_remote_addr(r);
    if (!ip)
        ip = "?";
    int64_t now = time_now_ms(), window = 0;
    json_t *body = NULL;
    char *id = NULL, *hash = NULL;
    int rc = BS_OK;
    char msg[256];
    int prc = http_body_json(r, 0, &body, msg, sizeof msg);
    if (prc == BS_ETOOBIG) {
        rc = http_error(r, 413, "PGRST413", "Payload Too Large", NULL, NULL);
        goto out;
    }
    if (prc) {
        rc = http_error(r, 400, "PGRST102", "Empty or invalid json", msg, NULL);
        goto out;
    }
    const char *email = json_string_value(json_object_get(body, "email"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    if (!json_is_object(body) || !email || !pw || !*email || !*pw) {
        rc = http_error(r, 400, "validation_failed", "\"email\" and \"password\" are required", NULL, NULL);
        goto out;
    }
    if (!login_allowed(r, ip, now, &window))
        goto out;
    size_t el = strlen(email);
    if (el > 320) {
        rc = bad_credentials(r);
        goto out;
    }
    char lower[321];
    for (size_t i = 0; i <= el; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    db_conn *c = db_reader(app->store);
    static const char q[] = "SELECT id, password_hash FROM _basalt_admins WHERE email = ?";
    sqlite3_stmt *st = c ? db_stmt(c, q, sizeof q - 1, NULL) : NULL;
    if (!st) {
        rl_refund(ip, window); /* no password was tried */
        rc = http_error(r, 503, "PGRST000", "could not read admin accounts", NULL, NULL);
        goto out;
    }
    sqlite3_bind_text(st, 1, lower, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        id = strdup((const char *)sqlite3_column_text(st, 0));
        hash = strdup((const char *)sqlite3_column_text(st, 1));
    }
    db_stmt_done(st);
    bool ok = false;
    if (id && hash) {
        auth_password_verify(pw, strlen(pw), hash, &ok, NULL);
    } else {
        pthread_once(&dummy_once, make_dummy);
        if (dummy_hash)
            auth_password_verify(pw, strlen(pw), dummy_hash, &ok, NULL);
        ok = false;
    }
    if (!ok) {
        rc = bad_credentials(r);
        goto out;
    }
    rl_refund(ip, window);
    signin_arg sa = {id, now};
    if (db_write(app->store, record_signin, &sa) != BS_OK)
        log_warn("console: could not record the sign-in of admin %s", id);
    rc = send_login(r, id, lower, now);
out:
    json_decref(body);
    free(id);
    free(hash);
    return rc;
}

/* ---- keys ---- */

int console_keys(http_req *r)
{
    bs_app *app = http_app(r);
    buf o = BUF_INIT;
    int rc = buf_puts(&o, "{\"anon\":");
    if (!rc)
        rc = buf_json_str(&o, app->anon_key, strlen(app->anon_key));
    if (!rc)
        rc = buf_puts(&o, ",\"service_role\":");
    if (!rc)
        rc = buf_json_str(&o, app->service_key, strlen(app->service_key));
    if (!rc)
        rc = buf_putc(&o, '}');
    http_add_header(r, "Cache-Control", "no-store");
    rc = rc ? http_error(r, 500, "PGRST000", "out of memory", NULL, NULL) : http_send_json(r, 200, o.data, o.len);
    buf_free(&o);
    return rc;
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
        return http_error(r, 503, "PGRST000", "database unavailable", NULL, NULL);
    int64_t colls, users, objects, obj_bytes, buckets, dlq;
    scalar2(c, "_basalt_collections", "SELECT count(*) FROM _basalt_collections", &colls, NULL);
    scalar2(c, "_basalt_users", "SELECT count(*) FROM _basalt_users", &users, NULL);
    scalar2(c, "_basalt_objects", "SELECT count(*), coalesce(sum(size), 0) FROM _basalt_objects", &objects,
            &obj_bytes);
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
    rc = rc ? http_error(r, 500, "PGRST000", "out of memory", NULL, NULL) : http_send_json(r, 200, o.data, o.len);
    buf_free(&o);
    return rc;
}
