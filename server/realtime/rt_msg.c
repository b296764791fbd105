/* rt_msg.c - see rt_msg.h.  One allocation: header, headroom, bytes, NUL. */
#include "realtime/rt_msg.h"

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
