/* collections.c - see collections.h. */
#include "rest/collections.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/timeutil.h"
#include "db/ident.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validate an index list and emit its CREATE INDEX statements into ddl
 * (one per line, ';'-separated).  Index n of collection c is named
 * "_basalt_ix_<c>_<n>" by db_ident_quote_index. */
static int build_indexes(const char *name, json_t *indexes, buf *ddl, buf *msg)
{
    if (!indexes || json_is_null(indexes))
        return BS_OK;
    if (!json_is_array(indexes)) {
        buf_puts(msg, "\"indexes\" must be an array");
        return BS_EINVAL;
    }
    if (json_array_size(indexes) > DB_COLL_MAX_INDEXES) {
        buf_printf(msg, "at most %d indexes per collection", DB_COLL_MAX_INDEXES);
        return BS_EINVAL;
    }
    arena a = ARENA_INIT;
    int rc = BS_OK;
    size_t i;
    json_t *ix;
    json_array_foreach(indexes, i, ix)
    {
        json_t *fields = json_object_get(ix, "fields");
        json_t *unique = json_object_get(ix, "unique");
        if (!json_is_object(ix) || !json_is_array(fields) || json_array_size(fields) == 0 ||
            json_array_size(fields) > 8 || (unique && !json_is_boolean(unique))) {
            buf_printf(msg, "index %zu: want {\"fields\":[\"field\", ...],\"unique\":bool} with 1 to 8 fields", i);
            rc = BS_EINVAL;
            break;
        }
        rc = buf_puts(ddl, json_is_true(unique) ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
        if (!rc)
            rc = db_ident_quote_index(ddl, name, (int)i);
        if (!rc)
            rc = buf_puts(ddl, " ON ");
        if (!rc)
            rc = db_ident_quote(ddl, name);
        if (!rc)
            rc = buf_putc(ddl, '(');
        size_t j;
        json_t *f;
        json_array_foreach(fields, j, f)
        {
            if (rc)
                break;
            db_path p;
            const char *fs = json_string_value(f);
            /* only plain paths: the index expression is SQL text */
            if (!fs || db_path_parse(&a, fs, strlen(fs), &p) != BS_OK || !db_path_is_plain(&p)) {
                buf_printf(msg, "index %zu: field %zu is not a valid field name or path (like owner_id or meta->>kind)", i, j);
                rc = BS_EINVAL;
                break;
            }
            if (j)
                rc = buf_puts(ddl, ", ");
            if (!rc)
                rc = db_path_value_expr(ddl, &p);
        }
        if (!rc)
            rc = buf_puts(ddl, ");\n");
        if (rc)
            break;
    }
    arena_free(&a);
    return rc;
}

static int drop_indexes(db_conn *w, const char *name, size_t n, buf *msg)
{
    buf ddl = BUF_INIT;
    int rc = BS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = buf_puts(&ddl, "DROP INDEX IF EXISTS ");
        if (!rc)
            rc = db_ident_quote_index(&ddl, name, (int)i);
        if (!rc)
            rc = buf_puts(&ddl, ";\n");
    }
    if (!rc && ddl.len)
        rc = db_exec(w, ddl.data, msg);
    buf_free(&ddl);
    return rc;
}

static int write_meta(db_conn *w, const char *sql, const char *name, json_t *indexes, buf *msg)
{
    char now[32];
    time_iso_now(now);
    json_t *empty = indexes ? NULL : json_array();
    char *ix = json_dumps(indexes ? indexes : empty, JSON_COMPACT);
    json_decref(empty);
    if (!ix)
        return BS_ENOMEM;
    sqlite3_stmt *st = db_stmt(w, sql, strlen(sql), msg);
    int rc = BS_EDB;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ix, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        if (rc)
            buf_puts(msg, sqlite3_errmsg(db_conn_handle(w)));
        db_stmt_done(st);
    }
    free(ix);
    return rc;
}

