/* query_sql.c - SQL emission for the parsed PostgREST query tree (see
 * query.c for the grammar and the semantics, query_int.h for the tree).
 *
 * rest_query_where / _projection / _order append SQL text made of fixed
 * keywords, `?` placeholders, and plain names/paths written only through
 * ident.h (which re-validates them); a path or output name that is not a
 * plain name (a quoted one) is bound, never written.  No user byte is ever
 * copied into SQL text by this file.  Binds are appended in the order
 * their `?` appear.
 * On failure the buf and binds are rolled back to where they started.
 *
 * Threads: pure functions.
 */
#include "rest/query_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ------------------------------------------------------------------ */
/* Emission                                                            */

typedef struct ectx {
    arena *a;
    buf *sql;
    db_binds *b;
} ectx;

/* Binds for an equality-style value: the number (or 1/0) and the text,
 * or the text only.  Returns how many were pushed, or <0. */
static int bind_eq(ectx *e, const tval *t, bool text_only)
{
    int rc = BS_OK, k = 0;
    if (!text_only && (t->k == V_INT || t->k == V_BOOL)) {
        rc = db_binds_int(e->a, e->b, t->i);
        k++;
    } else if (!text_only && t->k == V_REAL) {
        rc = db_binds_real(e->a, e->b, t->r);
        k++;
    }
    if (rc == BS_OK) {
        rc = db_binds_text(e->a, e->b, t->s, t->n);
        k++;
    }
    return rc == BS_OK ? k : rc;
}

/* "<pre>?<post>" with the path's db_path_text bound. */
static int bound_path(buf *sql, arena *a, db_binds *b, const db_path *p, const char *pre, const char *post)
{
    buf t = BUF_INIT;
    int rc = db_path_text(&t, p);
    if (rc == BS_OK)
        rc = db_binds_text(a, b, t.data, t.len);
    buf_free(&t);
    return rc == BS_OK ? buf_printf(sql, "%s?%s", pre, post) : rc;
}

int db_path_value_expr_bound(buf *sql, arena *a, db_binds *b, const db_path *p)
{
    if (db_path_is_plain(p))
        return db_path_value_expr(sql, p);
    return bound_path(sql, a, b, p, "json_extract(data, ", ")");
}

int db_path_json_expr_bound(buf *sql, arena *a, db_binds *b, const db_path *p)
{
    if (db_path_is_plain(p))
        return db_path_json_expr(sql, p);
    return bound_path(sql, a, b, p, p->text_last ? "data ->> " : "data -> ", "");
}

int db_path_literal_bound(buf *sql, arena *a, db_binds *b, const db_path *p)
{
    if (db_path_is_plain(p))
        return db_path_literal(sql, p);
    return bound_path(sql, a, b, p, "", "");
}

static int put_value(ectx *e, const db_path *p) { return db_path_value_expr_bound(e->sql, e->a, e->b, p); }

static int put_json(ectx *e, const db_path *p)
{
    db_path j = *p;
    j.text_last = false;
    return db_path_json_expr_bound(e->sql, e->a, e->b, &j);
}

static int put_placeholders(buf *sql, int k)
{
    int rc = BS_OK;
    for (int i = 0; i < k && rc == BS_OK; i++)
        rc = buf_puts(sql, i ? ", ?" : "?");
    return rc;
}

/* One comparison of a leaf against one value, unparenthesised. */
static int cmp_body(ectx *e, const fnode *f, const tval *t)
{
    buf *sql = e->sql;
    bool text_only = rest_query_path_is_text(&f->path);
    int rc = put_value(e, &f->path), k;
    if (rc != BS_OK)
        return rc;
    switch (f->op) {
    case OP_EQ:
    case OP_NEQ:
        if ((k = bind_eq(e, t, text_only)) < 0)
            return k;
        if (k == 1)
            return buf_puts(sql, f->op == OP_EQ ? " = ?" : " <> ?");
        return buf_puts(sql, f->op == OP_EQ ? " IN (?, ?)" : " NOT IN (?, ?)");
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE: {
        static const char *const sym[] = {" > ?", " >= ?", " < ?", " <= ?"};
        const char *op = sym[f->op - OP_GT];
        bool lt = f->op == OP_LT || f->op == OP_LTE;
        if (text_only || t->k == V_TEXT) {
            rc = db_binds_text(e->a, e->b, t->s, t->n);
            if (rc == BS_OK)
                rc = buf_puts(sql, op);
            if (rc == BS_OK && lt && !text_only) {
                /* numbers sort below text: keep them out */
                rc = buf_puts(sql, " AND ");
                if (rc == BS_OK)
                    rc = put_value(e, &f->path);
                if (rc == BS_OK)
                    rc = buf_puts(sql, " >= ''");
            }
        } else {
            rc = t->k == V_REAL ? db_binds_real(e->a, e->b, t->r) : db_binds_int(e->a, e->b, t->i);
            if (rc == BS_OK)
                rc = buf_puts(sql, op);
            if (rc == BS_OK && !lt) {
                /* text sorts above numbers: keep it out */
                rc = buf_puts(sql, " AND ");
                if (rc == BS_OK)
                    rc = put_value(e, &f->path);
                if (rc == BS_OK)
                    rc = buf_puts(sql, " < ''");
            }
        }
        return rc;
    }
    case OP_LIKE:
        rc = db_binds_text(e->a, e->b, t->s, t->n);
        return rc == BS_OK ? buf_puts(sql, " GLOB ?") : rc;
    case OP_ILIKE:
        rc = db_binds_text(e->a, e->b, t->s, t->n);
        return rc == BS_OK ? buf_puts(sql, " LIKE ? ESCAPE '\\'") : rc;
    default:
        return BS_EINVAL;
    }
}

