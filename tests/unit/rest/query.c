/* Tests for server/db/query.c: the exact SQL and binds of each grammar form,
 * the errors, and the compiled SQL run against an in-memory SQLite table of
 * documents with mixed types. */
#include <sqlite3.h>

#include "../test.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "rest/query.h"

/* ------------------------------------------------------------------ */
/* Harness                                                             */

typedef struct qres {
    arena a;
    rest_query *q;
    rest_qerr err;
    int rc;      /* parse */
    int emit_rc; /* where/projection/order */
    buf where, proj, order;
    db_binds binds, pbinds, obinds; /* where's, projection's, order's */
    char bstr[2048]; /* binds rendered: 5,'5',1.5 */
} qres;

/* Split "k=v&k=v" (no URL decoding: tests write decoded text) and run the
 * parser and all three compilers. */
static void run(qres *r, const char *qs)
{
    memset(r, 0, sizeof *r);
    http_qparam params[600];
    size_t n = 0;
    char *copy = arena_strdup(&r->a, qs);
    char *p = copy;
    while (p && *p && n < 600) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        params[n].key = p;
        params[n].val = eq ? eq + 1 : "";
        n++;
        p = amp ? amp + 1 : NULL;
    }
    r->rc = rest_query_parse(&r->a, params, n, &r->q, &r->err);
    if (r->rc != BS_OK)
        return;
    r->emit_rc = rest_query_where(r->q, &r->a, &r->where, &r->binds, &r->err);
    if (r->emit_rc == BS_OK)
        r->emit_rc = rest_query_projection(r->q, &r->a, &r->proj, &r->pbinds, &r->err);
    if (r->emit_rc == BS_OK)
        r->emit_rc = rest_query_order(r->q, &r->a, &r->order, &r->obinds, &r->err);
    size_t o = 0;
    for (size_t i = 0; i < r->binds.n && o < sizeof r->bstr - 64; i++) {
        const db_bind *b = &r->binds.v[i];
        if (i)
            r->bstr[o++] = ',';
        int w;
        switch (b->type) {
        case DB_BIND_INT: w = snprintf(r->bstr + o, 64, "%lld", (long long)b->i); break;
        case DB_BIND_REAL: w = snprintf(r->bstr + o, 64, "%g", b->r); break;
        case DB_BIND_TEXT:
            w = snprintf(r->bstr + o, sizeof r->bstr - o, "'%.*s'", (int)b->n, b->s);
            break;
        default: w = snprintf(r->bstr + o, 64, "NULL"); break;
        }
        o += (size_t)w < sizeof r->bstr - o ? (size_t)w : 0;
    }
    r->bstr[o] = '\0';
}

static void done(qres *r)
{
    buf_free(&r->where);
    buf_free(&r->proj);
    buf_free(&r->order);
    arena_free(&r->a);
}

/* Expect success with this WHERE text and binds. */
#define EXPECT_WHERE(qs, sql, bnd)                                                        \
    do {                                                                                  \
        qres r_;                                                                          \
        run(&r_, qs);                                                                     \
        if (r_.rc != BS_OK) {                                                             \
            fprintf(stderr, "  query: %s\n  error: %s %s (%s)\n", qs, r_.err.code,         \
                    r_.err.message, r_.err.details);                                      \
            done(&r_);                                                                    \
            TEST_FAIL_("parse failed");                                                   \
        }                                                                                 \
        ASSERT_EQ_INT(r_.emit_rc, BS_OK);                                                 \
        char qw_[4096], qb_[2048];                                                          \
        snprintf(qw_, sizeof qw_, "%s", buf_cstr(&r_.where));                               \
        snprintf(qb_, sizeof qb_, "%s", r_.bstr);                                           \
        done(&r_);                                                                        \
        ASSERT_EQ_STR(qw_, sql);                                                           \
        ASSERT_EQ_STR(qb_, bnd);                                                           \
    } while (0)

/* Expect a parse error with this status, code and message fragment. */
#define EXPECT_ERR(qs, want_status, want_code, frag)                                                \
    do {                                                                                  \
        qres r_;                                                                          \
        run(&r_, qs);                                                                     \
        int rc_ = r_.rc, st_ = r_.err.status;                                             \
        char qc_[32], qm_[256];                                                             \
        snprintf(qc_, sizeof qc_, "%s", r_.rc ? r_.err.code : "(ok)");                      \
        snprintf(qm_, sizeof qm_, "%s", r_.err.message);                                    \
        done(&r_);                                                                        \
        if (rc_ != BS_EPARSE)                                                             \
            TEST_FAIL_("query %s: expected BS_EPARSE, got %d", qs, rc_);                  \
        ASSERT_EQ_INT(st_, want_status);                                                       \
        ASSERT_EQ_STR(qc_, want_code);                                                          \
        ASSERT_CONTAINS(qm_, frag);                                                        \
    } while (0)

#define JX(p) "json_extract(data, '$." p "')"

/* ------------------------------------------------------------------ */
/* SQL text                                                            */

TEST(where_eq_neq_typing)
{
    EXPECT_WHERE("", "1", "");
    EXPECT_WHERE("age=eq.5", JX("age") " IN (?, ?)", "5,'5'");
    EXPECT_WHERE("age=eq.-12", JX("age") " IN (?, ?)", "-12,'-12'");
    EXPECT_WHERE("x=eq.1.5", JX("x") " IN (?, ?)", "1.5,'1.5'");
    EXPECT_WHERE("x=eq.1e3", JX("x") " IN (?, ?)", "1000,'1e3'");
    EXPECT_WHERE("x=eq.99999999999999999999", JX("x") " IN (?, ?)",
                 "1e+20,'99999999999999999999'");
    EXPECT_WHERE("done=eq.true", JX("done") " IN (?, ?)", "1,'true'");
    EXPECT_WHERE("done=eq.false", JX("done") " IN (?, ?)", "0,'false'");
    EXPECT_WHERE("name=eq.bob", JX("name") " = ?", "'bob'");
    EXPECT_WHERE("name=eq.", JX("name") " = ?", "''");
    EXPECT_WHERE("name=eq.a.b.c", JX("name") " = ?", "'a.b.c'");
    EXPECT_WHERE("name=eq.0x10", JX("name") " = ?", "'0x10'");
    EXPECT_WHERE("name=eq.1e", JX("name") " = ?", "'1e'");
    EXPECT_WHERE("name=eq.nan", JX("name") " = ?", "'nan'");
    EXPECT_WHERE("name=eq.TRUE", JX("name") " = ?", "'TRUE'");
    EXPECT_WHERE("name=eq.' OR 1=1 --", JX("name") " = ?", "'' OR 1=1 --'");
    EXPECT_WHERE("id=eq.5", "id = ?", "'5'");
    EXPECT_WHERE("created_at=eq.true", "created_at = ?", "'true'");
    EXPECT_WHERE("age=neq.5", JX("age") " NOT IN (?, ?)", "5,'5'");
    EXPECT_WHERE("name=neq.x", JX("name") " <> ?", "'x'");
    EXPECT_WHERE("a->b->0->>c=eq.x", JX("a.b[0].c") " = ?", "'x'");
    EXPECT_WHERE("a=eq.x&b=eq.2", JX("a") " = ? AND " JX("b") " IN (?, ?)", "'x',2,'2'");
    EXPECT_WHERE("age=not.eq.5", "NOT (" JX("age") " IN (?, ?))", "5,'5'");
    EXPECT_WHERE("a=isdistinct.x", JX("a") " IS NOT ?", "'x'");
    EXPECT_WHERE("a=isdistinct.2",
                 "(" JX("a") " IS NOT ? AND " JX("a") " IS NOT ?)", "2,'2'");
}

TEST(where_ordering_ops)
{
    EXPECT_WHERE("age=gt.5", "(" JX("age") " > ? AND " JX("age") " < '')", "5");
    EXPECT_WHERE("age=gte.5.5", "(" JX("age") " >= ? AND " JX("age") " < '')", "5.5");
    EXPECT_WHERE("age=lt.5", JX("age") " < ?", "5");
    EXPECT_WHERE("age=lte.-1", JX("age") " <= ?", "-1");
    EXPECT_WHERE("name=gt.m", JX("name") " > ?", "'m'");
    EXPECT_WHERE("name=gte.m", JX("name") " >= ?", "'m'");
    EXPECT_WHERE("name=lt.m", "(" JX("name") " < ? AND " JX("name") " >= '')", "'m'");
    EXPECT_WHERE("name=lte.m", "(" JX("name") " <= ? AND " JX("name") " >= '')", "'m'");
    EXPECT_WHERE("done=gt.false", "(" JX("done") " > ? AND " JX("done") " < '')", "0");
    EXPECT_WHERE("created_at=gt.2024-01-01", "created_at > ?", "'2024-01-01'");
    EXPECT_WHERE("id=lt.5", "id < ?", "'5'");
    EXPECT_WHERE("age=not.gt.5", "NOT ((" JX("age") " > ? AND " JX("age") " < ''))", "5");
}

