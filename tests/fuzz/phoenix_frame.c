/* phoenix_frame.c - libFuzzer target for server/realtime/rt_frame.c,
 * rt_filter.c and the token pre-check of rt_engine.c.
 *
 * The first byte selects the parser: 0 v2 text, 1 v1 text, 2 binary kind-3
 * push (and its JSON payload check), 3 postgres_changes filter, 4 the
 * role/exp look at a token before its signature (rt_token_shape).  Every
 * input must parse or fail cleanly, on a small stack (fuzz_json.h); a
 * parsed text frame must re-encode and be no deeper than JSONIN_MAX_DEPTH,
 * a frame or JSON push payload that jansson reads deeper than that must be
 * refused, and a parsed push must have every part inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "fuzz_json.h"
#include "realtime/rt_filter.h"
#include "realtime/rt_frame.h"
#include "realtime/rt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    uint8_t sel;
    const uint8_t *data;
    size_t size;
    int jdepth; /* jansson's depth of the text (frames) or payload (pushes) */
} input;

static void text_frame(const input *in)
{
    const char *err = NULL;
    rt_frame f;
    bool v2 = in->sel == 0;
    if (rt_frame_parse_text((const char *)in->data, in->size, v2, &f, &err) != BS_OK) {
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(err, "nested deeper than 64 levels"))
            abort(); /* too deep must be said so, not reported as something else */
        return;
    }
    if (in->jdepth > JSONIN_MAX_DEPTH || fuzz_tree_depth(f.root) > JSONIN_MAX_DEPTH)
        abort();
    char *p = json_dumps(f.payload, JSON_COMPACT);
    if (!p)
        abort();
    buf b = BUF_INIT;
    if (rt_frame_encode(&b, v2, f.join_ref, f.ref, f.topic, f.event, p, strlen(p)) != BS_OK)
        abort();
    rt_frame g;
    if (rt_frame_parse_text(b.data, b.len, v2, &g, &err) != BS_OK)
        abort(); /* what we encode must parse */
    if (strcmp(g.topic, f.topic) || strcmp(g.event, f.event))
        abort();
    rt_frame_clear(&g);
    buf_free(&b);
    free(p);
    rt_frame_clear(&f);
}

static void *run(void *arg)
{
    const input *in = arg;
    const char *err = NULL;
    if (in->sel <= 1) {
        text_frame(in);
    } else if (in->sel == 2) {
        rt_push p;
        if (rt_frame_parse_push(in->data, in->size, &p, &err) == BS_OK) {
            const char *end = (const char *)in->data + in->size;
            if (p.payload + p.payload_len != end || p.topic < (const char *)in->data || p.topic + p.topic_len > end)
                abort();
            int rc = rt_frame_check_push(&p, &err);
            if (rc == BS_OK && p.json && fuzz_jansson_depth(p.payload, p.payload_len, 0) < 0)
                abort(); /* admitted text jansson cannot read */
            if (rc == BS_OK && p.json && in->jdepth > JSONIN_MAX_DEPTH)
                abort();
        }
    } else {
        char *s = malloc(in->size + 1);
        if (!s)
            return NULL;
        memcpy(s, in->data, in->size);
        s[in->size] = 0;
        if (in->sel == 3) {
            rt_filter *f = NULL;
            char msg[256];
            if (rt_filter_parse(s, &f, msg, sizeof msg) == BS_OK) {
                json_t *d = json_pack("{s:i,s:s,s:b}", "id", 7, "owner", "x", "done", 1);
                rt_filter_match(f, d);
                json_decref(d);
                rt_filter_free(f);
            }
        } else {
            int rc = rt_token_shape(s);
            if (rc != BS_OK && rc != BS_EAUTH && rc != BS_EPARSE)
                abort();
        }
        free(s);
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    input in = {data[0] % 5, data + 1, size - 1, -1};
    if (in.sel <= 1) {
        in.jdepth = fuzz_jansson_depth((const char *)in.data, in.size, 0);
    } else if (in.sel == 2) {
        rt_push p;
        const char *err;
        if (rt_frame_parse_push(in.data, in.size, &p, &err) == BS_OK && p.json)
            in.jdepth = fuzz_jansson_depth(p.payload, p.payload_len, 0);
    }
    fuzz_on_small_stack(run, &in);
    return 0;
}
