/* rest_write.c - POST, PATCH and DELETE of /rest/v1 (rest.c has the request
 * flow and the access rules, rest_upsert.c the upserts).
 *
 * Documents are built here in C, never with json_set paths on user keys
 * (jsondoc.h says why).  The body is checked by jansson (UTF-8, no NUL,
 * depth, no duplicate keys), rewritten once in canonical form, and each of
 * its objects split into members.  The stored text is then
 *   insert: the object's members (only those columns= names, in its order),
 *           with id (when not given), created_at and updated_at set;
 *   update: the stored document's members (canonicalised) merged with the
 *           object's members (or columns=), updated_at set; id and
 *           created_at cannot be changed;
 * so every key has one spelling and is written once, and numbers and
 * strings keep the client's spelling.  The text is bound whole (INSERT ...
 * VALUES(?), UPDATE ... SET data = ?) and RETURNING data feeds the rules
 * check and the change log: SQL, C rules, realtime and triggers all read
 * the same text.
 *
 * A stored document that already holds a top-level key twice (written
 * before this scheme) is not repaired behind anyone's back: a write that
 * sets that key leaves one copy with the new value (the writer said what it
 * is); copies of keys it does not set are kept as they are, and the write
 * logs a warning pointing at GET /admin/v1/collections/NAME/check.
 */
#include "rest/rest_int.h"
#include "app/app.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "db/changelog.h"
#include "db/ident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rest_want_repr(const rest_ctx *c) { return c->pref.ret == RET_REPR; }

int rest_deny_row(rest_ctx *c, bool using_expr)
{
    char msg[200];
    snprintf(msg, sizeof msg, "new row violates row-level security policy %sfor table \"%s\"",
             using_expr ? "(USING expression) " : "", c->coll);
    rest_set_err(c, c->deny_status, "42501", msg, NULL);
    return BS_EDENIED;
}

db_jspan rest_json_str(rest_ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *q = arena_alloc(c->a, n + 3);
    if (!q)
        return (db_jspan){NULL, 0};
    q[0] = '"';
    memcpy(q + 1, s, n);
    q[n + 1] = '"';
    q[n + 2] = '\0';
    return (db_jspan){q, n + 2};
}

