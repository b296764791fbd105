/* query.c - the PostgREST grammar of /rest/v1, parsed and compiled to SQL.
 *
 * Parsing.  rest_query_parse walks the decoded parameters once.  Reserved
 * keys (select, order, limit, offset, columns, on_conflict, or, and,
 * not.or, not.and) fill their own fields; every other key is a filter.
 * All parsing works on (pointer, length) slices of the caller's strings
 * with explicit bounds; nothing is assumed NUL-terminated past its slice
 * and nothing is recursive except logic trees, whose depth is checked
 * before each descent (DB_QUERY_MAX_DEPTH).  Everything the tree keeps is
 * copied into the arena.  The result is a small tree:
 *
 *   rest_query.filters[]  top-level conditions, ANDed
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
 * Files: this one parses filters and logic trees and dispatches the
 * parameters; query_select.c parses select=, order=, limit/offset,
 * columns= and on_conflict=; query_scan.c holds the scanners both use.
 * Emission lives in query_sql.c (rest_query_where / _projection / _order).
 * The tree they share is in query_int.h.
 *
 * Names: a column or JSON key is a field name ([A-Za-z_][A-Za-z0-9_]*) or,
 * as in PostgREST, any text in double quotes with a backslash taking the
 * next byte as itself ("a.b", "say \"hi\"").  Quoted names are split
 * around with quote-aware scanners (db_qp_scan_to, db_qp_next_item) and
 * reach SQL only as bound JSON paths (ident.h).
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
 * and a double quote opens a string only at the start of a value or name, so
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
#include "rest/query_int.h"

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


/* ------------------------------------------------------------------ */
/* Binds and errors                                                    */

