/* rules_sql.c - compiling a rule to an SQL condition over a collection row.
 *
 * The condition has the same three-valued answer as rules_eval (rules_int.h)
 * for the row's document: SQL's NULL is "unknown", and AND/OR/NOT are
 * already Kleene's.  What SQLite does differently is patched per comparison:
 *
 *   doc.<path>  → V = the expression of ident.h (json_extract(data, '$.p'),
 *                 or the id / created_at / updated_at column), the one the
 *                 index builder uses, so rules keep index use;
 *                 T = json_type(data, '$.p') tells the classes apart where V
 *                 cannot (json_extract gives 1/0 for true/false and JSON
 *                 text for objects and arrays).
 *   auth.*, literals → evaluated now and bound as values; a comparison of two
 *                 such values is folded to 1, 0 or NULL.
 *
 *   doc.x == 'str'  → V = ?                     (+ class guard when the string
 *                                                 looks like JSON: '{...', '[...')
 *   doc.x == 5      → V = ?                     (+ guard for 0 and 1: booleans)
 *   doc.x == true   → nullif(T,'null') = 'true'
 *   other ops       → (V op ? AND nullif(T,'null') <is the class>)
 *   doc.x == doc.y  → (Vx = Vy AND Cx = Cy AND Cx < 4), C = class number
 * The guard is NULL (not false) for a null document value, so that null
 * stays "unknown" through NOT.  Guards are extra AND terms, so the plain
 * `V = ?` term can still drive an index.
 *
 * Nothing of the rule text reaches the SQL: paths are validated by the
 * parser with ident.h's grammar and emitted by ident.h; values are bound.
 */
#include "rules/rules_int.h"
#include "core/error.h"

#include <stdarg.h>
#include <string.h>

typedef struct sctx {
    rules_env env;       /* auth only */
    bool new_as_doc;
    arena *a;
    buf *sql;
    db_binds *b;
} sctx;

static bool is_const(const operand *o) { return o->root == OR_LIT || o->root == OR_AUTH; }

static bool is_column(const operand *o)
{
    if (o->path.n != 1 || o->path.is_index[0])
        return false;
    const char *s = o->path.segs[0];
    return strcmp(s, "id") == 0 || strcmp(s, "created_at") == 0 || strcmp(s, "updated_at") == 0;
}

static int check_row(const sctx *c, const operand *o)
{
    if (o->root == OR_OBJECT || o->root == OR_REALTIME || (o->root == OR_NEW && !c->new_as_doc))
        return BS_EINVAL;
    return BS_OK;
}

static int emit(sctx *c, const rnode *n);
static int put_class(sctx *c, const operand *o);
static int bind_val(sctx *c, const val *v);

/* Append SQL from a template: text is copied, and each directive takes the
 * next argument:
 *   %V operand   V, its value expression (ident.h)
 *   %T operand   T, json_type(data, '$.p')
 *   %N operand   nullif(T, 'null')
 *   %C operand   its class number (see put_class)
 *   %? val       a '?' with the value bound
 *   %E rnode     the node's condition
 *   %s string    the string (SQL text of ours, never of the rule)
 * Stops at the first error. */
static int sqlf(sctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = BS_OK;
    for (const char *p = fmt; !rc && *p; p++) {
        if (*p != '%') {
            rc = buf_putc(c->sql, *p);
            continue;
        }
        switch (*++p) {
        case 'V': rc = db_path_value_expr(c->sql, &va_arg(ap, const operand *)->path); break;
        case 'T': rc = sqlf(c, "json_type(data, %P)", va_arg(ap, const operand *)); break;
        case 'P': rc = db_path_literal(c->sql, &va_arg(ap, const operand *)->path); break;
        case 'N': rc = sqlf(c, "nullif(%T, 'null')", va_arg(ap, const operand *)); break;
        case 'C': rc = put_class(c, va_arg(ap, const operand *)); break;
        case '?': rc = buf_putc(c->sql, '?'); if (!rc) rc = bind_val(c, va_arg(ap, const val *)); break;
        case 'E': rc = emit(c, va_arg(ap, const rnode *)); break;
        case 's': rc = buf_puts(c->sql, va_arg(ap, const char *)); break;
        default: rc = BS_EINVAL; /* a template of ours is wrong */
        }
    }
    va_end(ap);
    return rc;
}

