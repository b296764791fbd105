/* Tests for server/realtime/rt_frame.c: the Phoenix frame codec. */
#include "../test.h"
#include "core/buf.h"
#include "core/error.h"
#include "realtime/rt_frame.h"

TEST(parse_v2_array)
{
    const char *in = "[\"6\",\"7\",\"realtime:room1\",\"phx_join\",{\"config\":{\"broadcast\":{\"self\":true}}}]";
    rt_frame f;
    const char *err = NULL;
    ASSERT_EQ_INT(rt_frame_parse_text(in, strlen(in), true, &f, &err), BS_OK);
    ASSERT_EQ_STR(f.join_ref, "6");
    ASSERT_EQ_STR(f.ref, "7");
    ASSERT_EQ_STR(f.topic, "realtime:room1");
    ASSERT_EQ_STR(f.event, "phx_join");
    ASSERT(json_is_object(json_object_get(f.payload, "config")));
    rt_frame_clear(&f);
}

TEST(parse_v2_null_and_int_refs)
{
    const char *in = "[null,12,\"phoenix\",\"heartbeat\",{}]";
    rt_frame f;
    const char *err = NULL;
    ASSERT_EQ_INT(rt_frame_parse_text(in, strlen(in), true, &f, &err), BS_OK);
    ASSERT(f.join_ref == NULL);
    ASSERT_EQ_STR(f.ref, "12");
    rt_frame_clear(&f);
}

TEST(parse_v2_rejects)
{
    static const char *bad[] = {
        "",                                           /* not JSON */
        "{\"topic\":\"t\"}",                          /* object under v2 */
        "[null,\"1\",\"t\",\"e\"]",                   /* 4 elements */
        "[null,\"1\",\"t\",\"e\",null]",              /* null payload */
        "[null,\"1\",\"t\",\"e\",[]]",                /* array payload */
        "[null,\"1\",\"\",\"e\",{}]",                 /* empty topic */
        "[null,\"1\",5,\"e\",{}]",                    /* numeric topic */
        "[null,\"1\",\"t\",\"\",{}]",                 /* empty event */
        "[null,true,\"t\",\"e\",{}]",                 /* bool ref */
        "[null,\"1\",\"t\\u0000x\",\"e\",{}]",        /* NUL inside topic */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rt_frame f;
        const char *err = NULL;
        if (rt_frame_parse_text(bad[i], strlen(bad[i]), true, &f, &err) != BS_EPARSE)
            TEST_FAIL_("accepted bad frame %zu: %s", i, bad[i]);
        ASSERT(err != NULL);
        ASSERT(f.root == NULL);
    }
}

TEST(parse_v1_object)
{
    const char *in = "{\"topic\":\"realtime:a\",\"event\":\"phx_leave\",\"payload\":{},\"ref\":\"3\",\"join_ref\":\"2\"}";
    rt_frame f;
    const char *err = NULL;
    ASSERT_EQ_INT(rt_frame_parse_text(in, strlen(in), false, &f, &err), BS_OK);
    ASSERT_EQ_STR(f.topic, "realtime:a");
    ASSERT_EQ_STR(f.event, "phx_leave");
    ASSERT_EQ_STR(f.ref, "3");
    ASSERT_EQ_STR(f.join_ref, "2");
    rt_frame_clear(&f);
    const char *arr = "[null,\"1\",\"t\",\"e\",{}]";
    ASSERT_EQ_INT(rt_frame_parse_text(arr, strlen(arr), false, &f, &err), BS_EPARSE);
}

TEST(encode_v2_and_v1)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(rt_frame_encode(&b, true, NULL, "5", "phoenix", "phx_reply", "{\"status\":\"ok\"}", 15), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "[null,\"5\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\"}]");
    buf_reset(&b);
    ASSERT_EQ_INT(rt_frame_encode(&b, false, "1", NULL, "realtime:\"q\"", "system", "{}", 2), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b),
                  "{\"topic\":\"realtime:\\\"q\\\"\",\"event\":\"system\",\"payload\":{},\"ref\":null,\"join_ref\":\"1\"}");
    buf_free(&b);
}

