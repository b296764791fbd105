/* rt_msg.h - an outgoing realtime frame, serialised once and shared.
 *
 * A message is one WebSocket frame body (text or binary) in a single heap
 * block with RT_MSG_HEADROOM spare bytes in front of the data, so the
 * libwebsockets adapter can write its frame header in place (LWS_PRE) and
 * no transport has to copy.  The same message is queued by reference to
 * every connection that receives it; the reference count is atomic, so any
 * thread may retain or release.  The bytes never change after rt_msg_new.
 */
#ifndef BS_RT_MSG_H
#define BS_RT_MSG_H

#include <stdbool.h>
#include <stddef.h>

#define RT_MSG_HEADROOM 32

typedef struct rt_msg {
    int refs;            /* atomic (__atomic builtins) */
    bool binary;
    size_t len;
    unsigned char *data; /* points RT_MSG_HEADROOM bytes into the block */
} rt_msg;

/* Copy len bytes into a new message with one reference; NULL on ENOMEM. */
rt_msg *rt_msg_new(const void *data, size_t len, bool binary);
rt_msg *rt_msg_retain(rt_msg *m);
/* Drop one reference; frees at zero.  NULL-safe. */
void rt_msg_release(rt_msg *m);

#endif
