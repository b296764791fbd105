/* storage_metadata.c - libFuzzer target for the JSON that storage/ reads
 * from requests: st_parse_metadata (x-metadata decoded, or the multipart
 * "metadata" field) and st_parse_object (list, bucket, move/copy and sign
 * bodies).
 *
 * Every input runs on a small stack (fuzz_json.h).  Oracles: admitted
 * metadata is an object no deeper than JSONIN_MAX_DEPTH, its compact text
 * is admitted again unchanged; an admitted body is an object no deeper
 * than the limit (and the empty body is {}); text jansson reads deeper
 * than the limit is refused by both with a message that says so; every
 * refusal has a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_json.h"
#include "storage/st_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const char *text;
    size_t len;
    int jdepth;
} input;

static void metadata(const input *in)
{
    char *out = NULL, msg[512] = "";
    int rc = st_parse_metadata(in->text, in->len, &out, msg, sizeof msg);
    if (rc != BS_OK) {
        if (out || (rc != BS_ENOMEM && !msg[0]))
            abort();
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(msg, "nested deeper than 64 levels"))
            abort();
        return;
    }
    json_t *j = json_loads(out, 0, NULL);
    if (!json_is_object(j) || fuzz_tree_depth(j) > JSONIN_MAX_DEPTH || in->jdepth > JSONIN_MAX_DEPTH)
        abort();
    char *again = NULL;
    if (st_parse_metadata(out, strlen(out), &again, msg, sizeof msg) != BS_OK || strcmp(again, out) != 0)
        abort();
    free(again);
    json_decref(j);
    free(out);
}

static void body(const input *in)
{
    json_t *j = NULL;
    char msg[512] = "";
    int rc = st_parse_object(in->text, in->len, &j, msg, sizeof msg);
    if (rc != BS_OK) {
        if (j || (rc != BS_ENOMEM && !msg[0]))
            abort();
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(msg, "nested deeper than 64 levels"))
            abort();
        return;
    }
    if (!json_is_object(j) || fuzz_tree_depth(j) > JSONIN_MAX_DEPTH || in->jdepth > JSONIN_MAX_DEPTH ||
        (!in->len && json_object_size(j) != 0))
        abort();
    json_decref(j);
}

static void *run(void *arg)
{
    metadata(arg);
    body(arg);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {(const char *)data, size, fuzz_jansson_depth((const char *)data, size, 0)};
    fuzz_on_small_stack(run, &in);
    return 0;
}