int rest_coll_create(db_conn *w, const char *name, json_t *spec, buf *msg)
{
    if (!db_ident_collection_ok(name)) {
        buf_puts(msg, "invalid collection name: use 1 to 63 letters, digits and underscores, starting with a "
                      "letter (not \"sqlite_\")");
        return BS_EINVAL;
    }
    char existing[64];
    if (rest_coll_lookup(w, name, existing) == BS_OK) {
        buf_printf(msg, "collection \"%s\" already exists", existing);
        return BS_EEXISTS;
    }
    json_t *indexes = spec ? json_object_get(spec, "indexes") : NULL;
    buf ddl = BUF_INIT;
    int rc = buf_puts(&ddl, "CREATE TABLE ");
    if (!rc)
        rc = db_ident_quote(&ddl, name);
    if (!rc)
        rc = buf_puts(&ddl, "(id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL, "
                            "updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1);\n");
    if (!rc)
        rc = build_indexes(name, indexes, &ddl, msg);
    if (!rc) {
        buf err = BUF_INIT;
        rc = db_exec(w, ddl.data, &err);
        if (rc) {
            /* e.g. an app table of that name made by a raw migration */
            buf_printf(msg, "cannot create collection \"%s\": %s", name, buf_cstr(&err));
            rc = strstr(buf_cstr(&err), "already exists") ? BS_EEXISTS : BS_EDB;
        }
        buf_free(&err);
    }
    if (!rc)
        rc = write_meta(w, "INSERT INTO _basalt_collections(name, indexes, created_at, updated_at) VALUES(?1, ?2, ?3, ?3)",
                        name, indexes, msg);
    json_t *rules = spec ? json_object_get(spec, "rules") : NULL;
    if (!rc && rules && !json_is_null(rules))
        rc = rest_coll_set_rules(w, name, rules, msg, NULL);
    buf_free(&ddl);
    return rc;
}

int rest_coll_set_rules(db_conn *w, const char *name, json_t *rules, buf *msg, buf *details)
{
    char canon[64];
    if (rest_coll_lookup(w, name, canon) != BS_OK) {
        buf_printf(msg, "collection \"%s\" does not exist", name);
        return BS_ENOTFOUND;
    }
    const char *q = "SELECT rules FROM _basalt_collections WHERE name=?";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), msg);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
    json_t *cur = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        json_error_t je;
        /* an object of rule strings the server serialised itself */
        cur = t ? json_loads(t, 0, &je) : NULL;
    }
    db_stmt_done(st);
    json_t *merged = NULL;
    int rc = rules_merge(cur, rules, &merged, msg, details);
    json_decref(cur);
    if (rc)
        return rc;
    char *text = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(merged);
    if (!text)
        return BS_ENOMEM;
    char now[32];
    time_iso_now(now);
    q = "UPDATE _basalt_collections SET rules=?2, updated_at=?3 WHERE name=?1";
    st = db_stmt(w, q, strlen(q), msg);
    rc = BS_EDB;
    if (st) {
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        if (rc)
            buf_puts(msg, sqlite3_errmsg(db_conn_handle(w)));
        db_stmt_done(st);
    }
    free(text);
    return rc;
}

static size_t index_count(db_conn *w, const char *name)
{
    const char *q = "SELECT json_array_length(indexes) FROM _basalt_collections WHERE name=?";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    size_t n = 0;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = (size_t)sqlite3_column_int64(st, 0);
        db_stmt_done(st);
    }
    return n;
}