static bool span_is(db_jspan s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool is_system_key(db_jspan k)
{
    return span_is(k, "id") || span_is(k, "created_at") || span_is(k, "updated_at");
}

/* ---- documents ---- */

static int push_key(rest_ctx *c, buf *k, const char *name, size_t n, size_t cap)
{
    buf_reset(k);
    int rc = db_jdoc_key(k, name, n);
    char *p = rc == BS_OK ? arena_strndup(c->a, k->data ? k->data : "", k->len) : NULL;
    if (rc == BS_OK && !p)
        rc = BS_ENOMEM;
    if (rc == BS_OK && c->ncolkeys < cap)
        c->colkeys[c->ncolkeys++] = (db_jspan){p, k->len};
    return rc;
}

/* postgrest-js sends an array's keys as columns="k1","k2",... without
 * escaping.  When columns= is exactly that text for this body's keys
 * (first seen first), those keys are what it names, whatever PostgREST's
 * grammar would read in it (a key holding '\' or '"' reads differently
 * or not at all).  True and colkeys filled in that case. */
static bool columns_from_body(rest_ctx *c, const char *raw, int *rc)
{
    size_t cap = 0, i;
    json_t *o, *seen = json_object();
    buf naive = BUF_INIT, k = BUF_INIT;
    bool match = false;
    *rc = seen ? BS_OK : BS_ENOMEM;
    json_t *rows = json_is_array(c->json) ? c->json : NULL;
    for (i = 0; !*rc && i < (rows ? json_array_size(rows) : 1); i++) {
        const char *key;
        json_t *v;
        o = rows ? json_array_get(rows, i) : c->json;
        json_object_foreach(o, key, v)
        {
            if (json_object_get(seen, key))
                continue;
            json_object_set_new(seen, key, json_true());
            *rc = buf_printf(&naive, "%s\"%s\"", cap++ ? "," : "", key);
            if (*rc)
                break;
        }
    }
    if (!*rc && naive.len == strlen(raw) && memcmp(naive.data, raw, naive.len) == 0) {
        match = true;
        c->colkeys = arena_alloc(c->a, (cap ? cap : 1) * sizeof *c->colkeys);
        *rc = c->colkeys ? BS_OK : BS_ENOMEM;
        const char *key;
        void *it;
        json_object_foreach_safe(seen, it, key, o) /* insertion order: first seen first */
        {
            if (!*rc)
                *rc = push_key(c, &k, key, strlen(key), cap);
        }
    }
    json_decref(seen);
    buf_free(&naive);
    buf_free(&k);
    return match;
}

/* Settle which keys columns= names (see rest_query_columns_raw). */
static int resolve_columns(rest_ctx *c)
{
    const rest_qerr *perr;
    const char *raw = rest_query_columns_raw(c->q, &perr);
    c->use_columns = raw != NULL;
    if (!raw)
        return BS_OK;
    int rc;
    if (columns_from_body(c, raw, &rc) || rc)
        return rc;
    if (perr) {
        rest_set_err(c, perr->status, perr->code, perr->message, perr->details);
        return BS_EPARSE;
    }
    const char *const *cols;
    size_t ncols;
    rest_query_columns(c->q, &cols, &ncols);
    c->colkeys = arena_alloc(c->a, (ncols ? ncols : 1) * sizeof *c->colkeys);
    if (!c->colkeys)
        return BS_ENOMEM;
    buf k = BUF_INIT;
    for (size_t i = 0; i < ncols && !rc; i++)
        rc = push_key(c, &k, cols[i], strlen(cols[i]), ncols);
    buf_free(&k);
    return rc;
}

int rest_body_members(rest_ctx *c, size_t i, db_jmember **out, size_t *n)
{
    db_jmember *m;
    size_t nm;
    int rc = db_jdoc_members(c->a, c->objs[i].p, c->objs[i].n, &m, &nm);
    if (rc != BS_OK || !c->use_columns) {
        *out = m;
        *n = nm;
        return rc;
    }
    db_jindex ix;
    db_jmember *sel = arena_alloc(c->a, (c->ncolkeys ? c->ncolkeys : 1) * sizeof *sel);
    if ((rc = db_jdoc_index(c->a, m, nm, &ix)) == BS_OK && !sel)
        rc = BS_ENOMEM;
    size_t k = 0;
    for (size_t j = 0; j < c->ncolkeys && rc == BS_OK; j++) {
        const db_jmember *f = db_jdoc_find(&ix, c->colkeys[j].p, c->colkeys[j].n);
        if (f)
            sel[k++] = *f;
        else if (!c->pref.missing_default)
            sel[k++] = (db_jmember){c->colkeys[j], {"null", 4}};
    }
    *out = sel;
    *n = k;
    return rc;
}

int rest_update_set(rest_ctx *c, size_t i, db_jmember **out, size_t *n)
{
    db_jmember *m;
    size_t nm;
    int rc = rest_body_members(c, i, &m, &nm);
    db_jmember *set = rc == BS_OK ? arena_alloc(c->a, (nm + 1) * sizeof *set) : NULL;
    if (rc == BS_OK && !set)
        rc = BS_ENOMEM;
    if (rc != BS_OK)
        return rc;
    size_t k = 0;
    for (size_t j = 0; j < nm; j++)
        if (!is_system_key(m[j].key))
            set[k++] = m[j];
    set[k] = (db_jmember){{"updated_at", 10}, rest_json_str(c, c->now)};
    if (!set[k].val.p)
        return BS_ENOMEM;
    *out = set;
    *n = k + 1;
    return BS_OK;
}

/* The id of a document: a non-empty string (<= 255 bytes) or an integer,
 * read from the "id" member's JSON text; *given false (and a new UUIDv7)
 * when there is none or it is null. */
static int doc_id(rest_ctx *c, const db_jmember *m, size_t n, char out[REST_MAX_ID_LEN + 1], bool *given)
{
    const db_jmember *idm = NULL;
    for (size_t i = 0; i < n && !idm; i++)
        if (span_is(m[i].key, "id"))
            idm = &m[i];
    *given = idm && !span_is(idm->val, "null");
    if (!*given)
        return uuid_v7(out);
    json_error_t je;
    /* plain jansson: a value of the body jsonin already admitted */
    json_t *id = json_loadb(idm->val.p, idm->val.n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    int rc = BS_EINVAL;
    if (json_is_string(id)) {
        size_t len = json_string_length(id);
        if (len > 0 && len <= REST_MAX_ID_LEN && !memchr(json_string_value(id), '\0', len)) {
            memcpy(out, json_string_value(id), len + 1);
            rc = BS_OK;
        } else {
            rest_set_err(c, 400, "22P02", "invalid document id",
                            "\"id\" must be a non-empty string of at most 255 bytes");
        }
    } else if (json_is_number(id)) {
        double v = json_number_value(id);
        if (v == (double)(long long)v && v > -9e15 && v < 9e15) {
            snprintf(out, REST_MAX_ID_LEN + 1, "%lld", (long long)v);
            rc = BS_OK;
        }
    }
    if (rc != BS_OK && !c->err_status)
        rest_set_err(c, 400, "22P02", "invalid document id", "\"id\" must be a string or an integer");
    json_decref(id);
    return rc;
}

int rest_new_doc(rest_ctx *c, size_t i, char id[REST_MAX_ID_LEN + 1], buf *doc)
{
    db_jmember *m;
    size_t nm;
    bool given;
    int rc = rest_body_members(c, i, &m, &nm);
    if (rc == BS_OK)
        rc = doc_id(c, m, nm, id, &given);
    if (rc != BS_OK)
        return rc;
    db_jmember set[3];
    size_t k = 0;
    if (!given)
        set[k++] = (db_jmember){{"id", 2}, rest_json_str(c, id)};
    set[k++] = (db_jmember){{"created_at", 10}, rest_json_str(c, c->now)};
    set[k++] = (db_jmember){{"updated_at", 10}, rest_json_str(c, c->now)};
    for (size_t j = 0; j < k; j++)
        if (!set[j].val.p)
            return BS_ENOMEM;
    return db_jdoc_merge(c->a, doc, m, nm, set, k, NULL);
}

/* ---- statements ---- */

static int constraint_err(rest_ctx *c, sqlite3 *db, const char *id)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
        char d[400];
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            snprintf(d, sizeof d, "Key (id)=(%.300s) already exists.", id);
        else
            snprintf(d, sizeof d, "%.300s", sqlite3_errmsg(db));
        rest_set_err(c, 409, "23505", "duplicate key value violates unique constraint", d);
        return BS_ECONSTRAINT;
    }
    log_warn("rest: write failed: %s", sqlite3_errmsg(db));
    rest_set_err(c, 500, "PGRST000", "write failed", sqlite3_errmsg(db));
    return BS_EDB;
}