TEST(where_like_ilike)
{
    EXPECT_WHERE("name=like.*a%b_c", JX("name") " GLOB ?", "'*a*b?c'");
    EXPECT_WHERE("name=like.[x]?*", JX("name") " GLOB ?", "'[[]x][?]*'");
    EXPECT_WHERE("name=like.100\\%", JX("name") " GLOB ?", "'100%'");
    EXPECT_WHERE("name=like.a\\_b\\\\", JX("name") " GLOB ?", "'a_b\\'");
    EXPECT_WHERE("name=like.end\\", JX("name") " GLOB ?", "'end\\'");
    EXPECT_WHERE("name=ilike.*A_%", JX("name") " LIKE ? ESCAPE '\\'", "'%A_%'");
    EXPECT_WHERE("name=ilike.100\\%\\x", JX("name") " LIKE ? ESCAPE '\\'", "'100\\%x'");
    EXPECT_WHERE("name=ilike.end\\", JX("name") " LIKE ? ESCAPE '\\'", "'end\\\\'");
    EXPECT_WHERE("name=not.like.a*", "NOT (" JX("name") " GLOB ?)", "'a*'");
    EXPECT_WHERE("name=like(any).{a*,*b}",
                 "(" JX("name") " GLOB ? OR " JX("name") " GLOB ?)", "'a*','*b'");
    EXPECT_WHERE("name=ilike(all).{\"a,*\", *b }",
                 "(" JX("name") " LIKE ? ESCAPE '\\' AND " JX("name") " LIKE ? ESCAPE '\\')",
                 "'a,%','%b'");
    EXPECT_WHERE("age=eq(any).{1,x}", "(" JX("age") " IN (?, ?) OR " JX("age") " = ?)",
                 "1,'1','x'");
    EXPECT_WHERE("age=gt(all).{}", "1", "");
    EXPECT_WHERE("age=gt(any).{}", "0", "");
}

TEST(where_is_in)
{
    EXPECT_WHERE("x=is.null", JX("x") " IS NULL", "");
    EXPECT_WHERE("x=is.NULL", JX("x") " IS NULL", "");
    EXPECT_WHERE("x=is.unknown", JX("x") " IS NULL", "");
    EXPECT_WHERE("x=not.is.null", JX("x") " IS NOT NULL", "");
    EXPECT_WHERE("x=is.true", "data -> '$.x' IS 'true'", "");
    EXPECT_WHERE("a->>x=is.false", "data -> '$.a.x' IS 'false'", "");
    EXPECT_WHERE("x=not.is.true", "NOT (data -> '$.x' IS 'true')", "");
    EXPECT_WHERE("id=in.(1,2,\"a,b\")", "id IN (?, ?, ?)", "'1','2','a,b'");
    EXPECT_WHERE("n=in.(1,x,true)", JX("n") " IN (?, ?, ?, ?, ?)", "1,'1','x',1,'true'");
    EXPECT_WHERE("n=in.(\"a\\\"b\",\"(c)\",d\"e)", JX("n") " IN (?, ?, ?)",
                 "'a\"b','(c)','d\"e'");
    EXPECT_WHERE("n=in.(a,)", JX("n") " IN (?, ?)", "'a',''");
    EXPECT_WHERE("n=in.()", "0", "");
    EXPECT_WHERE("n=not.in.()", "NOT (0)", "");
    EXPECT_WHERE("n=not.in.(a)", "NOT (" JX("n") " IN (?))", "'a'");
}

TEST(where_json_ops)
{
    EXPECT_WHERE("tags=cs.{a,b}", "bs_json_contains(data -> '$.tags', ?)", "'[\"a\",\"b\"]'");
    EXPECT_WHERE("tags=cs.{1, \"2\",x y,NULL,\"NULL\",1.5}", "bs_json_contains(data -> '$.tags', ?)",
                 "'[1,\"2\",\"x y\",null,\"NULL\",1.5]'");
    EXPECT_WHERE("tags=cs.{}", "bs_json_contains(data -> '$.tags', ?)", "'{}'");
    EXPECT_WHERE("meta=cs.{\"a\":1}", "bs_json_contains(data -> '$.meta', ?)", "'{\"a\":1}'");
    EXPECT_WHERE("meta=cs.[1,2]", "bs_json_contains(data -> '$.meta', ?)", "'[1,2]'");
    EXPECT_WHERE("meta->>k=cs.[1]", "bs_json_contains(data -> '$.meta.k', ?)", "'[1]'");
    EXPECT_WHERE("tags=cd.{a,b}", "bs_json_contains(?, data -> '$.tags')", "'[\"a\",\"b\"]'");
    EXPECT_WHERE("tags=ov.{1,2}", "bs_json_overlaps(data -> '$.tags', ?)", "'[1,2]'");
    EXPECT_WHERE("tags=not.ov.{1}", "NOT (bs_json_overlaps(data -> '$.tags', ?))", "'[1]'");
    EXPECT_ERR("tags=cs.abc", 400, "22P02", "invalid input syntax for type json");
    EXPECT_ERR("tags=cs.{a,{b}}", 400, "22P02", "nested arrays");
    EXPECT_ERR("tags=cs.{\"a}", 400, "22P02", "unterminated");
}

/* "KEY=OP." + depth '[' + "1" + depth ']' (heap; caller frees) */
static char *deep_filter(const char *key_op, int depth)
{
    buf b = BUF_INIT;
    buf_puts(&b, key_op);
    for (int i = 0; i < depth; i++)
        buf_putc(&b, '[');
    buf_putc(&b, '1');
    for (int i = 0; i < depth; i++)
        buf_putc(&b, ']');
    return buf_steal(&b, NULL);
}

TEST(where_json_ops_depth)
{
    /* at JSONIN_MAX_DEPTH the operand is bound as given */
    char *q = deep_filter("meta=cs.", JSONIN_MAX_DEPTH);
    char want[2 * JSONIN_MAX_DEPTH + 8];
    snprintf(want, sizeof want, "'%s'", q + strlen("meta=cs."));
    EXPECT_WHERE(q, "bs_json_contains(data -> '$.meta', ?)", want);
    free(q);
    /* one level more, and far more, is a 400 before jansson sees it */
    static const char *const ops[] = {"meta=cs.", "meta=cd.", "meta=not.cs."};
    static const int depths[] = {JSONIN_MAX_DEPTH + 1, 1000, 100000};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        for (size_t k = 0; k < sizeof depths / sizeof depths[0]; k++) {
            q = deep_filter(ops[i], depths[k]);
            qres r_;
            run(&r_, q);
            int rc = r_.rc, status = r_.err.status;
            char code[32], msg[256];
            snprintf(code, sizeof code, "%s", rc ? r_.err.code : "(ok)");
            snprintf(msg, sizeof msg, "%s", r_.err.message);
            done(&r_);
            free(q);
            ASSERT_EQ_INT(rc, BS_EPARSE);
            ASSERT_EQ_INT(status, 400);
            ASSERT_EQ_STR(code, "22P02");
            ASSERT_CONTAINS(msg, "nested deeper than 64 levels");
        }
    }
}

