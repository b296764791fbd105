/* query_scan.c - the small scanners the PostgREST grammar's parsers share
 * (query.c: filters and logic trees; query_select.c: select, order,
 * columns, on_conflict): slices, quoting, comma lists, and the error
 * helpers.  Pure functions over (pointer, length) slices; see query.c for
 * the grammar.  Threads: any. */
#include "rest/query_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

/* Copy user text into an error message: printable ASCII only (the rest
 * becomes '?', so the message is always valid UTF-8 and single-line), cut
 * with "..." when long. */
const char *db_qp_echo(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    bool cut = n > cap - 1;
    size_t lim = cut ? cap - 4 : n;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (cut) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

/* 400 with a formatted message and fixed details/hint. */
int db_qp_perr(pctx *c, const char *code, const char *details, const char *hint,
                const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rest_qerr_set(c->err, 400, code, msg, "%s", details ? details : "");
    if (c->err)
        c->err->hint = hint;
    return BS_EPARSE;
}


const char DB_QP_PATH_DETAILS[] =
    "A column is a field name ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters) or any name in "
    "double quotes (\"a.b\", with \\\" for a quote and \\\\ for a backslash), optionally "
    "followed by ->key or ->index steps and one final ->>key or ->>index.";

/* ------------------------------------------------------------------ */
/* Small scanners                                                      */

bool db_qp_slice_eq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(s, lit, m) == 0;
}

bool db_qp_slice_ieq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)s[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (x != (unsigned char)lit[i])
            return false;
    }
    return true;
}

bool db_qp_starts_with(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n >= m && memcmp(s, lit, m) == 0;
}

bool db_qp_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

void db_qp_trim(const char **s, size_t *n)
{
    while (*n && db_qp_is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && db_qp_is_space((*s)[*n - 1]))
        (*n)--;
}


/* "..." wholly enclosing s[0..n)?  Backslash escapes the next byte. */
bool db_qp_fully_quoted(const char *s, size_t n)
{
    if (n < 2 || s[0] != '"')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return i == n - 1;
        }
    }
    return false;
}

/* Copy the inside of a quoted string (quotes excluded), resolving \x. */
char *db_qp_unquote(arena *a, const char *s, size_t n, size_t *outn)
{
    char *d = arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        d[o++] = s[i];
    }
    d[o] = '\0';
    *outn = o;
    return d;
}

/* Index of the first `ch` in s[0..n) outside double-quoted names (inside
 * them a backslash escapes the next byte), or n.  *ok is false when a
 * quote is left open. */
size_t db_qp_scan_to(const char *s, size_t n, char ch, bool *ok)
{
    bool in_q = false;
    *ok = true;
    for (size_t i = 0; i < n; i++) {
        if (in_q) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_q = false;
        } else if (s[i] == '"') {
            in_q = true;
        } else if (s[i] == ch) {
            return i;
        }
    }
    *ok = !in_q;
    return n;
}

/* s[0..n) holds `ch` outside quoted names, or an open quote. */
bool db_qp_has_unquoted(const char *s, size_t n, char ch)
{
    bool ok;
    return db_qp_scan_to(s, n, ch, &ok) < n || !ok;
}

/* Find the next top-level item of a comma list, starting at *pos: commas
 * inside (), [], {} or "..." do not split.  A quote opens a string only at
 * the start of a value or name (after '.', '(', ',' or "->") or inside
 * brackets, so an
 * unquoted value may contain a stray '"'.  Returns false on unbalanced
 * input. */
bool db_qp_next_item(const char *s, size_t n, size_t *pos, const char **item, size_t *len)
{
    size_t i = *pos, start = i;
    int depth = 0, brackets = 0;
    bool in_q = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (in_q) {
            if (ch == '\\' && i + 1 < n)
                i++;
            else if (ch == '"')
                in_q = false;
            continue;
        }
        if (ch == '"') {
            char prev = i > 0 ? s[i - 1] : ',';
            bool arrow = prev == '>' && i >= 2 && s[i - 2] == '-'; /* a->"quoted key" */
            if (brackets > 0 || i == start || prev == '.' || prev == '(' || prev == ',' || arrow)
                in_q = true;
        } else if (ch == '(') {
            depth++;
        } else if (ch == ')') {
            if (--depth < 0)
                return false;
        } else if (ch == '{' || ch == '[') {
            depth++;
            brackets++;
        } else if (ch == '}' || ch == ']') {
            if (--depth < 0 || --brackets < 0)
                return false;
        } else if (ch == ',' && depth == 0) {
            break;
        }
    }
    if (in_q || depth != 0)
        return false;
    *item = s + start;
    *len = i - start;
    *pos = i < n ? i + 1 : n + 1; /* n + 1: no more items */
    return true;
}
