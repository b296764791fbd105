/* ident.c - validation and emission of names and JSON paths; see ident.h.
 *
 * This is the only file that turns user-chosen names into SQL text, so it
 * is written to be audited in one sitting:
 *
 *   - Every grammar is a whitelist of ASCII bytes checked byte by byte; no
 *     locale-dependent ctype calls, no length computed past the limit.
 *   - Emission re-validates what it emits.  A db_path is a plain struct that
 *     any caller could fill by hand, so db_path_* never trusts that it came
 *     from db_path_parse: each segment is checked again right before it is
 *     written, and an invalid path writes nothing and returns BS_EINVAL.
 *   - The emitted characters are therefore only [A-Za-z0-9_$.[]'"(), ->]
 *     from fixed text plus [A-Za-z0-9_] from names: nothing that can close
 *     a quote, start a comment or end a statement.
 *   - Array indexes are re-printed from their numeric value (at most nine
 *     digits, so no overflow): "007" becomes 7 in '$.a[7]'.
 *   - A key that is not a plain name (it came in double quotes: "a.b",
 *     "café", "") never reaches SQL text at all: the *_b functions
 *     bind the whole JSON path (built by db_path_text from
 *     db_jdoc_path_step, the same spelling the store writes keys in) and
 *     write a '?'.  The functions without _b refuse such a path.
 *
 * Expression texts are stable: the index builder calls db_path_value_expr
 * to write CREATE INDEX ... ON t(json_extract(data, '$.a')) and SQLite only
 * uses an expression index when the query spells the same expression.
 */
#include "db/ident.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "db/jsondoc.h"

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_word(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

static bool lower_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)*prefix)
            return false;
    }
    return true;
}

bool db_ident_collection_ok(const char *name)
{
    if (!name || !is_alpha((unsigned char)name[0]))
        return false;
    size_t i = 1;
    for (; name[i]; i++) {
        if (i >= DB_IDENT_MAX || !is_word((unsigned char)name[i]))
            return false;
    }
    return !lower_prefix(name, "sqlite_");
}