TEST(where_logic_trees)
{
    EXPECT_WHERE("or=(a.eq.1,b.gt.2,and(c.eq.x,d.lt.4))",
                 "(" JX("a") " IN (?, ?) OR (" JX("b") " > ? AND " JX("b") " < '') OR (" JX("c")
                 " = ? AND " JX("d") " < ?))",
                 "1,'1',2,'x',4");
    EXPECT_WHERE("and=(a.eq.x,b.eq.y)", "(" JX("a") " = ? AND " JX("b") " = ?)", "'x','y'");
    EXPECT_WHERE("not.or=(a.eq.x,b.eq.y)", "NOT (" JX("a") " = ? OR " JX("b") " = ?)",
                 "'x','y'");
    EXPECT_WHERE("or=(a.eq.x,not.and(b.eq.y,c.not.eq.z))",
                 "(" JX("a") " = ? OR NOT (" JX("b") " = ? AND NOT (" JX("c") " = ?)))",
                 "'x','y','z'");
    EXPECT_WHERE("or=(name.eq.\"a,b\",name.in.(\"c,d\",e),name.eq.\"(x)\")",
                 "(" JX("name") " = ? OR " JX("name") " IN (?, ?) OR " JX("name") " = ?)",
                 "'a,b','c,d','e','(x)'");
    EXPECT_WHERE("or=(tags.cs.{a,b},meta.cs.{\"k\":[1,2]},tags.ov.[1,2])",
                 "(bs_json_contains(data -> '$.tags', ?) OR bs_json_contains(data -> '$.meta', ?)"
                 " OR bs_json_overlaps(data -> '$.tags', ?))",
                 "'[\"a\",\"b\"]','{\"k\":[1,2]}','[1,2]'");
    EXPECT_WHERE("or=(a->b->>c.eq.x,id.is.null,x.eq.O\"Brien)",
                 "(" JX("a.b.c") " = ? OR id IS NULL OR " JX("x") " = ?)", "'x','O\"Brien'");
    EXPECT_WHERE("or=(a.eq.x, b.eq.y ,\n c.eq.\" z \")",
                 "(" JX("a") " = ? OR " JX("b") " = ? OR " JX("c") " = ?)", "'x','y',' z '");
    EXPECT_WHERE("or=(a.eq.x)&b=eq.y", "(" JX("a") " = ?) AND " JX("b") " = ?", "'x','y'");
    EXPECT_WHERE("or=(a.like(any).{x*,y*},b.eq.1)",
                 "((" JX("a") " GLOB ? OR " JX("a") " GLOB ?) OR " JX("b") " IN (?, ?))",
                 "'x*','y*',1,'1'");
}

TEST(logic_tree_errors)
{
    EXPECT_ERR("or=a.eq.1", 400, "PGRST100", "expected (...)");
    EXPECT_ERR("or=()", 400, "PGRST100", "empty");
    EXPECT_ERR("or=(a.eq.1,)", 400, "PGRST100", "empty condition");
    EXPECT_ERR("or=(a.eq.1", 400, "PGRST100", "logic tree");
    EXPECT_ERR("or=(a.eq.(1)", 400, "PGRST100", "unbalanced");
    EXPECT_ERR("or=(a.eq.\"x)", 400, "PGRST100", "unbalanced");
    EXPECT_ERR("or=(a)", 400, "PGRST100", "logic tree item");
    EXPECT_ERR("or=(a b.eq.1)", 400, "PGRST100", "invalid column");
    EXPECT_ERR("or=(a.xx.1)", 400, "PGRST100", "unknown operator \"xx\"");
    EXPECT_ERR("or=(and(a.eq.1)x)", 400, "PGRST100", "expected (...)");
    EXPECT_ERR("and=(a.eq.1,or())", 400, "PGRST100", "empty");

    /* depth: or= is level 1, so 15 nested levels are fine and 16 are not */
    buf okb = BUF_INIT, badb = BUF_INIT;
    buf_puts(&okb, "or=");
    buf_puts(&badb, "or=");
    for (int i = 0; i < DB_QUERY_MAX_DEPTH; i++) {
        buf_puts(&okb, i ? "and(" : "(");
        buf_puts(&badb, i ? "and(" : "(");
    }
    buf_puts(&badb, "and(");
    buf_puts(&okb, "a.eq.1");
    buf_puts(&badb, "a.eq.1");
    for (int i = 0; i < DB_QUERY_MAX_DEPTH; i++) {
        buf_puts(&okb, ")");
        buf_puts(&badb, ")");
    }
    buf_puts(&badb, ")");
    const char *ok = buf_cstr(&okb), *bad = buf_cstr(&badb);
    qres r;
    run(&r, ok);
    ASSERT_EQ_INT(r.rc, BS_OK);
    done(&r);
    EXPECT_ERR(bad, 400, "PGRST100", "nested too deeply");
    buf_free(&okb);
    buf_free(&badb);

    /* nodes: 256 conditions in all */
    buf b = BUF_INIT;
    buf_puts(&b, "or=(");
    for (int i = 0; i < DB_QUERY_MAX_NODES - 1; i++)
        buf_printf(&b, "%sa.eq.%d", i ? "," : "", i);
    buf_puts(&b, ")");
    run(&r, buf_cstr(&b));
    ASSERT_EQ_INT(r.rc, BS_OK);
    done(&r);
    buf_puts(&b, "&b=eq.1");
    EXPECT_ERR(buf_cstr(&b), 400, "PGRST100", "too many filter conditions");
    buf_reset(&b);
    for (int i = 0; i < DB_QUERY_MAX_NODES + 1; i++)
        buf_printf(&b, "%sa=eq.%d", i ? "&" : "", i);
    EXPECT_ERR(buf_cstr(&b), 400, "PGRST100", "too many filter conditions");
    /* quantified lists count each element */
    buf_reset(&b);
    buf_puts(&b, "a=like(any).{");
    for (int i = 0; i < DB_QUERY_MAX_NODES; i++)
        buf_printf(&b, "%sx%d", i ? "," : "", i);
    buf_puts(&b, "}");
    EXPECT_ERR(buf_cstr(&b), 400, "PGRST100", "too many filter conditions");
    /* in lists */
    buf_reset(&b);
    buf_puts(&b, "a=in.(");
    for (int i = 0; i < DB_QUERY_MAX_IN; i++)
        buf_printf(&b, "%s%d", i ? "," : "", i);
    buf_puts(&b, ")");
    run(&r, buf_cstr(&b));
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT_EQ_INT(r.binds.n, 2 * DB_QUERY_MAX_IN);
    done(&r);
    b.len -= 1;
    buf_puts(&b, ",x)");
    EXPECT_ERR(buf_cstr(&b), 400, "PGRST100", "too many values in one list");
    buf_free(&b);
}

TEST(filter_errors)
{
    EXPECT_ERR("age=eq1.5", 400, "PGRST100", "failed to parse filter (eq1.5) on \"age\": unknown operator \"eq1\"");
    EXPECT_ERR("age=5", 400, "PGRST100", "expected operator.value");
    EXPECT_ERR("age=eq", 400, "PGRST100", "expected operator.value");
    EXPECT_ERR("age=", 400, "PGRST100", "expected operator.value");
    EXPECT_ERR("age=not.5", 400, "PGRST100", "expected operator.value");
    EXPECT_ERR("age=not.not.eq.5", 400, "PGRST100", "unknown operator \"not\"");
    EXPECT_ERR("body=fts.cat", 400, "PGRST100", "operator \"fts\" is not supported");
    EXPECT_ERR("body=wfts(english).cat", 400, "PGRST100", "operator \"wfts\" is not supported");
    EXPECT_ERR("body=match.^a", 400, "PGRST100", "\"match\" is not supported");
    EXPECT_ERR("body=imatch.^a", 400, "PGRST100", "\"imatch\" is not supported");
    EXPECT_ERR("r=sr.[1,2]", 400, "PGRST100", "\"sr\" is not supported");
    EXPECT_ERR("r=adj.[1,2]", 400, "PGRST100", "\"adj\" is not supported");
    EXPECT_ERR("a=eq(some).{1}", 400, "PGRST100", "unknown modifier");
    EXPECT_ERR("a=in(any).(1)", 400, "PGRST100", "unknown modifier");
    EXPECT_ERR("a=eq(any.{1}", 400, "PGRST100", "unterminated");
    EXPECT_ERR("a=eq(any).1", 400, "PGRST100", "array literal");
    EXPECT_ERR("x=is.maybe", 400, "PGRST100", "is. takes null, true, false or unknown");
    EXPECT_ERR("x=in.1,2", 400, "PGRST100", "expected a list");
    EXPECT_ERR("x=in.(\"a\"b)", 400, "PGRST100", "quoted value must be followed");
    EXPECT_ERR("x=in.(\"a)", 400, "PGRST100", "unterminated");
    EXPECT_ERR("=eq.1", 400, "PGRST100", "empty query parameter name");
    EXPECT_ERR("a b=eq.1", 400, "PGRST100", "failed to parse filter column \"a b\"");
    EXPECT_ERR("a'b=eq.1", 400, "PGRST100", "failed to parse filter column");
    EXPECT_ERR("a->>b->c=eq.1", 400, "PGRST100", "failed to parse filter column");
    /* user text in messages is printable ASCII only */
    EXPECT_ERR("caf\xc3\xa9=eq.1", 400, "PGRST100", "column \"caf??\"");
    EXPECT_ERR("a=zz\x01.1", 400, "PGRST100", "(zz?.1)");
}

