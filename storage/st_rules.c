/* st_rules.c - access rules on storage objects.
 *
 * A bucket stores {"select": "...", "insert": "...", "update": "...",
 * "delete": "..."} in the rules language of server/rules/rules.h, over
 *   object.bucket, object.name, object.owner, object.size,
 *   object.content_type, object.metadata.<path>, object.path[N]
 * and auth.*.  service_role bypasses rules.  Without a rule for an
 * operation: select is open on public buckets, everything else is closed
 * (service_role only).  Which rule an endpoint checks:
 *   download, info, exists, list, sign     select
 *   upload of a new key, copy destination  insert
 *   overwrite (upsert, update)             update, on the old and the new object
 *   remove                                 delete
 *   move                                   delete on the source, insert on the destination
 * Rules are parsed when used (a parse is microseconds; list parses once
 * per request), so a change through the admin API or a migration takes
 * effect with the next request.
 *
 * Also here: the SQL functions app migrations call,
 *   basalt_create_bucket(id[, spec_json])
 *   basalt_set_bucket_rules(id, rules_json)
 */
#include "storage/st_int.h"
#include "storage/st_bucket.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "db/migrate.h"

#include <stdio.h>
#include <string.h>

static const char *const op_names[RULES_NOPS] = {"select", "insert", "update", "delete"};

static json_t *object_json(const st_object *o)
{
    json_t *j = json_object();
    json_t *path = json_array();
    if (!j || !path) {
        json_decref(j);
        json_decref(path);
        return NULL;
    }
    const char *n = o->name;
    while (n && *n) {
        const char *slash = strchr(n, '/');
        size_t len = slash ? (size_t)(slash - n) : strlen(n);
        json_array_append_new(path, json_stringn(n, len));
        n += len + (slash ? 1 : 0);
    }
    json_object_set_new(j, "bucket", json_string(o->bucket));
    json_object_set_new(j, "name", json_string(o->name));
    json_object_set_new(j, "owner", o->owner && *o->owner ? json_string(o->owner) : json_null());
    json_object_set_new(j, "size", json_integer(o->size));
    json_object_set_new(j, "content_type", o->content_type ? json_string(o->content_type) : json_null());
    json_t *md = NULL;
    /* admitted by st_parse_metadata; the check also covers rows written
     * before that existed, since this runs on a worker's stack */
    if (o->metadata)
        jsonin_parses(o->metadata, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &md, NULL, 0);
    json_object_set_new(j, "metadata", md ? md : json_null());
    json_object_set_new(j, "path", path);
    return j;
}

bool st_allowed(const st_bucket *b, const auth_claims *caller, rules_op op, const st_object *o)
{
    if (caller && strcmp(caller->role, "service_role") == 0)
        return true;
    const char *text = json_string_value(json_object_get(b->rules, op_names[op]));
    if (!text)
        return op == RULES_SELECT && b->public_;
    rules_expr *e = NULL;
    rules_error err;
    if (rules_parse(text, &e, &err) != BS_OK) {
        log_warn("storage: bucket %s: stored %s rule does not parse (%s at %d): denying", b->id, op_names[op],
                 err.message, err.pos);
        return false;
    }
    json_t *obj = object_json(o);
    rules_env env = {caller, NULL, NULL, obj, NULL};
    bool ok = obj && rules_eval(e, &env);
    json_decref(obj);
    rules_free(e);
    return ok;
}

int st_rules_merge(json_t *current, json_t *patch, json_t **out, buf *msg)
{
    *out = NULL;
    if (!json_is_object(patch)) {
        buf_puts(msg, "rules must be a JSON object of operation -> rule text");
        return BS_EINVAL;
    }
    json_t *m = current ? json_deep_copy(current) : json_object();
    if (!m)
        return BS_ENOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        int op = -1;
        for (int i = 0; i < RULES_NOPS; i++)
            if (strcmp(k, op_names[i]) == 0)
                op = i;
        if (op < 0) {
            buf_printf(msg, "unknown operation \"%.40s\": use select, insert, update or delete", k);
            json_decref(m);
            return BS_EINVAL;
        }
        if (json_is_null(v)) {
            json_object_del(m, k);
            continue;
        }
        if (!json_is_string(v)) {
            buf_printf(msg, "rule for %s must be a string or null", k);
            json_decref(m);
            return BS_EINVAL;
        }
        rules_expr *e = NULL;
        rules_error err;
        if (rules_parse(json_string_value(v), &e, &err) != BS_OK) {
            buf_printf(msg, "rule for %s: %s at position %d", k, err.message, err.pos);
            json_decref(m);
            return BS_EINVAL;
        }
        rules_free(e);
        json_object_set(m, k, v);
    }
    *out = m;
    return BS_OK;
}

/* ---- SQL functions for app migrations ---- */

static void fn_create_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    db_conn *w = sqlite3_user_data(ctx);
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    /* no spec, or NULL: the defaults */
    bool given = argc > 1 && sqlite3_value_type(argv[1]) != SQLITE_NULL;
    json_t *spec = given ? db_migrate_fn_json(argv[1]) : json_object();
    json_t *rules = NULL;
    buf msg = BUF_INIT;
    st_bucket_spec sp;
    int rc = BS_EINVAL;
    if (!id || !json_is_object(spec)) {
        buf_puts(&msg, "spec must be a JSON object");
    } else if ((rc = st_bucket_spec_parse(spec, &sp, &msg)) == BS_OK) {
        json_t *r = json_object_get(spec, "rules");
        if (r)
            rc = st_rules_merge(NULL, r, &rules, &msg);
        char *rt = rules ? json_dumps(rules, JSON_COMPACT) : NULL;
        if (rc == BS_OK)
            rc = st_bucket_insert(w, id, &sp, NULL, rt, &msg);
        free(rt);
    }
    db_migrate_fn_result(ctx, "basalt_create_bucket", rc, buf_cstr(&msg));
    json_decref(rules);
    json_decref(spec);
    buf_free(&msg);
}

static void fn_set_rules(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    db_conn *w = sqlite3_user_data(ctx);
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    json_t *patch = db_migrate_fn_json(argv[1]);
    json_t *rules = NULL;
    buf msg = BUF_INIT;
    int rc = id ? st_rules_merge(NULL, patch, &rules, &msg) : BS_EINVAL;
    if (rc == BS_OK) {
        char *rt = json_dumps(rules, JSON_COMPACT);
        rc = rt ? st_bucket_set_rules(w, id, rt) : BS_ENOMEM;
        if (rc == BS_ENOTFOUND)
            buf_printf(&msg, "bucket %s does not exist", id);
        free(rt);
    }
    db_migrate_fn_result(ctx, "basalt_set_bucket_rules", rc, buf_cstr(&msg));
    json_decref(rules);
    json_decref(patch);
    buf_free(&msg);
}

static const struct {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *ctx, int argc, sqlite3_value **argv);
} sql_functions[] = {
    {"basalt_create_bucket", 1, fn_create_bucket},
    {"basalt_create_bucket", 2, fn_create_bucket},
    {"basalt_set_bucket_rules", 2, fn_set_rules},
};

int st_register_functions(db_conn *w)
{
    for (size_t i = 0; i < BS_COUNT(sql_functions); i++)
        if (sqlite3_create_function(db_conn_handle(w), sql_functions[i].name, sql_functions[i].nargs, SQLITE_UTF8, w,
                                    sql_functions[i].fn, NULL, NULL) != SQLITE_OK)
            return BS_EDB;
    return BS_OK;
}