/* Does emit_cmp produce "a AND b" that needs parentheses? */
static bool cmp_compound(const fnode *f, const tval *t)
{
    if (f->op < OP_GT || f->op > OP_LTE || rest_query_path_is_text(&f->path))
        return false;
    bool lt = f->op == OP_LT || f->op == OP_LTE;
    return t->k == V_TEXT ? lt : !lt;
}

/* One comparison, parenthesised when it is "a AND b" so that it can be
 * combined with anything. */
static int emit_cmp(ectx *e, const fnode *f, const tval *t)
{
    if (!cmp_compound(f, t))
        return cmp_body(e, f, t);
    int rc = buf_putc(e->sql, '(');
    if (rc == BS_OK)
        rc = cmp_body(e, f, t);
    return rc == BS_OK ? buf_putc(e->sql, ')') : rc;
}


static int emit_leaf(ectx *e, const fnode *f)
{
    buf *sql = e->sql;
    int rc = BS_OK, k;
    bool text_only = rest_query_path_is_text(&f->path);
    if (f->q != Q_ONE) {
        if (f->nvals == 0)
            return buf_puts(sql, f->q == Q_ANY ? "0" : "1");
        rc = buf_putc(sql, '(');
        for (size_t i = 0; i < f->nvals && rc == BS_OK; i++) {
            if (i)
                rc = buf_puts(sql, f->q == Q_ANY ? " OR " : " AND ");
            if (rc == BS_OK)
                rc = emit_cmp(e, f, &f->vals[i]);
        }
        return rc == BS_OK ? buf_putc(sql, ')') : rc;
    }
    switch (f->op) {
    case OP_EQ:
    case OP_NEQ:
    case OP_LIKE:
    case OP_ILIKE:
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE:
        return emit_cmp(e, f, &f->vals[0]);
    case OP_IN: {
        if (f->nvals == 0)
            return buf_puts(sql, "0"); /* x IN () is false */
        rc = put_value(e, &f->path);
        if (rc == BS_OK)
            rc = buf_puts(sql, " IN (");
        for (size_t i = 0; i < f->nvals && rc == BS_OK; i++) {
            if ((k = bind_eq(e, &f->vals[i], text_only)) < 0)
                return k;
            if (i)
                rc = buf_puts(sql, ", ");
            if (rc == BS_OK)
                rc = put_placeholders(sql, k);
        }
        return rc == BS_OK ? buf_putc(sql, ')') : rc;
    }
    case OP_ISDISTINCT:
        if ((k = bind_eq(e, &f->vals[0], text_only)) < 0)
            return k;
        if (k == 1) {
            rc = put_value(e, &f->path);
            return rc == BS_OK ? buf_puts(sql, " IS NOT ?") : rc;
        }
        rc = buf_putc(sql, '(');
        if (rc == BS_OK)
            rc = put_value(e, &f->path);
        if (rc == BS_OK)
            rc = buf_puts(sql, " IS NOT ? AND ");
        if (rc == BS_OK)
            rc = put_value(e, &f->path);
        return rc == BS_OK ? buf_puts(sql, " IS NOT ?)") : rc;
    case OP_IS:
        if (f->is == IS_NULL) {
            rc = put_value(e, &f->path);
            return rc == BS_OK ? buf_puts(sql, f->neg ? " IS NOT NULL" : " IS NULL") : rc;
        }
        /* IS, not =, so that not.is.true also matches missing values, as
         * NOT (x IS TRUE) does in PostgreSQL */
        rc = put_json(e, &f->path);
        return rc == BS_OK ? buf_puts(sql, f->is == IS_TRUE ? " IS 'true'" : " IS 'false'") : rc;
    case OP_CS:
    case OP_OV:
        rc = buf_puts(sql, f->op == OP_CS ? "bs_json_contains(" : "bs_json_overlaps(");
        if (rc == BS_OK)
            rc = put_json(e, &f->path);
        if (rc == BS_OK)
            rc = db_binds_text(e->a, e->b, f->vals[0].s, f->vals[0].n);
        return rc == BS_OK ? buf_puts(sql, ", ?)") : rc;
    case OP_CD:
        rc = buf_puts(sql, "bs_json_contains(?, ");
        if (rc == BS_OK)
            rc = db_binds_text(e->a, e->b, f->vals[0].s, f->vals[0].n);
        if (rc == BS_OK)
            rc = put_json(e, &f->path);
        return rc == BS_OK ? buf_putc(sql, ')') : rc;
    }
    return BS_EINVAL;
}

