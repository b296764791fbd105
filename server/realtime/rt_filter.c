/* rt_filter.c - see rt_filter.h. */
#include "realtime/rt_filter.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool as_number(const char *s, double *d)
{
    if (!*s || *s == ' ' || *s == '\t' || *s == '\n' || *s == '+')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return false;
    /* strtod accepts "inf", "nan" and hex; only decimal numbers count */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789-.eE", *p))
            return false;
    *d = v;
    return true;
}

static int canon_num(double d, buf *out)
{
    if (d == 0)
        d = 0; /* -0 == 0 */
    return buf_printf(out, "n:%.17g", d);
}

int rt_filter_canon_text(const char *s, buf *out)
{
    buf_reset(out);
    double d;
    if (as_number(s, &d))
        return canon_num(d, out);
    int rc = buf_puts(out, "s:");
    return rc ? rc : buf_puts(out, s);
}

bool rt_filter_canon_json(json_t *v, buf *out)
{
    buf_reset(out);
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return canon_num((double)json_integer_value(v), out) == BS_OK;
    case JSON_REAL:
        return canon_num(json_real_value(v), out) == BS_OK;
    case JSON_STRING:
        return rt_filter_canon_text(json_string_value(v), out) == BS_OK;
    case JSON_TRUE:
        return buf_puts(out, "s:true") == BS_OK;
    case JSON_FALSE:
        return buf_puts(out, "s:false") == BS_OK;
    default:
        return false;
    }
}

static void cond_free(rt_cond *c)
{
    free(c->field);
    free(c->value);
    free(c->canon);
    for (size_t i = 0; i < c->nlist; i++)
        free(c->list[i]);
    free(c->list);
    free(c->list_len);
}

void rt_filter_free(rt_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        cond_free(&f->conds[i]);
    free(f);
}

static char *canon_dup(const char *s, size_t *len)
{
    buf b = BUF_INIT;
    if (rt_filter_canon_text(s, &b)) {
        buf_free(&b);
        return NULL;
    }
    if (!b.data && buf_puts(&b, ""))
        return NULL;
    return buf_steal(&b, len);
}

/* One value of an in.(...) list at *p (before end, the closing ')'):
 * "quoted" (\ escapes the next character) or up to the next comma, into
 * item; *p is left on the comma or at end. */
static int list_item(const char **p, const char *end, buf *item, char *err, size_t cap)
{
    const char *q = *p;
    buf_reset(item);
    if (buf_puts(item, ""))
        return BS_ENOMEM;
    if (q < end && *q == '"') {
        for (q++; q < end && *q != '"'; q++) {
            if (*q == '\\' && q + 1 < end)
                q++;
            if (buf_putc(item, *q))
                return BS_ENOMEM;
        }
        if (q >= end) {
            snprintf(err, cap, "unterminated quote in in.(...) list");
            return BS_EPARSE;
        }
        q++;
        if (q < end && *q != ',') {
            snprintf(err, cap, "expected ',' after a quoted value in in.(...)");
            return BS_EPARSE;
        }
    } else {
        for (; q < end && *q != ','; q++)
            if (buf_putc(item, *q))
                return BS_ENOMEM;
    }
    *p = q;
    return BS_OK;
}

/* Append the canonical form of item to c's list. */
static int list_add(rt_cond *c, const char *item, char *err, size_t cap)
{
    if (c->nlist >= RT_FILTER_MAX_LIST) {
        snprintf(err, cap, "in.(...) holds more than %d values", RT_FILTER_MAX_LIST);
        return BS_EPARSE;
    }
    char **nl = realloc(c->list, (c->nlist + 1) * sizeof *nl);
    if (nl)
        c->list = nl;
    size_t *ll = realloc(c->list_len, (c->nlist + 1) * sizeof *ll);
    if (ll)
        c->list_len = ll;
    if (!nl || !ll || !(c->list[c->nlist] = canon_dup(item, &c->list_len[c->nlist])))
        return BS_ENOMEM;
    c->nlist++;
    return BS_OK;
}

