/* query_select.c - the parts of a PostgREST query that are not filters:
 * select= (fields, aliases, casts, quoted names), order=, limit= /
 * offset=, columns= and on_conflict= (see query.c for the grammar and
 * query_int.h for the tree).  Threads: pure functions. */
#include "rest/query_int.h"

#include <string.h>

#include "core/error.h"

#define MAX_NAMES 1024 /* entries in columns= / on_conflict= */

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
    size_t rn = paren ? db_qp_scan_to(s, n, '(', &ok) : n;
    for (size_t i = 0; i < rn; i++) {
        if (r[i] == ':' && (i + 1 >= rn || r[i + 1] != ':')) {
            r += i + 1;
            rn -= i + 1;
            break;
        }
    }
    if (db_qp_starts_with(r, rn, "...")) {
        r += 3;
        rn -= 3;
    }
    const char *bang = memchr(r, '!', rn);
    if (bang)
        rn = (size_t)(bang - r);
    if (paren && (db_qp_slice_eq(r, rn, "count") || memchr(r, '.', rn)))
        return db_qp_perr(c, "PGRST123", "", NULL, "Use of aggregate functions is not allowed");
    return db_qp_perr(c, "PGRST200",
                "Searched for a foreign key relationship in the schema cache, but no matches were found.",
                "Basalt collections are JSON documents without relationships: store the related "
                "data inside the document or query the other collection separately.",
                "Could not find a relationship between the collection and '%s' in the schema cache",
                db_qp_echo(ev, sizeof ev, r, rn));
}

/* "::type" at the end of a select item (outside quoted names). */
static int select_cast(pctx *c, const char *s, size_t *n, cast_kind *cast)
{
    char ev[ECHO_CAP];
    bool ok;
    size_t at = 0;
    for (;;) {
        size_t k = db_qp_scan_to(s + at, *n - at, ':', &ok) + at;
        if (k + 1 >= *n)
            return BS_OK;
        if (s[k + 1] != ':') {
            at = k + 1;
            continue;
        }
        const char *cn = s + k + 2;
        size_t cl = *n - k - 2;
        for (size_t i = 0; i < sizeof CASTS / sizeof CASTS[0]; i++) {
            if (db_qp_slice_ieq(cn, cl, CASTS[i].name)) {
                *cast = CASTS[i].cast;
                *n = k;
                return BS_OK;
            }
        }
        return db_qp_perr(c, "PGRST100",
                    "Casts: text, int, integer, bigint, float, real, numeric, double, bool, boolean, json, jsonb.",
                    NULL, "failed to parse select parameter (%s): unknown cast type", db_qp_echo(ev, sizeof ev, s, *n));
    }
}

static int parse_select_item(pctx *c, const char *s, size_t n)
{
    char ev[ECHO_CAP];
    rest_query *q = c->q;
    if (db_qp_slice_eq(s, n, "*")) {
        q->star = true;
        return BS_OK;
    }
    bool paren = db_qp_has_unquoted(s, n, '(');
    if (paren || db_qp_starts_with(s, n, "..."))
        return select_embed_err(c, s, n, paren);
    if (q->nsel >= DB_QUERY_MAX_SELECT)
        return db_qp_perr(c, "PGRST100", "", NULL, "too many entries in select (at most %d)",
                    DB_QUERY_MAX_SELECT);
    sel_item it = {0};
    /* alias: a single ':' (not part of "::") outside quoted names */
    bool ok;
    size_t k = db_qp_scan_to(s, n, ':', &ok);
    if (k < n && !(k + 1 < n && s[k + 1] == ':')) {
        int rc = parse_name(c, s, k, &it.name);
        if (rc == BS_ENOMEM)
            return rest_qerr_oom(c->err);
        if (rc != BS_OK)
            return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL,
                        "failed to parse select parameter (%s): invalid alias", db_qp_echo(ev, sizeof ev, s, n));
        s += k + 1;
        n -= k + 1;
    }
    int rc = select_cast(c, s, &n, &it.cast);
    if (rc != BS_OK)
        return rc;
    rc = db_path_parse(c->a, s, n, &it.path);
    if (rc == BS_ENOMEM)
        return rest_qerr_oom(c->err);
    if (rc != BS_OK)
        return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL, "failed to parse select parameter (%s)",
                    db_qp_echo(ev, sizeof ev, s, n));
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

