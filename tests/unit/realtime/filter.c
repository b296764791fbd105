/* Tests for server/realtime/rt_filter.c: the postgres_changes filter parser
 * and matcher. */
#include "../test.h"
#include "core/buf.h"
#include "core/error.h"
#include "realtime/rt_filter.h"

static bool m(const char *filter, const char *doc)
{
    rt_filter *f = NULL;
    char err[200];
    if (rt_filter_parse(filter, &f, err, sizeof err) != BS_OK) {
        fprintf(stderr, "parse failed: %s: %s\n", filter, err);
        return false;
    }
    json_t *d = json_loads(doc, 0, NULL);
    bool r = rt_filter_match(f, d);
    json_decref(d);
    rt_filter_free(f);
    return r;
}

TEST(eq_numbers_and_strings)
{
    ASSERT(m("id=eq.7", "{\"id\":7}"));
    ASSERT(m("id=eq.7", "{\"id\":\"7\"}"));
    ASSERT(m("id=eq.7", "{\"id\":7.0}"));
    ASSERT(!m("id=eq.7", "{\"id\":8}"));
    ASSERT(!m("id=eq.7", "{\"other\":7}"));
    ASSERT(!m("id=eq.7", "{\"id\":null}"));
    ASSERT(m("owner=eq.u-1", "{\"owner\":\"u-1\"}"));
    ASSERT(!m("owner=eq.u-1", "{\"owner\":\"u-2\"}"));
    ASSERT(m("done=eq.true", "{\"done\":true}"));
    ASSERT(!m("done=eq.true", "{\"done\":false}"));
}

TEST(neq_and_order)
{
    ASSERT(m("n=neq.3", "{\"n\":4}"));
    ASSERT(!m("n=neq.3", "{\"n\":3}"));
    ASSERT(!m("n=neq.3", "{}")); /* null never compares */
    ASSERT(m("n=lt.10", "{\"n\":9}"));
    ASSERT(!m("n=lt.10", "{\"n\":10}"));
    ASSERT(m("n=lte.10", "{\"n\":10}"));
    ASSERT(m("n=gt.10", "{\"n\":10.5}"));
    ASSERT(!m("n=gt.10", "{\"n\":9}")); /* numeric, not "9" > "10" bytewise */
    ASSERT(m("n=gte.-1", "{\"n\":-1}"));
    ASSERT(m("s=gt.b", "{\"s\":\"c\"}"));
    ASSERT(!m("s=lt.b", "{\"s\":\"c\"}"));
}

TEST(in_lists)
{
    ASSERT(m("id=in.(1,2,3)", "{\"id\":2}"));
    ASSERT(!m("id=in.(1,2,3)", "{\"id\":4}"));
    ASSERT(m("t=in.(a,\"b,c\",d)", "{\"t\":\"b,c\"}"));
    ASSERT(!m("t=in.(a,\"b,c\",d)", "{\"t\":\"b\"}"));
}

TEST(is_filters)
{
    ASSERT(m("x=is.null", "{}"));
    ASSERT(m("x=is.null", "{\"x\":null}"));
    ASSERT(!m("x=is.null", "{\"x\":0}"));
    ASSERT(m("x=not.is.null", "{\"x\":0}"));
    ASSERT(m("x=is.true", "{\"x\":true}"));
    ASSERT(m("x=is.false", "{\"x\":false}"));
    ASSERT(!m("x=is.true", "{\"x\":1}"));
}

TEST(and_split)
{
    ASSERT(m("a=eq.1,b=eq.2", "{\"a\":1,\"b\":2}"));
    ASSERT(!m("a=eq.1,b=eq.2", "{\"a\":1,\"b\":3}"));
    ASSERT(m("a=in.(1,2),b=gt.0", "{\"a\":2,\"b\":1}"));
    ASSERT(m("a=eq.x\\,y", "{\"a\":\"x,y\"}"));
    rt_filter *f = NULL;
    char err[200];
    ASSERT_EQ_INT(rt_filter_parse("a=in.(1,2),b=eq.5,c=eq.6", &f, err, sizeof err), BS_OK);
    ASSERT_EQ_INT(f->n, 3);
    ASSERT_EQ_INT(f->eq, 1);
    ASSERT_EQ_STR(f->conds[1].field, "b");
    rt_filter_free(f);
}

TEST(rejects)
{
    static const char *bad[] = {"id", "=eq.1", "id=like.a%", "id=ilike.a", "id=eq", "id=in.1,2", "id=in.()",
                                "a.b=eq.1", "id=not.eq.1", "id=match.x", "id=in.(\"a)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rt_filter *f = NULL;
        char err[200] = "";
        if (rt_filter_parse(bad[i], &f, err, sizeof err) != BS_EPARSE)
            TEST_FAIL_("accepted bad filter %s", bad[i]);
        ASSERT(f == NULL);
        ASSERT(err[0] != 0);
    }
    rt_filter *f = NULL;
    char err[200];
    ASSERT_EQ_INT(rt_filter_parse("title=like.x", &f, err, sizeof err), BS_EPARSE);
    ASSERT_CONTAINS(err, "\"like\" is not supported");
}

TEST(canon_agrees)
{
    buf a = BUF_INIT, b = BUF_INIT;
    json_t *v = json_integer(42);
    ASSERT(rt_filter_canon_json(v, &a));
    ASSERT_EQ_INT(rt_filter_canon_text("42", &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&a), buf_cstr(&b));
    json_decref(v);
    v = json_string("abc");
    ASSERT(rt_filter_canon_json(v, &a));
    ASSERT_EQ_INT(rt_filter_canon_text("abc", &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&a), buf_cstr(&b));
    json_decref(v);
    v = json_null();
    ASSERT(!rt_filter_canon_json(v, &a));
    json_decref(v);
    ASSERT_EQ_INT(rt_filter_canon_text("nan", &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "s:nan");
    buf_free(&a);
    buf_free(&b);
}

TEST_MAIN(T(eq_numbers_and_strings), T(neq_and_order), T(in_lists), T(is_filters), T(and_split), T(rejects),
          T(canon_agrees))