/* Prepare "<pre>"coll"<post>"; NULL (error set) on failure. */
static sqlite3_stmt *prepare(rest_ctx *c, db_conn *w, const char *pre, const char *post)
{
    buf sql = BUF_INIT;
    int rc = buf_puts(&sql, pre);
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, post);
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        rest_set_err(c, 500, "PGRST000", "could not prepare the write", sqlite3_errmsg(db_conn_handle(w)));
    return st;
}

/* Run a statement ending in RETURNING data; copy the row into the arena. */
static int step_returning(rest_ctx *c, db_conn *w, sqlite3_stmt *st, const char *id, char **doc)
{
    int step = sqlite3_step(st);
    int rc = BS_OK;
    *doc = NULL;
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *doc = arena_strdup(c->a, t ? t : "null");
        step = sqlite3_step(st);
        if (!*doc)
            rc = BS_ENOMEM;
    }
    if (step != SQLITE_DONE)
        rc = constraint_err(c, db_conn_handle(w), id);
    db_stmt_done(st);
    return rc;
}

int rest_insert_doc(rest_ctx *c, db_conn *w, const char *id, const char *doc, size_t len)
{
    sqlite3_stmt *st =
        prepare(c, w, "INSERT INTO ", "(data, id, created_at, updated_at) VALUES(?, ?, ?, ?) RETURNING data");
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, doc, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->now, -1, SQLITE_STATIC);
    char *new_doc;
    int rc = step_returning(c, w, st, id, &new_doc);
    if (!rc && new_doc && c->rules_on &&
        !rules_write_allowed(c->rule_write, c->auth, NULL, new_doc, c->rule_sel, rest_want_repr(c)))
        rc = rest_deny_row(c, false);
    if (!rc && new_doc)
        rc = db_changelog_append(w, c->coll, "INSERT", id, NULL, new_doc, c->now_ms);
    return rc;
}

