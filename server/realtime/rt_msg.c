/* rt_msg.c - see rt_msg.h.  One allocation: header, headroom (the frame
 * header at its end), bytes, NUL. */
#include "realtime/rt_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

rt_msg *rt_msg_new(const void *data, size_t len, bool binary)
{
    rt_msg *m = malloc(sizeof *m + RT_MSG_HEADROOM + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->binary = binary;
    m->len = len;
    m->data = (unsigned char *)(m + 1) + RT_MSG_HEADROOM;
    if (len)
        memcpy(m->data, data, len);
    m->data[len] = 0;
    /* RFC 6455 §5.2: FIN + opcode, then a 7-, 16- or 64-bit length */
    unsigned char h[10];
    size_t hl;
    h[0] = 0x80 | (binary ? 0x2 : 0x1);
    if (len < 126) {
        h[1] = (unsigned char)len;
        hl = 2;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    m->frame = m->data - hl;
    memcpy(m->frame, h, hl);
    m->frame_len = hl + len;
    return m;
}

rt_msg *rt_msg_retain(rt_msg *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void rt_msg_release(rt_msg *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(m);
}
