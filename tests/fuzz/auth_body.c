/* auth_body.c - libFuzzer target for auth_parse_body (auth/auth.c), the
 * parse behind every /auth/v1 request body.
 *
 * Every input runs on a small stack (fuzz_json.h).  Oracles: a body of
 * only whitespace is {}; an admitted body is an object no deeper than
 * JSONIN_MAX_DEPTH that jansson also reads with duplicate keys refused;
 * text jansson reads deeper than the limit, or with a duplicate key, is
 * refused; every refusal has the GoTrue message prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_int.h"
#include "core/error.h"
#include "fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const char *text;
    size_t len;
    int jdepth;     /* jansson, duplicates allowed */
    int jdepth_dup; /* jansson, duplicates refused */
} input;

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static void *run(void *arg)
{
    const input *in = arg;
    json_t *j = NULL;
    char msg[512] = "";
    int rc = auth_parse_body(in->text, in->len, 1 << 20, &j, msg, sizeof msg);
    if (rc != BS_OK) {
        if (j || (rc != BS_ENOMEM && strncmp(msg, "Could not parse request body as JSON: ", 38) != 0))
            abort();
        if (in->jdepth > JSONIN_MAX_DEPTH && !strstr(msg, "nested deeper than 64 levels"))
            abort();
        if (blank(in->text, in->len))
            abort();
        return NULL;
    }
    if (!json_is_object(j) || fuzz_tree_depth(j) > JSONIN_MAX_DEPTH)
        abort();
    if (blank(in->text, in->len) ? json_object_size(j) != 0 : (in->jdepth_dup < 0 || in->jdepth > JSONIN_MAX_DEPTH))
        abort();
    json_decref(j);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {(const char *)data, size, fuzz_jansson_depth((const char *)data, size, 0),
                fuzz_jansson_depth((const char *)data, size, JSON_REJECT_DUPLICATES)};
    fuzz_on_small_stack(run, &in);
    return 0;
}