int rest_update_row(rest_ctx *c, db_conn *w, const char *id, const char *old_doc, const db_jmember *set,
                       size_t nset, bool check_select)
{
    buf base = BUF_INIT, doc = BUF_INIT;
    db_jdoc_info info;
    db_jmember *m;
    size_t nm, dropped = 0;
    int rc = db_jdoc_canon(&base, old_doc, strlen(old_doc), &info);
    if (rc == BS_OK)
        rc = db_jdoc_members(c->a, base.data, base.len, &m, &nm);
    if (rc == BS_EJSON) {
        log_warn("rest: collection \"%s\" document \"%s\" is not a JSON object; not updated", c->coll, id);
        rest_set_err(c, 500, "PGRST000", "the stored document is not a JSON object", NULL);
        rc = BS_EDB;
    }
    if (rc == BS_OK)
        rc = db_jdoc_merge(c->a, &doc, m, nm, set, nset, &dropped);
    if (rc == BS_OK && info.dup_keys)
        log_warn("rest: collection \"%s\" document \"%s\" holds %zu duplicate key(s) (first: \"%s\"); this write "
                 "left one copy of %zu of them; see GET /admin/v1/collections/%s/check",
                 c->coll, id, info.dup_keys, info.dup_names[0], dropped, c->coll);
    sqlite3_stmt *st = rc ? NULL
                          : prepare(c, w, "UPDATE ",
                                    " SET data = ?, updated_at = ?, version = version + 1 WHERE id = ? RETURNING data");
    if (!rc && !st)
        rc = BS_EDB;
    char *new_doc = NULL;
    if (!rc) {
        sqlite3_bind_text(st, 1, doc.data, (int)doc.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
        rc = step_returning(c, w, st, id, &new_doc);
    }
    if (!rc && new_doc && c->rules_on &&
        !rules_write_allowed(c->rule_upd, c->auth, old_doc, new_doc, c->rule_sel, check_select))
        rc = rest_deny_row(c, false);
    if (!rc && new_doc)
        rc = db_changelog_append(w, c->coll, "UPDATE", id, old_doc, new_doc, c->now_ms);
    buf_free(&base);
    buf_free(&doc);
    return rc;
}

int rest_append_repr(rest_ctx *c, db_conn *w, const char *id)
{
    buf sql = BUF_INIT;
    int rc = buf_printf(&sql, "SELECT %s FROM ", c->proj.data);
    if (!rc)
        rc = db_ident_quote(&sql, c->coll);
    if (!rc)
        rc = buf_puts(&sql, " WHERE id = ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return BS_EDB;
    int next = db_binds_apply(st, &c->pbinds, 1);
    sqlite3_bind_text(st, next, id, -1, SQLITE_STATIC);
    rc = BS_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = buf_putc(&c->out, c->nrows ? ',' : '[');
        if (!rc)
            rc = buf_append(&c->out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        c->nrows++;
    }
    db_stmt_done(st);
    return rc;
}

static int finish_repr(rest_ctx *c)
{
    if (!c->nrows)
        return buf_puts(&c->out, "[]");
    return buf_putc(&c->out, ']');
}

/* The end of every write callback: representation, single-object check. */
static int finish_write(rest_ctx *c, int rc, size_t n)
{
    if (!rc && !rest_want_repr(c))
        c->nrows = n; /* for Content-Range with Prefer: count */
    if (!rc && rest_want_repr(c))
        rc = finish_repr(c);
    if (!rc && c->acc == ACC_OBJECT && rest_want_repr(c) && n != 1) {
        char d[64];
        snprintf(d, sizeof d, "The result contains %zu rows", n);
        rest_set_err(c, 406, "PGRST116", "Cannot coerce the result to a single JSON object", d);
        rc = BS_EINVAL;
    }
    if (rc && !c->err_status)
        rest_set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
    return rc;
}

/* ---- writer callbacks ---- */

static int insert_one(rest_ctx *c, db_conn *w, size_t i, bool *written, char id[REST_MAX_ID_LEN + 1])
{
    if (c->pref.resolution != RES_NONE)
        return rest_upsert_one(c, w, i, written, id);
    buf doc = BUF_INIT;
    int rc = rest_new_doc(c, i, id, &doc);
    if (rc == BS_OK)
        rc = rest_insert_doc(c, w, id, doc.data, doc.len);
    *written = rc == BS_OK;
    buf_free(&doc);
    return rc;
}

/* Writer callback for POST. */
static int do_insert(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    int rc = c->pref.resolution != RES_NONE ? rest_on_conflict_check(c, w) : BS_OK;
    size_t nwritten = 0;
    char id[REST_MAX_ID_LEN + 1];
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        bool written = false;
        rc = insert_one(c, w, i, &written, id);
        if (!rc && written)
            nwritten++;
        if (!rc && written && rest_want_repr(c))
            rc = rest_append_repr(c, w, id);
        if (!rc && written && c->pref.ret == RET_HEADERS && !c->location) {
            size_t n = strlen(c->coll) + strlen(id) + 16;
            char *loc = arena_alloc(c->a, n);
            if (loc) {
                snprintf(loc, n, "/%s?id=eq.%s", c->coll, id);
                c->location = loc;
            }
        }
    }
    return finish_write(c, rc, rest_want_repr(c) ? c->nrows : nwritten);
}

typedef struct target {
    const char *id;
    const char *data;
} target;

/* Select the rows the filters reach (with order/limit when given). */
static int select_targets(rest_ctx *c, db_conn *w, target **out, size_t *n)
{
    *n = 0;
    buf sql = BUF_INIT;
    int rc = rest_select_sql(c, &sql, "id, data", true);
    int64_t lim = rest_query_limit(c->q);
    if (!rc && lim >= 0)
        rc = buf_printf(&sql, " LIMIT %lld", (long long)lim);
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st) {
        rest_set_err(c, 500, "PGRST000", "could not prepare the filter", sqlite3_errmsg(db_conn_handle(w)));
        return BS_EDB;
    }
    rest_bind_select(c, st, false, true);
    size_t cap = 16;
    target *v = arena_alloc(c->a, cap * sizeof *v);
    *n = 0;
    int step;
    while (v && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            target *nv = arena_alloc(c->a, cap * 2 * sizeof *nv);
            if (!nv) {
                v = NULL;
                break;
            }
            memcpy(nv, v, cap * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[*n].id = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 0));
        v[*n].data = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        if (!v[*n].id || !v[*n].data)
            v = NULL;
        else
            (*n)++;
    }
    db_stmt_done(st);
    if (!v) {
        rest_set_err(c, 500, "PGRST000", "out of memory", NULL);
        return BS_ENOMEM;
    }
    *out = v;
    return BS_OK;
}