static int emit_node(ectx *e, const fnode *f)
{
    buf *sql = e->sql;
    int rc = BS_OK;
    /* not.is.null is written IS NOT NULL by emit_leaf itself */
    bool wrap = f->neg && f->kind == N_LEAF && !(f->op == OP_IS && f->is == IS_NULL);
    if (wrap)
        rc = buf_puts(sql, "NOT (");
    else if (f->neg && f->kind != N_LEAF)
        rc = buf_puts(sql, "NOT "); /* the group brings its own parentheses */
    if (rc != BS_OK)
        return rc;
    if (f->kind == N_LEAF) {
        rc = emit_leaf(e, f);
    } else {
        rc = buf_putc(sql, '(');
        for (size_t i = 0; i < f->nkids && rc == BS_OK; i++) {
            if (i)
                rc = buf_puts(sql, f->kind == N_OR ? " OR " : " AND ");
            if (rc == BS_OK)
                rc = emit_node(e, f->kids[i]);
        }
        if (rc == BS_OK)
            rc = buf_putc(sql, ')');
    }
    if (rc == BS_OK && wrap)
        rc = buf_putc(sql, ')');
    return rc;
}

static int emit_fail(buf *sql, size_t mark, int rc, rest_qerr *err)
{
    if (sql->data) {
        sql->len = mark;
        sql->data[mark] = '\0';
    }
    if (rc == BS_ENOMEM)
        return rest_qerr_oom(err);
    rest_qerr_set(err, 500, "PGRST000", "internal error while compiling the query", "%s",
                basalt_strerror(rc));
    return rc;
}

int rest_query_where(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err)
{
    size_t mark = sql->len, bmark = binds->n;
    if (!q || q->nfilters == 0)
        return buf_puts(sql, "1") == BS_OK ? BS_OK : rest_qerr_oom(err);
    ectx e = {a, sql, binds};
    int rc = BS_OK;
    for (size_t i = 0; i < q->nfilters && rc == BS_OK; i++) {
        if (i)
            rc = buf_puts(sql, " AND ");
        if (rc == BS_OK)
            rc = emit_node(&e, q->filters[i]);
    }
    if (rc != BS_OK) {
        binds->n = bmark;
        return emit_fail(sql, mark, rc, err);
    }
    return BS_OK;
}

static int emit_select_expr(ectx *e, const sel_item *it)
{
    buf *sql = e->sql;
    int rc;
    static const char *const type[] = {"", "TEXT", "INTEGER", "REAL"};
    if (it->cast != CAST_NONE) {
        rc = buf_puts(sql, "CAST(");
        if (rc == BS_OK)
            rc = put_value(e, &it->path);
        return rc == BS_OK ? buf_printf(sql, " AS %s)", type[it->cast]) : rc;
    }
    if (!it->path.text_last)
        return db_path_json_expr_bound(sql, e->a, e->b, &it->path);
    /* ->> as PostgreSQL does it: strings unquoted, null as NULL, anything
     * else as its JSON text ('' || drops the JSON subtype so json_object
     * stores a string, not nested JSON) */
    rc = buf_puts(sql, "CASE json_type(data, ");
    if (rc == BS_OK)
        rc = db_path_literal_bound(sql, e->a, e->b, &it->path);
    if (rc == BS_OK)
        rc = buf_puts(sql, ") WHEN 'text' THEN ");
    if (rc == BS_OK)
        rc = db_path_json_expr_bound(sql, e->a, e->b, &it->path);
    if (rc == BS_OK)
        rc = buf_puts(sql, " WHEN 'null' THEN NULL ELSE '' || (");
    if (rc == BS_OK)
        rc = put_json(e, &it->path);
    return rc == BS_OK ? buf_puts(sql, ") END") : rc;
}

