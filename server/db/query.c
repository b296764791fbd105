/* query.c - the PostgREST grammar of /rest/v1, parsed and compiled to SQL.
 *
 * Parsing.  db_query_parse walks the decoded parameters once.  Reserved
 * keys (select, order, limit, offset, columns, on_conflict, or, and,
 * not.or, not.and) fill their own fields; every other key is a filter.
 * All parsing works on (pointer, length) slices of the caller's strings
 * with explicit bounds; nothing is assumed NUL-terminated past its slice
 * and nothing is recursive except logic trees, whose depth is checked
 * before each descent (DB_QUERY_MAX_DEPTH).  Everything the tree keeps is
 * copied into the arena.  The result is a small tree:
 *
 *   db_query.filters[]  top-level conditions, ANDed
 *   fnode               a group (and/or, children) or a leaf (path, op,
 *                       typed values), each possibly negated
 *
 * Values are typed at parse time because the store is schemaless: "5" may
 * be the JSON number 5 or the string "5", so eq/neq/in bind both forms
 * (expr IN (?, ?)); see emit_leaf in query_sql.c for the ordering
 * operators.  like/ilike patterns are translated to GLOB /
 * LIKE-with-escape at parse time; the
 * cs/cd/ov operand is converted to JSON text at parse time.  Grammar
 * errors come out of the parser, never out of the compiler.
 *
 * Emission lives in query_sql.c (db_query_where / _projection / _order);
 * the tree both files share is in query_int.h.
 *
 * Limits, and why:
 *   - DB_QUERY_MAX_NODES counts leaves, groups and every element of a
 *     like(any)/eq(all)... list.  A where clause is a chain of AND/OR whose
 *     height is bounded by the node count, which keeps SQLite well under
 *     its expression-depth limit (1000) even after the caller ANDs access
 *     rules around it.
 *   - in.(...) lists are IN (...) and do not deepen the tree; they are
 *     bounded by DB_QUERY_MAX_IN each and MAX_VALUES per request, so one
 *     request binds at most 2 * MAX_VALUES + a few parameters, far below
 *     SQLite's 32766 variables.
 *   - select= needs json_object()/json_set() calls of at most 63 pairs
 *     (SQLite 3.40 caps functions at 127 arguments), so long lists are
 *     chained: json_set(json_object(<63 pairs>), <next 63 pairs>).
 *   - Numbers are parsed with strtod, which follows LC_NUMERIC: the server
 *     must stay in the "C" locale.
 *
 * Logic trees: items are split at top-level commas; (), [] and {} nest,
 * and a double quote opens a string only at the start of a value, so
 * `a.in.("x,y",z)`, `t.cs.{a,b}` and `m.cs.{"k":[1,2]}` need no extra
 * quoting, while any other value holding , ( ) [ ] { } must be quoted
 * (postgrest-js does this for in(); users do it by hand in or()).  Items
 * are trimmed, so `or=(a.eq.1, b.eq.2)` works.
 *
 * Semantics that differ from PostgreSQL (a document store has no types):
 *   - eq.5 matches the number 5 and the string "5"; eq.true matches true
 *     and the number 1 (json_extract maps true to 1).
 *   - gt/gte/lt/lte with a number only match numbers, with text only text
 *     (SQLite orders NULL < numbers < text); true/false compare as 1/0.
 *   - ilike is ASCII-case-insensitive (SQLite LIKE).
 *   - is.true/is.false test the exact JSON value.
 *   - `{}` as a cs/cd operand is read as JSON (an empty object); the
 *     contains function treats an empty object against an array as the
 *     empty array, since postgrest-js sends contains(c, []) as `cs.{}`.
 *
 * The SQL functions bs_json_contains / bs_json_overlaps parse their JSON
 * operands with jansson (the constant one once per statement, kept as
 * auxdata) and recurse over them; jansson's parser caps nesting at 2048, so
 * the recursion is bounded.  Cost is O(|a| * |b|) per row for arrays.
 *
 * Threads: pure functions except the SQL functions, which run on whatever
 * thread owns the connection.
 */
#include "db/query_int.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonin.h"

#define XSTR_(x) #x
#define XSTR(x) XSTR_(x)

#define MAX_VALUES 5000   /* values in all in.(...) and {...} of one request */
#define MAX_NAMES 1024    /* entries in columns= / on_conflict= */

typedef struct pctx {
    arena *a;
    db_qerr *err;
    db_query *q;
} pctx;

/* ------------------------------------------------------------------ */
/* Binds and errors                                                    */

