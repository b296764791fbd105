/* rt_frame.h - the Phoenix channel frame codec (wire spec §6.2).
 *
 * Text frames: vsn 2.0.0 sends a JSON array [join_ref, ref, topic, event,
 * payload]; vsn 1.0.0 a JSON object {topic, event, payload, ref, join_ref}.
 * Binary frames: the client sends kind 3 ("user broadcast push"); the
 * server may send kind 4 ("user broadcast").  No other binary kind is ever
 * produced.
 *
 * Parsing is strict about shape (a frame that is not a valid Phoenix frame
 * is an error with a static message), bounded by the caller's frame size
 * limit, and JSON goes through core/jsonin.h (at most JSONIN_MAX_DEPTH
 * deep).  Pure functions: any thread.
 */
#ifndef BS_RT_FRAME_H
#define BS_RT_FRAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define RT_REF_MAX 64

/* A parsed text frame.  Strings point into `root` (or the ref buffers);
 * rt_frame_clear drops root.  join_ref / ref are NULL for JSON null. */
typedef struct rt_frame {
    json_t *root;
    const char *join_ref;
    const char *ref;
    const char *topic;
    const char *event;
    json_t *payload;            /* always a JSON object */
    char jr_buf[RT_REF_MAX + 1], ref_buf[RT_REF_MAX + 1];
} rt_frame;

/* Parse one text frame.  BS_OK, or BS_EPARSE with *err a static reason. */
int rt_frame_parse_text(const char *data, size_t len, bool v2, rt_frame *out, const char **err);
void rt_frame_clear(rt_frame *f);

/* A parsed kind-3 binary push; every pointer points into the input. */
typedef struct rt_push {
    const char *join_ref, *ref, *topic, *event, *meta, *payload;
    size_t join_ref_len, ref_len, topic_len, event_len, meta_len, payload_len;
    bool json;                   /* encoding 1: payload is JSON text */
} rt_push;

/* Parse a binary frame as kind 3.  BS_EPARSE with *err for another kind,
 * a short frame or lengths that run past its end. */
int rt_frame_parse_push(const unsigned char *data, size_t len, rt_push *out, const char **err);
/* A push with encoding 1 must carry JSON text (any value; through
 * jsonin_parse, so at most JSONIN_MAX_DEPTH deep).  BS_OK (always for
 * encoding 0), or an error with *err a static reason.  The caller bounds
 * the payload's size. */
int rt_frame_check_push(const rt_push *p, const char **err);

/* Append one text frame.  join_ref/ref NULL → JSON null; payload is JSON
 * text of an object (plen bytes). */
int rt_frame_encode(buf *out, bool v2, const char *join_ref, const char *ref, const char *topic,
                    const char *event, const char *payload, size_t plen);
/* Append one kind-4 binary frame (topic and event at most 255 bytes:
 * BS_ETOOBIG otherwise).  json selects encoding 1. */
int rt_frame_encode_broadcast(buf *out, const char *topic, const char *event, const void *payload,
                              size_t plen, bool json);

#endif
