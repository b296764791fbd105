/* rules_parse.c - the access-rule language: recursive-descent parser
 * (over the tokens of rules_lex.c) into the tree of rules_int.h, reference
 * counting and the per-operation checks (rule sets are merged in
 * rules_sets.c).
 *
 * Grammar (precedence low to high):
 *   rule     := or
 *   or       := and ( "||" and )*
 *   and      := unary ( "&&" unary )*
 *   unary    := "!" unary | "(" or ")" | cond
 *   cond     := operand ( cmpop operand | "in" "[" [operand ("," operand)*] "]"
 *                        | "is" ["not"] "null" )?
 *   operand  := string | number | true | false | null | path
 *   path     := ("doc" | "new" | "object") step+ | "auth" "." ( uid | role | email
 *               | "claims" step+ )
 *   step     := "." field | "." digits | "[" digits "]"
 * A field follows ident.h's grammar ([A-Za-z_][A-Za-z0-9_]{0,62}), so every
 * name that can reach SQL has already passed the one audited check.  Any
 * other character (';', '-', quotes outside a string, '=') is a parse
 * error: no part of a rule is ever pasted into SQL.
 *
 * Bounds: RULES_MAX_LEN bytes, RULES_MAX_DEPTH nesting, RULES_MAX_LIST
 * values per list.  Errors carry a 1-based character (not byte) position.
 */
#include "rules/rules_lex.h"
#include "core/error.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The segment of the step at s0 (after '.' or '['): digits (an array
 * index; only those after '[') or a field name, appended to p in the
 * arena.  Its length in the text, or 0 once failed. */
static size_t step_segment(pctx *c, db_path *p, size_t s0, bool bracket)
{
    const char *s = c->t + s0;
    size_t n = 0;
    bool is_index = s0 < c->len && rules_is_digit(*s);
    if (is_index) {
        while (s0 + n < c->len && rules_is_digit(s[n]))
            n++;
        if (n > 9) {
            rules_fail_at(c, s0, "array index too large");
            return 0;
        }
    } else if (s0 < c->len && rules_is_alpha(*s) && !bracket) {
        while (s0 + n < c->len && (rules_is_alpha(s[n]) || rules_is_digit(s[n])))
            n++;
        if (!db_ident_field_ok(s, n)) {
            rules_fail_at(c, s0, "invalid field name (letters, digits and _, at most 63)");
            return 0;
        }
    } else {
        rules_fail_at(c, s0, bracket ? "expected an array index" : "expected a field name after '.'");
        return 0;
    }
    if (is_index && p->n == 0) {
        rules_fail_at(c, s0, "a path must start with a field name");
        return 0;
    }
    if (p->n >= DB_PATH_MAX_SEGS) {
        rules_fail_at(c, s0, "path is longer than %d steps", DB_PATH_MAX_SEGS);
        return 0;
    }
    char num[16];
    int k = is_index ? snprintf(num, sizeof num, "%ld", strtol(s, NULL, 10)) : 0;
    char *seg = is_index ? arena_strndup(&c->e->a, num, (size_t)k) : arena_strndup(&c->e->a, s, n);
    if (!seg) {
        rules_fail_at(c, s0, "out of memory");
        return 0;
    }
    p->segs[p->n] = seg;
    p->is_index[p->n] = is_index;
    p->n++;
    return n;
}

/* Path steps after a root (c->cur is the root token): fill p, segments
 * copied into the arena.  Steps are scanned here by hand so that "doc.a.0.b"
 * is not read as the number 0.0. */
