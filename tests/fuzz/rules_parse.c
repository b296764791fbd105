/* libFuzzer target: the access-rule parser and its SQL compiler.
 * Every rule that parses is also compiled to SQL and evaluated in C on a
 * fixed document, so the three must survive any input. */
#include "auth/jwt.h"
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
        rules_env env = {NULL, doc, doc, doc};
        (void)rules_eval(e, &env);
        json_decref(doc);
        buf_free(&sql);
        arena_free(&a);
        rules_free(e);
    }
    free(text);
    return 0;
}
