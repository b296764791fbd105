/* rt_auth.c - authorization of private channels (docs/REALTIME.md,
 * "Private channels"), Basalt's version of Supabase's RLS on
 * realtime.messages.
 *
 * One rule set {"select": "...", "insert": "..."} in the rules language,
 * over realtime.topic (the channel name, without "realtime:"),
 * realtime.extension ('broadcast' or 'presence'), realtime.presence_key
 * and auth.*.  It is stored in _basalt_realtime_rules and compiled once:
 * at start and when the admin API changes it (rt_rules_set: commit, then
 * install, then re-check every joined private channel).  Rules are
 * evaluated in C; nothing here builds SQL.
 *
 * Decisions (service_role passes every one; no rule means closed):
 *   join, receive   select, asked for broadcast and for presence: a channel
 *                   is joined when either holds and receives only what holds
 *   send            insert, extension broadcast, on every send (REST too)
 *   track           insert, extension presence, with presence_key = the key;
 *                   and, unless the insert rule reads realtime.presence_key,
 *                   a caller with a uid tracks only under that uid
 *
 * Locking: e->rules_mu guards e->rules and e->rules_ver; it is a leaf and
 * may be taken under e->lock.  Evaluation holds a reference, not the lock.
 */
#include "realtime/rt_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a stored set into sel/ins (NULL: no rule, or one that does not
 * parse: closed, logged). */
static void compile(json_t *set, rules_expr **sel, rules_expr **ins)
{
    static const char *const ops[2] = {"select", "insert"};
    rules_expr **out[2] = {sel, ins};
    for (int i = 0; i < 2; i++) {
        *out[i] = NULL;
        const char *text = json_string_value(json_object_get(set, ops[i]));
        rules_error err;
        if (text && rules_parse_realtime(text, out[i], &err) != BS_OK) {
            log_warn("realtime: stored %s rule does not parse (%s at %d): closed", ops[i], err.message, err.pos);
            *out[i] = NULL;
        }
    }
}

/* Install a compiled set made at version ver (newer wins). */
static void install(rt_engine *e, json_t *set, int64_t ver)
{
    rules_expr *sel, *ins;
    compile(set, &sel, &ins);
    pthread_mutex_lock(&e->rules_mu);
    if (ver > e->rules_ver) {
        rules_expr *old_sel = (rules_expr *)e->rules[0], *old_ins = (rules_expr *)e->rules[1];
        e->rules[0] = sel;
        e->rules[1] = ins;
        e->rules_ver = ver;
        sel = old_sel;
        ins = old_ins;
    }
    pthread_mutex_unlock(&e->rules_mu);
    rules_free(sel);
    rules_free(ins);
}

/* The stored set on conn: a new reference (an empty object when the row
 * holds no valid JSON), or NULL on a read error. */
static json_t *stored(db_conn *conn)
{
    const char *q = "SELECT rules FROM _basalt_realtime_rules WHERE id = 1";
    sqlite3_stmt *st = db_stmt(conn, q, strlen(q), NULL);
    if (!st)
        return NULL;
    int step = sqlite3_step(st);
    json_t *set = NULL;
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        set = t ? json_loads(t, 0, NULL) : NULL;
        if (!json_is_object(set)) {
            json_decref(set);
            set = json_object();
        }
    } else if (step == SQLITE_DONE) {
        set = json_object();
    }
    db_stmt_done(st);
    return set;
}

void rt_auth_reload(rt_engine *e, db_conn *w)
{
    json_t *set = stored(w);
    if (set)
        install(e, set, ++e->rules_next_ver);
    json_decref(set);
}

int rt_auth_load(rt_engine *e)
{
    db_conn *conn = db_reader(e->app->store);
    json_t *set = conn ? stored(conn) : NULL;
    db_reader_release();
    if (!set)
        return BS_EDB;
    e->rules_next_ver = 1; /* before the store's hooks can run */
    install(e, set, e->rules_next_ver);
    json_decref(set);
    return BS_OK;
}