bool db_ident_field_ok(const char *s, size_t n)
{
    if (!s || n == 0 || n > DB_IDENT_MAX)
        return false;
    unsigned char c = (unsigned char)s[0];
    if (!is_alpha(c) && c != '_')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!is_word((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* An array index segment: 1..9 ASCII digits. */
static bool index_ok(const char *s, size_t n)
{
    if (!s || n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* Value of an index segment already checked by index_ok. */
static long index_value(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0'); /* at most 9 digits: no overflow */
    return v;
}

int db_ident_quote(buf *sql, const char *collection)
{
    if (!db_ident_collection_ok(collection))
        return BS_EINVAL;
    return buf_printf(sql, "\"%s\"", collection);
}

int db_ident_field_literal(buf *sql, const char *field)
{
    if (!field || !db_ident_field_ok(field, strlen(field)))
        return BS_EINVAL;
    return buf_printf(sql, "'%s'", field);
}

/* A double-quoted segment at s[*i] (PostgREST's quoted names: a backslash
 * takes the next byte as itself).  The decoded key goes to the arena. */
static int quoted_seg(arena *a, const char *s, size_t n, size_t *i, char **out)
{
    size_t j = *i + 1, len = 0;
    for (; j < n && s[j] != '"'; j++, len++) {
        if (s[j] == '\\' && ++j >= n)
            return BS_EPARSE;
        if (s[j] == '\0')
            return BS_EPARSE;
    }
    if (j >= n)
        return BS_EPARSE;
    char *k = arena_alloc(a, len + 1);
    if (!k)
        return BS_ENOMEM;
    size_t o = 0;
    for (size_t x = *i + 1; x < j; x++) {
        if (s[x] == '\\')
            x++;
        k[o++] = s[x];
    }
    k[o] = '\0';
    *i = j + 1;
    *out = k;
    return BS_OK;
}

int db_path_parse(arena *a, const char *s, size_t n, db_path *out)
{
    db_path p;
    memset(&p, 0, sizeof p);
    if (!s || !out)
        return BS_EPARSE;
    size_t i = 0;
    bool text_last = false;
    while (true) {
        if (p.n >= DB_PATH_MAX_SEGS)
            return BS_EPARSE;
        char *seg;
        bool is_index = false;
        if (i < n && s[i] == '"') {
            int rc = quoted_seg(a, s, n, &i, &seg);
            if (rc != BS_OK)
                return rc;
        } else {
            size_t start = i;
            while (i < n && is_word((unsigned char)s[i]))
                i++;
            size_t len = i - start;
            if (db_ident_field_ok(s + start, len)) {
                seg = arena_strndup(a, s + start, len);
            } else if (p.n > 0 && index_ok(s + start, len)) {
                /* normalise "007" to "7"; at most 9 digits, so it fits */
                char num[16];
                int k = snprintf(num, sizeof num, "%ld", index_value(s + start, len));
                seg = arena_strndup(a, num, (size_t)k);
                is_index = true;
            } else {
                return BS_EPARSE;
            }
            if (!seg)
                return BS_ENOMEM;
        }
        p.segs[p.n] = seg;
        p.is_index[p.n] = is_index;
        p.n++;
        if (i == n)
            break;
        if (text_last)
            return BS_EPARSE; /* "->>" only as the last step */
        if (n - i >= 3 && s[i] == '-' && s[i + 1] == '>' && s[i + 2] == '>') {
            text_last = true;
            i += 3;
        } else if (n - i >= 2 && s[i] == '-' && s[i + 1] == '>') {
            i += 2;
        } else {
            return BS_EPARSE;
        }
        if (i == n)
            return BS_EPARSE; /* a step needs a segment */
    }
    p.text_last = text_last;
    *out = p;
    return BS_OK;
}

/* Re-check a path before any of it is written.  With `plain`, every key
 * must also be a plain name (what may appear in SQL text). */
static bool path_ok(const db_path *p, bool plain)
{
    if (!p || p->n == 0 || p->n > DB_PATH_MAX_SEGS)
        return false;
    for (size_t i = 0; i < p->n; i++) {
        const char *s = p->segs[i];
        if (!s)
            return false;
        size_t len = strnlen(s, DB_IDENT_MAX + 1);
        if (p->is_index[i]) {
            if (i == 0 || !index_ok(s, len))
                return false;
        } else if (plain && !db_ident_field_ok(s, len)) {
            return false;
        }
    }
    if (p->text_last && p->n < 2)
        return false;
    return true;
}

bool db_path_is_plain(const db_path *p) { return path_ok(p, true); }

int db_path_text(buf *out, const db_path *p)
{
    if (!path_ok(p, false))
        return BS_EINVAL;
    size_t mark = out->len;
    int rc = buf_putc(out, '$');
    for (size_t i = 0; i < p->n && rc == BS_OK; i++) {
        if (p->is_index[i])
            rc = buf_printf(out, "[%ld]", index_value(p->segs[i], strlen(p->segs[i])));
        else
            rc = db_jdoc_path_step(out, p->segs[i], strlen(p->segs[i]));
    }
    if (rc != BS_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

static int put_literal(buf *sql, const db_path *p)
{
    buf tmp = BUF_INIT;
    int rc = buf_puts(&tmp, "'$");
    for (size_t i = 0; i < p->n && rc == BS_OK; i++) {
        if (p->is_index[i])
            rc = buf_printf(&tmp, "[%ld]", index_value(p->segs[i], strlen(p->segs[i])));
        else
            rc = buf_printf(&tmp, ".%s", p->segs[i]);
    }
    if (rc == BS_OK)
        rc = buf_putc(&tmp, '\'');
    if (rc == BS_OK)
        rc = buf_append(sql, tmp.data, tmp.len);
    buf_free(&tmp);
    return rc;
}

int db_path_literal(buf *sql, const db_path *p)
{
    if (!path_ok(p, true))
        return BS_EINVAL;
    return put_literal(sql, p);
}

int db_path_value_expr(buf *sql, const db_path *p)
{
    if (!path_ok(p, true))
        return BS_EINVAL;
    if (p->n == 1) {
        const char *s = p->segs[0];
        if (strcmp(s, "id") == 0 || strcmp(s, "created_at") == 0 ||
            strcmp(s, "updated_at") == 0)
            return buf_puts(sql, s);
    }
    size_t mark = sql->len;
    int rc = buf_puts(sql, "json_extract(data, ");
    if (rc == BS_OK)
        rc = put_literal(sql, p);
    if (rc == BS_OK)
        rc = buf_putc(sql, ')');
    if (rc != BS_OK && sql->data) {
        sql->len = mark;
        sql->data[mark] = '\0';
    }
    return rc;
}

int db_path_json_expr(buf *sql, const db_path *p)
{
    if (!path_ok(p, true))
        return BS_EINVAL;
    size_t mark = sql->len;
    int rc = buf_puts(sql, p->text_last ? "data ->> " : "data -> ");
    if (rc == BS_OK)
        rc = put_literal(sql, p);
    if (rc != BS_OK && sql->data) {
        sql->len = mark;
        sql->data[mark] = '\0';
    }
    return rc;
}

int db_ident_quote_index(buf *sql, const char *collection, int n)
{
    if (!db_ident_collection_ok(collection) || n < 0)
        return BS_EINVAL;
    /* the name matched [A-Za-z][A-Za-z0-9_]*: nothing in it needs escaping */
    return buf_printf(sql, "\"_basalt_ix_%s_%d\"", collection, n);
}