int rest_qerr_set(rest_qerr *err, int status, const char *code, const char *message,
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

int rest_qerr_oom(rest_qerr *err)
{
    rest_qerr_set(err, 500, "PGRST000", "out of memory", "%s", "");
    return BS_ENOMEM;
}

bool rest_query_path_is_text(const db_path *p)
{
    return p->n == 1 && (strcmp(p->segs[0], "id") == 0 || strcmp(p->segs[0], "created_at") == 0 ||
                         strcmp(p->segs[0], "updated_at") == 0);
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
    if (db_qp_slice_eq(s, n, "true") || db_qp_slice_eq(s, n, "false")) {
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
        db_qp_trim(&s, &n);
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
            while (i < n && db_qp_is_space(s[i]))
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
            e.s = db_qp_unquote(c->a, s + i + 1, j - i - 1, &e.n);
            if (!e.s)
                return BS_ENOMEM;
            e.quoted = true;
            i = j + 1;
            if (arr)
                while (i < n && db_qp_is_space(s[i]))
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
                db_qp_trim(&p, &len);
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
        if (!v[i].quoted && db_qp_slice_ieq(v[i].s, v[i].n, "null"))
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
        *rc = db_qp_perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
                   DB_QUERY_MAX_NODES);
        return NULL;
    }
    fnode *f = arena_calloc(c->a, sizeof *f);
    if (!f)
        *rc = rest_qerr_oom(c->err);
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
    if (db_qp_starts_with(s, n, "not.")) {
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
            return db_qp_perr(c, "PGRST100", OPS_DETAILS, NULL,
                        "failed to parse filter (%s) on \"%s\": unterminated \"(\"",
                        db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln));
        mod = s + i + 1;
        modl = j - i - 1;
        i = j + 1;
    }
    if (opl == 0 || i >= n || s[i] != '.')
        return db_qp_perr(c, "PGRST100", OPS_DETAILS, NULL,
                    "failed to parse filter (%s) on \"%s\": expected operator.value",
                    db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln));
    const char *val = s + i + 1;
    size_t vn = n - i - 1;

    bool known = false;
    for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
        if (db_qp_slice_eq(opn, opl, OPS[k].name)) {
            f->op = OPS[k].op;
            known = true;
            break;
        }
    }
    if (!known) {
        for (size_t k = 0; k < sizeof UNSUPPORTED_OPS / sizeof UNSUPPORTED_OPS[0]; k++) {
            if (db_qp_slice_eq(opn, opl, UNSUPPORTED_OPS[k]))
                return db_qp_perr(c, "PGRST100",
                            "Basalt stores JSON documents in SQLite: full-text search, regular "
                            "expressions and range operators are not available.",
                            NULL, "operator \"%s\" is not supported (filter on \"%s\")",
                            db_qp_echo(eo, sizeof eo, opn, opl), db_qp_echo(ec, sizeof ec, col, coln));
        }
        return db_qp_perr(c, "PGRST100", OPS_DETAILS, NULL,
                    "failed to parse filter (%s) on \"%s\": unknown operator \"%s\"",
                    db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln),
                    db_qp_echo(eo, sizeof eo, opn, opl));
    }
    if (mod) {
        bool quantifiable = f->op <= OP_ILIKE;
        if (quantifiable && db_qp_slice_eq(mod, modl, "any"))
            f->q = Q_ANY;
        else if (quantifiable && db_qp_slice_eq(mod, modl, "all"))
            f->q = Q_ALL;
        else
            return db_qp_perr(c, "PGRST100", OPS_DETAILS, NULL,
                        "failed to parse filter (%s) on \"%s\": unknown modifier \"(%s)\"",
                        db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln),
                        db_qp_echo(eo, sizeof eo, mod, modl));
    }
    if (in_tree && f->op != OP_IN && db_qp_fully_quoted(val, vn)) {
        val = db_qp_unquote(c->a, val + 1, vn - 2, &vn);
        if (!val)
            return rest_qerr_oom(c->err);
    }

    const char *why = NULL;
    elem *el = NULL;
    size_t nel = 0;
    switch (f->op) {
    case OP_IS:
        f->nvals = 0;
        if (db_qp_slice_ieq(val, vn, "null") || db_qp_slice_ieq(val, vn, "unknown"))
            f->is = IS_NULL;
        else if (db_qp_slice_ieq(val, vn, "true"))
            f->is = IS_TRUE;
        else if (db_qp_slice_ieq(val, vn, "false"))
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
            return rest_qerr_oom(c->err);
        f->nvals = 1;
        rc = operand_json(c, val, vn, &f->vals[0], &why);
        if (rc == BS_EPARSE)
            return db_qp_perr(c, "22P02", "Use {a,b} or a JSON array or object.", NULL,
                        "failed to parse filter (%s) on \"%s\": %s",
                        db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln), why);
        break;
    default:
        if (f->q != Q_ONE) {
            rc = parse_list(c, val, vn, '{', '}', &el, &nel, &why);
        } else {
            el = arena_alloc(c->a, sizeof *el);
            if (!el)
                return rest_qerr_oom(c->err);
            char *z = arena_strndup(c->a, val, vn);
            if (!z)
                return rest_qerr_oom(c->err);
            el[0] = (elem){.s = z, .n = vn};
            nel = 1;
        }
        break;
    }
    if (rc == BS_ENOMEM)
        return rest_qerr_oom(c->err);
    if (why)
        return db_qp_perr(c, "PGRST100", "", NULL, "failed to parse filter (%s) on \"%s\": %s",
                    db_qp_echo(ev, sizeof ev, full, fulln), db_qp_echo(ec, sizeof ec, col, coln), why);
    if (el) {
        if (f->op == OP_IN && (c->q->values += nel) > MAX_VALUES)
            return db_qp_perr(c, "PGRST100", "", NULL, "too many values in this request (at most %d)",
                        MAX_VALUES);
        if (f->q != Q_ONE) {
            /* every element is a condition of its own in the SQL */
            c->q->nodes += nel;
            if (c->q->nodes > DB_QUERY_MAX_NODES)
                return db_qp_perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
                            DB_QUERY_MAX_NODES);
        }
        f->vals = arena_alloc(c->a, (nel ? nel : 1) * sizeof *f->vals);
        if (!f->vals)
            return rest_qerr_oom(c->err);
        f->nvals = nel;
        for (size_t k = 0; k < nel; k++) {
            tval *t = &f->vals[k];
            if (f->op == OP_LIKE || f->op == OP_ILIKE) {
                size_t pn;
                char *p = f->op == OP_LIKE ? like_to_glob(c->a, el[k].s, el[k].n, &pn)
                                           : ilike_to_like(c->a, el[k].s, el[k].n, &pn);
                if (!p)
                    return rest_qerr_oom(c->err);
                *t = (tval){.k = V_TEXT, .s = p, .n = pn};
            } else {
                if (type_value(c->a, el[k].s, el[k].n, t) != BS_OK)
                    return rest_qerr_oom(c->err);
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
    if (db_qp_starts_with(t, tn, "not.") &&
        (db_qp_starts_with(t + 4, tn - 4, "and(") || db_qp_starts_with(t + 4, tn - 4, "or("))) {
        neg = true;
        t += 4;
        tn -= 4;
    }
    if (db_qp_starts_with(t, tn, "and("))
        return parse_tree(c, false, neg, t + 3, tn - 3, depth + 1, out);
    if (db_qp_starts_with(t, tn, "or("))
        return parse_tree(c, true, neg, t + 2, tn - 2, depth + 1, out);
    bool qok;
    size_t coln = db_qp_scan_to(s, n, '.', &qok);
    if (coln == n)
        return db_qp_perr(c, "PGRST100", "Each condition is column.operator.value, and(...) or or(...).",
                    NULL, "failed to parse logic tree item (%s)", db_qp_echo(ev, sizeof ev, s, n));
    const char *dot = s + coln;
    db_path path;
    int rc = db_path_parse(c->a, s, coln, &path);
    if (rc == BS_ENOMEM)
        return rest_qerr_oom(c->err);
    if (rc != BS_OK)
        return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL,
                    "failed to parse logic tree item (%s): invalid column",
                    db_qp_echo(ev, sizeof ev, s, n));
    return parse_condition(c, &path, s, coln, dot + 1, n - coln - 1, true, out);
}

