/* fn_settings.c - a function's admin settings (timeout, concurrency,
 * retries, enabled, config values): checked from a PATCH body, stored in
 * _basalt_fn_settings (they survive restarts and reloads) and applied to
 * the entry.  Config values are never logged. */
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t column_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

int fn_settings_load(fn_registry *reg, fn_entry *e)
{
    static const char q[] =
        "SELECT timeout_ms, concurrency, retries, enabled, config FROM _basalt_fn_settings WHERE name = ?";
    const db_bind v[] = {fn_sql_text(e->name)};
    sqlite3_stmt *st = fn_sql_query(reg->app ? reg->app->store : NULL, q, sizeof q - 1, v, 1);
    if (!st)
        return BS_EDB;
    if (sqlite3_step(st) == SQLITE_ROW) {
        e->timeout_ms = column_opt(st, 0);
        e->concurrency = column_opt(st, 1);
        e->retries = column_opt(st, 2);
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

/* ---- checking a PATCH ---- */

static const struct {
    const char *key;
    size_t off; /* in fn_settings */
    int64_t min, max;
    const char *bad;
} limits[] = {
    {"timeout_ms", offsetof(fn_settings, timeout_ms), 1, FN_MAX_TIMEOUT_MS,
     "timeout_ms must be an integer from 1 to 900000, or null"},
    {"concurrency", offsetof(fn_settings, concurrency), 0, FN_MAX_CONCURRENCY,
     "concurrency must be an integer from 0 to 1024, or null"},
    {"retries", offsetof(fn_settings, retries), 0, FN_MAX_RETRIES, "retries must be an integer from 0 to 20, or null"},
};

static const char *parse_config(json_t *v)
{
    if (!json_is_object(v))
        return "config must be an object of strings (null removes a key)";
    const char *k;
    json_t *cv;
    json_object_foreach (v, k, cv) {
        if (!json_is_string(cv) && !json_is_null(cv))
            return "config values must be strings (null removes a key)";
    }
    return NULL;
}

/* One member of the body: NULL, or why it is refused. */
static const char *parse_member(const char *k, json_t *v, fn_settings *s)
{
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (strcmp(k, limits[i].key) != 0)
            continue;
        int64_t *field = (int64_t *)((char *)s + limits[i].off);
        if (json_is_null(v))
            *field = -1;
        else if (json_is_integer(v) && json_integer_value(v) >= limits[i].min && json_integer_value(v) <= limits[i].max)
            *field = json_integer_value(v);
        else
            return limits[i].bad;
        return NULL;
    }
    if (strcmp(k, "enabled") == 0) {
        if (!json_is_boolean(v))
            return "enabled must be true or false";
        s->enabled = json_is_true(v);
        return NULL;
    }
    if (strcmp(k, "config") == 0)
        return parse_config(v);
    return "unknown setting: use timeout_ms, concurrency, retries, enabled or config";
}

const char *fn_settings_parse(fn_entry *e, json_t *body, fn_settings *out)
{
    pthread_mutex_lock(&e->lock);
    *out = (fn_settings){e->timeout_ms, e->concurrency, e->retries, e->enabled};
    pthread_mutex_unlock(&e->lock);
    const char *k;
    json_t *v;
    json_object_foreach (body, k, v) {
        const char *bad = parse_member(k, v, out);
        if (bad)
            return bad;
    }
    return NULL;
}

/* ---- storing and applying ---- */

typedef struct save_arg {
    const char *name;
    const fn_settings *s;
    char *config;
} save_arg;

static int w_save(db_conn *w, void *arg)
{
    save_arg *a = arg;
    static const char q[] = "INSERT INTO _basalt_fn_settings(name, timeout_ms, concurrency, retries, enabled, config, "
                            "updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(name) DO UPDATE SET "
                            "timeout_ms=?2, concurrency=?3, retries=?4, enabled=?5, config=?6, updated_at=?7";
    char now[32];
    time_iso_now(now);
    const db_bind v[] = {fn_sql_text(a->name),      fn_sql_opt(a->s->timeout_ms), fn_sql_opt(a->s->concurrency),
                         fn_sql_opt(a->s->retries), fn_sql_int(a->s->enabled),    fn_sql_text(a->config),
                         fn_sql_text(now)};
    return fn_sql_run(w, q, sizeof q - 1, v, FN_COUNT(v), NULL);
}

/* e's config with patch's changes (a new object; NULL on ENOMEM). */
static json_t *patched_config(fn_entry *e, json_t *patch)
{
    pthread_mutex_lock(&e->lock);
    json_t *cfg = json_deep_copy(e->config);
    pthread_mutex_unlock(&e->lock);
    const char *k;
    json_t *v;
    json_object_foreach (patch, k, v) {
        if (json_is_null(v))
            json_object_del(cfg, k);
        else
            json_object_set(cfg, k, v);
    }
    return cfg;
}

int fn_settings_save(fn_registry *reg, fn_entry *e, const fn_settings *s, json_t *config_patch)
{
    json_t *cfg = patched_config(e, config_patch);
    save_arg a = {e->name, s, cfg ? json_dumps(cfg, JSON_COMPACT) : NULL};
    int rc = a.config ? db_write(reg->app->store, w_save, &a) : BS_ENOMEM;
    free(a.config);
    if (rc) {
        json_decref(cfg);
        return rc;
    }
    pthread_mutex_lock(&e->lock);
    e->timeout_ms = s->timeout_ms;
    e->concurrency = s->concurrency;
    e->retries = s->retries;
    e->enabled = s->enabled;
    json_decref(e->config);
    e->config = cfg;
    pthread_mutex_unlock(&e->lock);
    fn_entry_refresh_limits(e);
    log_info("functions: settings of %s changed", e->name); /* values are not logged */
    return BS_OK;
}