static int do_update(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    target *t = NULL;
    size_t n = 0, nset;
    db_jmember *set;
    int rc = rest_update_set(c, 0, &set, &nset);
    if (!rc)
        rc = select_targets(c, w, &t, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = rest_update_row(c, w, t[i].id, t[i].data, set, nset, rest_want_repr(c));
        if (!rc && rest_want_repr(c))
            rc = rest_append_repr(c, w, t[i].id);
    }
    return finish_write(c, rc, rc ? 0 : n);
}

/* The representation of a deleted row: the projection over its text. */
static int delete_repr(rest_ctx *c, db_conn *w, const buf *proj, const target *t)
{
    if (c->rules_on && !rules_write_allowed(NULL, c->auth, t->data, NULL, c->rule_sel, true))
        return rest_deny_row(c, false);
    sqlite3_stmt *ps = db_stmt(w, proj->data, proj->len, NULL);
    if (!ps)
        return BS_EDB;
    int next = db_binds_apply(ps, &c->pbinds, 1);
    sqlite3_bind_text(ps, next, t->data, -1, SQLITE_STATIC);
    int rc = BS_OK;
    if (sqlite3_step(ps) == SQLITE_ROW) {
        rc = buf_putc(&c->out, c->nrows ? ',' : '[');
        if (!rc)
            rc = buf_append(&c->out, sqlite3_column_text(ps, 0), (size_t)sqlite3_column_bytes(ps, 0));
        c->nrows++;
    }
    db_stmt_done(ps);
    return rc;
}