/* 1 number, 2 boolean, 3 string, 4 container, NULL for a null value. */
static int put_class(sctx *c, const operand *o)
{
    if (is_column(o))
        return buf_putc(c->sql, '3');
    return sqlf(c,
                "(CASE WHEN %N IS NULL THEN NULL WHEN %T IN ('integer', 'real') THEN 1 WHEN %T IN ('true', 'false') "
                "THEN 2 WHEN %T = 'text' THEN 3 ELSE 4 END)",
                o, o, o, o);
}

static int bind_val(sctx *c, const val *v)
{
    switch (v->c) {
    case VC_STR: return db_binds_text(c->a, c->b, v->s, v->n);
    case VC_BOOL: return db_binds_int(c->a, c->b, v->b);
    case VC_NUM:
        if (v->is_int)
            return db_binds_int(c->a, c->b, v->i);
        return db_binds_push(c->a, c->b, (db_bind){.type = DB_BIND_REAL, .r = v->d});
    default: return db_binds_push(c->a, c->b, (db_bind){.type = DB_BIND_NULL});
    }
}

static const char *const op_sql[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};

static cmp_op flip(cmp_op op)
{
    switch (op) {
    case CMP_LT: return CMP_GT;
    case CMP_LE: return CMP_GE;
    case CMP_GT: return CMP_LT;
    case CMP_GE: return CMP_LE;
    default: return op;
    }
}

static int put_tri(sctx *c, tri t) { return buf_puts(c->sql, t == TRI_T ? "1" : t == TRI_F ? "0" : "NULL"); }

/* doc.<path> op constant */
static int doc_const(sctx *c, const operand *d, cmp_op op, const val *v)
{
    int rc = check_row(c, d);
    if (rc)
        return rc;
    if (v->c == VC_NULL)
        return buf_puts(c->sql, "NULL");
    if (is_column(d)) /* never null, always text */
        return v->c != VC_STR ? buf_putc(c->sql, '0') : sqlf(c, "%V%s%?", d, op_sql[op], v);
    if (v->c == VC_CONT)
        return sqlf(c, "(CASE WHEN %V IS NULL THEN NULL ELSE 0 END)", d);
    if (v->c == VC_BOOL && (op == CMP_EQ || op == CMP_NE)) {
        bool want = op == CMP_EQ ? v->b : !v->b;
        return sqlf(c, "%N%s", d, want ? " = 'true'" : " = 'false'");
    }
    const char *guard = NULL;
    if (v->c == VC_STR && (op != CMP_EQ || (v->n && (v->s[0] == '{' || v->s[0] == '['))))
        guard = " = 'text'";
    else if (v->c == VC_NUM && (op != CMP_EQ || v->d == 0 || v->d == 1))
        guard = " IN ('integer', 'real')";
    else if (v->c == VC_BOOL)
        guard = " IN ('true', 'false')";
    if (guard)
        return sqlf(c, "(%V%s%? AND %N%s)", d, op_sql[op], v, d, guard);
    return sqlf(c, "%V%s%?", d, op_sql[op], v);
}

/* doc.<a> op doc.<b> */
static int doc_doc(sctx *c, const operand *x, cmp_op op, const operand *y)
{
    int rc = check_row(c, x);
    if (!rc)
        rc = check_row(c, y);
    if (rc)
        return rc;
    if (is_column(x) && is_column(y))
        return sqlf(c, "(%V%s%V)", x, op_sql[op], y);
    return sqlf(c, "(%V%s%V AND %C = %C AND %C < 4)", x, op_sql[op], y, x, y, x);
}

static int emit_cmp(sctx *c, const operand *l, cmp_op op, const operand *r)
{
    val v;
    if (is_const(l) && is_const(r)) {
        val w;
        rules__operand_val(l, &c->env, &v);
        rules__operand_val(r, &c->env, &w);
        return put_tri(c, rules__cmp(&v, op, &w));
    }
    if (is_const(r)) {
        rules__operand_val(r, &c->env, &v);
        return doc_const(c, l, op, &v);
    }
    if (is_const(l)) {
        rules__operand_val(l, &c->env, &v);
        return doc_const(c, r, flip(op), &v);
    }
    return doc_doc(c, l, op, r);
}