int rest_coll_set_indexes(db_conn *w, const char *name, json_t *indexes, buf *msg)
{
    char canon[64];
    if (rest_coll_lookup(w, name, canon) != BS_OK) {
        buf_printf(msg, "collection \"%s\" does not exist", name);
        return BS_ENOTFOUND;
    }
    buf ddl = BUF_INIT;
    int rc = build_indexes(canon, indexes, &ddl, msg);
    if (!rc)
        rc = drop_indexes(w, canon, index_count(w, canon), msg);
    if (!rc && ddl.len) {
        buf err = BUF_INIT;
        rc = db_exec(w, ddl.data, &err);
        if (rc)
            buf_printf(msg, "cannot build indexes: %s", buf_cstr(&err));
        buf_free(&err);
    }
    if (!rc)
        rc = write_meta(w, "UPDATE _basalt_collections SET indexes=?2, updated_at=?3 WHERE name=?1", canon, indexes, msg);
    buf_free(&ddl);
    return rc;
}

int rest_coll_drop(db_conn *w, const char *name, buf *msg)
{
    char canon[64];
    if (rest_coll_lookup(w, name, canon) != BS_OK) {
        buf_printf(msg, "collection \"%s\" does not exist", name);
        return BS_ENOTFOUND;
    }
    buf ddl = BUF_INIT;
    int rc = buf_puts(&ddl, "DROP TABLE ");
    if (!rc)
        rc = db_ident_quote(&ddl, canon);
    if (!rc)
        rc = db_exec(w, ddl.data, msg);
    buf_free(&ddl);
    if (!rc) {
        const char *q = "DELETE FROM _basalt_collections WHERE name=?";
        sqlite3_stmt *st = db_stmt(w, q, strlen(q), msg);
        if (!st)
            return BS_EDB;
        sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
    }
    return rc;
}

int rest_coll_lookup(db_conn *c, const char *name, char out_name[64])
{
    if (!db_ident_collection_ok(name))
        return BS_ENOTFOUND;
    const char *q = "SELECT name FROM _basalt_collections WHERE name=?";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = BS_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = BS_OK;
        if (out_name)
            snprintf(out_name, 64, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    db_stmt_done(st);
    return rc;
}

/* The top-level field an index field names, or NULL for a nested path. */
static const char *index_field(arena *a, json_t *f)
{
    const char *fs = json_string_value(f);
    db_path p;
    if (!fs || db_path_parse(a, fs, strlen(fs), &p) != BS_OK || p.n != 1 || p.text_last)
        return NULL;
    return p.segs[0];
}

/* Do the index fields cover exactly names[0..n), as sets?  Only
 * top-level fields can match, as with PostgreSQL's ON CONFLICT (columns). */
static bool fields_match(arena *a, json_t *fields, const char *const *names, size_t n)
{
    size_t nf = json_array_size(fields);
    for (size_t i = 0; i < n; i++) { /* every name is one of the fields */
        bool found = false;
        for (size_t j = 0; j < nf && !found; j++) {
            const char *f = index_field(a, json_array_get(fields, j));
            found = f && strcmp(f, names[i]) == 0;
        }
        if (!found)
            return false;
    }
    for (size_t j = 0; j < nf; j++) { /* and every field one of the names */
        const char *f = index_field(a, json_array_get(fields, j));
        bool found = false;
        for (size_t i = 0; i < n && f && !found; i++)
            found = strcmp(f, names[i]) == 0;
        if (!found)
            return false;
    }
    return true;
}

int rest_coll_unique_match(db_conn *c, const char *name, const char *const *names, size_t n)
{
    if (n == 0)
        return BS_ENOTFOUND;
    bool all_id = true;
    for (size_t i = 0; i < n; i++)
        all_id = all_id && strcmp(names[i], "id") == 0;
    if (all_id)
        return BS_OK;
    const char *q = "SELECT indexes FROM _basalt_collections WHERE name=?";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    json_t *ix = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        json_error_t je;
        ix = t ? json_loads(t, 0, &je) : NULL; /* written by build_indexes' caller: plain jansson */
    }
    db_stmt_done(st);
    int rc = BS_ENOTFOUND;
    arena a = ARENA_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(ix, i, e)
    {
        if (json_is_true(json_object_get(e, "unique")) && fields_match(&a, json_object_get(e, "fields"), names, n)) {
            rc = BS_OK;
            break;
        }
    }
    arena_free(&a);
    json_decref(ix);
    return rc;
}