/* Split "(a,b,"c,d")" into canonical items. */
static int parse_list(rt_cond *c, const char *v, char *err, size_t cap)
{
    size_t n = strlen(v);
    if (n < 2 || v[0] != '(' || v[n - 1] != ')') {
        snprintf(err, cap, "in filter needs a list in parentheses: in.(a,b)");
        return BS_EPARSE;
    }
    const char *p = v + 1, *end = v + n - 1;
    buf item = BUF_INIT;
    int rc = BS_OK;
    while (p < end && !rc) {
        rc = list_item(&p, end, &item, err, cap);
        if (!rc)
            rc = list_add(c, buf_cstr(&item), err, cap);
        if (!rc && p < end && ++p == end) { /* past the comma: nothing after it */
            snprintf(err, cap, "empty value at the end of in.(...)");
            rc = BS_EPARSE;
        }
    }
    buf_free(&item);
    if (!rc && !c->nlist) {
        snprintf(err, cap, "in.() needs at least one value");
        rc = BS_EPARSE;
    }
    return rc;
}

static const struct {
    const char *name;
    rt_filter_op op;
} ops[] = {{"eq", RT_F_EQ}, {"neq", RT_F_NEQ}, {"lt", RT_F_LT}, {"lte", RT_F_LTE},
           {"gt", RT_F_GT}, {"gte", RT_F_GTE}, {"in", RT_F_IN}},
  tests[] = {{"is.null", RT_F_IS_NULL}, {"not.is.null", RT_F_NOT_NULL}, {"is.true", RT_F_IS_TRUE},
             {"is.false", RT_F_IS_FALSE}}; /* whole conditions, without a value */

static int parse_cond(rt_cond *c, const char *s, char *err, size_t cap)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s) {
        snprintf(err, cap, "invalid filter \"%.100s\": expected column=operator.value", s);
        return BS_EPARSE;
    }
    size_t fl = (size_t)(eq - s);
    if (fl > 63) {
        snprintf(err, cap, "invalid filter: column name longer than 63 bytes");
        return BS_EPARSE;
    }
    for (size_t i = 0; i < fl; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) {
            snprintf(err, cap, "invalid filter column \"%.*s\": only letters, digits and _ are allowed", (int)fl, s);
            return BS_EPARSE;
        }
    }
    c->field = strndup(s, fl);
    if (!c->field)
        return BS_ENOMEM;
    const char *rest = eq + 1;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (strcmp(rest, tests[i].name) == 0) {
            c->op = tests[i].op;
            return BS_OK;
        }
    const char *dot = strchr(rest, '.');
    size_t ol = dot ? (size_t)(dot - rest) : strlen(rest);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strlen(ops[i].name) == ol && strncmp(rest, ops[i].name, ol) == 0 && dot) {
            c->op = ops[i].op;
            if (c->op == RT_F_IN)
                return parse_list(c, dot + 1, err, cap);
            c->value = strdup(dot + 1);
            if (!c->value)
                return BS_ENOMEM;
            c->canon = canon_dup(c->value, &c->canon_len);
            return c->canon ? BS_OK : BS_ENOMEM;
        }
    }
    snprintf(err, cap,
             "invalid filter \"%.100s\": operator \"%.*s\" is not supported (use eq, neq, lt, lte, gt, gte, in, "
             "is.null, not.is.null, is.true, is.false)",
             s, (int)(ol > 20 ? 20 : ol), rest);
    return BS_EPARSE;
}