static int do_delete(db_conn *w, void *arg)
{
    rest_ctx *c = arg;
    target *t = NULL;
    size_t n = 0;
    int rc = select_targets(c, w, &t, &n);
    buf proj = BUF_INIT;
    if (!rc)
        rc = buf_printf(&proj, "SELECT %s FROM (SELECT ? AS data)", c->proj.data);
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < n && !rc; i++) {
        if (rest_want_repr(c))
            rc = delete_repr(c, w, &proj, &t[i]);
        st = rc ? NULL : prepare(c, w, "DELETE FROM ", " WHERE id = ?");
        if (!st) {
            rc = rc ? rc : BS_EDB;
            break;
        }
        sqlite3_bind_text(st, 1, t[i].id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
        db_stmt_done(st);
        if (!rc)
            rc = db_changelog_append(w, c->coll, "DELETE", t[i].id, t[i].data, NULL, c->now_ms);
    }
    buf_free(&proj);
    return finish_write(c, rc, rc ? 0 : n);
}

/* ---- request ---- */

/* Split the canonical body into the objects to write. */
static int body_objects(rest_ctx *c)
{
    int rc = db_jdoc_canon(&c->cbody, c->body, c->body_len, NULL);
    if (rc == BS_OK && json_is_array(c->json))
        return db_jdoc_elements(c->a, c->cbody.data, c->cbody.len, &c->objs, &c->nobjs);
    if (rc == BS_OK) {
        c->objs = arena_alloc(c->a, sizeof *c->objs);
        if (!c->objs)
            return BS_ENOMEM;
        c->objs[0] = (db_jspan){c->cbody.data, c->cbody.len};
        c->nobjs = 1;
    }
    return rc;
}

/* Parse and check the body of a write: an object, or (POST only) a
 * non-empty array of objects. */