int db_binds_push(arena *a, db_binds *b, db_bind v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        db_bind *nv = arena_alloc(a, cap * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        if (b->n)
            memcpy(nv, b->v, b->n * sizeof *nv);
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = v;
    return BS_OK;
}

int db_binds_text(arena *a, db_binds *b, const char *s, size_t n)
{
    char *copy = arena_strndup(a, s ? s : "", s ? n : 0);
    if (!copy)
        return BS_ENOMEM;
    db_bind v = {.type = DB_BIND_TEXT, .s = copy, .n = s ? n : 0};
    return db_binds_push(a, b, v);
}

int db_binds_int(arena *a, db_binds *b, int64_t i)
{
    db_bind v = {.type = DB_BIND_INT, .i = i};
    return db_binds_push(a, b, v);
}

int db_binds_real(arena *a, db_binds *b, double r)
{
    db_bind v = {.type = DB_BIND_REAL, .r = r};
    return db_binds_push(a, b, v);
}

int db_qerr_set(db_qerr *err, int status, const char *code, const char *message,
                const char *details_fmt, ...)
{
    if (!err)
        return BS_EPARSE;
    err->status = status;
    err->code = code ? code : "PGRST100";
    snprintf(err->message, sizeof err->message, "%s", message ? message : "");
    err->details[0] = '\0';
    if (details_fmt) {
        va_list ap;
        va_start(ap, details_fmt);
        vsnprintf(err->details, sizeof err->details, details_fmt, ap);
        va_end(ap);
    }
    err->hint = NULL;
    return BS_EPARSE;
}

/* Copy user text into an error message: printable ASCII only (the rest
 * becomes '?', so the message is always valid UTF-8 and single-line), cut
 * with "..." when long. */
static const char *echo(char *dst, size_t cap, const char *s, size_t n)
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

#define ECHO_CAP 72

/* 400 with a formatted message and fixed details/hint. */
static int perr(pctx *c, const char *code, const char *details, const char *hint,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int perr(pctx *c, const char *code, const char *details, const char *hint,
                const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    db_qerr_set(c->err, 400, code, msg, "%s", details ? details : "");
    if (c->err)
        c->err->hint = hint;
    return BS_EPARSE;
}

int db_qerr_oom(db_qerr *err)
{
    db_qerr_set(err, 500, "PGRST000", "out of memory", "%s", "");
    return BS_ENOMEM;
}

static const char PATH_DETAILS[] =
    "A column is a field name ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters) or any name in "
    "double quotes (\"a.b\", with \\\" for a quote and \\\\ for a backslash), optionally "
    "followed by ->key or ->index steps and one final ->>key or ->>index.";

/* ------------------------------------------------------------------ */
/* Small scanners                                                      */

static bool slice_eq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(s, lit, m) == 0;
}

static bool slice_ieq(const char *s, size_t n, const char *lit)
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

static bool starts_with(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n >= m && memcmp(s, lit, m) == 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

bool db_query_path_is_text(const db_path *p)
{
    return p->n == 1 && (strcmp(p->segs[0], "id") == 0 || strcmp(p->segs[0], "created_at") == 0 ||
                         strcmp(p->segs[0], "updated_at") == 0);
}

/* "..." wholly enclosing s[0..n)?  Backslash escapes the next byte. */
static bool fully_quoted(const char *s, size_t n)
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
static char *unquote(arena *a, const char *s, size_t n, size_t *outn)
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
static size_t scan_to(const char *s, size_t n, char ch, bool *ok)
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
static bool has_unquoted(const char *s, size_t n, char ch)
{
    bool ok;
    return scan_to(s, n, ch, &ok) < n || !ok;
}

/* Find the next top-level item of a comma list, starting at *pos: commas
 * inside (), [], {} or "..." do not split.  A quote opens a string only at
 * the start of a value or name (after '.', '(', ',' or "->") or inside
 * brackets, so an
 * unquoted value may contain a stray '"'.  Returns false on unbalanced
 * input. */
static bool next_item(const char *s, size_t n, size_t *pos, const char **item, size_t *len)
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

/* ------------------------------------------------------------------ */
/* Values                                                              */

/* -?(digits[.digits*]|.digits)([eE][+-]?digits)? */
static bool number_syntax(const char *s, size_t n, bool *integral)
{
    size_t i = 0, d = 0;
    *integral = true;
    if (i < n && s[i] == '-')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        d++;
    }
    if (i < n && s[i] == '.') {
        *integral = false;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            d++;
        }
    }
    if (d == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            e++;
        }
        if (e == 0)
            return false;
    }
    return i == n;
}

