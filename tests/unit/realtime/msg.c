/* Tests for server/realtime/rt_msg.c: the prebuilt WebSocket frame header
 * (RFC 6455 §5.2) that the libwebsockets adapter sends as raw bytes. */
#include "../test.h"
#include "realtime/rt_msg.h"

static unsigned char *body_of(size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)('a' + i % 26);
    return b;
}

/* Parse the header the way a client does; returns the header length. */
static size_t parse(const rt_msg *m, int *fin, int *op, int *masked, uint64_t *len)
{
    const unsigned char *h = m->frame;
    *fin = h[0] >> 7;
    *op = h[0] & 0x0f;
    *masked = h[1] >> 7;
    uint64_t l = h[1] & 0x7f;
    size_t hl = 2;
    if (l == 126) {
        l = (uint64_t)h[2] << 8 | h[3];
        hl = 4;
    } else if (l == 127) {
        l = 0;
        for (int i = 0; i < 8; i++)
            l = l << 8 | h[2 + i];
        hl = 10;
    }
    *len = l;
    return hl;
}

static bool check(size_t len, bool binary, size_t want_hl)
{
    unsigned char *b = body_of(len);
    rt_msg *m = rt_msg_new(b, len, binary);
    int fin, op, masked;
    uint64_t l;
    if (!m) {
        free(b);
        return false;
    }
    size_t hl = parse(m, &fin, &op, &masked, &l);
    bool ok = hl == want_hl && fin == 1 && op == (binary ? 2 : 1) && !masked && l == len && m->frame + hl == m->data &&
              m->frame_len == hl + len && memcmp(m->data, b, len) == 0;
    if (!ok)
        fprintf(stderr, "len %zu: hl %zu fin %d op %d masked %d l %llu\n", len, hl, fin, op, masked,
                (unsigned long long)l);
    rt_msg_release(m);
    free(b);
    return ok;
}

TEST(header_lengths_at_every_boundary)
{
    ASSERT(check(0, false, 2));
    ASSERT(check(1, false, 2));
    ASSERT(check(125, false, 2));
    ASSERT(check(126, false, 4));
    ASSERT(check(127, true, 4));
    ASSERT(check(65535, false, 4));
    ASSERT(check(65536, true, 10));
    ASSERT(check(300000, false, 10));
}

TEST(data_is_nul_terminated_and_refcounted)
{
    rt_msg *m = rt_msg_new("hello", 5, false);
    ASSERT(m != NULL);
    ASSERT_EQ_INT(m->data[5], 0);
    ASSERT(rt_msg_retain(m) == m);
    rt_msg_release(m);
    ASSERT_EQ_INT(m->refs, 1);
    rt_msg_release(m);
    rt_msg_release(NULL);
}

TEST_MAIN(T(header_lengths_at_every_boundary), T(data_is_nul_terminated_and_refcounted))