/* s[0..n) is "(item,item,...)". */
static int parse_tree(pctx *c, bool is_or, bool neg, const char *s, size_t n, int depth,
                      fnode **out)
{
    char ev[ECHO_CAP];
    if (depth > DB_QUERY_MAX_DEPTH)
        return db_qp_perr(c, "PGRST100", "", NULL, "logic tree nested too deeply (at most %d levels)",
                    DB_QUERY_MAX_DEPTH);
    if (n < 2 || s[0] != '(' || s[n - 1] != ')')
        return db_qp_perr(c, "PGRST100", "Logic trees look like or=(a.eq.1,b.gt.2,and(c.eq.3,d.lt.4)).",
                    NULL, "failed to parse logic tree (%s): expected (...)",
                    db_qp_echo(ev, sizeof ev, s, n));
    const char *in = s + 1;
    size_t inn = n - 2;
    if (inn == 0)
        return db_qp_perr(c, "PGRST100", "", NULL, "failed to parse logic tree (%s): empty",
                    db_qp_echo(ev, sizeof ev, s, n));
    /* count the items, checking balance */
    size_t count = 0, pos = 0;
    const char *it;
    size_t itn;
    while (pos <= inn) {
        if (!db_qp_next_item(in, inn, &pos, &it, &itn))
            return db_qp_perr(c, "PGRST100", "Values containing , ( or ) must be double-quoted.", NULL,
                        "failed to parse logic tree (%s): unbalanced parentheses or quotes",
                        db_qp_echo(ev, sizeof ev, s, n));
        db_qp_trim(&it, &itn);
        if (itn == 0)
            return db_qp_perr(c, "PGRST100", "", NULL,
                        "failed to parse logic tree (%s): empty condition",
                        db_qp_echo(ev, sizeof ev, s, n));
        if (++count > DB_QUERY_MAX_NODES)
            return db_qp_perr(c, "PGRST100", "", NULL, "too many filter conditions (at most %d)",
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
        return rest_qerr_oom(c->err);
    pos = 0;
    while (pos <= inn && g->nkids < count) {
        db_qp_next_item(in, inn, &pos, &it, &itn);
        db_qp_trim(&it, &itn); /* "a.eq.1, b.eq.2" is a common way to write it */
        rc = parse_tree_item(c, it, itn, depth, &g->kids[g->nkids]);
        if (rc != BS_OK)
            return rc;
        g->nkids++;
    }
    *out = g;
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
    rest_query *q = c->q;
    size_t kn = strlen(key);
    if (strcmp(key, "select") == 0)
        return db_qp_parse_select(c, val);
    if (strcmp(key, "order") == 0)
        return db_qp_parse_order(c, val);
    if (strcmp(key, "limit") == 0)
        return db_qp_parse_count(c, "limit", val, &q->limit);
    if (strcmp(key, "offset") == 0)
        return db_qp_parse_count(c, "offset", val, &q->offset);
    if (strcmp(key, "columns") == 0) {
        /* a columns= that does not parse may still be postgrest-js's
         * unescaped "k1","k2" list of the body's keys: the write path
         * decides with the body in hand (rest_query_columns_raw) */
        q->columns_raw = arena_strdup(c->a, val);
        if (!q->columns_raw)
            return rest_qerr_oom(c->err);
        q->columns_bad = false;
        int rc = db_qp_parse_names(c, "columns", val, &q->columns, &q->ncolumns);
        if (rc == BS_EPARSE) {
            q->columns_bad = true;
            q->columns_err = *c->err;
            q->columns = NULL;
            q->ncolumns = 0;
            rc = BS_OK;
        }
        return rc;
    }
    if (strcmp(key, "on_conflict") == 0)
        return db_qp_parse_names(c, "on_conflict", val, &q->conflict, &q->nconflict);
    bool is_or = strcmp(key, "or") == 0 || strcmp(key, "not.or") == 0;
    bool is_and = strcmp(key, "and") == 0 || strcmp(key, "not.and") == 0;
    if (is_or || is_and) {
        fnode *f;
        int rc = parse_tree(c, is_or, key[0] == 'n', val, strlen(val), 1, &f);
        return rc == BS_OK ? push_filter(c, f) : rc;
    }
    if (kn == 0)
        return db_qp_perr(c, "PGRST100", "", NULL, "empty query parameter name");
    bool qok;
    size_t dpos = db_qp_scan_to(key, kn, '.', &qok);
    const char *dot = dpos < kn ? key + dpos : NULL;
    if (dot)
        return db_qp_perr(c, "PGRST200", "Filters, order and limit on embedded resources need a "
                    "relationship, and collections have none.",
                    NULL,
                    "Could not find a relationship between the collection and '%s' in the "
                    "schema cache",
                    db_qp_echo(ek, sizeof ek, key, (size_t)(dot - key)));
    db_path path;
    int rc = db_path_parse(c->a, key, kn, &path);
    if (rc == BS_ENOMEM)
        return rest_qerr_oom(c->err);
    if (rc != BS_OK)
        return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL, "failed to parse filter column \"%s\"",
                    db_qp_echo(ek, sizeof ek, key, kn));
    fnode *f;
    rc = parse_condition(c, &path, key, kn, val, strlen(val), false, &f);
    return rc == BS_OK ? push_filter(c, f) : rc;
}

int rest_query_parse(arena *a, const http_qparam *params, size_t n, rest_query **out, rest_qerr *err)
{
    if (out)
        *out = NULL;
    if (!a || !out || (n && !params))
        return rest_qerr_set(err, 400, "PGRST100", "invalid query", "%s", "");
    rest_query *q = arena_calloc(a, sizeof *q);
    if (!q)
        return rest_qerr_oom(err);
    q->limit = q->offset = -1;
    q->filters = arena_alloc(a, (n ? n : 1) * sizeof *q->filters);
    if (!q->filters)
        return rest_qerr_oom(err);
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