#define COLL_JSON "json_object('name', name, 'indexes', json(indexes), 'rules', json(rules), " \
                  "'created_at', created_at, 'updated_at', updated_at)"

int rest_coll_get_json(db_conn *c, const char *name, buf *out)
{
    const char *q = "SELECT " COLL_JSON " FROM _basalt_collections WHERE name=?";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = BS_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = buf_append(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    db_stmt_done(st);
    return rc;
}

int rest_coll_list_json(db_conn *c, buf *out)
{
    const char *q = "SELECT coalesce(json_group_array(json(j)), '[]') FROM (SELECT " COLL_JSON
                    " AS j FROM _basalt_collections ORDER BY name)";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    int rc = BS_EDB;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = buf_append(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    db_stmt_done(st);
    return rc;
}

/* basalt_create_collection(name, spec_json) inside an app migration. */
static void fn_create(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    db_conn *w = sqlite3_user_data(ctx);
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    const char *spec_s = argc > 1 ? (const char *)sqlite3_value_text(argv[1]) : NULL;
    json_t *spec = NULL;
    if (spec_s) {
        jsonin_parses(spec_s, JSONIN_ANY_SIZE, 0, &spec, NULL, 0);
        if (!json_is_object(spec)) {
            json_decref(spec);
            sqlite3_result_error(ctx, "basalt_create_collection: spec must be a JSON object", -1);
            return;
        }
    }
    buf msg = BUF_INIT;
    int rc = name ? rest_coll_create(w, name, spec, &msg) : BS_EINVAL;
    json_decref(spec);
    if (rc) {
        buf full = BUF_INIT;
        buf_printf(&full, "basalt_create_collection: %s", msg.len ? buf_cstr(&msg) : basalt_strerror(rc));
        sqlite3_result_error(ctx, buf_cstr(&full), -1);
        buf_free(&full);
    } else {
        sqlite3_result_int(ctx, 1);
    }
    buf_free(&msg);
}

/* basalt_set_rules(name, rules_json) inside an app migration. */
static void fn_set_rules(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    db_conn *w = sqlite3_user_data(ctx);
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    const char *rules_s = (const char *)sqlite3_value_text(argv[1]);
    json_t *rules = NULL;
    if (rules_s)
        jsonin_parses(rules_s, JSONIN_ANY_SIZE, 0, &rules, NULL, 0);
    buf msg = BUF_INIT, det = BUF_INIT;
    int rc = BS_EINVAL;
    if (!name)
        buf_puts(&msg, "the collection name is null");
    else if (!json_is_object(rules))
        buf_puts(&msg, "rules must be a JSON object like '{\"select\": \"true\"}'");
    else
        rc = rest_coll_set_rules(w, name, rules, &msg, &det);
    json_decref(rules);
    if (rc) {
        buf full = BUF_INIT;
        buf_printf(&full, "basalt_set_rules: %s", msg.len ? buf_cstr(&msg) : basalt_strerror(rc));
        if (det.len)
            buf_printf(&full, "\n%s", buf_cstr(&det));
        sqlite3_result_error(ctx, buf_cstr(&full), -1);
        buf_free(&full);
    } else {
        sqlite3_result_int(ctx, 1);
    }
    buf_free(&msg);
    buf_free(&det);
}

int rest_coll_register_functions(db_conn *w)
{
    sqlite3 *db = db_conn_handle(w);
    int rc = sqlite3_create_function(db, "basalt_create_collection", 1, SQLITE_UTF8, w, fn_create, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "basalt_create_collection", 2, SQLITE_UTF8, w, fn_create, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "basalt_set_rules", 2, SQLITE_UTF8, w, fn_set_rules, NULL, NULL);
    return rc == SQLITE_OK ? BS_OK : BS_EDB;
}
