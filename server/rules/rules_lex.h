/* rules_lex.h - the lexer of the rule language and the parse state it
 * shares with the parser (rules_parse.c).  Nothing outside server/rules/
 * includes this.
 *
 * Tokens: identifiers ([A-Za-z_][A-Za-z0-9_]*), JSON-like numbers,
 * strings in '...' or "..." (escapes \\ \' \" \/ \n \t \r), ( ) [ ] , .
 * and the operators == != < <= > >= && || !.  Any other character is an
 * error at its position.  Strings are decoded into the expression's arena.
 *
 * Errors: the first one wins (later calls are no-ops once c->failed); its
 * position is 1-based in characters, not bytes.
 */
#ifndef BS_RULES_LEX_H
#define BS_RULES_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules_int.h"

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

/* 1-based character position of byte offset off of t. */
int rules_char_pos(const char *t, size_t off);
/* Record the first error, at byte offset off. */
void rules_fail_at(pctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Advance c->cur to the next token (nothing once failed). */
void rules_next(pctx *c);
/* Is c->cur the identifier w? */
bool rules_ident_is(const pctx *c, const char *w);
/* Fail on c->cur: "unexpected end of rule" or "unexpected '...'". */
void rules_unexpected(pctx *c);
/* Character classes of identifiers and numbers. */
bool rules_is_alpha(char ch);
bool rules_is_digit(char ch);

#endif