static int emit_in(sctx *c, const rnode *n)
{
    if (n->nlist == 0)
        return buf_putc(c->sql, '0');
    /* fast path: doc.x in ['a', 'b', ...] → V IN (?, ?, ...) */
    bool simple = !is_const(&n->l);
    val v;
    for (size_t i = 0; i < n->nlist && simple; i++) {
        if (!is_const(&n->list[i])) {
            simple = false;
            break;
        }
        rules__operand_val(&n->list[i], &c->env, &v);
        simple = v.c == VC_NULL || (v.c == VC_STR && !(v.n && (v.s[0] == '{' || v.s[0] == '[')));
    }
    int rc;
    if (simple) {
        rc = check_row(c, &n->l);
        if (!rc)
            rc = sqlf(c, "%V IN (", &n->l);
        for (size_t i = 0; i < n->nlist && !rc; i++) {
            rules__operand_val(&n->list[i], &c->env, &v);
            rc = sqlf(c, i ? ", %?" : "%?", &v);
        }
        return rc ? rc : buf_putc(c->sql, ')');
    }
    rc = buf_putc(c->sql, '(');
    for (size_t i = 0; i < n->nlist && !rc; i++) {
        if (i)
            rc = buf_puts(c->sql, " OR ");
        if (!rc)
            rc = emit_cmp(c, &n->l, CMP_EQ, &n->list[i]);
    }
    return rc ? rc : buf_putc(c->sql, ')');
}

/* A node whose answer does not depend on the row: its value, else -1. */
static int const_value(sctx *c, const rnode *n)
{
    if (rules__node_has_row(n))
        return -1;
    return (int)rules__node(n, &c->env);
}

static int emit_bin(sctx *c, const rnode *n)
{
    bool is_and = n->k == N_AND;
    int ta = const_value(c, n->a), tb = const_value(c, n->b);
    tri absorb = is_and ? TRI_F : TRI_T, neutral = is_and ? TRI_T : TRI_F;
    if (ta == (int)absorb || tb == (int)absorb)
        return put_tri(c, absorb);
    if (ta == (int)neutral)
        return emit(c, n->b);
    if (tb == (int)neutral)
        return emit(c, n->a);
    return sqlf(c, "(%E%s%E)", n->a, is_and ? " AND " : " OR ", n->b);
}

static int emit(sctx *c, const rnode *n)
{
    int t = const_value(c, n);
    if (t >= 0)
        return put_tri(c, (tri)t);
    switch (n->k) {
    case N_OR:
    case N_AND: return emit_bin(c, n);
    case N_NOT: return sqlf(c, "(NOT %E)", n->a);
    case N_CMP: return emit_cmp(c, &n->l, n->op, &n->r);
    case N_IN: return emit_in(c, n);
    case N_ISNULL:
        return check_row(c, &n->l) ? BS_EINVAL : sqlf(c, "%V%s", &n->l, n->neg ? " IS NOT NULL" : " IS NULL");
    case N_TRUTH: {
        static const val t_val = {.c = VC_BOOL, .b = true};
        return doc_const(c, &n->l, CMP_EQ, &t_val);
    }
    }
    return BS_EINVAL;
}

int rules_to_sql_ex(const rules_expr *e, const struct auth_claims *auth, bool new_as_doc, arena *a, buf *sql,
                    db_binds *binds)
{
    if (!e || !e->root || !a || !sql || !binds)
        return BS_EINVAL;
    if ((e->flags & (RF_OBJECT | RF_REALTIME)) || ((e->flags & RF_NEW) && !new_as_doc))
        return BS_EINVAL;
    sctx c = {.env = {.auth = auth}, .new_as_doc = new_as_doc, .a = a, .sql = sql, .b = binds};
    size_t mark = sql->len, nb = binds->n;
    int rc = sqlf(&c, "(%E)", e->root);
    if (rc) {
        sql->len = mark;
        if (sql->data)
            sql->data[mark] = '\0';
        binds->n = nb;
    }
    return rc;
}

int rules_to_sql(const rules_expr *e, const struct auth_claims *auth, arena *a, buf *sql, db_binds *binds)
{
    return rules_to_sql_ex(e, auth, false, a, sql, binds);
}
