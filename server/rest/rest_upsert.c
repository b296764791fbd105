/* rest_upsert.c - POST with Prefer: resolution=merge-duplicates or
 * ignore-duplicates, as PostgREST runs it (INSERT ... ON CONFLICT (cols)
 * DO UPDATE SET <the body's columns> / DO NOTHING) under PostgreSQL's
 * row-level security:
 *
 *   - on_conflict must name exactly the fields of a unique index, or id
 *     (the default, the primary key).  Anything else is 400 42P10, as
 *     PostgreSQL refuses an ON CONFLICT target no unique constraint
 *     matches.  Before, any field was accepted, so with ignore-duplicates
 *     "does some row, perhaps another user's, hold this value in this
 *     field?" could be asked of every field.
 *   - The proposed row is checked first, against the insert rule and the
 *     select rule, whether or not it conflicts (PostgreSQL checks INSERT
 *     WITH CHECK and, for ON CONFLICT with a target, SELECT USING on the
 *     proposed row before it looks for a conflict).  A row the caller may
 *     not insert is refused with the same 42501 whether a conflicting row
 *     exists or not.
 *   - The conflicting row is then looked up by the target alone (a unique
 *     index sees every row, whoever owns it).  ignore-duplicates leaves
 *     it alone (201, nothing returned); merge-duplicates needs it to pass
 *     the update and select rules, else 42501 "(USING expression)" as
 *     PostgreSQL raises, and the merged row must pass them too.
 *
 * What remains observable is what a unique constraint reveals in
 * PostgreSQL too: that a value is taken, for a row the caller may insert
 * (a plain insert of it fails with 409 the same way).
 */
#include "rest/rest_int.h"
#include "core/error.h"
#include "rest/collections.h"
#include "db/ident.h"

#include <stdio.h>
#include <string.h>

int rest_on_conflict_check(rest_ctx *c, db_conn *w)
{
    const char *const *names;
    size_t n;
    rest_query_on_conflict(c->q, &names, &n);
    if (n == 0)
        return BS_OK; /* the primary key */
    int rc = rest_coll_unique_match(w, c->coll, names, n);
    if (rc == BS_ENOTFOUND)
        rest_set_err(c, 400, "42P10",
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                        "on_conflict must name the fields of a unique index (or id)");
    else if (rc)
        rest_set_err(c, 500, "PGRST000", "could not read the collection's indexes", NULL);
    return rc == BS_ENOTFOUND ? BS_EINVAL : rc;
}

/* "SELECT id, data FROM coll WHERE <target> = <the proposed row's value>
 * AND ...": the id column against the row's id, a field against
 * json_extract of the proposed document, so the comparison is SQLite's,
 * the same as the unique index's (a null never conflicts). */
static int conflict_sql(rest_ctx *c, buf *sql, db_binds *b, const char *doc, size_t len, const char *id)
{
    const char *const *names;
    size_t n;
    rest_query_on_conflict(c->q, &names, &n);
    static const char *const by_id[] = {"id"};
    if (n == 0) {
        names = by_id;
        n = 1;
    }
    int rc = buf_puts(sql, "SELECT id, data FROM ");
    if (!rc)
        rc = db_ident_quote(sql, c->coll);
    if (!rc)
        rc = buf_puts(sql, " WHERE ");
    for (size_t i = 0; i < n && !rc; i++) {
        db_path p;
        if (i)
            rc = buf_puts(sql, " AND ");
        if (!rc)
            rc = db_path_parse(c->a, names[i], strlen(names[i]), &p);
        if (!rc)
            rc = db_path_value_expr(sql, &p); /* a unique index's field: plain */
        if (!rc && strcmp(names[i], "id") == 0) {
            rc = buf_puts(sql, " = ?");
            if (!rc)
                rc = db_binds_text(c->a, b, id, strlen(id));
            continue;
        }
        if (!rc)
            rc = buf_puts(sql, " = json_extract(?, ");
        if (!rc)
            rc = db_binds_text(c->a, b, doc, len);
        if (!rc)
            rc = db_path_literal(sql, &p);
        if (!rc)
            rc = buf_putc(sql, ')');
    }
    return rc;
}

/* BS_OK with the conflicting row's id and text, BS_ENOTFOUND, or an error
 * (set). */
static int find_conflict(rest_ctx *c, db_conn *w, const buf *doc, const char *id, char found[REST_MAX_ID_LEN + 1],
                         char **old)
{
    buf sql = BUF_INIT;
    db_binds b = {0};
    int rc = conflict_sql(c, &sql, &b, doc->data, doc->len, id);
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st) {
        rest_set_err(c, 500, "PGRST000", "upsert lookup failed", sqlite3_errmsg(db_conn_handle(w)));
        return BS_EDB;
    }
    db_binds_apply(st, &b, 1);
    int step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? BS_OK : step == SQLITE_DONE ? BS_ENOTFOUND : BS_EDB;
    if (rc == BS_OK) {
        snprintf(found, REST_MAX_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        *old = arena_strdup(c->a, (const char *)sqlite3_column_text(st, 1));
        if (!*old)
            rc = BS_ENOMEM;
    }
    db_stmt_done(st);
    if (rc == BS_EDB)
        rest_set_err(c, 500, "PGRST000", "upsert lookup failed", sqlite3_errmsg(db_conn_handle(w)));
    return rc;
}

int rest_upsert_one(rest_ctx *c, db_conn *w, size_t i, bool *written, char id[REST_MAX_ID_LEN + 1])
{
    buf doc = BUF_INIT;
    char found[REST_MAX_ID_LEN + 1];
    char *old = NULL;
    *written = false;
    int rc = rest_new_doc(c, i, id, &doc);
    if (rc)
        goto out;
    /* the proposed row first, conflict or not */
    if (c->rules_on && !rules_write_allowed(c->rule_write, c->auth, NULL, doc.data, c->rule_sel, true)) {
        rc = rest_deny_row(c, false);
        goto out;
    }
    rc = find_conflict(c, w, &doc, id, found, &old);
    if (rc == BS_ENOTFOUND) {
        rc = rest_insert_doc(c, w, id, doc.data, doc.len);
        *written = rc == BS_OK;
        goto out;
    }
    if (rc || c->pref.resolution == RES_IGNORE)
        goto out;
    /* DO UPDATE: the existing row must be one the caller may update and read */
    if (c->rules_on && (!c->rule_upd || !rules_write_allowed(c->rule_upd, c->auth, old, old, c->rule_sel, true))) {
        rc = rest_deny_row(c, true);
        goto out;
    }
    db_jmember *set;
    size_t nset;
    rc = rest_update_set(c, i, &set, &nset);
    if (!rc)
        rc = rest_update_row(c, w, found, old, set, nset, true);
    if (!rc) {
        memcpy(id, found, sizeof found);
        *written = true;
    }
out:
    buf_free(&doc);
    return rc;
}
