/* rules_parse.c - the access-rule language: lexer and recursive-descent
 * parser into the tree of rules_int.h, reference counting and the
 * per-operation checks (rule sets are merged in rules_sets.c).
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
#include "rules/rules_int.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_END, T_IDENT, T_NUM, T_STR, T_LP, T_RP, T_LB, T_RB, T_COMMA, T_DOT,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_AND, T_OR, T_NOT,
} tok_kind;

typedef struct tok {
    tok_kind k;
    size_t off, len;   /* bytes of the token in the text */
    char *s;           /* T_STR: decoded (arena); T_NUM: NULL */
    size_t n;          /* T_STR length */
} tok;

typedef struct pctx {
    const char *t;
    size_t len, off;
    tok cur;
    rules_expr *e;
    rules_error *err;
    int depth;
    bool failed;
} pctx;

/* 1-based character position of byte offset off. */
static int char_pos(const char *t, size_t off)
{
    int pos = 1;
    for (size_t i = 0; i < off && t[i]; i++)
        if (((unsigned char)t[i] & 0xC0) != 0x80)
            pos++;
    return pos;
}

static void fail_at(pctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(pctx *c, size_t off, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->err->pos = char_pos(c->t, off);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
}

static bool utf8_ok(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned char ch = s[i];
        size_t k;
        uint32_t cp;
        if (ch < 0x80) {
            i++;
            continue;
        } else if ((ch & 0xE0) == 0xC0) {
            k = 1;
            cp = ch & 0x1F;
        } else if ((ch & 0xF0) == 0xE0) {
            k = 2;
            cp = ch & 0x0F;
        } else if ((ch & 0xF8) == 0xF0) {
            k = 3;
            cp = ch & 0x07;
        } else {
            *bad = i;
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) {
                *bad = i;
                return false;
            }
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            *bad = i;
            return false;
        }
        i += k + 1;
    }
    return true;
}

static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static void lex_string(pctx *c, tok *k)
{
    char q = c->t[c->off];
    size_t i = c->off + 1;
    char *out = arena_alloc(&c->e->a, c->len - c->off + 1);
    size_t n = 0;
    if (!out) {
        fail_at(c, c->off, "out of memory");
        return;
    }
    while (i < c->len && c->t[i] != q) {
        char ch = c->t[i];
        if ((unsigned char)ch < 0x20) {
            fail_at(c, i, "control character in a string");
            return;
        }
        if (ch == '\\') {
            char nx = i + 1 < c->len ? c->t[i + 1] : '\0';
            switch (nx) {
            case '\\': out[n++] = '\\'; break;
            case '\'': out[n++] = '\''; break;
            case '"': out[n++] = '"'; break;
            case '/': out[n++] = '/'; break;
            case 'n': out[n++] = '\n'; break;
            case 't': out[n++] = '\t'; break;
            case 'r': out[n++] = '\r'; break;
            default:
                fail_at(c, i, "unknown escape in a string (use \\\\, \\', \\\", \\n, \\t or \\r)");
                return;
            }
            i += 2;
            continue;
        }
        out[n++] = ch;
        i++;
    }
    if (i >= c->len) {
        fail_at(c, c->off, "unterminated string");
        return;
    }
    out[n] = '\0';
    k->k = T_STR;
    k->s = out;
    k->n = n;
    k->len = i + 1 - c->off;
}

static void lex_number(pctx *c, tok *k)
{
    size_t i = c->off;
    if (c->t[i] == '-')
        i++;
    if (i >= c->len || !is_digit(c->t[i])) {
        fail_at(c, c->off, "unexpected character '-'");
        return;
    }
    if (c->t[i] == '0' && i + 1 < c->len && is_digit(c->t[i + 1])) {
        fail_at(c, c->off, "numbers may not have leading zeros");
        return;
    }
    while (i < c->len && is_digit(c->t[i]))
        i++;
    if (i < c->len && c->t[i] == '.') {
        i++;
        if (i >= c->len || !is_digit(c->t[i])) {
            fail_at(c, i, "expected a digit after '.'");
            return;
        }
        while (i < c->len && is_digit(c->t[i]))
            i++;
    }
    if (i < c->len && (c->t[i] == 'e' || c->t[i] == 'E')) {
        i++;
        if (i < c->len && (c->t[i] == '+' || c->t[i] == '-'))
            i++;
        if (i >= c->len || !is_digit(c->t[i])) {
            fail_at(c, i, "expected a digit in the exponent");
            return;
        }
        while (i < c->len && is_digit(c->t[i]))
            i++;
    }
    if (i < c->len && (is_alpha(c->t[i]) || c->t[i] == '.')) {
        fail_at(c, i, "unexpected character '%c' after a number", c->t[i]);
        return;
    }
    k->k = T_NUM;
    k->len = i - c->off;
}