TEST(push_kind3_observed)
{
    /* the frame captured from supabase-js (spec §6.2) */
    static const unsigned char in[] = "\x03\x01\x01\x0e\x06\x00\x01"
                                      "67realtime:room1cursor{\"x\":2}";
    rt_push p;
    const char *err = NULL;
    ASSERT_EQ_INT(rt_frame_parse_push(in, sizeof in - 1, &p, &err), BS_OK);
    ASSERT_EQ_INT(p.join_ref_len, 1);
    ASSERT(memcmp(p.join_ref, "6", 1) == 0);
    ASSERT(memcmp(p.ref, "7", 1) == 0);
    ASSERT_EQ_INT(p.topic_len, 14);
    ASSERT(memcmp(p.topic, "realtime:room1", 14) == 0);
    ASSERT(memcmp(p.event, "cursor", 6) == 0);
    ASSERT_EQ_INT(p.meta_len, 0);
    ASSERT_EQ_INT(p.payload_len, 7);
    ASSERT(memcmp(p.payload, "{\"x\":2}", 7) == 0);
    ASSERT(p.json);
}

TEST(push_bad_lengths)
{
    rt_push p;
    const char *err = NULL;
    static const unsigned char short_hdr[] = {3, 1, 1};
    ASSERT_EQ_INT(rt_frame_parse_push(short_hdr, sizeof short_hdr, &p, &err), BS_EPARSE);
    /* topic length 200 but only a few bytes follow */
    static const unsigned char past[] = {3, 0, 0, 200, 1, 0, 1, 'a', 'b'};
    ASSERT_EQ_INT(rt_frame_parse_push(past, sizeof past, &p, &err), BS_EPARSE);
    ASSERT_CONTAINS(err, "past its end");
    /* kind 0 (Phoenix push) is refused */
    static const unsigned char kind0[] = {0, 0, 0, 1, 1, 0, 1, 't', 'e'};
    ASSERT_EQ_INT(rt_frame_parse_push(kind0, sizeof kind0, &p, &err), BS_EPARSE);
    ASSERT_CONTAINS(err, "kind");
    /* bad encoding byte */
    static const unsigned char enc[] = {3, 0, 0, 1, 1, 0, 7, 't', 'e'};
    ASSERT_EQ_INT(rt_frame_parse_push(enc, sizeof enc, &p, &err), BS_EPARSE);
    /* empty topic */
    static const unsigned char notopic[] = {3, 0, 0, 0, 1, 0, 1, 'e'};
    ASSERT_EQ_INT(rt_frame_parse_push(notopic, sizeof notopic, &p, &err), BS_EPARSE);
    /* exactly the header lengths, empty payload: fine, raw encoding */
    static const unsigned char exact[] = {3, 0, 0, 1, 1, 0, 0, 't', 'e'};
    ASSERT_EQ_INT(rt_frame_parse_push(exact, sizeof exact, &p, &err), BS_OK);
    ASSERT_EQ_INT(p.payload_len, 0);
    ASSERT(!p.json);
}

TEST(encode_kind4)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(rt_frame_encode_broadcast(&b, "realtime:r", "ev", "{}", 2, true), BS_OK);
    ASSERT_EQ_INT(b.len, 5 + 10 + 2 + 2);
    ASSERT_EQ_INT((unsigned char)b.data[0], 4);
    ASSERT_EQ_INT((unsigned char)b.data[1], 10);
    ASSERT_EQ_INT((unsigned char)b.data[2], 2);
    ASSERT_EQ_INT((unsigned char)b.data[3], 0);
    ASSERT_EQ_INT((unsigned char)b.data[4], 1);
    ASSERT(memcmp(b.data + 5, "realtime:rev{}", 14) == 0);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[299] = 0;
    buf_reset(&b);
    ASSERT_EQ_INT(rt_frame_encode_broadcast(&b, big, "e", "", 0, false), BS_ETOOBIG);
    buf_free(&b);
}

TEST_MAIN(T(parse_v2_array), T(parse_v2_null_and_int_refs), T(parse_v2_rejects), T(parse_v1_object),
          T(encode_v2_and_v1), T(push_kind3_observed), T(push_bad_lengths), T(encode_kind4))
