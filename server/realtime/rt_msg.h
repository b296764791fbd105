/* rt_msg.h - an outgoing realtime frame, serialised once and shared.
 *
 * A message is one WebSocket message body (text or binary) in a single heap
 * block, preceded by its complete server-to-client frame header (FIN, the
 * opcode, the length; servers do not mask), so a transport that writes raw
 * bytes sends frame..data+len in one call without building anything per
 * connection (the libwebsockets adapter does; civetweb builds its own
 * header from data/len).  The same message is queued by reference to every
 * connection that receives it, from several threads at once; the
 * reference count is atomic, so any thread may retain or release.  No byte
 * of the block changes after rt_msg_new.
 */
#ifndef BS_RT_MSG_H
#define BS_RT_MSG_H

#include <stdbool.h>
#include <stddef.h>

#define RT_MSG_HEADROOM 16 /* >= the longest frame header (10) */

typedef struct rt_msg {
    int refs;            /* atomic (__atomic builtins) */
    bool binary;
    size_t len;
    unsigned char *data; /* points RT_MSG_HEADROOM bytes into the block */
    unsigned char *frame; /* the frame header, right before data */
    size_t frame_len;     /* header + len */
} rt_msg;

/* Copy len bytes into a new message with one reference; NULL on ENOMEM. */
rt_msg *rt_msg_new(const void *data, size_t len, bool binary);
rt_msg *rt_msg_retain(rt_msg *m);
/* Drop one reference; frees at zero.  NULL-safe. */
void rt_msg_release(rt_msg *m);

#endif