/* Advance c->cur to the next token. */
static void next(pctx *c)
{
    if (c->failed)
        return;
    while (c->off < c->len && (c->t[c->off] == ' ' || c->t[c->off] == '\t' || c->t[c->off] == '\n' ||
                               c->t[c->off] == '\r'))
        c->off++;
    tok k;
    memset(&k, 0, sizeof k);
    k.off = c->off;
    k.len = 1;
    if (c->off >= c->len) {
        k.k = T_END;
        k.len = 0;
        c->cur = k;
        return;
    }
    const char *p = c->t + c->off;
    char ch = *p;
    char nx = c->off + 1 < c->len ? p[1] : '\0';
    switch (ch) {
    case '(': k.k = T_LP; break;
    case ')': k.k = T_RP; break;
    case '[': k.k = T_LB; break;
    case ']': k.k = T_RB; break;
    case ',': k.k = T_COMMA; break;
    case '.': k.k = T_DOT; break;
    case '=':
        if (nx != '=') {
            fail_at(c, c->off, "use == to compare");
            return;
        }
        k.k = T_EQ;
        k.len = 2;
        break;
    case '!':
        k.k = nx == '=' ? T_NE : T_NOT;
        k.len = nx == '=' ? 2 : 1;
        break;
    case '<':
        k.k = nx == '=' ? T_LE : T_LT;
        k.len = nx == '=' ? 2 : 1;
        break;
    case '>':
        k.k = nx == '=' ? T_GE : T_GT;
        k.len = nx == '=' ? 2 : 1;
        break;
    case '&':
        if (nx != '&') {
            fail_at(c, c->off, "use && for 'and'");
            return;
        }
        k.k = T_AND;
        k.len = 2;
        break;
    case '|':
        if (nx != '|') {
            fail_at(c, c->off, "use || for 'or'");
            return;
        }
        k.k = T_OR;
        k.len = 2;
        break;
    case '\'':
    case '"': lex_string(c, &k); break;
    default:
        if (is_digit(ch) || ch == '-') {
            lex_number(c, &k);
        } else if (is_alpha(ch)) {
            size_t i = c->off;
            while (i < c->len && (is_alpha(c->t[i]) || is_digit(c->t[i])))
                i++;
            k.k = T_IDENT;
            k.len = i - c->off;
        } else if ((unsigned char)ch >= 0x20 && (unsigned char)ch < 0x7F) {
            fail_at(c, c->off, "unexpected character '%c'", ch);
            return;
        } else {
            fail_at(c, c->off, "unexpected character");
            return;
        }
    }
    if (c->failed)
        return;
    c->cur = k;
    c->off = k.off + k.len;
}

static bool ident_is(const pctx *c, const char *w)
{
    return c->cur.k == T_IDENT && c->cur.len == strlen(w) && memcmp(c->t + c->cur.off, w, c->cur.len) == 0;
}

static void unexpected(pctx *c)
{
    if (c->cur.k == T_END)
        fail_at(c, c->cur.off, "unexpected end of rule");
    else
        fail_at(c, c->cur.off, "unexpected '%.*s'", (int)(c->cur.len > 40 ? 40 : c->cur.len), c->t + c->cur.off);
}

/* Path steps after a root (c->cur is the root token): fill p, segments
 * copied into the arena.  Steps are scanned here by hand so that "doc.a.0.b"
 * is not read as the number 0.0. */