static bool parse_int64(const char *s, size_t n, int64_t *out)
{
    bool neg = n && s[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (i == n)
        return false;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Type a value; s must live as long as the query (arena). */
static int type_value(arena *a, const char *s, size_t n, tval *out)
{
    tval t = {.k = V_TEXT, .s = s, .n = n};
    bool integral;
    if (slice_eq(s, n, "true") || slice_eq(s, n, "false")) {
        t.k = V_BOOL;
        t.i = s[0] == 't';
    } else if (number_syntax(s, n, &integral)) {
        if (integral && parse_int64(s, n, &t.i)) {
            t.k = V_INT;
        } else {
            char *z = arena_strndup(a, s, n);
            if (!z)
                return BS_ENOMEM;
            double r = strtod(z, NULL);
            if (isfinite(r)) {
                t.k = V_REAL;
                t.r = r;
            }
        }
    }
    *out = t;
    return BS_OK;
}

/* One element of (a,b,"c") or {a,b,"c"}. */
typedef struct elem {
    const char *s;
    size_t n;
    bool quoted;
} elem;

/* Parse a list delimited by open/close.  Elements may be double-quoted
 * (backslash escapes inside); unquoted elements run to the next comma.  For
 * array literals ({...}) whitespace around elements is dropped and nested
 * braces are refused.  *why names the problem on failure. */
static int parse_list(pctx *c, const char *s, size_t n, char open, char close, elem **out,
                      size_t *count, const char **why)
{
    bool arr = open == '{';
    *out = NULL;
    *count = 0;
    if (n < 2 || s[0] != open || s[n - 1] != close) {
        *why = arr ? "expected an array literal {a,b,...}" : "expected a list (a,b,...)";
        return BS_EPARSE;
    }
    s++;
    n -= 2;
    if (arr) {
        trim(&s, &n);
    }
    if (n == 0)
        return BS_OK;
    size_t cap = 1; /* commas bound the element count from above */
    for (size_t i = 0; i < n; i++)
        cap += s[i] == ',';
    elem *v = arena_alloc(c->a, cap * sizeof *v);
    if (!v)
        return BS_ENOMEM;
    size_t k = 0, i = 0;
    while (true) {
        if (arr)
            while (i < n && is_space(s[i]))
                i++;
        elem e = {0};
        if (i < n && s[i] == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            if (j >= n) {
                *why = "unterminated double quote";
                return BS_EPARSE;
            }
            e.s = unquote(c->a, s + i + 1, j - i - 1, &e.n);
            if (!e.s)
                return BS_ENOMEM;
            e.quoted = true;
            i = j + 1;
            if (arr)
                while (i < n && is_space(s[i]))
                    i++;
            if (i < n && s[i] != ',') {
                *why = "a quoted value must be followed by a comma or the end of the list";
                return BS_EPARSE;
            }
        } else {
            size_t j = i;
            while (j < n && s[j] != ',')
                j++;
            const char *p = s + i;
            size_t len = j - i;
            if (arr) {
                trim(&p, &len);
                if (memchr(p, '{', len) || memchr(p, '}', len)) {
                    *why = "nested arrays are not supported";
                    return BS_EPARSE;
                }
                if (len == 0) {
                    *why = "empty element in array literal";
                    return BS_EPARSE;
                }
            }
            e.s = arena_strndup(c->a, p, len);
            if (!e.s)
                return BS_ENOMEM;
            e.n = len;
            i = j;
        }
        if (k >= cap) { /* cannot happen: every element ends at a comma or the end */
            *why = "malformed list";
            return BS_EPARSE;
        }
        if (k == DB_QUERY_MAX_IN) {
            *why = "too many values in one list (at most " XSTR(DB_QUERY_MAX_IN) ")";
            return BS_EPARSE;
        }
        v[k++] = e;
        if (i >= n)
            break;
        i++; /* the comma */
    }
    *out = v;
    *count = k;
    return BS_OK;
}

/* PostgreSQL LIKE pattern ('%' or '*' any run, '_' one char, '\' escapes)
 * to SQLite GLOB, with GLOB's own metacharacters made literal. */
static char *like_to_glob(arena *a, const char *s, size_t n, size_t *outn)
{
    char *d = arena_alloc(a, n * 3 + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool lit = false;
        if (ch == '\\' && i + 1 < n) {
            ch = s[++i];
            lit = true;
        }
        if (!lit && (ch == '%' || ch == '*')) {
            d[o++] = '*';
        } else if (!lit && ch == '_') {
            d[o++] = '?';
        } else if (ch == '[' || ch == '*' || ch == '?') {
            d[o++] = '[';
            d[o++] = ch;
            d[o++] = ']';
        } else {
            d[o++] = ch;
        }
    }
    d[o] = '\0';
    *outn = o;
    return d;
}

/* PostgreSQL ILIKE pattern to SQLite LIKE ... ESCAPE '\'. */
static char *ilike_to_like(arena *a, const char *s, size_t n, size_t *outn)
{
    char *d = arena_alloc(a, n * 2 + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\') {
            if (i + 1 < n) {
                ch = s[++i];
                if (ch == '%' || ch == '_' || ch == '\\')
                    d[o++] = '\\';
                d[o++] = ch;
            } else {
                d[o++] = '\\';
                d[o++] = '\\';
            }
        } else if (ch == '*') {
            d[o++] = '%';
        } else {
            d[o++] = ch;
        }
    }
    d[o] = '\0';
    *outn = o;
    return d;
}

/* The cs/cd/ov operand as JSON text: a JSON object/array (or scalar) as
 * given, else a PostgreSQL array literal {a,"b",3} converted to a JSON
 * array (numbers for numeric elements, null for unquoted NULL, strings
 * otherwise).  NULL + *why on failure. */
static int operand_json(pctx *c, const char *s, size_t n, tval *out, const char **why)
{
    /* the query string's own size bounds n; the depth bound also covers
     * bs_json_contains, which walks the operand recursively per row */
    json_t *j = NULL;
    int jrc = jsonin_parse(s, n, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &j, NULL, 0);
    if (jrc == BS_ENOMEM)
        return jrc;
    if (jrc == BS_EDEPTH) {
        *why = "the JSON operand is nested deeper than " JSONIN_STR(JSONIN_MAX_DEPTH) " levels";
        return BS_EPARSE;
    }
    if (j) {
        json_decref(j);
        char *z = arena_strndup(c->a, s, n);
        if (!z)
            return BS_ENOMEM;
        *out = (tval){.k = V_TEXT, .s = z, .n = n};
        return BS_OK;
    }
    if (n == 0 || s[0] != '{') {
        *why = "invalid input syntax for type json";
        return BS_EPARSE;
    }
    elem *v;
    size_t k;
    int rc = parse_list(c, s, n, '{', '}', &v, &k, why);
    if (rc != BS_OK)
        return rc;
    if ((c->q->values += k) > MAX_VALUES) {
        *why = "too many values in this request";
        return BS_EPARSE;
    }
    buf b = BUF_INIT;
    rc = buf_putc(&b, '[');
    for (size_t i = 0; i < k && rc == BS_OK; i++) {
        if (i)
            rc = buf_putc(&b, ',');
        if (rc != BS_OK)
            break;
        tval t;
        rc = type_value(c->a, v[i].s, v[i].n, &t);
        if (rc != BS_OK)
            break;
        if (!v[i].quoted && slice_ieq(v[i].s, v[i].n, "null"))
            rc = buf_puts(&b, "null");
        else if (!v[i].quoted && t.k == V_INT)
            rc = buf_printf(&b, "%lld", (long long)t.i);
        else if (!v[i].quoted && t.k == V_REAL)
            rc = buf_printf(&b, "%.17g", t.r);
        else
            rc = buf_json_str(&b, v[i].s, v[i].n);
    }
    if (rc == BS_OK)
        rc = buf_putc(&b, ']');
    if (rc == BS_OK) {
        char *z = arena_strndup(c->a, b.data, b.len);
        if (!z)
            rc = BS_ENOMEM;
        else
            *out = (tval){.k = V_TEXT, .s = z, .n = b.len};
    }
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Filters                                                             */

static const struct {
    const char *name;
    op_kind op;
} OPS[] = {
    {"eq", OP_EQ},   {"neq", OP_NEQ},     {"gt", OP_GT}, {"gte", OP_GTE}, {"lt", OP_LT},
    {"lte", OP_LTE}, {"like", OP_LIKE},   {"ilike", OP_ILIKE}, {"is", OP_IS}, {"in", OP_IN},
    {"cs", OP_CS},   {"cd", OP_CD},       {"ov", OP_OV}, {"isdistinct", OP_ISDISTINCT},
};

static const char *const UNSUPPORTED_OPS[] = {
    "match", "imatch", "fts", "plfts", "phfts", "wfts", "sr", "sl", "nxr", "nxl", "adj",
};

static const char OPS_DETAILS[] =
    "Supported operators: eq, neq, gt, gte, lt, lte, like, ilike, is, in, cs, cd, ov, "
    "isdistinct, each optionally preceded by not.; eq..ilike also take (any)/(all) with {a,b}.";

static fnode *new_node(pctx *c, int *rc)
{
    if (++c->q->nodes > DB_QUERY_MAX_NODES) {
        *rc = perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
                   DB_QUERY_MAX_NODES);
        return NULL;
    }
    fnode *f = arena_calloc(c->a, sizeof *f);
    if (!f)
        *rc = db_qerr_oom(c->err);
    return f;
}

/* Parse "[not.]op[(mod)].value" for the column `path` (named col in
 * messages).  In logic trees (in_tree) a wholly double-quoted value is
 * unquoted. */
static int parse_condition(pctx *c, const db_path *path, const char *col, size_t coln,
                           const char *s, size_t n, bool in_tree, fnode **out)
{
    char ec[ECHO_CAP], ev[ECHO_CAP], eo[ECHO_CAP];
    int rc = BS_OK;
    fnode *f = new_node(c, &rc);
    if (!f)
        return rc;
    f->kind = N_LEAF;
    f->path = *path;
    const char *full = s;
    size_t fulln = n;
    if (starts_with(s, n, "not.")) {
        f->neg = true;
        s += 4;
        n -= 4;
    }
    size_t i = 0;
    while (i < n && s[i] != '.' && s[i] != '(')
        i++;
    const char *opn = s;
    size_t opl = i;
    const char *mod = NULL;
    size_t modl = 0;
    if (i < n && s[i] == '(') {
        size_t j = i + 1;
        while (j < n && s[j] != ')')
            j++;
        if (j >= n)
            return perr(c, "PGRST100", OPS_DETAILS, NULL,
                        "failed to parse filter (%s) on \"%s\": unterminated \"(\"",
                        echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln));
        mod = s + i + 1;
        modl = j - i - 1;
        i = j + 1;
    }
    if (opl == 0 || i >= n || s[i] != '.')
        return perr(c, "PGRST100", OPS_DETAILS, NULL,
                    "failed to parse filter (%s) on \"%s\": expected operator.value",
                    echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln));
    const char *val = s + i + 1;
    size_t vn = n - i - 1;

    bool known = false;
    for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
        if (slice_eq(opn, opl, OPS[k].name)) {
            f->op = OPS[k].op;
            known = true;
            break;
        }
    }
    if (!known) {
        for (size_t k = 0; k < sizeof UNSUPPORTED_OPS / sizeof UNSUPPORTED_OPS[0]; k++) {
            if (slice_eq(opn, opl, UNSUPPORTED_OPS[k]))
                return perr(c, "PGRST100",
                            "Basalt stores JSON documents in SQLite: full-text search, regular "
                            "expressions and range operators are not available.",
                            NULL, "operator \"%s\" is not supported (filter on \"%s\")",
                            echo(eo, sizeof eo, opn, opl), echo(ec, sizeof ec, col, coln));
        }
        return perr(c, "PGRST100", OPS_DETAILS, NULL,
                    "failed to parse filter (%s) on \"%s\": unknown operator \"%s\"",
                    echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln),
                    echo(eo, sizeof eo, opn, opl));
    }
    if (mod) {
        bool quantifiable = f->op <= OP_ILIKE;
        if (quantifiable && slice_eq(mod, modl, "any"))
            f->q = Q_ANY;
        else if (quantifiable && slice_eq(mod, modl, "all"))
            f->q = Q_ALL;
        else
            return perr(c, "PGRST100", OPS_DETAILS, NULL,
                        "failed to parse filter (%s) on \"%s\": unknown modifier \"(%s)\"",
                        echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln),
                        echo(eo, sizeof eo, mod, modl));
    }
    if (in_tree && f->op != OP_IN && fully_quoted(val, vn)) {
        val = unquote(c->a, val + 1, vn - 2, &vn);
        if (!val)
            return db_qerr_oom(c->err);
    }

    const char *why = NULL;
    elem *el = NULL;
    size_t nel = 0;
    switch (f->op) {
    case OP_IS:
        f->nvals = 0;
        if (slice_ieq(val, vn, "null") || slice_ieq(val, vn, "unknown"))
            f->is = IS_NULL;
        else if (slice_ieq(val, vn, "true"))
            f->is = IS_TRUE;
        else if (slice_ieq(val, vn, "false"))
            f->is = IS_FALSE;
        else
            why = "is. takes null, true, false or unknown";
        break;
    case OP_IN:
        rc = parse_list(c, val, vn, '(', ')', &el, &nel, &why);
        break;
    case OP_CS:
    case OP_CD:
    case OP_OV:
        f->vals = arena_alloc(c->a, sizeof *f->vals);
        if (!f->vals)
            return db_qerr_oom(c->err);
        f->nvals = 1;
        rc = operand_json(c, val, vn, &f->vals[0], &why);
        if (rc == BS_EPARSE)
            return perr(c, "22P02", "Use {a,b} or a JSON array or object.", NULL,
                        "failed to parse filter (%s) on \"%s\": %s",
                        echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln), why);
        break;
    default:
        if (f->q != Q_ONE) {
            rc = parse_list(c, val, vn, '{', '}', &el, &nel, &why);
        } else {
            el = arena_alloc(c->a, sizeof *el);
            if (!el)
                return db_qerr_oom(c->err);
            char *z = arena_strndup(c->a, val, vn);
            if (!z)
                return db_qerr_oom(c->err);
            el[0] = (elem){.s = z, .n = vn};
            nel = 1;
        }
        break;
    }
    if (rc == BS_ENOMEM)
        return db_qerr_oom(c->err);
    if (why)
        return perr(c, "PGRST100", "", NULL, "failed to parse filter (%s) on \"%s\": %s",
                    echo(ev, sizeof ev, full, fulln), echo(ec, sizeof ec, col, coln), why);
    if (el) {
        if (f->op == OP_IN && (c->q->values += nel) > MAX_VALUES)
            return perr(c, "PGRST100", "", NULL, "too many values in this request (at most %d)",
                        MAX_VALUES);
        if (f->q != Q_ONE) {
            /* every element is a condition of its own in the SQL */
            c->q->nodes += nel;
            if (c->q->nodes > DB_QUERY_MAX_NODES)
                return perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
                            DB_QUERY_MAX_NODES);
        }
        f->vals = arena_alloc(c->a, (nel ? nel : 1) * sizeof *f->vals);
        if (!f->vals)
            return db_qerr_oom(c->err);
        f->nvals = nel;
        for (size_t k = 0; k < nel; k++) {
            tval *t = &f->vals[k];
            if (f->op == OP_LIKE || f->op == OP_ILIKE) {
                size_t pn;
                char *p = f->op == OP_LIKE ? like_to_glob(c->a, el[k].s, el[k].n, &pn)
                                           : ilike_to_like(c->a, el[k].s, el[k].n, &pn);
                if (!p)
                    return db_qerr_oom(c->err);
                *t = (tval){.k = V_TEXT, .s = p, .n = pn};
            } else {
                if (type_value(c->a, el[k].s, el[k].n, t) != BS_OK)
                    return db_qerr_oom(c->err);
            }
        }
    }
    *out = f;
    return BS_OK;
}