int db_qp_parse_select(pctx *c, const char *v)
{
    rest_query *q = c->q;
    size_t n = strlen(v);
    /* drop whitespace outside double quotes, as postgrest-js does */
    char *s = arena_alloc(c->a, n + 1);
    if (!s)
        return rest_qerr_oom(c->err);
    size_t m = 0;
    bool in_q = false;
    for (size_t i = 0; i < n; i++) {
        if (in_q && v[i] == '\\' && i + 1 < n) {
            s[m++] = v[i++];
        } else if (v[i] == '"') {
            in_q = !in_q;
        }
        if (in_q || !db_qp_is_space(v[i]))
            s[m++] = v[i];
    }
    s[m] = '\0';
    q->star = false;
    q->nsel = 0;
    if (!q->sel) {
        q->sel = arena_alloc(c->a, DB_QUERY_MAX_SELECT * sizeof *q->sel);
        if (!q->sel)
            return rest_qerr_oom(c->err);
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
        if (!db_qp_next_item(s, m, &pos, &it, &itn))
            return db_qp_perr(c, "PGRST100", "", NULL,
                        "failed to parse select parameter (%s): unbalanced parentheses or quotes",
                        db_qp_echo(ev, sizeof ev, s, m));
        if (itn == 0)
            return db_qp_perr(c, "PGRST100", "", NULL,
                        "failed to parse select parameter (%s): empty entry",
                        db_qp_echo(ev, sizeof ev, s, m));
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
                return db_qp_perr(c, "PGRST100", "List the fields instead of *, or give the entry an alias.", NULL,
                            "failed to parse select parameter (%s): with *, an added entry's name may not "
                            "contain '\"', '\\' or control characters",
                            db_qp_echo(ev, sizeof ev, s, m));
            }
        }
    }
    return BS_OK;
}

int db_qp_parse_order(pctx *c, const char *v)
{
    char ev[ECHO_CAP];
    rest_query *q = c->q;
    size_t n = strlen(v);
    if (!q->ord) {
        q->ord = arena_alloc(c->a, DB_QUERY_MAX_ORDER * sizeof *q->ord);
        if (!q->ord)
            return rest_qerr_oom(c->err);
    }
    size_t pos = 0;
    while (pos <= n) {
        bool ok;
        size_t end = pos + db_qp_scan_to(v + pos, n - pos, ',', &ok);
        const char *it = v + pos;
        size_t itn = end - pos;
        pos = end + 1;
        db_qp_trim(&it, &itn);
        if (itn == 0)
            return db_qp_perr(c, "PGRST100", "", NULL, "failed to parse order (%s): empty entry",
                        db_qp_echo(ev, sizeof ev, v, n));
        if (q->nord >= DB_QUERY_MAX_ORDER)
            return db_qp_perr(c, "PGRST100", "", NULL, "too many entries in order (at most %d)",
                        DB_QUERY_MAX_ORDER);
        ord_item o = {0};
        size_t pl = db_qp_scan_to(it, itn, '.', &ok);
        const char *dot = pl < itn ? it + pl : NULL;
        int rc = db_path_parse(c->a, it, pl, &o.path);
        if (rc == BS_ENOMEM)
            return rest_qerr_oom(c->err);
        if (rc != BS_OK)
            return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL, "failed to parse order (%s)",
                        db_qp_echo(ev, sizeof ev, it, itn));
        const char *r = dot ? dot + 1 : NULL;
        size_t rn = dot ? itn - pl - 1 : 0;
        bool dir_seen = false;
        while (r) {
            const char *d2 = memchr(r, '.', rn);
            size_t wl = d2 ? (size_t)(d2 - r) : rn;
            if (!dir_seen && !o.nulls && db_qp_slice_eq(r, wl, "asc")) {
                dir_seen = true;
            } else if (!dir_seen && !o.nulls && db_qp_slice_eq(r, wl, "desc")) {
                dir_seen = true;
                o.desc = true;
            } else if (!o.nulls && db_qp_slice_eq(r, wl, "nullsfirst")) {
                o.nulls = 1;
            } else if (!o.nulls && db_qp_slice_eq(r, wl, "nullslast")) {
                o.nulls = 2;
            } else {
                return db_qp_perr(c, "PGRST100",
                            "Order entries are column[.asc|.desc][.nullsfirst|.nullslast].", NULL,
                            "failed to parse order (%s)", db_qp_echo(ev, sizeof ev, it, itn));
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

int db_qp_parse_count(pctx *c, const char *key, const char *v, int64_t *out)
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
    return db_qp_perr(c, "PGRST100", "", NULL, "\"%s\" must be a non-negative integer, got \"%s\"", key,
                db_qp_echo(ev, sizeof ev, v, n));
}

/* columns= / on_conflict=: a,b or "a","b" (any name in quotes). */
int db_qp_parse_names(pctx *c, const char *key, const char *v, const char ***out, size_t *count)
{
    char ev[ECHO_CAP];
    size_t n = strlen(v), cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += v[i] == ',';
    if (cap > MAX_NAMES)
        return db_qp_perr(c, "PGRST100", "", NULL, "too many names in %s (at most %d)", key, MAX_NAMES);
    const char **names = arena_alloc(c->a, cap * sizeof *names);
    if (!names)
        return rest_qerr_oom(c->err);
    size_t k = 0, pos = 0;
    while (pos <= n) {
        bool ok;
        size_t end = pos + db_qp_scan_to(v + pos, n - pos, ',', &ok);
        const char *it = v + pos;
        size_t itn = end - pos;
        pos = end + 1;
        db_qp_trim(&it, &itn);
        int rc = ok ? parse_name(c, it, itn, &names[k]) : BS_EPARSE;
        if (rc == BS_ENOMEM)
            return rest_qerr_oom(c->err);
        if (rc != BS_OK)
            return db_qp_perr(c, "PGRST100", DB_QP_PATH_DETAILS, NULL, "failed to parse %s (%s): invalid name",
                        key, db_qp_echo(ev, sizeof ev, v, n));
        k++;
    }
    *out = names;
    *count = k;
    return BS_OK;
}