static void parse_steps(pctx *c, db_path *p, const char *root)
{
    memset(p, 0, sizeof *p);
    size_t root_off = c->cur.off;
    size_t prev_end = c->cur.off + c->cur.len;
    next(c);
    while (!c->failed && (c->cur.k == T_DOT || c->cur.k == T_LB)) {
        bool bracket = c->cur.k == T_LB;
        size_t at = c->cur.off;
        if (at != prev_end) {
            fail_at(c, at, "no spaces inside a path");
            return;
        }
        size_t s0 = at + 1, n = 0;
        const char *s = c->t + s0;
        bool is_index;
        if (s0 < c->len && is_digit(c->t[s0])) {
            while (s0 + n < c->len && is_digit(c->t[s0 + n]))
                n++;
            if (n > 9) {
                fail_at(c, s0, "array index too large");
                return;
            }
            is_index = true;
        } else if (s0 < c->len && is_alpha(c->t[s0]) && !bracket) {
            while (s0 + n < c->len && (is_alpha(c->t[s0 + n]) || is_digit(c->t[s0 + n])))
                n++;
            if (!db_ident_field_ok(s, n)) {
                fail_at(c, s0, "invalid field name (letters, digits and _, at most 63)");
                return;
            }
            is_index = false;
        } else {
            fail_at(c, s0, bracket ? "expected an array index" : "expected a field name after '.'");
            return;
        }
        if (is_index && p->n == 0) {
            fail_at(c, s0, "a path must start with a field name");
            return;
        }
        if (p->n >= DB_PATH_MAX_SEGS) {
            fail_at(c, s0, "path is longer than %d steps", DB_PATH_MAX_SEGS);
            return;
        }
        char *seg;
        if (is_index) {
            char num[16];
            int k = snprintf(num, sizeof num, "%ld", strtol(s, NULL, 10));
            seg = arena_strndup(&c->e->a, num, (size_t)k);
        } else {
            seg = arena_strndup(&c->e->a, s, n);
        }
        if (!seg) {
            fail_at(c, s0, "out of memory");
            return;
        }
        p->segs[p->n] = seg;
        p->is_index[p->n] = is_index;
        p->n++;
        c->off = s0 + n;
        prev_end = c->off;
        next(c);
        if (!c->failed && bracket) {
            if (c->cur.k != T_RB || c->cur.off != prev_end) {
                fail_at(c, c->cur.off, "expected ']'");
                return;
            }
            prev_end = c->cur.off + 1;
            next(c);
        }
    }
    if (!c->failed && p->n == 0)
        fail_at(c, root_off, "%s needs a field, like %s.owner_id", root, root);
}

/* realtime.topic | realtime.extension | realtime.presence_key (c->cur is
 * "realtime" at offset at). */
static void parse_realtime(pctx *c, operand *o, size_t at)
{
    o->root = OR_REALTIME;
    c->e->flags |= RF_REALTIME;
    if (!c->e->realtime_pos)
        c->e->realtime_pos = o->pos;
    next(c);
    if (c->failed)
        return;
    if (c->cur.k != T_DOT || c->cur.off != at + 8) {
        fail_at(c, at, "realtime needs a field: realtime.topic, realtime.extension or realtime.presence_key");
        return;
    }
    next(c);
    if (c->failed)
        return;
    if (c->cur.off != at + 9) {
        fail_at(c, at + 9, "no spaces inside a path");
        return;
    }
    if (ident_is(c, "topic") || ident_is(c, "extension") || ident_is(c, "presence_key")) {
        o->rf = ident_is(c, "topic") ? RTF_TOPIC : ident_is(c, "extension") ? RTF_EXTENSION : RTF_PRESENCE_KEY;
        if (o->rf == RTF_PRESENCE_KEY)
            c->e->flags |= RF_PRESENCE_KEY;
        next(c);
        return;
    }
    fail_at(c, c->cur.off, "unknown realtime field (use topic, extension or presence_key)");
}