static int load_body(rest_ctx *c, bool allow_array)
{
    http_req *r = c->r;
    int rc = http_body(r, &c->body, &c->body_len);
    if (rc == BS_ETOOBIG) {
        http_add_header(r, "Connection", "close");
        char d[96];
        snprintf(d, sizeof d, "The request body is larger than the limit of %zu bytes", http_app(r)->cfg->max_body);
        rest_set_err(c, 413, "PGRST413", "Payload Too Large", d);
        return rc;
    }
    if (rc) {
        rest_set_err(c, 400, "PGRST102", "could not read the request body", NULL);
        return rc;
    }
    /* depth-bounded, duplicate keys refused (http.h explains why) */
    char d[256];
    if (http_parse_json(c->body, c->body_len, JSON_DECODE_INT_AS_REAL, &c->json, d, sizeof d)) {
        rest_set_err(c, 400, "PGRST102", "Empty or invalid json", d);
        return BS_EJSON;
    }
    if (json_is_array(c->json) && allow_array) {
        size_t i;
        json_t *e;
        if (json_array_size(c->json) > REST_MAX_BULK_ROWS) {
            rest_set_err(c, 413, "PGRST413", "Payload Too Large", "at most 10000 documents per request");
            return BS_ETOOBIG;
        }
        json_array_foreach(c->json, i, e)
        {
            if (!json_is_object(e)) {
                char det[96];
                snprintf(det, sizeof det, "element %zu of the array is not an object", i);
                rest_set_err(c, 400, "PGRST102", "All object keys must match", det);
                return BS_EJSON;
            }
        }
    } else if (!json_is_object(c->json)) {
        rest_set_err(c, 400, "PGRST102",
                        allow_array ? "a document must be a JSON object or an array of objects"
                                    : "the request body must be a JSON object",
                        NULL);
        return BS_EJSON;
    }
    rc = body_objects(c);
    if (rc && rc != BS_ENOMEM)
        rest_set_err(c, 400, "PGRST102", "Empty or invalid json", "the body is not JSON (RFC 8259)");
    if (!rc)
        rc = resolve_columns(c);
    if (rc == BS_ENOMEM)
        rest_set_err(c, 500, "PGRST000", "out of memory", NULL);
    return rc;
}

static int respond_write(rest_ctx *c, int ok_status)
{
    http_req *r = c->r;
    char range[64];
    if (c->pref.count) {
        snprintf(range, sizeof range, "*/%zu", c->nrows);
        http_add_header(r, "Content-Range", range);
    }
    if (c->pref.ret == RET_HEADERS && c->location)
        http_add_header(r, "Location", c->location);
    if (rest_want_repr(c)) {
        if (c->acc == ACC_OBJECT)
            return http_send(r, ok_status == 201 ? 201 : 200, "application/vnd.pgrst.object+json; charset=utf-8",
                             c->out.data + 1, c->out.len - 2);
        return http_send(r, ok_status == 201 ? 201 : 200, "application/json; charset=utf-8", c->out.data, c->out.len);
    }
    return http_send(r, ok_status == 201 ? 201 : 204, NULL, NULL, 0);
}

int rest_write(rest_ctx *c)
{
    http_req *r = c->r;
    unsigned m = http_method(r);
    db_write_fn fn = m == HTTP_POST ? do_insert : m == HTTP_PATCH ? do_update : do_delete;
    if ((m == HTTP_PATCH || m == HTTP_DELETE) && !rest_query_has_filters(c->q) &&
        strcmp(((auth_claims *)http_claims(r))->role, "service_role") != 0)
        return http_error(r, 400, "21000", m == HTTP_PATCH ? "UPDATE requires a WHERE clause" : "DELETE requires a WHERE clause",
                          NULL, "Add a filter, e.g. ?id=eq.<id>");
    if (m != HTTP_DELETE && load_body(c, m == HTTP_POST))
        return rest_send_err(c);
    if (rest_compile(c))
        return rest_send_err(c);
    c->now_ms = time_now_ms();
    time_iso_ms(c->now_ms, c->now);
    int rc = db_write(http_app(r)->store, fn, c);
    if (rc == BS_ESHUTDOWN)
        return http_error(r, 503, "PGRST000", "the server is shutting down", NULL, NULL);
    if (rc) {
        if (!c->err_status)
            rest_set_err(c, 500, "PGRST000", basalt_strerror(rc), NULL);
        return rest_send_err(c);
    }
    return respond_write(c, m == HTTP_POST ? 201 : 204);
}
