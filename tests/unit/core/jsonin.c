/* Tests of server/core/jsonin.c: the size and depth limits in front of
 * jansson, and the pre-scan's reading of strings. */
#include <jansson.h>

#include "../test.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonin.h"

/* open, then inner, then as many closers: "[[[" inner "]]]" */
static char *nest(const char *open, const char *inner, const char *close, int depth)
{
    buf b = BUF_INIT;
    for (int i = 0; i < depth; i++)
        buf_puts(&b, open);
    buf_puts(&b, inner);
    for (int i = 0; i < depth; i++)
        buf_puts(&b, close);
    return buf_steal(&b, NULL);
}

static int parse(const char *s, size_t flags, char *msg, size_t msgsz)
{
    json_t *j = NULL;
    int rc = jsonin_parse(s, strlen(s), JSONIN_ANY_SIZE, flags, &j, msg, msgsz);
    if ((rc == BS_OK) != (j != NULL))
        return -12345; /* *out must be set exactly on success */
    json_decref(j);
    return rc;
}

TEST(depth_at_limit_passes_one_over_fails)
{
    /* open, inner at the limit, inner one over, close, levels per step */
    static const struct {
        const char *open, *at, *over, *close;
        int per;
    } kinds[] = {
        {"[", "1", "[1]", "]", 1},
        {"{\"k\":", "1", "{}", "}", 1},
        {"[{\"k\":", "[[]]", "[[[]]]", "}]", 2}, /* mixed, two levels a step */
    };
    char msg[JSONIN_MSG_MAX];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int steps = JSONIN_MAX_DEPTH / kinds[k].per - (kinds[k].per == 2);
        char *ok = nest(kinds[k].open, kinds[k].at, kinds[k].close, steps);
        ASSERT_EQ_INT(jsonin_depth(ok, strlen(ok), JSONIN_MAX_DEPTH), JSONIN_MAX_DEPTH);
        ASSERT_EQ_INT(parse(ok, 0, msg, sizeof msg), BS_OK);
        free(ok);
        char *over = nest(kinds[k].open, kinds[k].over, kinds[k].close, steps);
        ASSERT_EQ_INT(jsonin_depth(over, strlen(over), 1000), JSONIN_MAX_DEPTH + 1);
        ASSERT_EQ_INT(parse(over, 0, msg, sizeof msg), BS_EDEPTH);
        ASSERT_EQ_STR(msg, "JSON nested deeper than 64 levels");
        ASSERT_EQ_STR(msg, JSONIN_DEPTH_MSG);
        free(over);
    }
}

TEST(depth_counts)
{
    ASSERT_EQ_INT(jsonin_depth("1", 1, 64), 0);
    ASSERT_EQ_INT(jsonin_depth("\"x\"", 3, 64), 0);
    ASSERT_EQ_INT(jsonin_depth("[]", 2, 64), 1);
    ASSERT_EQ_INT(jsonin_depth("[[],[[]],[]]", 12, 64), 3);
    ASSERT_EQ_INT(jsonin_depth("{\"a\":{\"b\":[1]}}", 15, 64), 3);
    /* the scan stops at limit + 1 */
    ASSERT_EQ_INT(jsonin_depth("[[[[[[", 6, 3), 4);
    /* closers at depth 0 are ignored, never counted below zero: the
     * count cannot fall under what a parser would reach */
    ASSERT_EQ_INT(jsonin_depth("]]]][[", 6, 64), 2);
    ASSERT_EQ_INT(jsonin_depth("}}}}[[[", 7, 2), 3);
}

TEST(strings_do_not_count)
{
    char msg[JSONIN_MSG_MAX];
    /* brackets inside strings, escaped quotes and escaped backslashes */
    static const char *const flat[] = {
        "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
        "{\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\":1}",
        "[\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]",
        "[\"\\\\\",\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
        "[\"\\u005b\\u005b\", \"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\"]",
    };
    for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++) {
        ASSERT_EQ_INT(jsonin_depth(flat[i], strlen(flat[i]), 64), 1);
        ASSERT_EQ_INT(parse(flat[i], 0, msg, sizeof msg), BS_OK);
    }
    /* an escaped backslash ends the string: what follows counts */
    char *deep = nest("[", "", "]", 65);
    buf b = BUF_INIT;
    buf_puts(&b, "[\"\\\\\",");
    buf_puts(&b, deep);
    buf_puts(&b, "]");
    ASSERT_EQ_INT(jsonin_depth(b.data, b.len, 64), 65);
    ASSERT_EQ_INT(parse(buf_cstr(&b), 0, msg, sizeof msg), BS_EDEPTH);
    /* a quote escaped inside a string does not end it: nothing counts */
    buf_reset(&b);
    buf_puts(&b, "[\"\\\"");
    buf_puts(&b, deep);
    buf_puts(&b, "\"]");
    ASSERT_EQ_INT(jsonin_depth(b.data, b.len, 64), 1);
    ASSERT_EQ_INT(parse(buf_cstr(&b), 0, msg, sizeof msg), BS_OK);
    buf_free(&b);
    free(deep);
}