TEST(embedded_resources)
{
    const char *msg = "Could not find a relationship between the collection and 'users' in the "
                      "schema cache";
    EXPECT_ERR("select=id,users(name)", 400, "PGRST200", msg);
    EXPECT_ERR("select=id,author:users(name)", 400, "PGRST200", msg);
    EXPECT_ERR("select=id,users!inner(name)", 400, "PGRST200", msg);
    EXPECT_ERR("select=id,author:users!fk_x(name,id)", 400, "PGRST200", msg);
    EXPECT_ERR("select=id,...users(name)", 400, "PGRST200", msg);
    EXPECT_ERR("select=id,users(*,teams(*))", 400, "PGRST200", msg);
    EXPECT_ERR("users.order=name", 400, "PGRST200", msg);
    EXPECT_ERR("users.limit=1", 400, "PGRST200", msg);
    EXPECT_ERR("users.offset=1", 400, "PGRST200", msg);
    EXPECT_ERR("users.or=(a.eq.1)", 400, "PGRST200", msg);
    EXPECT_ERR("users.name=eq.x", 400, "PGRST200", msg);
    EXPECT_ERR("select=count()", 400, "PGRST123", "aggregate");
    EXPECT_ERR("select=amount.sum()", 400, "PGRST123", "aggregate");
}

TEST(select_projection)
{
    qres r;
    run(&r, "");
    ASSERT_EQ_STR(buf_cstr(&r.proj), "data");
    ASSERT(!rest_query_has_select(r.q));
    ASSERT(!rest_query_has_filters(r.q));
    ASSERT(!rest_query_has_order(r.q));
    ASSERT_EQ_STR(buf_cstr(&r.order), "");
    ASSERT_EQ_INT(rest_query_limit(r.q), -1);
    ASSERT_EQ_INT(rest_query_offset(r.q), -1);
    done(&r);

    run(&r, "select=*");
    ASSERT_EQ_STR(buf_cstr(&r.proj), "data");
    ASSERT(!rest_query_has_select(r.q));
    done(&r);

    run(&r, "select=id,title:name,data->a->>b");
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT(rest_query_has_select(r.q));
    ASSERT_EQ_STR(buf_cstr(&r.proj),
                  "json_object('id', data -> '$.id', 'title', data -> '$.name', 'b', "
                  "CASE json_type(data, '$.data.a.b') WHEN 'text' THEN data ->> '$.data.a.b' "
                  "WHEN 'null' THEN NULL ELSE '' || (data -> '$.data.a.b') END)");
    done(&r);

    run(&r, "select= id ,\n title ");
    ASSERT_EQ_STR(buf_cstr(&r.proj), "json_object('id', data -> '$.id', 'title', data -> '$.title')");
    done(&r);

    run(&r, "select=*,x:a->b,arr->0,arr->1->k");
    ASSERT_EQ_STR(buf_cstr(&r.proj),
                  "json_set(data, '$.x', data -> '$.a.b', '$.arr', data -> '$.arr[0]', "
                  "'$.k', data -> '$.arr[1].k')");
    done(&r);

    run(&r, "select=age::text,n::int,b::bigint,r::float,d::DOUBLE,x::numeric,v::bool,j::jsonb,"
            "al:a->>b::integer");
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT_EQ_STR(buf_cstr(&r.proj),
                  "json_object('age', CAST(" JX("age") " AS TEXT), 'n', CAST(" JX("n")
                  " AS INTEGER), 'b', CAST(" JX("b") " AS INTEGER), 'r', CAST(" JX("r")
                  " AS REAL), 'd', CAST(" JX("d") " AS REAL), 'x', CAST(" JX("x")
                  " AS REAL), 'v', data -> '$.v', 'j', data -> '$.j', 'al', CAST(" JX("a.b")
                  " AS INTEGER))");
    done(&r);

    /* a repeated output name keeps one key */
    run(&r, "select=a,a:b");
    ASSERT_EQ_STR(buf_cstr(&r.proj), "json_object('a', data -> '$.b')");
    done(&r);

    run(&r, "select=\"title\",\"t2\":done");
    ASSERT_EQ_STR(buf_cstr(&r.proj), "json_object('title', data -> '$.title', 't2', data -> '$.done')");
    done(&r);

    EXPECT_ERR("select=a::money", 400, "PGRST100", "unknown cast type");
    EXPECT_ERR("select=a-b:c", 400, "PGRST100", "invalid alias");
    EXPECT_ERR("select=x':c", 400, "PGRST100", "invalid alias");
    EXPECT_ERR("select=a,,b", 400, "PGRST100", "empty entry");
    EXPECT_ERR("select=a,", 400, "PGRST100", "empty entry");
    EXPECT_ERR("select=a'b", 400, "PGRST100", "failed to parse select parameter");
    EXPECT_ERR("select=a.b", 400, "PGRST100", "failed to parse select parameter");
    EXPECT_ERR("select=a:", 400, "PGRST100", "failed to parse select parameter");
    EXPECT_ERR("select=a)", 400, "PGRST100", "unbalanced");

    buf b = BUF_INIT;
    buf_puts(&b, "select=");
    for (int i = 0; i <= DB_QUERY_MAX_SELECT; i++)
        buf_printf(&b, "%sc%d", i ? "," : "", i);
    EXPECT_ERR(buf_cstr(&b), 400, "PGRST100", "too many entries in select");
    buf_free(&b);
}