/* The output name of a select entry: json_object's key (in_object) or the
 * path json_set writes it at. */
static int emit_select_name(ectx *e, const sel_item *it, bool in_object)
{
    if (in_object && db_ident_field_ok(it->name, strlen(it->name)))
        return db_ident_field_literal(e->sql, it->name);
    if (in_object) {
        int rc = db_binds_text(e->a, e->b, it->name, strlen(it->name));
        return rc == BS_OK ? buf_putc(e->sql, '?') : rc;
    }
    db_path key = {.segs = {it->name}, .n = 1};
    return db_path_literal_bound(e->sql, e->a, e->b, &key);
}

int rest_query_projection(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err)
{
    size_t mark = sql->len, bmark = binds->n;
    if (!q || !q->has_select || q->nsel == 0)
        return buf_puts(sql, "data") == BS_OK ? BS_OK : rest_qerr_oom(err);
    ectx e = {a, sql, binds};
    size_t chunks = (q->nsel + PAIRS_PER_CALL - 1) / PAIRS_PER_CALL;
    size_t wraps = q->star ? chunks : chunks - 1;
    int rc = BS_OK;
    for (size_t i = 0; i < wraps && rc == BS_OK; i++)
        rc = buf_puts(sql, "json_set(");
    if (rc == BS_OK)
        rc = buf_puts(sql, q->star ? "data" : "json_object(");
    for (size_t i = 0; i < q->nsel && rc == BS_OK; i++) {
        const sel_item *it = &q->sel[i];
        bool in_object = !q->star && i < PAIRS_PER_CALL;
        if (i % PAIRS_PER_CALL == 0 && i > 0) /* close the previous call */
            rc = buf_putc(sql, ')');
        if (rc == BS_OK && (i > 0 || q->star) && !(in_object && i == 0))
            rc = buf_puts(sql, ", ");
        if (rc == BS_OK)
            rc = emit_select_name(&e, it, in_object);
        if (rc == BS_OK)
            rc = buf_puts(sql, ", ");
        if (rc == BS_OK)
            rc = emit_select_expr(&e, it);
    }
    if (rc == BS_OK)
        rc = buf_putc(sql, ')');
    if (rc != BS_OK) {
        binds->n = bmark;
        return emit_fail(sql, mark, rc, err);
    }
    return BS_OK;
}

int rest_query_order(const rest_query *q, arena *a, buf *sql, db_binds *binds, rest_qerr *err)
{
    size_t mark = sql->len, bmark = binds->n;
    ectx e = {a, sql, binds};
    int rc = BS_OK;
    for (size_t i = 0; q && i < q->nord && rc == BS_OK; i++) {
        const ord_item *o = &q->ord[i];
        if (i)
            rc = buf_puts(sql, ", ");
        if (rc == BS_OK)
            rc = put_value(&e, &o->path);
        if (rc == BS_OK)
            rc = buf_puts(sql, o->desc ? " DESC" : " ASC");
        if (rc == BS_OK && !rest_query_path_is_text(&o->path)) {
            int nulls = o->nulls ? o->nulls : (o->desc ? 1 : 2);
            rc = buf_puts(sql, nulls == 1 ? " NULLS FIRST" : " NULLS LAST");
        }
    }
    if (rc != BS_OK) {
        binds->n = bmark;
        return emit_fail(sql, mark, rc, err);
    }
    return BS_OK;
}

bool rest_query_has_order(const rest_query *q) { return q && q->nord > 0; }
int64_t rest_query_limit(const rest_query *q) { return q ? q->limit : -1; }
int64_t rest_query_offset(const rest_query *q) { return q ? q->offset : -1; }
bool rest_query_has_filters(const rest_query *q) { return q && q->nfilters > 0; }
bool rest_query_has_select(const rest_query *q) { return q && q->has_select; }

void rest_query_columns(const rest_query *q, const char *const **names, size_t *n)
{
    *names = q ? q->columns : NULL;
    *n = q ? q->ncolumns : 0;
}

const char *rest_query_columns_raw(const rest_query *q, const rest_qerr **err)
{
    *err = q && q->columns_bad ? &q->columns_err : NULL;
    return q ? q->columns_raw : NULL;
}

void rest_query_on_conflict(const rest_query *q, const char *const **names, size_t *n)
{
    *names = q ? q->conflict : NULL;
    *n = q ? q->nconflict : 0;
}