static void parse_operand(pctx *c, operand *o)
{
    memset(o, 0, sizeof *o);
    o->pos = char_pos(c->t, c->cur.off);
    if (c->failed)
        return;
    switch (c->cur.k) {
    case T_STR:
        o->root = OR_LIT;
        o->lit.c = VC_STR;
        o->lit.s = c->cur.s;
        o->lit.n = c->cur.n;
        next(c);
        return;
    case T_NUM: {
        char nb[64];
        const char *s = c->t + c->cur.off;
        size_t n = c->cur.len;
        if (n >= sizeof nb) {
            fail_at(c, c->cur.off, "number is too long");
            return;
        }
        memcpy(nb, s, n);
        nb[n] = '\0';
        o->root = OR_LIT;
        o->lit.c = VC_NUM;
        errno = 0;
        double d = strtod(nb, NULL);
        if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
            fail_at(c, c->cur.off, "number out of range");
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
        next(c);
        return;
    }
    case T_IDENT:
        break;
    default:
        unexpected(c);
        return;
    }
    o->root = OR_LIT;
    if (ident_is(c, "true") || ident_is(c, "false")) {
        o->lit.c = VC_BOOL;
        o->lit.b = ident_is(c, "true");
        next(c);
        return;
    }
    if (ident_is(c, "null")) {
        o->lit.c = VC_NULL;
        next(c);
        return;
    }
    size_t at = c->cur.off;
    if (ident_is(c, "doc") || ident_is(c, "new") || ident_is(c, "object")) {
        o->root = ident_is(c, "doc") ? OR_DOC : ident_is(c, "new") ? OR_NEW : OR_OBJECT;
        const char *root = o->root == OR_DOC ? "doc" : o->root == OR_NEW ? "new" : "object";
        unsigned flag = o->root == OR_DOC ? RF_DOC : o->root == OR_NEW ? RF_NEW : RF_OBJECT;
        parse_steps(c, &o->path, root);
        c->e->flags |= flag;
        if (o->root == OR_NEW && !c->e->new_pos)
            c->e->new_pos = o->pos;
        if (o->root == OR_OBJECT && !c->e->object_pos)
            c->e->object_pos = o->pos;
        if (o->root == OR_DOC && !c->e->doc_pos)
            c->e->doc_pos = o->pos;
        return;
    }
    if (ident_is(c, "realtime")) {
        parse_realtime(c, o, at);
        return;
    }
    if (ident_is(c, "auth")) {
        o->root = OR_AUTH;
        c->e->flags |= RF_AUTH;
        next(c);
        if (c->failed)
            return;
        if (c->cur.k != T_DOT || c->cur.off != at + 4) {
            fail_at(c, at, "auth needs a field: auth.uid, auth.role, auth.email or auth.claims.<path>");
            return;
        }
        next(c);
        if (c->failed)
            return;
        if (c->cur.off != at + 5) {
            fail_at(c, at + 5, "no spaces inside a path");
            return;
        }
        if (ident_is(c, "uid") || ident_is(c, "role") || ident_is(c, "email")) {
            o->af = ident_is(c, "uid") ? AF_UID : ident_is(c, "role") ? AF_ROLE : AF_EMAIL;
            next(c);
            return;
        }
        if (ident_is(c, "claims")) {
            o->af = AF_CLAIMS;
            parse_steps(c, &o->path, "auth.claims");
            return;
        }
        fail_at(c, c->cur.off, "unknown auth field (use uid, role, email or claims.<path>)");
        return;
    }
    fail_at(c, at, "unknown name '%.*s' (use doc., new., auth., object., realtime. or a literal)",
            (int)(c->cur.len > 40 ? 40 : c->cur.len), c->t + at);
}

static rnode *new_node(pctx *c, node_kind k, size_t off)
{
    rnode *n = arena_calloc(&c->e->a, sizeof *n);
    if (!n) {
        fail_at(c, off, "out of memory");
        return NULL;
    }
    n->k = k;
    n->pos = char_pos(c->t, off);
    return n;
}

static rnode *parse_or(pctx *c);

static rnode *parse_cond(pctx *c)
{
    size_t at = c->cur.off;
    rnode *n = new_node(c, N_TRUTH, at);
    if (!n)
        return NULL;
    parse_operand(c, &n->l);
    if (c->failed)
        return NULL;
    cmp_op op;
    switch (c->cur.k) {
    case T_EQ: op = CMP_EQ; break;
    case T_NE: op = CMP_NE; break;
    case T_LT: op = CMP_LT; break;
    case T_LE: op = CMP_LE; break;
    case T_GT: op = CMP_GT; break;
    case T_GE: op = CMP_GE; break;
    default:
        if (ident_is(c, "in")) {
            n->k = N_IN;
            next(c);
            if (!c->failed && c->cur.k != T_LB) {
                fail_at(c, c->cur.off, "expected '[' after in");
                return NULL;
            }
            next(c);
            size_t cap = 4;
            n->list = arena_alloc(&c->e->a, cap * sizeof *n->list);
            if (!n->list) {
                fail_at(c, at, "out of memory");
                return NULL;
            }
            while (!c->failed && c->cur.k != T_RB) {
                if (n->nlist && c->cur.k != T_COMMA) {
                    fail_at(c, c->cur.off, c->cur.k == T_END ? "expected ']'" : "expected ',' or ']'");
                    return NULL;
                }
                if (n->nlist)
                    next(c);
                if (n->nlist >= RULES_MAX_LIST) {
                    fail_at(c, c->cur.off, "at most %d values in a list", RULES_MAX_LIST);
                    return NULL;
                }
                if (n->nlist == cap) {
                    operand *nl = arena_alloc(&c->e->a, cap * 2 * sizeof *nl);
                    if (!nl) {
                        fail_at(c, at, "out of memory");
                        return NULL;
                    }
                    memcpy(nl, n->list, cap * sizeof *nl);
                    n->list = nl;
                    cap *= 2;
                }
                parse_operand(c, &n->list[n->nlist]);
                n->nlist++;
            }
            next(c);
            return c->failed ? NULL : n;
        }
        if (ident_is(c, "is")) {
            n->k = N_ISNULL;
            next(c);
            if (ident_is(c, "not")) {
                n->neg = true;
                next(c);
            }
            if (!c->failed && !ident_is(c, "null")) {
                fail_at(c, c->cur.off, "expected null after is%s", n->neg ? " not" : "");
                return NULL;
            }
            next(c);
            return c->failed ? NULL : n;
        }
        /* a bare value: a path (means == true) or true/false/null */
        if (n->l.root == OR_LIT && n->l.lit.c != VC_BOOL && n->l.lit.c != VC_NULL) {
            fail_at(c, c->cur.off, "expected ==, !=, <, <=, >, >=, in or is after a value");
            return NULL;
        }
        return n;
    }
    n->k = N_CMP;
    n->op = op;
    next(c);
    parse_operand(c, &n->r);
    return c->failed ? NULL : n;
}