TEST(order_limit_names)
{
    qres r;
    run(&r, "order=a.desc.nullslast,b,c->>d.asc,id.desc,created_at,e.nullsfirst,f.desc.nullsfirst,"
            "updated_at.asc.nullslast&limit=10&offset=0");
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT(rest_query_has_order(r.q));
    ASSERT_EQ_STR(buf_cstr(&r.order),
                  JX("a") " DESC NULLS LAST, " JX("b") " ASC NULLS LAST, " JX("c.d")
                  " ASC NULLS LAST, id DESC, created_at ASC, " JX("e") " ASC NULLS FIRST, " JX("f")
                  " DESC NULLS FIRST, updated_at ASC");
    ASSERT_EQ_INT(rest_query_limit(r.q), 10);
    ASSERT_EQ_INT(rest_query_offset(r.q), 0);
    done(&r);

    run(&r, "order=a.desc&order=b");
    ASSERT_EQ_STR(buf_cstr(&r.order), JX("a") " DESC NULLS FIRST, " JX("b") " ASC NULLS LAST");
    done(&r);

    run(&r, "limit=999999999999999999");
    ASSERT_EQ_INT(rest_query_limit(r.q), 999999999999999999LL);
    done(&r);

    EXPECT_ERR("order=a.up", 400, "PGRST100", "failed to parse order (a.up)");
    EXPECT_ERR("order=a.asc.desc", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("order=a.nullslast.asc", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("order=a.asc.nullslast.x", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("order=a,,b", 400, "PGRST100", "empty entry");
    EXPECT_ERR("order=", 400, "PGRST100", "empty entry");
    EXPECT_ERR("order=a'b", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("order=a::int", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("order=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", 400, "PGRST100", "too many entries");
    EXPECT_ERR("limit=-1", 400, "PGRST100", "\"limit\" must be a non-negative integer");
    EXPECT_ERR("limit=abc", 400, "PGRST100", "\"limit\" must be a non-negative integer");
    EXPECT_ERR("limit=", 400, "PGRST100", "\"limit\" must be a non-negative integer");
    EXPECT_ERR("limit=1.5", 400, "PGRST100", "\"limit\" must be a non-negative integer");
    EXPECT_ERR("limit= 1", 400, "PGRST100", "\"limit\" must be a non-negative integer");
    EXPECT_ERR("limit=1234567890123456789", 400, "PGRST100", "\"limit\" must be");
    EXPECT_ERR("offset=+1", 400, "PGRST100", "\"offset\" must be a non-negative integer");

    const char *const *names;
    size_t n;
    run(&r, "columns=\"title\",\"done\"&on_conflict=id");
    ASSERT_EQ_INT(r.rc, BS_OK);
    rest_query_columns(r.q, &names, &n);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(names[0], "title");
    ASSERT_EQ_STR(names[1], "done");
    rest_query_on_conflict(r.q, &names, &n);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_STR(names[0], "id");
    done(&r);
    run(&r, "on_conflict=a, b");
    rest_query_on_conflict(r.q, &names, &n);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(names[1], "b");
    rest_query_columns(r.q, &names, &n);
    ASSERT_EQ_INT(n, 0);
    done(&r);
    /* a columns= that does not parse is kept, with its error, for the write
     * path to judge against the body (postgrest-js does not escape) */
    static const char *const bad_columns[] = {
        "columns=a b", "columns=\"a b", "columns=a;drop", "columns=", "columns=a,,b", "columns=a->b",
        "columns=\"a\"b\"",
    };
    for (size_t i = 0; i < sizeof bad_columns / sizeof bad_columns[0]; i++) {
        run(&r, bad_columns[i]);
        ASSERT_EQ_INT(r.rc, BS_OK);
        const rest_qerr *ce;
        const char *raw = rest_query_columns_raw(r.q, &ce);
        ASSERT_EQ_STR(raw, bad_columns[i] + 8);
        ASSERT(ce != NULL);
        ASSERT_EQ_INT(ce->status, 400);
        ASSERT_EQ_STR(ce->code, "PGRST100");
        ASSERT_CONTAINS(ce->message, "failed to parse columns");
        rest_query_columns(r.q, &names, &n);
        ASSERT_EQ_INT(n, 0);
        done(&r);
    }
    run(&r, "select=a");
    const rest_qerr *none;
    ASSERT(rest_query_columns_raw(r.q, &none) == NULL && none == NULL);
    done(&r);
    EXPECT_ERR("on_conflict=\"x\"y\"", 400, "PGRST100", "failed to parse on_conflict");
    /* any name in quotes, PostgREST's way: a backslash takes the next byte */
    run(&r, "columns=\"a b\",\"x,y\",\"q\\\"t\",\"b\\\\s\",\"\",\"caf\xc3\xa9\",\"a->b\"");
    ASSERT_EQ_INT(r.rc, BS_OK);
    rest_query_columns(r.q, &names, &n);
    ASSERT_EQ_INT(n, 7);
    ASSERT_EQ_STR(names[0], "a b");
    ASSERT_EQ_STR(names[1], "x,y");
    ASSERT_EQ_STR(names[2], "q\"t");
    ASSERT_EQ_STR(names[3], "b\\s");
    ASSERT_EQ_STR(names[4], "");
    ASSERT_EQ_STR(names[5], "caf\xc3\xa9");
    ASSERT_EQ_STR(names[6], "a->b");
    done(&r);
}

/* Quoted names reach SQL only as binds: filters, select, order. */
TEST(quoted_names_are_bound)
{
    EXPECT_WHERE("\"a.b\"=eq.1", "json_extract(data, ?) IN (?, ?)", "'$.\"a.b\"',1,'1'");
    EXPECT_WHERE("\"it's\"=eq.x", "json_extract(data, ?) = ?", "'$.\"it's\"','x'");
    EXPECT_WHERE("\"q\\\"t.x\"=is.null", "json_extract(data, ?) IS NULL", "'$.q\\\"t\\u002ex'");
    EXPECT_WHERE("meta->\"k.1\"->>x=eq.a", "json_extract(data, ?) = ?", "'$.\"meta\".\"k.1\".\"x\"','a'");
    EXPECT_WHERE("\"id\"=eq.a", "id = ?", "'a'"); /* a quoted plain name is that name */
    EXPECT_WHERE("or=(\"a,b\".eq.1,\"c.d\".is.true)", "(json_extract(data, ?) IN (?, ?) OR data -> ? IS 'true')",
                 "'$.\"a,b\"',1,'1','$.\"c.d\"'");
    EXPECT_WHERE("x->\"a,b\"=eq.1&or=(x->\"a,b\".eq.2)",
                 "json_extract(data, ?) IN (?, ?) AND (json_extract(data, ?) IN (?, ?))",
                 "'$.\"x\".\"a,b\"',1,'1','$.\"x\".\"a,b\"',2,'2'");
    qres r;
    run(&r, "select=\"a b\",al:\"x.y\"->>z,\"n\"::int&order=\"c.d\".desc,plain");
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT_EQ_INT(r.emit_rc, BS_OK);
    ASSERT_EQ_STR(buf_cstr(&r.proj), "json_object(?, data -> ?, 'al', CASE json_type(data, ?) WHEN 'text' THEN "
                                     "data ->> ? WHEN 'null' THEN NULL ELSE '' || (data -> ?) END, 'n', "
                                     "CAST(json_extract(data, '$.n') AS INTEGER))");
    ASSERT_EQ_INT(r.pbinds.n, 5);
    ASSERT_EQ_STR(r.pbinds.v[0].s, "a b");
    ASSERT_EQ_STR(r.pbinds.v[1].s, "$.\"a b\"");
    ASSERT_EQ_STR(r.pbinds.v[2].s, "$.\"x.y\".\"z\"");
    ASSERT_EQ_STR(buf_cstr(&r.order), "json_extract(data, ?) DESC NULLS FIRST, json_extract(data, '$.plain') ASC NULLS LAST");
    ASSERT_EQ_INT(r.obinds.n, 1);
    ASSERT_EQ_STR(r.obinds.v[0].s, "$.\"c.d\"");
    done(&r);
    /* with *, an added name is a json_set path: bound, and refused when it
     * would need escaping */
    run(&r, "select=*,\"a b\":x");
    ASSERT_EQ_INT(r.rc, BS_OK);
    ASSERT_EQ_STR(buf_cstr(&r.proj), "json_set(data, ?, data -> '$.x')");
    ASSERT_EQ_STR(r.pbinds.v[0].s, "$.\"a b\"");
    done(&r);
    EXPECT_ERR("select=*,\"a\\\\b\"", 400, "PGRST100", "with *, an added entry's name");
    EXPECT_ERR("select=*,\"a\\\"b\":x", 400, "PGRST100", "with *, an added entry's name");
    EXPECT_ERR("select=\"a", 400, "PGRST100", "failed to parse select");
    EXPECT_ERR("\"a=eq.1", 400, "PGRST100", "failed to parse filter column");
    EXPECT_ERR("order=\"a.desc", 400, "PGRST100", "failed to parse order");
    EXPECT_ERR("\"a\".b=eq.1", 400, "PGRST200", "Could not find a relationship");
}

TEST(binds_helpers)
{
    arena a = ARENA_INIT;
    db_binds b = {0};
    for (int i = 0; i < 100; i++)
        ASSERT_EQ_INT(db_binds_int(&a, &b, i), BS_OK);
    char s[3] = {'x', 'y', 'z'};
    ASSERT_EQ_INT(db_binds_text(&a, &b, s, 2), BS_OK);
    ASSERT_EQ_INT(b.n, 101);
    ASSERT_EQ_INT(b.v[99].i, 99);
    ASSERT_EQ_INT(b.v[100].n, 2);
    ASSERT(memcmp(b.v[100].s, "xy", 2) == 0);
    ASSERT(b.v[100].s != s); /* copied */
    arena_free(&a);

    rest_qerr e;
    ASSERT_EQ_INT(rest_qerr_set(&e, 400, "PGRST100", "m", "d=%d", 7), BS_EPARSE);
    ASSERT_EQ_STR(e.message, "m");
    ASSERT_EQ_STR(e.details, "d=7");
    ASSERT(e.hint == NULL);
    ASSERT_EQ_INT(rest_qerr_set(NULL, 400, "x", "m", "%s", ""), BS_EPARSE);
}

/* ------------------------------------------------------------------ */
/* Against SQLite                                                      */

static const char *const DOCS[][2] = {
    {"d01", "{\"id\":\"d01\",\"owner_id\":\"u1\",\"age\":30,\"name\":\"Alice\",\"done\":true,"
            "\"tags\":[\"a\",\"b\"],\"meta\":{\"k\":1,\"nested\":{\"x\":\"y\"}},\"score\":1.5,"
            "\"note\":null}"},
    {"d02", "{\"id\":\"d02\",\"owner_id\":\"u2\",\"age\":\"30\",\"name\":\"bob\",\"done\":false,"
            "\"tags\":[\"b\",\"c\"],\"meta\":{\"k\":2}}"},
    {"d03", "{\"id\":\"d03\",\"owner_id\":\"u1\",\"age\":25,\"name\":\"Carol\",\"done\":true,"
            "\"tags\":[],\"score\":2}"},
    {"d04", "{\"id\":\"d04\",\"age\":40,\"name\":\"dave_x\",\"done\":false,\"tags\":[\"a\"],"
            "\"nums\":[1,2,3]}"},
    {"d05", "{\"id\":\"d05\",\"age\":null,\"name\":\"Eve%\",\"nums\":[3,4]}"},
    {"d06", "{\"id\":\"d06\",\"name\":\"a,b\",\"age\":5,\"meta\":{\"k\":1}}"},
    {"d07", "{\"id\":\"d07\",\"name\":\"zed\",\"age\":100.5,\"nums\":[1.0]}"},
    {"d08", "{\"id\":\"d08\",\"done\":1,\"name\":\"[x]*?\"}"},
    {"d09", "{\"id\":\"d09\",\"name\":\"ALICE\",\"tags\":[\"A\"],"
            "\"items\":[{\"id\":1,\"q\":2},{\"id\":2}]}"},
    {"d10", "{\"id\":\"d10\",\"name\":\"\",\"age\":-3,\"meta\":[1,2]}"},
};

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return NULL;
    if (rest_query_register_functions(db) != BS_OK)
        return NULL;
    sqlite3_exec(db,
                 "CREATE TABLE t(id TEXT PRIMARY KEY, data TEXT, created_at TEXT, "
                 "updated_at TEXT, version INTEGER)",
                 NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, '2024-01-' || substr(?1, 2), "
                           "'2024-02-' || substr(?1, 2), 1)",
                       -1, &st, NULL);
    for (size_t i = 0; i < sizeof DOCS / sizeof DOCS[0]; i++) {
        sqlite3_bind_text(st, 1, DOCS[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, DOCS[i][1], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return db;
}

static int bind_all(sqlite3_stmt *st, const db_binds *b, int first)
{
    for (size_t i = 0; i < b->n; i++) {
        const db_bind *v = &b->v[i];
        int k = (int)i + first;
        switch (v->type) {
        case DB_BIND_INT: sqlite3_bind_int64(st, k, v->i); break;
        case DB_BIND_REAL: sqlite3_bind_double(st, k, v->r); break;
        case DB_BIND_TEXT: sqlite3_bind_text(st, k, v->s, (int)v->n, SQLITE_STATIC); break;
        default: sqlite3_bind_null(st, k); break;
        }
    }
    return first + (int)b->n;
}

/* Run qs against the table; write the column of each row, joined by ",",
 * into out.  Returns 0, or -1 with out holding the error. */
static int query_rows(sqlite3 *db, const char *qs, const char *what, char *out, size_t cap)
{
    qres r;
    run(&r, qs);
    out[0] = '\0';
    if (r.rc != BS_OK || r.emit_rc != BS_OK) {
        snprintf(out, cap, "parse: %s %s", r.err.code, r.err.message);
        done(&r);
        return -1;
    }
    buf sql = BUF_INIT;
    buf_puts(&sql, "SELECT ");
    buf_puts(&sql, strcmp(what, "proj") == 0 ? buf_cstr(&r.proj) : what);
    buf_puts(&sql, " FROM t WHERE ");
    buf_puts(&sql, buf_cstr(&r.where));
    buf_puts(&sql, " ORDER BY ");
    buf_puts(&sql, r.order.len ? buf_cstr(&r.order) : "id");
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        snprintf(out, cap, "prepare: %s in %s", sqlite3_errmsg(db), buf_cstr(&sql));
        goto out;
    }
    bool use_proj = strcmp(what, "proj") == 0;
    size_t nb = (use_proj ? r.pbinds.n : 0) + r.binds.n + (r.order.len ? r.obinds.n : 0);
    if ((size_t)sqlite3_bind_parameter_count(st) != nb) {
        snprintf(out, cap, "bind count %d != %zu", sqlite3_bind_parameter_count(st), nb);
        goto out;
    }
    int next = bind_all(st, use_proj ? &r.pbinds : &(db_binds){0}, 1);
    next = bind_all(st, &r.binds, next);
    if (r.order.len)
        bind_all(st, &r.obinds, next);
    size_t o = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "|" : "", v ? v : "NULL");
        if (o >= cap)
            break;
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW) {
        snprintf(out, cap, "step: %s", sqlite3_errmsg(db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    buf_free(&sql);
    done(&r);
    return rc;
}

TEST(sqlite_filters)
{
    static const struct {
        const char *qs, *ids;
    } cases[] = {
        /* eq: numbers match the number and its text; booleans match 1/0 */
        {"age=eq.30", "d01|d02"},
        {"age=eq.100.5", "d07"},
        {"age=eq.-3", "d10"},
        {"name=eq.bob", "d02"},
        {"name=eq.", "d10"},
        {"done=eq.true", "d01|d03|d08"},
        {"done=eq.false", "d02|d04"},
        {"id=eq.d03", "d03"},
        {"owner_id=eq.u1", "d01|d03"},
        {"age=neq.30", "d03|d04|d06|d07|d10"},
        {"name=neq.bob", "d01|d03|d04|d05|d06|d07|d08|d09|d10"},
        /* ordering: numbers against numbers only, text against text only */
        {"age=gt.25", "d01|d04|d07"},
        {"age=gte.25", "d01|d03|d04|d07"},
        {"age=lt.25", "d06|d10"},
        {"age=lte.5", "d06|d10"},
        {"age=gt.3", "d01|d03|d04|d06|d07"}, /* the string "30" is not a number */
        {"name=gt.b", "d02|d04|d07"},
        {"name=lt.b", "d01|d03|d05|d06|d08|d09|d10"},
        {"name=lte.Alice", "d01|d09|d10"},
        {"score=gt.1", "d01|d03"},
        {"id=lt.d03", "d01|d02"},
        {"created_at=gte.2024-01-09", "d09|d10"},
        {"updated_at=lt.2024-02-02", "d01"},
        /* like / ilike */
        {"name=like.*a*", "d03|d04|d06"},
        {"name=like.%e", "d01"},
        {"name=like.A%", "d01|d09"},
        {"name=like.dave\\_x", "d04"},
        {"name=like.dave_x", "d04"},
        {"name=like.____", "d05"},
        {"name=like.Eve\\%", "d05"},
        {"name=like.[x]\\*?", "d08"},
        {"name=like.[x]__", "d08"},
        {"name=like.[x]*", "d08"},
        {"name=ilike.alice", "d01|d09"},
        {"name=ilike.*A*", "d01|d03|d04|d06|d09"},
        {"name=ilike.%\\%", "d05"},
        {"name=ilike.d_ve\\_%", "d04"},
        {"name=like(any).{A*,b*}", "d01|d02|d09"},
        {"name=ilike(all).{a*,*e}", "d01|d09"},
        {"name=not.like.*a*", "d01|d02|d05|d07|d08|d09|d10"},
        /* is */
        {"age=is.null", "d05|d08|d09"},
        {"note=is.null", "d01|d02|d03|d04|d05|d06|d07|d08|d09|d10"},
        {"age=not.is.null", "d01|d02|d03|d04|d06|d07|d10"},
        {"done=is.true", "d01|d03"},
        {"done=is.false", "d02|d04"},
        {"done=not.is.true", "d02|d04|d05|d06|d07|d08|d09|d10"},
        /* in */
        {"name=in.(bob,\"a,b\",zed)", "d02|d06|d07"},
        {"age=in.(30,5)", "d01|d02|d06"},
        {"id=in.(d01,d10,nope)", "d01|d10"},
        {"age=not.in.(30,5)", "d03|d04|d07|d10"},
        {"age=in.()", ""},
        {"done=in.(true)", "d01|d03|d08"},
        /* contains / contained / overlaps */
        {"tags=cs.{a}", "d01|d04"},
        {"tags=cs.{a,b}", "d01"},
        {"tags=cs.[\"b\"]", "d01|d02"},
        {"tags=cs.{}", "d01|d02|d03|d04|d09"},
        {"nums=cs.{1}", "d04|d07"},
        {"nums=cs.{3,1}", "d04"},
        {"meta=cs.{\"k\":1}", "d01|d06"},
        {"meta=cs.{\"nested\":{\"x\":\"y\"}}", "d01"},
        {"meta=cs.{\"nested\":{}}", "d01"},
        {"meta=cs.[1]", "d10"},
        {"items=cs.[{\"id\":2}]", "d09"},
        {"items=cs.[{\"q\":2}]", "d09"},
        {"items=cs.[{\"q\":3}]", ""},
        {"tags=cd.{a,b,c}", "d01|d02|d03|d04"},
        {"tags=cd.{a}", "d03|d04"},
        {"nums=cd.{1,2,3,4}", "d04|d05|d07"},
        {"tags=ov.{a,c}", "d01|d02|d04"},
        {"nums=ov.{4,9}", "d05"},
        {"nums=ov.{}", ""},
        {"tags=not.ov.{a}", "d02|d03|d09"},
        /* nested paths */
        {"meta->k=eq.1", "d01|d06"},
        {"meta->>k=eq.2", "d02"},
        {"meta->nested->>x=eq.y", "d01"},
        {"items->0->id=eq.1", "d09"},
        {"items->1->>id=gt.1", "d09"},
        {"tags->0=eq.a", "d01|d04"},
        {"meta->1=eq.2", "d10"},
        /* logic */
        {"or=(age.eq.5,name.eq.bob)", "d02|d06"},
        {"or=(age.gt.35,and(done.is.true,age.lt.30))", "d03|d04|d07"},
        {"not.or=(age.is.null,age.gt.10)", "d02|d06|d10"}, /* "30" is text */
        {"and=(age.gte.5,age.lte.30)&done=eq.true", "d01|d03"},
        {"or=(name.eq.\"a,b\",name.in.(\"Eve%\",zed))", "d05|d06|d07"},
        {"or=(tags.cs.{a,b},nums.cs.{4})", "d01|d05"},
        {"or=(done.not.is.null,not.and(age.is.null,name.ilike.*e*))", "d01|d02|d03|d04|d06|d07|d08|d10"},
        {"or=(id.eq.d01,or(id.eq.d02,and(id.eq.d03,not.or(id.eq.d04))))", "d01|d02|d03"},
        {"age=gt.0&age=lt.30&done=not.is.true", "d06"},
        {"age=isdistinct.30", "d03|d04|d05|d06|d07|d08|d09|d10"},
        {"name=isdistinct.bob", "d01|d03|d04|d05|d06|d07|d08|d09|d10"},
    };
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    char got[4096];
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (query_rows(db, cases[i].qs, "id", got, sizeof got) != 0 ||
            strcmp(got, cases[i].ids) != 0) {
            fprintf(stderr, "%s:\n  got:  %s\n  want: %s\n", cases[i].qs, got, cases[i].ids);
            bad++;
        }
    }
    sqlite3_close(db);
    ASSERT_EQ_INT(bad, 0);
}

TEST(sqlite_order)
{
    static const struct {
        const char *qs, *ids;
    } cases[] = {
        {"order=age.desc&age=not.is.null", "d02|d07|d04|d01|d03|d06|d10"}, /* text > numbers */
        {"order=age&age=neq.30", "d10|d06|d03|d04|d07"},
        {"order=score.desc,id", "d02|d04|d05|d06|d07|d08|d09|d10|d03|d01"},
        {"order=score.desc.nullslast,id.desc", "d03|d01|d10|d09|d08|d07|d06|d05|d04|d02"},
        {"order=score.asc.nullsfirst,id&limit=1", "d02|d04|d05|d06|d07|d08|d09|d10|d01|d03"},
        {"order=id.desc&id=lt.d04", "d03|d02|d01"},
        {"order=meta->>k.desc.nullslast,id&meta->k=not.is.null", "d02|d01|d06"},
    };
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    char got[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (query_rows(db, cases[i].qs, "id", got, sizeof got) != 0 ||
            strcmp(got, cases[i].ids) != 0) {
            sqlite3_close(db);
            TEST_FAIL_("%s:\n  got:  %s\n  want: %s", cases[i].qs, got, cases[i].ids);
        }
    }
    sqlite3_close(db);
}

TEST(sqlite_projection)
{
    static const struct {
        const char *qs, *json;
    } cases[] = {
        {"id=eq.d01&select=id,title:name,meta->nested->>x,age::text,done,missing,"
         "m:meta->>k,s:score::int,tags->1,t:tags->>0,n:meta->>nested,nn:note->>x,z:note",
         "{\"id\":\"d01\",\"title\":\"Alice\",\"x\":\"y\",\"age\":\"30\",\"done\":true,"
         "\"missing\":null,\"m\":\"1\",\"s\":1,\"tags\":\"b\",\"t\":\"a\",\"n\":\"{\\\"x\\\":"
         "\\\"y\\\"}\",\"nn\":null,\"z\":null}"},
        {"id=eq.d02&select=d:done->>x,b:done::bool,j:meta::jsonb,f:age::float",
         "{\"d\":null,\"b\":false,\"j\":{\"k\":2},\"f\":30.0}"},
        {"id=eq.d06&select=*,extra:meta->k,name:age",
         "{\"id\":\"d06\",\"name\":5,\"age\":5,\"meta\":{\"k\":1},\"extra\":1}"},
        {"id=eq.d03&select=*", "{\"id\":\"d03\",\"owner_id\":\"u1\",\"age\":25,\"name\":\"Carol\","
                               "\"done\":true,\"tags\":[],\"score\":2}"},
        {"id=eq.d09&select=i:items->0,q:items->0->>q", "{\"i\":{\"id\":1,\"q\":2},\"q\":\"2\"}"},
    };
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    char got[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (query_rows(db, cases[i].qs, "proj", got, sizeof got) != 0 ||
            strcmp(got, cases[i].json) != 0) {
            sqlite3_close(db);
            TEST_FAIL_("%s:\n  got:  %s\n  want: %s", cases[i].qs, got, cases[i].json);
        }
    }

    /* the largest select (128 entries, chained calls) and with * */
    for (int star = 0; star < 2; star++) {
        buf b = BUF_INIT;
        buf_puts(&b, star ? "id=eq.d01&select=*" : "id=eq.d01&select=");
        for (int k = 0; k < DB_QUERY_MAX_SELECT; k++)
            buf_printf(&b, "%sc%d:age", (k || star) ? "," : "", k);
        int rc = query_rows(db, buf_cstr(&b), "proj", got, sizeof got);
        buf_free(&b);
        if (rc != 0) {
            sqlite3_close(db);
            TEST_FAIL_("128 entries: %s", got);
        }
        ASSERT_CONTAINS(got, "\"c0\":30");
        ASSERT_CONTAINS(got, "\"c62\":30,\"c63\":30");
        ASSERT_CONTAINS(got, "\"c127\":30}");
        if (star)
            ASSERT_CONTAINS(got, "\"name\":\"Alice\"");
    }
    sqlite3_close(db);
}

TEST(sqlite_worst_case_compiles)
{
    /* 255 nested-or leaves each with a bound: SQLite must accept the depth */
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    buf b = BUF_INIT;
    buf_puts(&b, "or=(");
    for (int i = 0; i < DB_QUERY_MAX_NODES - 1; i++)
        buf_printf(&b, "%sage.gt.%d", i ? "," : "", i);
    buf_puts(&b, ")");
    char got[4096];
    int rc = query_rows(db, buf_cstr(&b), "id", got, sizeof got);
    if (rc != 0) {
        buf_free(&b);
        sqlite3_close(db);
        TEST_FAIL_("%s", got);
    }
    ASSERT_EQ_STR(got, "d01|d03|d04|d06|d07");
    /* 15 nested levels, then 240 leaves ANDed at the top */
    buf_reset(&b);
    buf_puts(&b, "or=(");
    for (int i = 1; i < DB_QUERY_MAX_DEPTH; i++)
        buf_puts(&b, "and(");
    buf_puts(&b, "age.gt.1");
    for (int i = 1; i < DB_QUERY_MAX_DEPTH; i++)
        buf_puts(&b, ")");
    buf_puts(&b, ")");
    for (int i = 0; i < DB_QUERY_MAX_NODES - 17; i++) /* 16 groups + 1 leaf above */
        buf_printf(&b, "&age=not.eq.%d", 1000 + i);
    rc = query_rows(db, buf_cstr(&b), "id", got, sizeof got);
    if (rc != 0) {
        buf_free(&b);
        sqlite3_close(db);
        TEST_FAIL_("%s", got);
    }
    ASSERT_EQ_STR(got, "d01|d03|d04|d06|d07");
    /* the most parentheses: every level negated, a compound leaf inside */
    buf_reset(&b);
    buf_puts(&b, "not.or=(");
    for (int i = 1; i < DB_QUERY_MAX_DEPTH; i++)
        buf_puts(&b, i % 2 ? "not.and(" : "not.or(");
    buf_puts(&b, "age.not.gte(any).{1,x},name.not.lt.b");
    for (int i = 1; i < DB_QUERY_MAX_DEPTH; i++)
        buf_puts(&b, ")");
    buf_puts(&b, ")");
    rc = query_rows(db, buf_cstr(&b), "id", got, sizeof got);
    buf_free(&b);
    sqlite3_close(db);
    if (rc != 0)
        TEST_FAIL_("%s", got);
}

TEST(sqlite_json_functions)
{
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    static const struct {
        const char *sql;
        const char *want;
    } cases[] = {
        {"SELECT bs_json_contains(NULL, '[1]')", "NULL"},
        {"SELECT bs_json_contains('[1]', NULL)", "NULL"},
        {"SELECT bs_json_overlaps(NULL, NULL)", "NULL"},
        {"SELECT bs_json_contains('[1', '[1]')", "NULL"},
        {"SELECT bs_json_contains('[1]', 'nope')", "NULL"},
        {"SELECT bs_json_overlaps(x'00ff', '[1]')", "NULL"},
        {"SELECT bs_json_contains(1, 1)", "1"},
        {"SELECT bs_json_contains('\"a\"', '\"a\"')", "1"},
        {"SELECT bs_json_contains('[1,2]', '2')", "1"},
        {"SELECT bs_json_contains('[1,2]', '[2.0]')", "1"},
        {"SELECT bs_json_contains('[[1,2],3]', '[[1]]')", "1"},
        {"SELECT bs_json_contains('[[1,2],3]', '[1]')", "0"},
        {"SELECT bs_json_contains('{\"a\":{\"b\":[1,2]}}', '{\"a\":{\"b\":[2]}}')", "1"},
        {"SELECT bs_json_contains('{\"a\":{\"b\":[1,2]}}', '{\"a\":{\"b\":3}}')", "0"},
        {"SELECT bs_json_contains('{\"a\":1}', '{\"a\":1,\"b\":2}')", "0"},
        {"SELECT bs_json_contains('{\"a\":[1]}', '{\"a\":1}')", "0"},
        {"SELECT bs_json_contains('{\"a\":null}', '{\"a\":null}')", "1"},
        {"SELECT bs_json_contains('[1]', '{}')", "1"},
        {"SELECT bs_json_contains('{}', '[]')", "1"},
        {"SELECT bs_json_contains('{}', '[1]')", "0"},
        {"SELECT bs_json_contains('[true]', '[1]')", "0"},
        {"SELECT bs_json_overlaps('[1,\"a\"]', '[\"a\"]')", "1"},
        {"SELECT bs_json_overlaps('[{\"a\":1}]', '[{\"a\":1.0}]')", "1"},
        {"SELECT bs_json_overlaps('{\"a\":1}', '[1]')", "0"},
        {"SELECT count(*) FROM t WHERE bs_json_contains(data -> '$.tags', '[\"a\"]')", "2"},
    };
    /* deeply nested operands: past JSONIN_MAX_DEPTH an argument counts as
     * invalid (NULL, no crash); at the limit it is compared as usual */
    buf deep = BUF_INIT;
    buf_puts(&deep, "SELECT bs_json_contains(?1, ?1), bs_json_overlaps(?1, ?1), "
                    "bs_json_contains(?2, ?2), bs_json_contains(?3, ?3), bs_json_overlaps(?3, ?3)");
    buf arr = BUF_INIT, over = BUF_INIT, at = BUF_INIT;
    for (int i = 0; i < 2000; i++)
        buf_putc(&arr, '[');
    buf_putc(&arr, '1');
    for (int i = 0; i < 2000; i++)
        buf_putc(&arr, ']');
    for (int i = 0; i < 3000; i++)
        buf_puts(&over, "{\"a\":");
    for (int i = 0; i < JSONIN_MAX_DEPTH; i++)
        buf_putc(&at, '[');
    buf_putc(&at, '1');
    for (int i = 0; i < JSONIN_MAX_DEPTH; i++)
        buf_putc(&at, ']');
    sqlite3_stmt *ds = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, buf_cstr(&deep), -1, &ds, NULL), SQLITE_OK);
    sqlite3_bind_text(ds, 1, buf_cstr(&arr), -1, SQLITE_STATIC);
    sqlite3_bind_text(ds, 2, buf_cstr(&over), -1, SQLITE_STATIC);
    sqlite3_bind_text(ds, 3, buf_cstr(&at), -1, SQLITE_STATIC);
    ASSERT_EQ_INT(sqlite3_step(ds), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_type(ds, 0), SQLITE_NULL);
    ASSERT_EQ_INT(sqlite3_column_type(ds, 1), SQLITE_NULL);
    ASSERT_EQ_INT(sqlite3_column_type(ds, 2), SQLITE_NULL);
    ASSERT_EQ_INT(sqlite3_column_int(ds, 3), 1);
    ASSERT_EQ_INT(sqlite3_column_int(ds, 4), 1);
    sqlite3_finalize(ds);
    buf_free(&deep);
    buf_free(&arr);
    buf_free(&over);
    buf_free(&at);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqlite3_stmt *st = NULL;
        ASSERT_EQ_INT(sqlite3_prepare_v2(db, cases[i].sql, -1, &st, NULL), SQLITE_OK);
        ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
        const char *v = (const char *)sqlite3_column_text(st, 0);
        char got[32];
        snprintf(got, sizeof got, "%s", v ? v : "NULL");
        sqlite3_finalize(st);
        if (strcmp(got, cases[i].want) != 0) {
            sqlite3_close(db);
            TEST_FAIL_("%s: got %s, want %s", cases[i].sql, got, cases[i].want);
        }
    }
    sqlite3_close(db);
}

static int plan_uses(sqlite3 *db, const char *qs, const char *needle, char *plan, size_t cap)
{
    qres r;
    run(&r, qs);
    buf sql = BUF_INIT;
    buf_printf(&sql, "EXPLAIN QUERY PLAN SELECT data FROM t WHERE %s", buf_cstr(&r.where));
    if (r.order.len)
        buf_printf(&sql, " ORDER BY %s", buf_cstr(&r.order));
    sqlite3_stmt *st = NULL;
    size_t o = 0;
    plan[0] = '\0';
    if (sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL) == SQLITE_OK) {
        bind_all(st, &r.obinds, bind_all(st, &r.binds, 1));
        while (sqlite3_step(st) == SQLITE_ROW && o < cap)
            o += (size_t)snprintf(plan + o, cap - o, "%s; ", sqlite3_column_text(st, 3));
    } else {
        snprintf(plan, cap, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    buf_free(&sql);
    done(&r);
    return strstr(plan, needle) != NULL;
}

TEST(sqlite_expression_index_is_used)
{
    sqlite3 *db = open_db();
    ASSERT(db != NULL);
    arena a = ARENA_INIT;
    db_path p;
    ASSERT_EQ_INT(db_path_parse(&a, "owner_id", 8, &p), BS_OK);
    buf ddl = BUF_INIT;
    buf_puts(&ddl, "CREATE INDEX i ON t(");
    ASSERT_EQ_INT(db_path_value_expr(&ddl, &p), BS_OK);
    buf_puts(&ddl, ")");
    ASSERT_EQ_STR(buf_cstr(&ddl), "CREATE INDEX i ON t(json_extract(data, '$.owner_id'))");
    ASSERT_EQ_INT(sqlite3_exec(db, buf_cstr(&ddl), NULL, NULL, NULL), SQLITE_OK);
    buf_free(&ddl);
    arena_free(&a);

    char plan[1024];
    if (!plan_uses(db, "owner_id=eq.x", "USING INDEX i", plan, sizeof plan))
        TEST_FAIL_("eq text: %s", plan);
    if (!plan_uses(db, "owner_id=eq.5", "USING INDEX i", plan, sizeof plan))
        TEST_FAIL_("eq number (IN): %s", plan);
    if (!plan_uses(db, "owner_id=in.(a,b,3)", "USING INDEX i", plan, sizeof plan))
        TEST_FAIL_("in: %s", plan);
    if (!plan_uses(db, "owner_id=gt.5", "USING INDEX i", plan, sizeof plan))
        TEST_FAIL_("gt number: %s", plan);
    if (!plan_uses(db, "owner_id=lt.m", "USING INDEX i", plan, sizeof plan))
        TEST_FAIL_("lt text: %s", plan);
    if (!plan_uses(db, "id=eq.d01", "USING INDEX sqlite_autoindex_t_1", plan, sizeof plan))
        TEST_FAIL_("primary key: %s", plan);
    if (!plan_uses(db, "order=id.desc", "SCAN t USING INDEX sqlite_autoindex_t_1", plan,
                   sizeof plan))
        TEST_FAIL_("order by id: %s", plan);
    sqlite3_close(db);
}

TEST_MAIN(T(quoted_names_are_bound), T(where_eq_neq_typing), T(where_ordering_ops), T(where_like_ilike), T(where_is_in),
          T(where_json_ops), T(where_json_ops_depth), T(where_logic_trees), T(logic_tree_errors), T(filter_errors),
          T(embedded_resources), T(select_projection), T(order_limit_names), T(binds_helpers),
          T(sqlite_filters), T(sqlite_order), T(sqlite_projection), T(sqlite_worst_case_compiles),
          T(sqlite_json_functions), T(sqlite_expression_index_is_used))
