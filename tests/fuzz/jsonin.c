/* jsonin.c - libFuzzer target for server/core/jsonin.c, differential
 * against jansson itself.
 *
 * The first byte picks the decode flags (bit 0 JSON_DECODE_ANY, bit 1
 * JSON_REJECT_DUPLICATES) and the size limit (bit 2: the input's length
 * minus one, else unlimited).  jansson parses the rest on libFuzzer's
 * main-thread stack, which holds its 2048 levels; jsonin_parse parses it
 * on a small stack (fuzz_json.h).  Oracles:
 *   - over the size limit: BS_ETOOBIG, always;
 *   - jansson refuses: jsonin refuses too (BS_EJSON, or BS_EDEPTH: the
 *     pre-scan may stop first);
 *   - jansson reads it at most JSONIN_MAX_DEPTH deep: jsonin admits it and
 *     the trees are equal (the pre-scan never over-counts valid JSON);
 *   - jansson reads it deeper: BS_EDEPTH (the pre-scan never under-counts);
 *   - jsonin_depth agrees with the tree's depth on valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const char *text;
    size_t len, max, flags;
    int rc;
    json_t *j;
} input;

static void *run(void *arg)
{
    input *in = arg;
    char msg[JSONIN_MSG_MAX] = "";
    in->rc = jsonin_parse(in->text, in->len, in->max, in->flags, &in->j, msg, sizeof msg);
    if (in->rc != BS_OK && (in->j || !msg[0]))
        abort();
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    input in = {(const char *)data + 1, size - 1, SIZE_MAX, 0, 0, NULL};
    if (data[0] & 1)
        in.flags |= JSON_DECODE_ANY;
    if (data[0] & 2)
        in.flags |= JSON_REJECT_DUPLICATES;
    if ((data[0] & 4) && in.len)
        in.max = in.len - 1;
    json_t *ref = json_loadb(in.text, in.len, in.flags, NULL);
    int depth = ref ? fuzz_tree_depth(ref) : -1;
    fuzz_on_small_stack(run, &in);
    if (in.max < in.len) {
        if (in.rc != BS_ETOOBIG)
            abort();
    } else if (!ref) {
        if (in.rc != BS_EJSON && in.rc != BS_EDEPTH && in.rc != BS_ENOMEM)
            abort();
    } else if (depth <= JSONIN_MAX_DEPTH) {
        if (in.rc != BS_OK || !json_equal(in.j, ref) ||
            jsonin_depth(in.text, in.len, JSONIN_MAX_DEPTH) != depth)
            abort();
    } else if (in.rc != BS_EDEPTH) {
        abort();
    }
    json_decref(in.j);
    json_decref(ref);
    return 0;
}