TEST(far_too_deep_is_refused_before_jansson)
{
    char msg[JSONIN_MSG_MAX];
    /* jansson's own ceiling is 2048; far beyond it, and never closed */
    buf b = BUF_INIT;
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, "{\"a\":[");
    ASSERT_EQ_INT(parse(buf_cstr(&b), 0, msg, sizeof msg), BS_EDEPTH);
    free(buf_steal(&b, NULL));
}

TEST(size_limit)
{
    json_t *j = NULL;
    char msg[JSONIN_MSG_MAX];
    ASSERT_EQ_INT(jsonin_parse("[1,2]", 5, 5, 0, &j, msg, sizeof msg), BS_OK);
    ASSERT(json_is_array(j));
    json_decref(j);
    j = (json_t *)1;
    ASSERT_EQ_INT(jsonin_parse("[1,2]", 5, 4, 0, &j, msg, sizeof msg), BS_ETOOBIG);
    ASSERT(j == NULL);
    ASSERT_EQ_STR(msg, "JSON text of 5 bytes is larger than the limit of 4 bytes");
    /* the size is checked before the depth: no scan of oversized text */
    char *deep = nest("[", "", "]", 100);
    ASSERT_EQ_INT(jsonin_parse(deep, strlen(deep), 10, 0, &j, NULL, 0), BS_ETOOBIG);
    free(deep);
}

TEST(flags_messages_and_malformed)
{
    char msg[JSONIN_MSG_MAX];
    ASSERT_EQ_INT(parse("{\"a\":1,\"a\":2}", 0, msg, sizeof msg), BS_OK);
    ASSERT_EQ_INT(parse("{\"a\":1,\"a\":2}", JSON_REJECT_DUPLICATES, msg, sizeof msg), BS_EJSON);
    ASSERT_CONTAINS(msg, "duplicate object key");
    ASSERT_CONTAINS(msg, "(line 1, column");
    ASSERT_EQ_INT(parse("7", 0, msg, sizeof msg), BS_EJSON);
    ASSERT_EQ_INT(parse("7", JSON_DECODE_ANY, msg, sizeof msg), BS_OK);
    ASSERT_EQ_INT(parse("", 0, msg, sizeof msg), BS_EJSON);
    ASSERT_EQ_INT(parse("[1,", 0, msg, sizeof msg), BS_EJSON);
    ASSERT_EQ_INT(parse("]]]", 0, msg, sizeof msg), BS_EJSON);
    ASSERT_EQ_INT(parse("[\"\\u0000\"]", 0, msg, sizeof msg), BS_EJSON);
    ASSERT_EQ_INT(parse("[\"\xff\"]", 0, msg, sizeof msg), BS_EJSON);
    /* a NUL byte ends nothing: the length is what counts */
    json_t *j = NULL;
    ASSERT_EQ_INT(jsonin_parse("[1]\0[", 5, 100, 0, &j, NULL, 0), BS_EJSON);
    ASSERT(j == NULL);
    /* a NULL message buffer is fine; NULL text with length 0 is malformed */
    ASSERT_EQ_INT(jsonin_parse(NULL, 0, 100, 0, &j, NULL, 0), BS_EJSON);
    ASSERT_EQ_INT(jsonin_parses(NULL, 100, 0, &j, NULL, 0), BS_EJSON);
    ASSERT_EQ_INT(jsonin_parses("{\"x\":[true]}", 100, 0, &j, msg, sizeof msg), BS_OK);
    ASSERT(json_is_true(json_array_get(json_object_get(j, "x"), 0)));
    json_decref(j);
    /* a short message buffer truncates */
    char tiny[8];
    char *deep = nest("[", "", "]", 65);
    ASSERT_EQ_INT(parse(deep, 0, tiny, sizeof tiny), BS_EDEPTH);
    ASSERT_EQ_STR(tiny, "JSON ne");
    free(deep);
}

TEST_MAIN(T(depth_at_limit_passes_one_over_fails), T(depth_counts), T(strings_do_not_count),
          T(far_too_deep_is_refused_before_jansson), T(size_limit), T(flags_messages_and_malformed))