static void parse_steps(pctx *c, db_path *p, const char *root)
{
    memset(p, 0, sizeof *p);
    size_t root_off = c->cur.off;
    size_t prev_end = c->cur.off + c->cur.len;
    rules_next(c);
    while (!c->failed && (c->cur.k == T_DOT || c->cur.k == T_LB)) {
        bool bracket = c->cur.k == T_LB;
        size_t at = c->cur.off;
        if (at != prev_end) {
            rules_fail_at(c, at, "no spaces inside a path");
            return;
        }
        size_t n = step_segment(c, p, at + 1, bracket);
        if (!n)
            return;
        c->off = at + 1 + n;
        prev_end = c->off;
        rules_next(c);
        if (!c->failed && bracket) {
            if (c->cur.k != T_RB || c->cur.off != prev_end) {
                rules_fail_at(c, c->cur.off, "expected ']'");
                return;
            }
            prev_end = c->cur.off + 1;
            rules_next(c);
        }
    }
    if (!c->failed && p->n == 0)
        rules_fail_at(c, root_off, "%s needs a field, like %s.owner_id", root, root);
}

/* After a root word at offset at (rootlen bytes; c->cur is the word): the
 * '.' right after it and the field name right after that, which becomes
 * c->cur.  False once failed; need says what a field-less root lacks. */
static bool root_dot(pctx *c, size_t at, size_t rootlen, const char *need)
{
    rules_next(c);
    if (c->failed)
        return false;
    if (c->cur.k != T_DOT || c->cur.off != at + rootlen) {
        rules_fail_at(c, at, "%s", need);
        return false;
    }
    rules_next(c);
    if (c->failed)
        return false;
    if (c->cur.off != at + rootlen + 1) {
        rules_fail_at(c, at + rootlen + 1, "no spaces inside a path");
        return false;
    }
    return true;
}

/* realtime.topic | realtime.extension | realtime.presence_key (c->cur is
 * "realtime" at offset at). */
static void parse_realtime(pctx *c, operand *o, size_t at)
{
    o->root = OR_REALTIME;
    c->e->flags |= RF_REALTIME;
    if (!c->e->realtime_pos)
        c->e->realtime_pos = o->pos;
    if (!root_dot(c, at, 8, "realtime needs a field: realtime.topic, realtime.extension or realtime.presence_key"))
        return;
    if (rules_ident_is(c, "topic") || rules_ident_is(c, "extension") || rules_ident_is(c, "presence_key")) {
        o->rf = rules_ident_is(c, "topic") ? RTF_TOPIC : rules_ident_is(c, "extension") ? RTF_EXTENSION : RTF_PRESENCE_KEY;
        if (o->rf == RTF_PRESENCE_KEY)
            c->e->flags |= RF_PRESENCE_KEY;
        rules_next(c);
        return;
    }
    rules_fail_at(c, c->cur.off, "unknown realtime field (use topic, extension or presence_key)");
}

/* auth.uid | auth.role | auth.email | auth.claims.<path> (c->cur is
 * "auth" at offset at). */
static void parse_auth(pctx *c, operand *o, size_t at)
{
    o->root = OR_AUTH;
    c->e->flags |= RF_AUTH;
    if (!root_dot(c, at, 4, "auth needs a field: auth.uid, auth.role, auth.email or auth.claims.<path>"))
        return;
    if (rules_ident_is(c, "uid") || rules_ident_is(c, "role") || rules_ident_is(c, "email")) {
        o->af = rules_ident_is(c, "uid") ? AF_UID : rules_ident_is(c, "role") ? AF_ROLE : AF_EMAIL;
        rules_next(c);
        return;
    }
    if (rules_ident_is(c, "claims")) {
        o->af = AF_CLAIMS;
        parse_steps(c, &o->path, "auth.claims");
        return;
    }
    rules_fail_at(c, c->cur.off, "unknown auth field (use uid, role, email or claims.<path>)");
}

/* doc.<path> | new.<path> | object.<path> (c->cur is the root word). */
static void parse_doc_path(pctx *c, operand *o)
{
    static const struct {
        const char *name;
        unsigned flag;
    } roots[] = {[OR_DOC] = {"doc", RF_DOC}, [OR_NEW] = {"new", RF_NEW}, [OR_OBJECT] = {"object", RF_OBJECT}};
    o->root = rules_ident_is(c, "doc") ? OR_DOC : rules_ident_is(c, "new") ? OR_NEW : OR_OBJECT;
    int *first = o->root == OR_DOC ? &c->e->doc_pos : o->root == OR_NEW ? &c->e->new_pos : &c->e->object_pos;
    parse_steps(c, &o->path, roots[o->root].name);
    c->e->flags |= roots[o->root].flag;
    if (!*first)
        *first = o->pos;
}

