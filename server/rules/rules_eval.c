/* rules_eval.c - evaluating a parsed rule in C over jansson values.
 *
 * The semantics are those of rules_int.h: values fall into five classes,
 * comparisons are three-valued (null → unknown, class mismatch → false),
 * && || ! follow Kleene, and only a true result allows.  rules_sql.c emits
 * SQL with exactly these answers; tests/unit/rules/equiv.c checks the two
 * against each other on a table of documents.
 *
 * No allocation happens while evaluating: operands are read in place
 * (strings point into the jansson values or the claims), so the realtime
 * fan-out can call rules_eval per event and subscriber.
 */
#include "rules/rules_int.h"
#include "core/jwt.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void from_json(json_t *j, val *v)
{
    memset(v, 0, offsetof(val, tmp));
    if (!j || json_is_null(j)) {
        v->c = VC_NULL;
    } else if (json_is_boolean(j)) {
        v->c = VC_BOOL;
        v->b = json_is_true(j);
    } else if (json_is_integer(j)) {
        v->c = VC_NUM;
        v->is_int = true;
        v->i = json_integer_value(j);
        v->d = (double)v->i;
    } else if (json_is_real(j)) {
        v->c = VC_NUM;
        v->d = json_real_value(j);
    } else if (json_is_string(j)) {
        v->c = VC_STR;
        v->s = json_string_value(j);
        v->n = json_string_length(j);
    } else {
        v->c = VC_CONT;
    }
}

static json_t *walk(json_t *j, const db_path *p)
{
    for (size_t i = 0; i < p->n && j; i++) {
        if (p->is_index[i])
            j = json_is_array(j) ? json_array_get(j, (size_t)strtoul(p->segs[i], NULL, 10)) : NULL;
        else
            j = json_is_object(j) ? json_object_get(j, p->segs[i]) : NULL;
    }
    return j;
}

static void str_val(const char *s, val *v)
{
    memset(v, 0, offsetof(val, tmp));
    if (!s || !*s) {
        v->c = VC_NULL;
        return;
    }
    v->c = VC_STR;
    v->s = s;
    v->n = strlen(s);
}

void rules__operand_val(const operand *o, const rules_env *env, val *out)
{
    const auth_claims *au = env ? env->auth : NULL;
    switch (o->root) {
    case OR_LIT:
        memcpy(out, &o->lit, offsetof(val, tmp));
        return;
    case OR_AUTH:
        switch (o->af) {
        case AF_UID: str_val(au ? au->sub : NULL, out); return;
        case AF_ROLE: str_val(au ? au->role : "anon", out); return;
        case AF_EMAIL: str_val(au ? au->email : NULL, out); return;
        case AF_CLAIMS: from_json(au ? walk(au->json, &o->path) : NULL, out); return;
        }
        break;
    case OR_REALTIME: {
        const rules_realtime *rt = env ? env->realtime : NULL;
        str_val(!rt ? NULL : o->rf == RTF_TOPIC ? rt->topic : o->rf == RTF_EXTENSION ? rt->extension
                                                                                : rt->presence_key,
                out);
        return;
    }
    case OR_DOC:
    case OR_NEW:
    case OR_OBJECT: {
        json_t *root = !env ? NULL : o->root == OR_DOC ? env->doc : o->root == OR_NEW ? env->new_doc : env->object;
        from_json(walk(root, &o->path), out);
        /* doc.id reads as the id column stores it: text */
        if (o->root != OR_OBJECT && o->path.n == 1 && strcmp(o->path.segs[0], "id") == 0 && out->c == VC_NUM) {
            int k = out->is_int ? snprintf(out->tmp, sizeof out->tmp, "%lld", (long long)out->i)
                                : snprintf(out->tmp, sizeof out->tmp, "%.17g", out->d);
            out->c = VC_STR;
            out->s = out->tmp;
            out->n = k > 0 && (size_t)k < sizeof out->tmp ? (size_t)k : 0;
        }
        return;
    }
    }
    out->c = VC_NULL;
}

static int cmp3(const val *a, const val *b)
{
    switch (a->c) {
    case VC_BOOL: return (int)a->b - (int)b->b;
    case VC_NUM:
        if (a->is_int && b->is_int)
            return a->i < b->i ? -1 : a->i > b->i;
        return a->d < b->d ? -1 : a->d > b->d;
    case VC_STR: {
        size_t n = a->n < b->n ? a->n : b->n;
        int r = memcmp(a->s, b->s, n);
        if (r)
            return r < 0 ? -1 : 1;
        return a->n < b->n ? -1 : a->n > b->n;
    }
    default: return 0;
    }
}