static int parse_tree(pctx *c, bool is_or, bool neg, const char *s, size_t n, int depth,
                      fnode **out);

/* One item of a logic tree: and(...), or(...), not.and(...), not.or(...)
 * or col.[not.]op.value. */
static int parse_tree_item(pctx *c, const char *s, size_t n, int depth, fnode **out)
{
    char ev[ECHO_CAP];
    bool neg = false;
    const char *t = s;
    size_t tn = n;
    if (starts_with(t, tn, "not.") &&
        (starts_with(t + 4, tn - 4, "and(") || starts_with(t + 4, tn - 4, "or("))) {
        neg = true;
        t += 4;
        tn -= 4;
    }
    if (starts_with(t, tn, "and("))
        return parse_tree(c, false, neg, t + 3, tn - 3, depth + 1, out);
    if (starts_with(t, tn, "or("))
        return parse_tree(c, true, neg, t + 2, tn - 2, depth + 1, out);
    bool qok;
    size_t coln = scan_to(s, n, '.', &qok);
    if (coln == n)
        return perr(c, "PGRST100", "Each condition is column.operator.value, and(...) or or(...).",
                    NULL, "failed to parse logic tree item (%s)", echo(ev, sizeof ev, s, n));
    const char *dot = s + coln;
    db_path path;
    int rc = db_path_parse(c->a, s, coln, &path);
    if (rc == BS_ENOMEM)
        return db_qerr_oom(c->err);
    if (rc != BS_OK)
        return perr(c, "PGRST100", PATH_DETAILS, NULL,
                    "failed to parse logic tree item (%s): invalid column",
                    echo(ev, sizeof ev, s, n));
    return parse_condition(c, &path, s, coln, dot + 1, n - coln - 1, true, out);
}

