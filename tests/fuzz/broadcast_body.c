/* broadcast_body.c - libFuzzer target for the bodies of the realtime REST
 * broadcast endpoints (server/realtime/rt_rest.c): rt_rest_parse_broadcast
 * ({"messages":[...]}) and rt_rest_parse_payload (the single event's body).
 *
 * Every input runs on a small stack (fuzz_json.h), and so does what the
 * handler then does with an admitted body (json_dumps of each payload).
 * Oracles: an admitted body has at most 100 messages, each with string
 * topic and event, and is no deeper than JSONIN_MAX_DEPTH; an admitted
 * payload's text is JSON no deeper than the limit; text jansson reads
 * deeper than the limit is refused with a message that says so; every
 * refusal has a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_json.h"
#include "realtime/rt_rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const char *text;
    size_t len;
    int jdepth;
} input;

static void broadcast(const input *in)
{
    json_t *j = NULL;
    const char *code = NULL;
    char msg[512] = "";
    int rc = rt_rest_parse_broadcast(in->text, in->len, &j, &code, msg, sizeof msg);
    if (rc != BS_OK) {
        if (j || (rc != BS_ENOMEM && (!msg[0] || !code)))
            abort();
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(msg, "nested deeper than 64 levels"))
            abort();
        return;
    }
    json_t *msgs = json_object_get(j, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) > 100 || fuzz_tree_depth(j) > JSONIN_MAX_DEPTH ||
        in->jdepth > JSONIN_MAX_DEPTH)
        abort();
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (!json_is_string(json_object_get(m, "topic")) || !json_is_string(json_object_get(m, "event")))
            abort();
        json_t *pl = json_object_get(m, "payload");
        char *t = pl ? json_dumps(pl, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        free(t);
    }
    json_decref(j);
}

static void payload(const input *in)
{
    char *out = NULL, msg[512] = "";
    int rc = rt_rest_parse_payload(in->text, in->len, &out, msg, sizeof msg);
    if (rc != BS_OK) {
        if (out || (rc != BS_ENOMEM && !msg[0]))
            abort();
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(msg, "nested deeper than 64 levels"))
            abort();
        return;
    }
    json_t *j = json_loads(out, JSON_DECODE_ANY, NULL);
    if (!j || fuzz_tree_depth(j) > JSONIN_MAX_DEPTH || in->jdepth > JSONIN_MAX_DEPTH)
        abort();
    json_decref(j);
    free(out);
}

static void *run(void *arg)
{
    broadcast(arg);
    payload(arg);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {(const char *)data, size, fuzz_jansson_depth((const char *)data, size, 0)};
    fuzz_on_small_stack(run, &in);
    return 0;
}