/* A number literal (c->cur is T_NUM): a double, and an integer too when it
 * is written without '.', 'e' or 'E' and fits. */
static void parse_number(pctx *c, operand *o)
{
    char nb[64];
    size_t n = c->cur.len;
    if (n >= sizeof nb) {
        rules_fail_at(c, c->cur.off, "number is too long");
        return;
    }
    memcpy(nb, c->t + c->cur.off, n);
    nb[n] = '\0';
    o->lit.c = VC_NUM;
    errno = 0;
    double d = strtod(nb, NULL);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
        rules_fail_at(c, c->cur.off, "number out of range");
        return;
    }
    o->lit.d = d;
    if (!strpbrk(nb, ".eE")) {
        errno = 0;
        long long ll = strtoll(nb, NULL, 10);
        if (errno == 0) {
            o->lit.is_int = true;
            o->lit.i = ll;
        }
    }
    rules_next(c);
}

static void parse_operand(pctx *c, operand *o)
{
    memset(o, 0, sizeof *o);
    o->pos = rules_char_pos(c->t, c->cur.off);
    if (c->failed)
        return;
    o->root = OR_LIT;
    size_t at = c->cur.off;
    if (c->cur.k == T_STR) {
        o->lit.c = VC_STR;
        o->lit.s = c->cur.s;
        o->lit.n = c->cur.n;
        rules_next(c);
    } else if (c->cur.k == T_NUM) {
        parse_number(c, o);
    } else if (c->cur.k != T_IDENT) {
        rules_unexpected(c);
    } else if (rules_ident_is(c, "true") || rules_ident_is(c, "false")) {
        o->lit.c = VC_BOOL;
        o->lit.b = rules_ident_is(c, "true");
        rules_next(c);
    } else if (rules_ident_is(c, "null")) {
        o->lit.c = VC_NULL;
        rules_next(c);
    } else if (rules_ident_is(c, "doc") || rules_ident_is(c, "new") || rules_ident_is(c, "object")) {
        parse_doc_path(c, o);
    } else if (rules_ident_is(c, "realtime")) {
        parse_realtime(c, o, at);
    } else if (rules_ident_is(c, "auth")) {
        parse_auth(c, o, at);
    } else {
        rules_fail_at(c, at, "unknown name '%.*s' (use doc., new., auth., object., realtime. or a literal)",
                      (int)(c->cur.len > 40 ? 40 : c->cur.len), c->t + at);
    }
}

static rnode *new_node(pctx *c, node_kind k, size_t off)
{
    rnode *n = arena_calloc(&c->e->a, sizeof *n);
    if (!n) {
        rules_fail_at(c, off, "out of memory");
        return NULL;
    }
    n->k = k;
    n->pos = rules_char_pos(c->t, off);
    return n;
}

static rnode *parse_or(pctx *c);

/* The comparison operator of token kind k, if it is one. */
static bool cmp_of(tok_kind k, cmp_op *op)
{
    switch (k) {
    case T_EQ: *op = CMP_EQ; return true;
    case T_NE: *op = CMP_NE; return true;
    case T_LT: *op = CMP_LT; return true;
    case T_LE: *op = CMP_LE; return true;
    case T_GT: *op = CMP_GT; return true;
    case T_GE: *op = CMP_GE; return true;
    default: return false;
    }
}