/* s[0..n) is "(item,item,...)". */
static int parse_tree(pctx *c, bool is_or, bool neg, const char *s, size_t n, int depth,
                      fnode **out)
{
    char ev[ECHO_CAP];
    if (depth > DB_QUERY_MAX_DEPTH)
        return perr(c, "PGRST100", "", NULL, "logic tree nested too deeply (at most %d levels)",
                    DB_QUERY_MAX_DEPTH);
    if (n < 2 || s[0] != '(' || s[n - 1] != ')')
        return perr(c, "PGRST100", "Logic trees look like or=(a.eq.1,b.gt.2,and(c.eq.3,d.lt.4)).",
                    NULL, "failed to parse logic tree (%s): expected (...)",
                    echo(ev, sizeof ev, s, n));
    const char *in = s + 1;
    size_t inn = n - 2;
    if (inn == 0)
        return perr(c, "PGRST100", "", NULL, "failed to parse logic tree (%s): empty",
                    echo(ev, sizeof ev, s, n));
    /* count the items, checking balance */
    size_t count = 0, pos = 0;
    const char *it;
    size_t itn;
    while (pos <= inn) {
        if (!next_item(in, inn, &pos, &it, &itn))
            return perr(c, "PGRST100", "Values containing , ( or ) must be double-quoted.", NULL,
                        "failed to parse logic tree (%s): unbalanced parentheses or quotes",
                        echo(ev, sizeof ev, s, n));
        trim(&it, &itn);
        if (itn == 0)
            return perr(c, "PGRST100", "", NULL,
                        "failed to parse logic tree (%s): empty condition",
                        echo(ev, sizeof ev, s, n));
        if (++count > DB_QUERY_MAX_NODES)
            return perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
                        DB_QUERY_MAX_NODES);
    }
    int rc = BS_OK;
    fnode *g = new_node(c, &rc);
    if (!g)
        return rc;
    g->kind = is_or ? N_OR : N_AND;
    g->neg = neg;
    g->kids = arena_alloc(c->a, count * sizeof *g->kids);
    if (!g->kids)
        return db_qerr_oom(c->err);
    pos = 0;
    while (pos <= inn && g->nkids < count) {
        next_item(in, inn, &pos, &it, &itn);
        trim(&it, &itn); /* "a.eq.1, b.eq.2" is a common way to write it */
        rc = parse_tree_item(c, it, itn, depth, &g->kids[g->nkids]);
        if (rc != BS_OK)
            return rc;
        g->nkids++;
    }
    *out = g;
    return BS_OK;
}