static rnode *parse_unary(pctx *c)
{
    if (c->failed)
        return NULL;
    rnode *r = NULL;
    size_t at = c->cur.off;
    bool nests = c->cur.k == T_NOT || c->cur.k == T_LP;
    if (nests && ++c->depth > RULES_MAX_DEPTH) {
        fail_at(c, c->cur.off, "rule nests too deeply (at most %d levels)", RULES_MAX_DEPTH);
        return NULL;
    }
    if (c->cur.k == T_NOT) {
        next(c);
        rnode *a = parse_unary(c);
        r = a ? new_node(c, N_NOT, at) : NULL;
        if (r)
            r->a = a;
    } else if (c->cur.k == T_LP) {
        next(c);
        r = parse_or(c);
        if (r && c->cur.k != T_RP) {
            fail_at(c, c->cur.off, c->cur.k == T_END ? "missing ')'" : "expected ')'");
            r = NULL;
        }
        next(c);
    } else {
        r = parse_cond(c);
    }
    if (nests)
        c->depth--;
    return c->failed ? NULL : r;
}

static rnode *parse_and(pctx *c)
{
    rnode *l = parse_unary(c);
    while (l && c->cur.k == T_AND) {
        size_t at = c->cur.off;
        next(c);
        rnode *r = parse_unary(c);
        rnode *n = r ? new_node(c, N_AND, at) : NULL;
        if (!n)
            return NULL;
        n->a = l;
        n->b = r;
        l = n;
    }
    return c->failed ? NULL : l;
}

static rnode *parse_or(pctx *c)
{
    rnode *l = parse_and(c);
    while (l && c->cur.k == T_OR) {
        size_t at = c->cur.off;
        next(c);
        rnode *r = parse_and(c);
        rnode *n = r ? new_node(c, N_OR, at) : NULL;
        if (!n) {
            l = NULL;
            break;
        }
        n->a = l;
        n->b = r;
        l = n;
    }
    return c->failed ? NULL : l;
}

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
        err->pos = char_pos(text, RULES_MAX_LEN);
        snprintf(err->message, sizeof err->message, "rule is longer than %d bytes", RULES_MAX_LEN);
        return BS_EPARSE;
    }
    size_t bad;
    if (!utf8_ok((const unsigned char *)text, len, &bad)) {
        err->pos = char_pos(text, bad);
        snprintf(err->message, sizeof err->message, "invalid UTF-8");
        return BS_EPARSE;
    }
    rules_expr *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    atomic_init(&e->refs, 1);
    pctx c = {.t = text, .len = len, .e = e, .err = err};
    next(&c);
    if (!c.failed && c.cur.k == T_END)
        fail_at(&c, c.cur.off, "empty rule");
    rnode *root = c.failed ? NULL : parse_or(&c);
    if (root && c.cur.k != T_END)
        unexpected(&c);
    if (c.failed || !root) {
        if (!c.failed)
            fail_at(&c, c.cur.off, "out of memory");
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