int rt_filter_parse(const char *text, rt_filter **out, char *err, size_t cap)
{
    *out = NULL;
    rt_filter *f = calloc(1, sizeof *f);
    buf part = BUF_INIT;
    int rc = BS_OK;
    if (!f)
        return BS_ENOMEM;
    f->eq = -1;
    const char *p = text;
    for (;;) {
        buf_reset(&part);
        if (buf_puts(&part, "")) {
            rc = BS_ENOMEM;
            goto out;
        }
        int depth = 0;
        bool quote = false;
        while (*p) {
            if (*p == '\\' && p[1] == ',') {
                p++;
            } else if (*p == '"') {
                quote = !quote;
            } else if (!quote && *p == '(') {
                depth++;
            } else if (!quote && *p == ')') {
                depth--;
            } else if (*p == ',' && depth <= 0 && !quote) {
                break;
            }
            if (buf_putc(&part, *p++)) {
                rc = BS_ENOMEM;
                goto out;
            }
        }
        if (f->n >= RT_FILTER_MAX_CONDS) {
            snprintf(err, cap, "a filter may AND at most %d conditions", RT_FILTER_MAX_CONDS);
            rc = BS_EPARSE;
            goto out;
        }
        rt_cond *c = &f->conds[f->n++];
        rc = parse_cond(c, buf_cstr(&part), err, cap);
        if (rc)
            goto out;
        if (c->op == RT_F_EQ && f->eq < 0)
            f->eq = (int)(f->n - 1);
        if (!*p)
            break;
        p++;
    }
out:
    buf_free(&part);
    if (rc) {
        if (rc == BS_ENOMEM)
            snprintf(err, cap, "out of memory");
        rt_filter_free(f);
        return rc == BS_ENOMEM ? rc : BS_EPARSE;
    }
    *out = f;
    return BS_OK;
}

static int compare(const rt_cond *c, json_t *v, bool *ok)
{
    /* -1/0/1 of doc value vs filter value; *ok false when incomparable */
    double a, b;
    bool an = false;
    char tmp[64];
    const char *as = NULL;
    *ok = true;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        a = (double)json_integer_value(v), an = true;
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        as = tmp;
        break;
    case JSON_REAL:
        a = json_real_value(v), an = true;
        snprintf(tmp, sizeof tmp, "%.17g", a);
        as = tmp;
        break;
    case JSON_STRING:
        as = json_string_value(v);
        an = as_number(as, &a);
        break;
    case JSON_TRUE: as = "true"; break;
    case JSON_FALSE: as = "false"; break;
    default:
        *ok = false;
        return 0;
    }
    if (an && as_number(c->value, &b))
        return a < b ? -1 : a > b ? 1 : 0;
    int r = strcmp(as, c->value);
    return r < 0 ? -1 : r > 0;
}

static bool cond_match(const rt_cond *c, json_t *doc, buf *tmp)
{
    json_t *v = json_is_object(doc) ? json_object_get(doc, c->field) : NULL;
    bool ok;
    int r;
    switch (c->op) {
    case RT_F_IS_NULL: return !v || json_is_null(v);
    case RT_F_NOT_NULL: return v && !json_is_null(v);
    case RT_F_IS_TRUE: return v && json_is_true(v);
    case RT_F_IS_FALSE: return v && json_is_false(v);
    case RT_F_EQ:
    case RT_F_NEQ:
        if (!v || !rt_filter_canon_json(v, tmp))
            return false;
        r = tmp->len == c->canon_len && memcmp(tmp->data, c->canon, c->canon_len) == 0;
        return c->op == RT_F_EQ ? r : !r;
    case RT_F_IN:
        if (!v || !rt_filter_canon_json(v, tmp))
            return false;
        for (size_t i = 0; i < c->nlist; i++)
            if (tmp->len == c->list_len[i] && memcmp(tmp->data, c->list[i], tmp->len) == 0)
                return true;
        return false;
    case RT_F_LT: r = v ? compare(c, v, &ok) : (ok = false, 0); return ok && r < 0;
    case RT_F_LTE: r = v ? compare(c, v, &ok) : (ok = false, 0); return ok && r <= 0;
    case RT_F_GT: r = v ? compare(c, v, &ok) : (ok = false, 0); return ok && r > 0;
    case RT_F_GTE: r = v ? compare(c, v, &ok) : (ok = false, 0); return ok && r >= 0;
    }
    return false;
}

bool rt_filter_match(const rt_filter *f, json_t *doc)
{
    if (!f)
        return true;
    buf tmp = BUF_INIT;
    bool m = true;
    for (size_t i = 0; i < f->n && m; i++)
        m = cond_match(&f->conds[i], doc, &tmp);
    buf_free(&tmp);
    return m;
}