/* ------------------------------------------------------------------ */
/* select, order, limit, names                                         */

static const struct {
    const char *name;
    cast_kind cast;
} CASTS[] = {
    {"text", CAST_TEXT},    {"int", CAST_INT},    {"integer", CAST_INT}, {"bigint", CAST_INT},
    {"float", CAST_REAL},   {"real", CAST_REAL},  {"numeric", CAST_REAL}, {"double", CAST_REAL},
    {"bool", CAST_NONE},    {"boolean", CAST_NONE}, {"json", CAST_NONE},  {"jsonb", CAST_NONE},
};

/* Name of the output key for a path: the last key segment. */
static const char *path_name(const db_path *p)
{
    for (size_t i = p->n; i > 0; i--) {
        if (!p->is_index[i - 1])
            return p->segs[i - 1];
    }
    return p->segs[0];
}

/* One name (a field, or anything double-quoted): BS_OK and the decoded
 * name in *out, BS_EPARSE, BS_ENOMEM. */
static int parse_name(pctx *c, const char *s, size_t n, const char **out)
{
    db_path p;
    int rc = db_path_parse(c->a, s, n, &p);
    if (rc == BS_OK && (p.n != 1 || p.is_index[0]))
        rc = BS_EPARSE;
    if (rc == BS_OK)
        *out = p.segs[0];
    return rc;
}

/* An embedded resource or an aggregate: [alias:][...]name[!hint](...). */
static int select_embed_err(pctx *c, const char *s, size_t n, bool paren)
{
    char ev[ECHO_CAP];
    bool ok;
    const char *r = s;
    size_t rn = paren ? scan_to(s, n, '(', &ok) : n;
    for (size_t i = 0; i < rn; i++) {
        if (r[i] == ':' && (i + 1 >= rn || r[i + 1] != ':')) {
            r += i + 1;
            rn -= i + 1;
            break;
        }
    }
    if (starts_with(r, rn, "...")) {
        r += 3;
        rn -= 3;
    }
    const char *bang = memchr(r, '!', rn);
    if (bang)
        rn = (size_t)(bang - r);
    if (paren && (slice_eq(r, rn, "count") || memchr(r, '.', rn)))
        return perr(c, "PGRST123", "", NULL, "Use of aggregate functions is not allowed");
    return perr(c, "PGRST200",
                "Searched for a foreign key relationship in the schema cache, but no matches were found.",
                "Basalt collections are JSON documents without relationships: store the related "
                "data inside the document or query the other collection separately.",
                "Could not find a relationship between the collection and '%s' in the schema cache",
                echo(ev, sizeof ev, r, rn));
}

/* "::type" at the end of a select item (outside quoted names). */
static int select_cast(pctx *c, const char *s, size_t *n, cast_kind *cast)
{
    char ev[ECHO_CAP];
    bool ok;
    size_t at = 0;
    for (;;) {
        size_t k = scan_to(s + at, *n - at, ':', &ok) + at;
        if (k + 1 >= *n)
            return BS_OK;
        if (s[k + 1] != ':') {
            at = k + 1;
            continue;
        }
        const char *cn = s + k + 2;
        size_t cl = *n - k - 2;
        for (size_t i = 0; i < sizeof CASTS / sizeof CASTS[0]; i++) {
            if (slice_ieq(cn, cl, CASTS[i].name)) {
                *cast = CASTS[i].cast;
                *n = k;
                return BS_OK;
            }
        }
        return perr(c, "PGRST100",
                    "Casts: text, int, integer, bigint, float, real, numeric, double, bool, boolean, json, jsonb.",
                    NULL, "failed to parse select parameter (%s): unknown cast type", echo(ev, sizeof ev, s, *n));
    }
}

