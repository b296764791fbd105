/* phoenix_frame.c - libFuzzer target for server/realtime/rt_frame.c and
 * rt_filter.c.
 *
 * The first byte selects the parser: 0 v2 text, 1 v1 text, 2 binary kind-3
 * push, 3 postgres_changes filter.  Every input must parse or fail cleanly;
 * a parsed text frame must re-encode, and a parsed push must have every
 * part inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "realtime/rt_filter.h"
#include "realtime/rt_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t sel = data[0] % 4;
    data++;
    size--;
    const char *err = NULL;
    if (sel <= 1) {
        rt_frame f;
        if (rt_frame_parse_text((const char *)data, size, sel == 0, &f, &err) == BS_OK) {
            char *p = json_dumps(f.payload, JSON_COMPACT);
            if (!p)
                abort();
            buf b = BUF_INIT;
            if (rt_frame_encode(&b, sel == 0, f.join_ref, f.ref, f.topic, f.event, p, strlen(p)) != BS_OK)
                abort();
            rt_frame g;
            if (rt_frame_parse_text(b.data, b.len, sel == 0, &g, &err) != BS_OK)
                abort(); /* what we encode must parse */
            if (strcmp(g.topic, f.topic) || strcmp(g.event, f.event))
                abort();
            rt_frame_clear(&g);
            buf_free(&b);
            free(p);
            rt_frame_clear(&f);
        }
    } else if (sel == 2) {
        rt_push p;
        if (rt_frame_parse_push(data, size, &p, &err) == BS_OK) {
            const char *end = (const char *)data + size;
            if (p.payload + p.payload_len != end || p.topic < (const char *)data || p.topic + p.topic_len > end)
                abort();
        }
    } else {
        char *s = malloc(size + 1);
        if (!s)
            return 0;
        memcpy(s, data, size);
        s[size] = 0;
        rt_filter *f = NULL;
        char msg[256];
        if (rt_filter_parse(s, &f, msg, sizeof msg) == BS_OK) {
            json_t *d = json_pack("{s:i,s:s,s:b}", "id", 7, "owner", "x", "done", 1);
            rt_filter_match(f, d);
            json_decref(d);
            rt_filter_free(f);
        }
        free(s);
    }
    return 0;
}