/* n->l in [a, b, ...] (c->cur is "in"; at: where the condition starts). */
static rnode *parse_in(pctx *c, rnode *n, size_t at)
{
    n->k = N_IN;
    rules_next(c);
    if (!c->failed && c->cur.k != T_LB) {
        rules_fail_at(c, c->cur.off, "expected '[' after in");
        return NULL;
    }
    rules_next(c);
    size_t cap = 4;
    n->list = arena_alloc(&c->e->a, cap * sizeof *n->list);
    if (!n->list) {
        rules_fail_at(c, at, "out of memory");
        return NULL;
    }
    while (!c->failed && c->cur.k != T_RB) {
        if (n->nlist && c->cur.k != T_COMMA) {
            rules_fail_at(c, c->cur.off, c->cur.k == T_END ? "expected ']'" : "expected ',' or ']'");
            return NULL;
        }
        if (n->nlist)
            rules_next(c);
        if (n->nlist >= RULES_MAX_LIST) {
            rules_fail_at(c, c->cur.off, "at most %d values in a list", RULES_MAX_LIST);
            return NULL;
        }
        if (n->nlist == cap) {
            operand *nl = arena_alloc(&c->e->a, cap * 2 * sizeof *nl);
            if (!nl) {
                rules_fail_at(c, at, "out of memory");
                return NULL;
            }
            memcpy(nl, n->list, cap * sizeof *nl);
            n->list = nl;
            cap *= 2;
        }
        parse_operand(c, &n->list[n->nlist]);
        n->nlist++;
    }
    rules_next(c);
    return c->failed ? NULL : n;
}

/* n->l is [not] null (c->cur is "is"). */
static rnode *parse_isnull(pctx *c, rnode *n)
{
    n->k = N_ISNULL;
    rules_next(c);
    if (rules_ident_is(c, "not")) {
        n->neg = true;
        rules_next(c);
    }
    if (!c->failed && !rules_ident_is(c, "null")) {
        rules_fail_at(c, c->cur.off, "expected null after is%s", n->neg ? " not" : "");
        return NULL;
    }
    rules_next(c);
    return c->failed ? NULL : n;
}

static rnode *parse_cond(pctx *c)
{
    size_t at = c->cur.off;
    rnode *n = new_node(c, N_TRUTH, at);
    if (!n)
        return NULL;
    parse_operand(c, &n->l);
    if (c->failed)
        return NULL;
    if (cmp_of(c->cur.k, &n->op)) {
        n->k = N_CMP;
        rules_next(c);
        parse_operand(c, &n->r);
        return c->failed ? NULL : n;
    }
    if (rules_ident_is(c, "in"))
        return parse_in(c, n, at);
    if (rules_ident_is(c, "is"))
        return parse_isnull(c, n);
    /* a bare value: a path (means == true) or true/false/null */
    if (n->l.root == OR_LIT && n->l.lit.c != VC_BOOL && n->l.lit.c != VC_NULL) {
        rules_fail_at(c, c->cur.off, "expected ==, !=, <, <=, >, >=, in or is after a value");
        return NULL;
    }
    return n;
}

static rnode *parse_unary(pctx *c)
{
    if (c->failed)
        return NULL;
    rnode *r = NULL;
    size_t at = c->cur.off;
    bool nests = c->cur.k == T_NOT || c->cur.k == T_LP;
    if (nests && ++c->depth > RULES_MAX_DEPTH) {
        rules_fail_at(c, c->cur.off, "rule nests too deeply (at most %d levels)", RULES_MAX_DEPTH);
        return NULL;
    }
    if (c->cur.k == T_NOT) {
        rules_next(c);
        rnode *a = parse_unary(c);
        r = a ? new_node(c, N_NOT, at) : NULL;
        if (r)
            r->a = a;
    } else if (c->cur.k == T_LP) {
        rules_next(c);
        r = parse_or(c);
        if (r && c->cur.k != T_RP) {
            rules_fail_at(c, c->cur.off, c->cur.k == T_END ? "missing ')'" : "expected ')'");
            r = NULL;
        }
        rules_next(c);
    } else {
        r = parse_cond(c);
    }
    if (nests)
        c->depth--;
    return c->failed ? NULL : r;
}

/* A chain of op (T_OR over and-chains, T_AND over unaries), left to
 * right. */
static rnode *parse_chain(pctx *c, tok_kind op)
{
    rnode *l = op == T_OR ? parse_chain(c, T_AND) : parse_unary(c);
    while (l && c->cur.k == op) {
        size_t at = c->cur.off;
        rules_next(c);
        rnode *r = op == T_OR ? parse_chain(c, T_AND) : parse_unary(c);
        rnode *n = r ? new_node(c, op == T_OR ? N_OR : N_AND, at) : NULL;
        if (!n)
            return NULL;
        n->a = l;
        n->b = r;
        l = n;
    }
    return c->failed ? NULL : l;
}