static int parse_select_item(pctx *c, const char *s, size_t n)
{
    char ev[ECHO_CAP];
    db_query *q = c->q;
    if (slice_eq(s, n, "*")) {
        q->star = true;
        return BS_OK;
    }
    bool paren = has_unquoted(s, n, '(');
    if (paren || starts_with(s, n, "..."))
        return select_embed_err(c, s, n, paren);
    if (q->nsel >= DB_QUERY_MAX_SELECT)
        return perr(c, "PGRST100", "", NULL, "too many entries in select (at most %d)",
                    DB_QUERY_MAX_SELECT);
    sel_item it = {0};
    /* alias: a single ':' (not part of "::") outside quoted names */
    bool ok;
    size_t k = scan_to(s, n, ':', &ok);
    if (k < n && !(k + 1 < n && s[k + 1] == ':')) {
        int rc = parse_name(c, s, k, &it.name);
        if (rc == BS_ENOMEM)
            return db_qerr_oom(c->err);
        if (rc != BS_OK)
            return perr(c, "PGRST100", PATH_DETAILS, NULL,
                        "failed to parse select parameter (%s): invalid alias", echo(ev, sizeof ev, s, n));
        s += k + 1;
        n -= k + 1;
    }
    int rc = select_cast(c, s, &n, &it.cast);
    if (rc != BS_OK)
        return rc;
    rc = db_path_parse(c->a, s, n, &it.path);
    if (rc == BS_ENOMEM)
        return db_qerr_oom(c->err);
    if (rc != BS_OK)
        return perr(c, "PGRST100", PATH_DETAILS, NULL, "failed to parse select parameter (%s)",
                    echo(ev, sizeof ev, s, n));
    if (!it.name)
        it.name = path_name(&it.path);
    /* one key per output name: a later entry replaces an earlier one */
    for (size_t i = 0; i < q->nsel; i++) {
        if (strcmp(q->sel[i].name, it.name) == 0) {
            q->sel[i] = it;
            return BS_OK;
        }
    }
    q->sel[q->nsel++] = it;
    return BS_OK;
}

static int parse_select(pctx *c, const char *v)
{
    db_query *q = c->q;
    size_t n = strlen(v);
    /* drop whitespace outside double quotes, as postgrest-js does */
    char *s = arena_alloc(c->a, n + 1);
    if (!s)
        return db_qerr_oom(c->err);
    size_t m = 0;
    bool in_q = false;
    for (size_t i = 0; i < n; i++) {
        if (in_q && v[i] == '\\' && i + 1 < n) {
            s[m++] = v[i++];
        } else if (v[i] == '"') {
            in_q = !in_q;
        }
        if (in_q || !is_space(v[i]))
            s[m++] = v[i];
    }
    s[m] = '\0';
    q->star = false;
    q->nsel = 0;
    if (!q->sel) {
        q->sel = arena_alloc(c->a, DB_QUERY_MAX_SELECT * sizeof *q->sel);
        if (!q->sel)
            return db_qerr_oom(c->err);
    }
    if (m == 0) {
        q->star = true;
        q->has_select = false;
        return BS_OK;
    }
    size_t pos = 0;
    while (pos <= m) {
        const char *it;
        size_t itn;
        char ev[ECHO_CAP];
        if (!next_item(s, m, &pos, &it, &itn))
            return perr(c, "PGRST100", "", NULL,
                        "failed to parse select parameter (%s): unbalanced parentheses or quotes",
                        echo(ev, sizeof ev, s, m));
        if (itn == 0)
            return perr(c, "PGRST100", "", NULL,
                        "failed to parse select parameter (%s): empty entry",
                        echo(ev, sizeof ev, s, m));
        int rc = parse_select_item(c, it, itn);
        if (rc != BS_OK)
            return rc;
    }
    q->has_select = q->nsel > 0;
    /* With *, entries are added to the stored document by json_set, which
     * writes a new key's name escaped once more: names that need escaping
     * are only possible without * (json_object), so refuse them here. */
    for (size_t i = 0; q->star && i < q->nsel; i++) {
        for (const char *p = q->sel[i].name; *p; p++) {
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
                char ev[ECHO_CAP];
                return perr(c, "PGRST100", "List the fields instead of *, or give the entry an alias.", NULL,
                            "failed to parse select parameter (%s): with *, an added entry's name may not "
                            "contain '\"', '\\' or control characters",
                            echo(ev, sizeof ev, s, m));
            }
        }
    }
    return BS_OK;
}

static int parse_order(pctx *c, const char *v)
{
    char ev[ECHO_CAP];
    db_query *q = c->q;
    size_t n = strlen(v);
    if (!q->ord) {
        q->ord = arena_alloc(c->a, DB_QUERY_MAX_ORDER * sizeof *q->ord);
        if (!q->ord)
            return db_qerr_oom(c->err);
    }
    size_t pos = 0;
    while (pos <= n) {
        bool ok;
        size_t end = pos + scan_to(v + pos, n - pos, ',', &ok);
        const char *it = v + pos;
        size_t itn = end - pos;
        pos = end + 1;
        trim(&it, &itn);
        if (itn == 0)
            return perr(c, "PGRST100", "", NULL, "failed to parse order (%s): empty entry",
                        echo(ev, sizeof ev, v, n));
        if (q->nord >= DB_QUERY_MAX_ORDER)
            return perr(c, "PGRST100", "", NULL, "too many entries in order (at most %d)",
                        DB_QUERY_MAX_ORDER);
        ord_item o = {0};
        size_t pl = scan_to(it, itn, '.', &ok);
        const char *dot = pl < itn ? it + pl : NULL;
        int rc = db_path_parse(c->a, it, pl, &o.path);
        if (rc == BS_ENOMEM)
            return db_qerr_oom(c->err);
        if (rc != BS_OK)
            return perr(c, "PGRST100", PATH_DETAILS, NULL, "failed to parse order (%s)",
                        echo(ev, sizeof ev, it, itn));
        const char *r = dot ? dot + 1 : NULL;
        size_t rn = dot ? itn - pl - 1 : 0;
        bool dir_seen = false;
        while (r) {
            const char *d2 = memchr(r, '.', rn);
            size_t wl = d2 ? (size_t)(d2 - r) : rn;
            if (!dir_seen && !o.nulls && slice_eq(r, wl, "asc")) {
                dir_seen = true;
            } else if (!dir_seen && !o.nulls && slice_eq(r, wl, "desc")) {
                dir_seen = true;
                o.desc = true;
            } else if (!o.nulls && slice_eq(r, wl, "nullsfirst")) {
                o.nulls = 1;
            } else if (!o.nulls && slice_eq(r, wl, "nullslast")) {
                o.nulls = 2;
            } else {
                return perr(c, "PGRST100",
                            "Order entries are column[.asc|.desc][.nullsfirst|.nullslast].", NULL,
                            "failed to parse order (%s)", echo(ev, sizeof ev, it, itn));
            }
            if (!d2)
                break;
            rn -= wl + 1;
            r = d2 + 1;
        }
        q->ord[q->nord++] = o;
    }
    return BS_OK;
}