void rt_auth_free(rt_engine *e)
{
    rules_free((rules_expr *)e->rules[0]);
    rules_free((rules_expr *)e->rules[1]);
    e->rules[0] = e->rules[1] = NULL;
}

static const rules_expr *rule_get(rt_engine *e, int i)
{
    pthread_mutex_lock(&e->rules_mu);
    const rules_expr *r = rules_retain(e->rules[i]);
    pthread_mutex_unlock(&e->rules_mu);
    return r;
}

static bool is_service(const auth_claims *who) { return who && strcmp(who->role, "service_role") == 0; }

void rt_auth_read(rt_engine *e, const auth_claims *who, const char *topic, bool *bcast, bool *pres)
{
    if (is_service(who)) {
        *bcast = *pres = true;
        return;
    }
    const rules_expr *sel = rule_get(e, 0);
    rules_realtime rt = {rt_chan_name(topic), "broadcast", NULL};
    rules_env env = {.auth = who, .realtime = &rt};
    *bcast = rules_eval(sel, &env);
    rt.extension = "presence";
    *pres = rules_eval(sel, &env);
    rules_free((rules_expr *)sel);
}

int rt_auth_write(rt_engine *e, const auth_claims *who, const char *topic, const char *extension,
                  const char *presence_key)
{
    if (is_service(who))
        return RT_AUTH_OK;
    const rules_expr *ins = rule_get(e, 1);
    rules_realtime rt = {rt_chan_name(topic), extension, presence_key};
    rules_env env = {.auth = who, .realtime = &rt};
    int a = rules_eval(ins, &env) ? RT_AUTH_OK : RT_AUTH_DENIED;
    /* a signed-in caller's presence is bound to its uid unless the rule
     * decides keys itself */
    if (a == RT_AUTH_OK && presence_key && who && who->sub[0] && !rules_uses_presence_key(ins) &&
        strcmp(presence_key, who->sub) != 0)
        a = RT_AUTH_KEY;
    rules_free((rules_expr *)ins);
    return a;
}

/* ---- changes through the admin API ---- */

typedef struct set_op {
    rt_engine *e;
    json_t *patch;
    bool replace;
    json_t *merged;   /* out */
    int64_t ver;      /* out: commit order */
    buf *msg, *details;
} set_op;

static int run_set(db_conn *w, void *arg)
{
    set_op *o = arg;
    json_t *cur = o->replace ? json_object() : stored(w);
    if (!cur)
        return BS_EDB;
    int rc = rules_realtime_merge(o->replace ? NULL : cur, o->patch, &o->merged, o->msg, o->details);
    json_decref(cur);
    if (rc)
        return rc;
    char *text = json_dumps(o->merged, JSON_COMPACT);
    if (!text)
        return BS_ENOMEM;
    const char *q = "UPDATE _basalt_realtime_rules SET rules = ?, updated_at = ? WHERE id = 1";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), o->msg);
    rc = BS_EDB;
    if (st) {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, time_now_ms());
        rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db_conn_handle(w)) == 1 ? BS_OK : BS_EDB;
        db_stmt_done(st);
    }
    free(text);
    if (!rc)
        o->ver = ++o->e->rules_next_ver; /* the writer thread, like rt_auth_reload */
    return rc;
}

int rt_rules_get(rt_engine *e, json_t **out)
{
    db_conn *conn = db_reader(e->app->store);
    *out = conn ? stored(conn) : NULL;
    return *out ? BS_OK : BS_EDB;
}

int rt_rules_set(rt_engine *e, json_t *patch, bool replace, json_t **out, buf *msg, buf *details)
{
    *out = NULL;
    set_op o = {.e = e, .patch = patch, .replace = replace, .msg = msg, .details = details};
    int rc = db_write(e->app->store, run_set, &o);
    if (rc) {
        json_decref(o.merged);
        return rc;
    }
    install(e, o.merged, o.ver);
    rt_auth_recheck_all(e);
    *out = o.merged;
    return BS_OK;
}
