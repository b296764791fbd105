/* rules_lex.c - the lexer of the rule language: see rules_lex.h. */
#include "rules/rules_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* 1-based character position of byte offset off. */
int rules_char_pos(const char *t, size_t off)
{
    int pos = 1;
    for (size_t i = 0; i < off && t[i]; i++)
        if (((unsigned char)t[i] & 0xC0) != 0x80)
            pos++;
    return pos;
}

void rules_fail_at(pctx *c, size_t off, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->err->pos = rules_char_pos(c->t, off);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
}

bool rules_is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
bool rules_is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static void lex_string(pctx *c, tok *k)
{
    char q = c->t[c->off];
    size_t i = c->off + 1;
    char *out = arena_alloc(&c->e->a, c->len - c->off + 1);
    size_t n = 0;
    if (!out) {
        rules_fail_at(c, c->off, "out of memory");
        return;
    }
    while (i < c->len && c->t[i] != q) {
        char ch = c->t[i];
        if ((unsigned char)ch < 0x20) {
            rules_fail_at(c, i, "control character in a string");
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
                rules_fail_at(c, i, "unknown escape in a string (use \\\\, \\', \\\", \\n, \\t or \\r)");
                return;
            }
            i += 2;
            continue;
        }
        out[n++] = ch;
        i++;
    }
    if (i >= c->len) {
        rules_fail_at(c, c->off, "unterminated string");
        return;
    }
    out[n] = '\0';
    k->k = T_STR;
    k->s = out;
    k->n = n;
    k->len = i + 1 - c->off;
}

/* The end of the run of digits at i, or 0 after failing with missing
 * when there is none. */
static size_t digits(pctx *c, size_t i, const char *missing)
{
    if (i >= c->len || !rules_is_digit(c->t[i])) {
        rules_fail_at(c, i, "%s", missing);
        return 0;
    }
    while (i < c->len && rules_is_digit(c->t[i]))
        i++;
    return i;
}

/* JSON's number grammar: -?int(.digits)?([eE][+-]?digits)? */
static void lex_number(pctx *c, tok *k)
{
    size_t i = c->off + (c->t[c->off] == '-');
    if (i >= c->len || !rules_is_digit(c->t[i])) {
        rules_fail_at(c, c->off, "unexpected character '-'");
        return;
    }
    if (c->t[i] == '0' && i + 1 < c->len && rules_is_digit(c->t[i + 1])) {
        rules_fail_at(c, c->off, "numbers may not have leading zeros");
        return;
    }
    i = digits(c, i, "");
    if (i < c->len && c->t[i] == '.' && !(i = digits(c, i + 1, "expected a digit after '.'")))
        return;
    if (i < c->len && (c->t[i] == 'e' || c->t[i] == 'E')) {
        i++;
        if (i < c->len && (c->t[i] == '+' || c->t[i] == '-'))
            i++;
        if (!(i = digits(c, i, "expected a digit in the exponent")))
            return;
    }
    if (i < c->len && (rules_is_alpha(c->t[i]) || c->t[i] == '.')) {
        rules_fail_at(c, i, "unexpected character '%c' after a number", c->t[i]);
        return;
    }
    k->k = T_NUM;
    k->len = i - c->off;
}

/* Advance c->cur to the next token. */
void rules_next(pctx *c)
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
    case '&':
    case '|': /* only doubled: == && || */
        if (nx != ch) {
            rules_fail_at(c, c->off, ch == '=' ? "use == to compare" : ch == '&' ? "use && for 'and'" : "use || for 'or'");
            return;
        }
        k.k = ch == '=' ? T_EQ : ch == '&' ? T_AND : T_OR;
        k.len = 2;
        break;
    case '!':
    case '<':
    case '>': /* alone, or followed by = */
        k.k = nx == '=' ? (ch == '!' ? T_NE : ch == '<' ? T_LE : T_GE) : (ch == '!' ? T_NOT : ch == '<' ? T_LT : T_GT);
        k.len = nx == '=' ? 2 : 1;
        break;
    case '\'':
    case '"': lex_string(c, &k); break;
    default:
        if (rules_is_digit(ch) || ch == '-') {
            lex_number(c, &k);
        } else if (rules_is_alpha(ch)) {
            size_t i = c->off;
            while (i < c->len && (rules_is_alpha(c->t[i]) || rules_is_digit(c->t[i])))
                i++;
            k.k = T_IDENT;
            k.len = i - c->off;
        } else if ((unsigned char)ch >= 0x20 && (unsigned char)ch < 0x7F) {
            rules_fail_at(c, c->off, "unexpected character '%c'", ch);
            return;
        } else {
            rules_fail_at(c, c->off, "unexpected character");
            return;
        }
    }
    if (c->failed)
        return;
    c->cur = k;
    c->off = k.off + k.len;
}

bool rules_ident_is(const pctx *c, const char *w)
{
    return c->cur.k == T_IDENT && c->cur.len == strlen(w) && memcmp(c->t + c->cur.off, w, c->cur.len) == 0;
}

void rules_unexpected(pctx *c)
{
    if (c->cur.k == T_END)
        rules_fail_at(c, c->cur.off, "unexpected end of rule");
    else
        rules_fail_at(c, c->cur.off, "unexpected '%.*s'", (int)(c->cur.len > 40 ? 40 : c->cur.len), c->t + c->cur.off);
}