static int parse_count(pctx *c, const char *key, const char *v, int64_t *out)
{
    size_t n = strlen(v);
    int64_t x = 0;
    if (n == 0 || n > 18)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            goto bad;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return BS_OK;
bad:;
    char ev[ECHO_CAP];
    return perr(c, "PGRST100", "", NULL, "\"%s\" must be a non-negative integer, got \"%s\"", key,
                echo(ev, sizeof ev, v, n));
}

/* columns= / on_conflict=: a,b or "a","b" (any name in quotes). */
static int parse_names(pctx *c, const char *key, const char *v, const char ***out, size_t *count)
{
    char ev[ECHO_CAP];
    size_t n = strlen(v), cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += v[i] == ',';
    if (cap > MAX_NAMES)
        return perr(c, "PGRST100", "", NULL, "too many names in %s (at most %d)", key, MAX_NAMES);
    const char **names = arena_alloc(c->a, cap * sizeof *names);
    if (!names)
        return db_qerr_oom(c->err);
    size_t k = 0, pos = 0;
    while (pos <= n) {
        bool ok;
        size_t end = pos + scan_to(v + pos, n - pos, ',', &ok);
        const char *it = v + pos;
        size_t itn = end - pos;
        pos = end + 1;
        trim(&it, &itn);
        int rc = ok ? parse_name(c, it, itn, &names[k]) : BS_EPARSE;
        if (rc == BS_ENOMEM)
            return db_qerr_oom(c->err);
        if (rc != BS_OK)
            return perr(c, "PGRST100", PATH_DETAILS, NULL, "failed to parse %s (%s): invalid name",
                        key, echo(ev, sizeof ev, v, n));
        k++;
    }
    *out = names;
    *count = k;
    return BS_OK;
}

static int push_filter(pctx *c, fnode *f)
{
    c->q->filters[c->q->nfilters++] = f;
    return BS_OK;
}

static int parse_param(pctx *c, const char *key, const char *val)
{
    char ek[ECHO_CAP];
    db_query *q = c->q;
    size_t kn = strlen(key);
    if (strcmp(key, "select") == 0)
        return parse_select(c, val);
    if (strcmp(key, "order") == 0)
        return parse_order(c, val);
    if (strcmp(key, "limit") == 0)
        return parse_count(c, "limit", val, &q->limit);
    if (strcmp(key, "offset") == 0)
        return parse_count(c, "offset", val, &q->offset);
    if (strcmp(key, "columns") == 0)
        return parse_names(c, "columns", val, &q->columns, &q->ncolumns);
    if (strcmp(key, "on_conflict") == 0)
        return parse_names(c, "on_conflict", val, &q->conflict, &q->nconflict);
    bool is_or = strcmp(key, "or") == 0 || strcmp(key, "not.or") == 0;
    bool is_and = strcmp(key, "and") == 0 || strcmp(key, "not.and") == 0;
    if (is_or || is_and) {
        fnode *f;
        int rc = parse_tree(c, is_or, key[0] == 'n', val, strlen(val), 1, &f);
        return rc == BS_OK ? push_filter(c, f) : rc;
    }
    if (kn == 0)
        return perr(c, "PGRST100", "", NULL, "empty query parameter name");
    bool qok;
    size_t dpos = scan_to(key, kn, '.', &qok);
    const char *dot = dpos < kn ? key + dpos : NULL;
    if (dot)
        return perr(c, "PGRST200", "Filters, order and limit on embedded resources need a "
                    "relationship, and collections have none.",
                    NULL,
                    "Could not find a relationship between the collection and '%s' in the "
                    "schema cache",
                    echo(ek, sizeof ek, key, (size_t)(dot - key)));
    db_path path;
    int rc = db_path_parse(c->a, key, kn, &path);
    if (rc == BS_ENOMEM)
        return db_qerr_oom(c->err);
    if (rc != BS_OK)
        return perr(c, "PGRST100", PATH_DETAILS, NULL, "failed to parse filter column \"%s\"",
                    echo(ek, sizeof ek, key, kn));
    fnode *f;
    rc = parse_condition(c, &path, key, kn, val, strlen(val), false, &f);
    return rc == BS_OK ? push_filter(c, f) : rc;
}

int db_query_parse(arena *a, const db_param *params, size_t n, db_query **out, db_qerr *err)
{
    if (out)
        *out = NULL;
    if (!a || !out || (n && !params))
        return db_qerr_set(err, 400, "PGRST100", "invalid query", "%s", "");
    db_query *q = arena_calloc(a, sizeof *q);
    if (!q)
        return db_qerr_oom(err);
    q->limit = q->offset = -1;
    q->filters = arena_alloc(a, (n ? n : 1) * sizeof *q->filters);
    if (!q->filters)
        return db_qerr_oom(err);
    pctx c = {a, err, q};
    for (size_t i = 0; i < n; i++) {
        int rc = parse_param(&c, params[i].key ? params[i].key : "",
                             params[i].val ? params[i].val : "");
        if (rc != BS_OK)
            return rc;
    }
    *out = q;
    return BS_OK;
}