static rnode *parse_or(pctx *c) { return parse_chain(c, T_OR); }

int rules_parse(const char *text, rules_expr **out, rules_error *err)
{
    rules_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (!text) {
        err->pos = 1;
        snprintf(err->message, sizeof err->message, "empty rule");
        return BS_EPARSE;
    }
    size_t len = strlen(text);
    if (len > RULES_MAX_LEN) {
        err->pos = rules_char_pos(text, RULES_MAX_LEN);
        snprintf(err->message, sizeof err->message, "rule is longer than %d bytes", RULES_MAX_LEN);
        return BS_EPARSE;
    }
    size_t good = utf8_valid_prefix(text, len);
    if (good != len) {
        err->pos = rules_char_pos(text, good);
        snprintf(err->message, sizeof err->message, "invalid UTF-8");
        return BS_EPARSE;
    }
    rules_expr *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    atomic_init(&e->refs, 1);
    pctx c = {.t = text, .len = len, .e = e, .err = err};
    rules_next(&c);
    if (!c.failed && c.cur.k == T_END)
        rules_fail_at(&c, c.cur.off, "empty rule");
    rnode *root = c.failed ? NULL : parse_or(&c);
    if (root && c.cur.k != T_END)
        rules_unexpected(&c);
    if (c.failed || !root) {
        if (!c.failed)
            rules_fail_at(&c, c.cur.off, "out of memory");
        arena_free(&e->a);
        free(e);
        return BS_EPARSE;
    }
    e->root = root;
    *out = e;
    return BS_OK;
}

const rules_expr *rules_retain(const rules_expr *e)
{
    if (e)
        atomic_fetch_add(&((rules_expr *)e)->refs, 1);
    return e;
}

void rules_free(rules_expr *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    arena_free(&e->a);
    free(e);
}

static const char *const op_names[RULES_NOPS] = {"select", "insert", "update", "delete"};

const char *rules_op_name(rules_op op) { return op >= 0 && op < RULES_NOPS ? op_names[op] : "?"; }

int rules_op_parse(const char *name, rules_op *op)
{
    for (int i = 0; name && i < RULES_NOPS; i++)
        if (strcmp(name, op_names[i]) == 0) {
            *op = (rules_op)i;
            return BS_OK;
        }
    return BS_ENOTFOUND;
}

bool rules_uses_new(const rules_expr *e) { return e && (e->flags & RF_NEW); }

int rules_parse_op(rules_op op, const char *text, rules_expr **out, rules_error *err)
{
    rules_expr *e;
    int rc = rules_parse(text, &e, err);
    if (rc)
        return rc;
    if (e->flags & RF_OBJECT) {
        err->pos = e->object_pos;
        snprintf(err->message, sizeof err->message, "object.* is only for storage rules (use doc.* or new.*)");
        rc = BS_EPARSE;
    } else if (e->flags & RF_REALTIME) {
        err->pos = e->realtime_pos;
        snprintf(err->message, sizeof err->message, "realtime.* is only for realtime channel rules (use doc.* or new.*)");
        rc = BS_EPARSE;
    } else if ((op == RULES_SELECT || op == RULES_DELETE) && (e->flags & RF_NEW)) {
        err->pos = e->new_pos;
        snprintf(err->message, sizeof err->message, "new.* is not available in %s rules (use doc.*)",
                 rules_op_name(op));
        rc = BS_EPARSE;
    }
    if (rc) {
        rules_free(e);
        return rc;
    }
    *out = e;
    return BS_OK;
}

/* Plain jansson: stored documents, built by the writer from bodies that
 * http_parse_json admitted (at most JSONIN_MAX_DEPTH deep, and a PATCH
 * sets top-level keys, so no deeper), parsed on the writer's full-size
 * stack. */
json_t *rules_json_load(const char *text, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!j)
        j = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    return j;
}