tri rules__cmp(const val *a, cmp_op op, const val *b)
{
    if (a->c == VC_NULL || b->c == VC_NULL)
        return TRI_U;
    if (a->c != b->c || a->c == VC_CONT)
        return TRI_F;
    int r = cmp3(a, b);
    bool ok;
    switch (op) {
    case CMP_EQ: ok = r == 0; break;
    case CMP_NE: ok = r != 0; break;
    case CMP_LT: ok = r < 0; break;
    case CMP_LE: ok = r <= 0; break;
    case CMP_GT: ok = r > 0; break;
    default: ok = r >= 0; break;
    }
    return ok ? TRI_T : TRI_F;
}

static const val true_val = {.c = VC_BOOL, .b = true};

tri rules__node(const rnode *n, const rules_env *env)
{
    val a, b;
    switch (n->k) {
    case N_OR:
    case N_AND: {
        /* Kleene: the absorbing value (true for ||, false for &&) wins,
         * then unknown, then the other */
        tri absorb = n->k == N_OR ? TRI_T : TRI_F;
        tri x = rules__node(n->a, env);
        if (x == absorb)
            return absorb;
        tri y = rules__node(n->b, env);
        if (y == absorb)
            return absorb;
        return x == TRI_U || y == TRI_U ? TRI_U : absorb == TRI_T ? TRI_F : TRI_T;
    }
    case N_NOT: {
        tri x = rules__node(n->a, env);
        return x == TRI_U ? TRI_U : x == TRI_T ? TRI_F : TRI_T;
    }
    case N_CMP:
        rules__operand_val(&n->l, env, &a);
        rules__operand_val(&n->r, env, &b);
        return rules__cmp(&a, n->op, &b);
    case N_IN: {
        rules__operand_val(&n->l, env, &a);
        tri res = TRI_F;
        for (size_t i = 0; i < n->nlist; i++) {
            rules__operand_val(&n->list[i], env, &b);
            tri t = rules__cmp(&a, CMP_EQ, &b);
            if (t == TRI_T)
                return TRI_T;
            if (t == TRI_U)
                res = TRI_U;
        }
        return res;
    }
    case N_ISNULL:
        rules__operand_val(&n->l, env, &a);
        return (a.c == VC_NULL) != n->neg ? TRI_T : TRI_F;
    case N_TRUTH:
        rules__operand_val(&n->l, env, &a);
        return rules__cmp(&a, CMP_EQ, &true_val);
    }
    return TRI_F;
}

static bool operand_has_row(const operand *o) { return o->root == OR_DOC || o->root == OR_NEW || o->root == OR_OBJECT; }

bool rules__node_has_row(const rnode *n)
{
    switch (n->k) {
    case N_OR:
    case N_AND: return rules__node_has_row(n->a) || rules__node_has_row(n->b);
    case N_NOT: return rules__node_has_row(n->a);
    case N_CMP: return operand_has_row(&n->l) || operand_has_row(&n->r);
    case N_IN:
        if (operand_has_row(&n->l))
            return true;
        for (size_t i = 0; i < n->nlist; i++)
            if (operand_has_row(&n->list[i]))
                return true;
        return false;
    case N_ISNULL:
    case N_TRUTH: return operand_has_row(&n->l);
    }
    return true;
}

bool rules_eval(const rules_expr *e, const rules_env *env)
{
    return e && e->root && rules__node(e->root, env) == TRI_T;
}

bool rules_write_allowed(const rules_expr *rule, const struct auth_claims *auth, const char *old_text,
                         const char *new_text, const rules_expr *select, bool check_select)
{
    json_t *old = old_text ? rules_json_load(old_text, strlen(old_text)) : NULL;
    json_t *nw = new_text ? rules_json_load(new_text, strlen(new_text)) : NULL;
    bool ok = (!old_text || old) && (!new_text || nw);
    if (ok && rule) {
        rules_env env = {.auth = auth, .doc = old ? old : nw, .new_doc = nw};
        ok = rules_eval(rule, &env);
        if (ok && old && nw) {
            env.doc = nw;
            ok = rules_eval(rule, &env);
        }
    }
    if (ok && check_select) {
        rules_env env = {.auth = auth, .doc = nw ? nw : old};
        ok = select && rules_eval(select, &env);
    }
    json_decref(old);
    json_decref(nw);
    return ok;
}
