/* libFuzzer target: the access-rule parser and its SQL compiler.
 * Every rule that parses is also compiled to SQL and evaluated in C on a
 * fixed document and a fixed realtime channel, so the three must survive
 * any input; the realtime rule checks and the rule-set merge run too. */
#include "core/jwt.h"
#include "core/arena.h"
#include "core/buf.h"
#include "rules/rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > RULES_MAX_LEN + 16)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rules_expr *e = NULL;
    rules_error err;
    if (rules_parse(text, &e, &err) == 0) {
        arena a = ARENA_INIT;
        buf sql = BUF_INIT;
        db_binds binds = {0};
        (void)rules_to_sql(e, NULL, &a, &sql, &binds);
        json_t *doc = json_pack("{s:s, s:i, s:b, s:[i,s], s:{s:n}}", "owner_id", "u1", "n", 5, "public", 1, "tags",
                                1, "x", "meta", "k");
        rules_realtime rt = {"room", "presence", "u1"};
        rules_env env = {NULL, doc, doc, doc, &rt};
        (void)rules_eval(e, &env);
        (void)rules_uses_presence_key(e);
        json_decref(doc);
        buf_free(&sql);
        arena_free(&a);
        rules_free(e);
    }
    if (rules_parse_realtime(text, &e, &err) == 0)
        rules_free(e);
    json_t *patch = json_pack("{s:s}", size % 2 ? "select" : "insert", text);
    json_t *merged = NULL;
    buf msg = BUF_INIT, details = BUF_INIT;
    if (patch)
        (void)rules_realtime_merge(NULL, patch, &merged, &msg, &details);
    json_decref(merged);
    json_decref(patch);
    buf_free(&msg);
    buf_free(&details);
    free(text);
    return 0;
}
