/* Tests for server/rules/rules_parse.c: what parses, the positions and
 * messages of errors, the depth and length bounds, SQL-looking junk, the
 * per-operation checks and the merge of a rule set. */
#include "../test.h"
#include "core/error.h"
#include "core/jwt.h"
#include "rules/rules.h"

#include <jansson.h>

static int perr(const char *text, rules_error *err)
{
    rules_expr *e = NULL;
    int rc = rules_parse(text, &e, err);
    rules_free(e);
    return rc;
}

#define ASSERT_PARSES(text)                                                                   \
    do {                                                                                      \
        rules_error err_;                                                                     \
        int rc_ = perr(text, &err_);                                                          \
        if (rc_ != BS_OK)                                                                     \
            TEST_FAIL_("%s: %s at %d", text, err_.message, err_.pos);                          \
    } while (0)

#define ASSERT_FAILS_AT(text, want_pos, msg_part)                                                  \
    do {                                                                                      \
        rules_error err_;                                                                     \
        int rc_ = perr(text, &err_);                                                          \
        if (rc_ != BS_EPARSE)                                                                 \
            TEST_FAIL_("%s: parsed (rc %d), want an error at %d", text, rc_, want_pos);            \
        if (err_.pos != (want_pos))                                                           \
            TEST_FAIL_("%s: error at %d (%s), want %d", text, err_.pos, err_.message, want_pos);   \
        ASSERT_CONTAINS(err_.message, msg_part);                                              \
    } while (0)

TEST(valid_rules)
{
    ASSERT_PARSES("auth.uid == doc.owner_id || doc.public == true");
    ASSERT_PARSES("auth.uid == new.owner_id");
    ASSERT_PARSES("true");
    ASSERT_PARSES("false");
    ASSERT_PARSES("doc.public");
    ASSERT_PARSES("!doc.public");
    ASSERT_PARSES("doc.tags[0] == 'a' && doc.a.0.b == 1");
    ASSERT_PARSES("doc.x in []");
    ASSERT_PARSES("doc.x in ['a', \"b\", 1, -2.5e3, true, null, auth.uid]");
    ASSERT_PARSES("doc.x is null || doc.y is not null");
    ASSERT_PARSES("auth.claims.app_metadata.role == 'admin'");
    ASSERT_PARSES("auth.role == \"authenticated\" && auth.email != null");
    ASSERT_PARSES("((doc.a < 1) || (doc.b >= 2)) && !(doc.c <= 3 || doc.d > 4)");
    ASSERT_PARSES("doc.s == 'it\\'s \\\"q\\\" \\\\ \\n'");
    ASSERT_PARSES("doc.name == 'caf\xc3\xa9'");
    ASSERT_PARSES("  doc.x  ==\n1\t");
    ASSERT_PARSES("object.bucket == 'avatars' && object.path[0] == auth.uid");
}

TEST(error_positions)
{
    ASSERT_FAILS_AT("", 1, "empty rule");
    ASSERT_FAILS_AT("   ", 4, "empty rule");
    ASSERT_FAILS_AT("doc.x = 1", 7, "use ==");
    ASSERT_FAILS_AT("doc.x == 'abc", 10, "unterminated string");
    ASSERT_FAILS_AT("auth.uid == doc.owner_id &&", 28, "unexpected end");
    ASSERT_FAILS_AT("auth.uid == doc.owner_id & doc.x", 26, "&&");
    ASSERT_FAILS_AT("doc.x == 1 | doc.y", 12, "||");
    ASSERT_FAILS_AT("(doc.x == 1", 12, "missing ')'");
    ASSERT_FAILS_AT("doc.x == 1)", 11, "unexpected ')'");
    ASSERT_FAILS_AT("doc", 1, "doc needs a field");
    ASSERT_FAILS_AT("doc. x == 1", 5, "expected a field name");
    ASSERT_FAILS_AT("doc .x == 1", 5, "no spaces");
    ASSERT_FAILS_AT("doc.1x == 1", 5, "start with a field name");
    ASSERT_FAILS_AT("doc.x[abc] == 1", 7, "array index");
    ASSERT_FAILS_AT("doc.x[1 == 1", 9, "expected ']'");
    ASSERT_FAILS_AT("auth.foo == 1", 6, "unknown auth field");
    ASSERT_FAILS_AT("auth == 1", 1, "auth needs a field");
    ASSERT_FAILS_AT("user.id == 1", 1, "unknown name 'user'");
    ASSERT_FAILS_AT("doc.x == 01", 10, "leading zeros");
    ASSERT_FAILS_AT("doc.x == 1e999", 10, "out of range");
    ASSERT_FAILS_AT("doc.x == 'a\\q'", 12, "unknown escape");
    ASSERT_FAILS_AT("doc.x in [1, 2", 15, "expected ']'");
    ASSERT_FAILS_AT("doc.x in [1 2]", 13, "expected ',' or ']'");
    ASSERT_FAILS_AT("doc.x in 1", 10, "expected '['");
    ASSERT_FAILS_AT("doc.x is 1", 10, "expected null");
    ASSERT_FAILS_AT("5", 2, "expected ==");
    ASSERT_FAILS_AT("'yes'", 6, "expected ==");
    ASSERT_FAILS_AT("doc.x == 1 == 2", 12, "unexpected '=='");
    /* positions count characters, not bytes: é is two bytes */
    ASSERT_FAILS_AT("doc.x == '\xc3\xa9' ;", 14, "unexpected character ';'");
    ASSERT_FAILS_AT("doc.x == '\xff'", 11, "invalid UTF-8");
}

TEST(sql_looking_junk_is_refused)
{
    ASSERT_FAILS_AT("doc.x == 1; DROP TABLE t", 11, "unexpected character ';'");
    ASSERT_FAILS_AT("doc.x == 1 -- comment", 12, "unexpected character '-'");
    ASSERT_FAILS_AT("doc.x == 1 OR 1=1", 12, "unexpected 'OR'");
    ASSERT_FAILS_AT("doc.x' OR '1'='1", 6, "unexpected");
    ASSERT_FAILS_AT("doc.\"x\" == 1", 5, "expected a field name");
    ASSERT_FAILS_AT("doc.x == 1 /* */", 12, "unexpected character '/'");
    ASSERT_FAILS_AT("json_extract(data, '$.x') == 1", 1, "unknown name");
    ASSERT_FAILS_AT("doc.x == (SELECT 1)", 10, "unexpected '('");
    ASSERT_FAILS_AT("doc.sqlite_master$ == 1", 18, "unexpected character '$'");
    /* a quote inside a string literal is data, not syntax */
    ASSERT_PARSES("doc.x == \"'); DROP TABLE t; --\"");
}

TEST(depth_and_length_bounds)
{
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < RULES_MAX_DEPTH; i++)
        deep[n++] = '(';
    memcpy(deep + n, "true", 4);
    n += 4;
    for (int i = 0; i < RULES_MAX_DEPTH; i++)
        deep[n++] = ')';
    deep[n] = '\0';
    ASSERT_PARSES(deep);

    n = 0;
    for (int i = 0; i < RULES_MAX_DEPTH + 1; i++)
        deep[n++] = '(';
    memcpy(deep + n, "true", 5);
    ASSERT_FAILS_AT(deep, RULES_MAX_DEPTH + 1, "nests too deeply");

    n = 0;
    for (int i = 0; i < RULES_MAX_DEPTH + 1; i++)
        deep[n++] = '!';
    memcpy(deep + n, "doc.x", 6);
    ASSERT_FAILS_AT(deep, RULES_MAX_DEPTH + 1, "nests too deeply");

    /* a long flat chain is fine (no recursion in the parser) */
    static char chain[RULES_MAX_LEN + 64];
    n = 0;
    while (n + 16 < RULES_MAX_LEN) {
        memcpy(chain + n, "doc.a == 1 && ", 14);
        n += 14;
    }
    memcpy(chain + n, "true", 5);
    ASSERT_PARSES(chain);

    memset(chain, ' ', RULES_MAX_LEN + 1);
    memcpy(chain, "true", 4);
    chain[RULES_MAX_LEN + 1] = '\0';
    ASSERT_FAILS_AT(chain, RULES_MAX_LEN + 1, "longer than");

    /* paths: at most DB_PATH_MAX_SEGS steps */
    ASSERT_PARSES("doc.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p == 1");
    ASSERT_FAILS_AT("doc.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q == 1", 37, "longer than 16");
    /* field names: at most 63 characters */
    ASSERT_FAILS_AT("doc.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa == 1", 5, "invalid field name");
}

TEST(per_operation_checks)
{
    rules_expr *e = NULL;
    rules_error err;
    ASSERT_EQ_INT(rules_parse_op(RULES_SELECT, "doc.a == 1 && new.owner_id == auth.uid", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 15);
    ASSERT_CONTAINS(err.message, "new.* is not available in select rules");
    ASSERT_EQ_INT(rules_parse_op(RULES_DELETE, "new.x == 1", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 1);
    ASSERT_EQ_INT(rules_parse_op(RULES_INSERT, "object.size < 5", &e, &err), BS_EPARSE);
    ASSERT_CONTAINS(err.message, "storage");
    ASSERT_EQ_INT(rules_parse_op(RULES_INSERT, "new.owner_id == 'u1'", &e, &err), BS_OK);
    ASSERT(rules_uses_new(e));
    /* compiling a rule with new.* for a read is refused */
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    ASSERT_EQ_INT(rules_to_sql(e, NULL, &a, &sql, &b), BS_EINVAL);
    ASSERT_EQ_INT(sql.len, 0);
    ASSERT_EQ_INT(rules_to_sql_ex(e, NULL, true, &a, &sql, &b), BS_OK);
    ASSERT_CONTAINS(buf_cstr(&sql), "json_extract(data, '$.owner_id')");
    rules_free(e);
    ASSERT_EQ_INT(rules_parse_op(RULES_UPDATE, "doc.owner_id == auth.uid && new.owner_id == doc.owner_id", &e, &err),
                  BS_OK);
    rules_free(e);
    buf_free(&sql);
    arena_free(&a);
}

TEST(refcounts)
{
    rules_expr *e;
    ASSERT_EQ_INT(rules_parse("true", &e, NULL), BS_OK);
    ASSERT(rules_retain(e) == e);
    rules_free(e);
    rules_env env = {0};
    ASSERT(rules_eval(e, &env)); /* still alive: one reference left */
    rules_free(e);
    ASSERT(rules_retain(NULL) == NULL);
    rules_free(NULL);
}

TEST(literals_are_bound_not_pasted)
{
    rules_expr *e;
    rules_error err;
    ASSERT_EQ_INT(rules_parse("doc.x == \"'); DROP TABLE t; --\" || doc.y in ['a''b']", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(rules_parse("doc.x == \"'); DROP TABLE t; --\" || doc.y in ['a\\'b']", &e, &err), BS_OK);
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    ASSERT_EQ_INT(rules_to_sql(e, NULL, &a, &sql, &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&sql), "((json_extract(data, '$.x') = ? OR json_extract(data, '$.y') IN (?)))");
    ASSERT_EQ_INT(b.n, 2);
    ASSERT_EQ_INT(b.v[0].type, DB_BIND_TEXT);
    ASSERT_EQ_STR(b.v[0].s, "'); DROP TABLE t; --");
    ASSERT_EQ_STR(b.v[1].s, "a'b");
    rules_free(e);
    buf_free(&sql);
    arena_free(&a);
}

TEST(owner_rule_sql_matches_the_index_expression)
{
    rules_expr *e;
    ASSERT_EQ_INT(rules_parse("auth.uid == doc.owner_id", &e, NULL), BS_OK);
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    /* anon: no uid → unknown, folded */
    ASSERT_EQ_INT(rules_to_sql(e, NULL, &a, &sql, &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&sql), "(NULL)");
    ASSERT_EQ_INT(b.n, 0);
    buf_reset(&sql);
    json_t *cj = json_pack("{s:s, s:s}", "sub", "u1", "role", "authenticated");
    auth_claims ac = {.role = "authenticated", .sub = "u1", .email = "", .session_id = "", .json = cj};
    ASSERT_EQ_INT(rules_to_sql(e, &ac, &a, &sql, &b), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&sql), "(json_extract(data, '$.owner_id') = ?)");
    ASSERT_EQ_INT(b.n, 1);
    ASSERT_EQ_STR(b.v[0].s, "u1");
    json_decref(cj);
    rules_free(e);
    buf_free(&sql);
    arena_free(&a);
}

static void merge(json_t *cur, const char *patch, json_t **out, buf *msg, buf *det, int *rc)
{
    json_error_t je;
    json_t *p = json_loads(patch, 0, &je);
    *rc = rules_merge(cur, p, out, msg, det);
    json_decref(p);
}

TEST(merge_rule_sets)
{
    buf msg = BUF_INIT, det = BUF_INIT;
    json_t *cur = NULL, *out = NULL;
    int rc;
    merge(NULL, "{\"select\":\"true\",\"insert\":\"auth.uid == new.owner_id\"}", &cur, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_OK);
    ASSERT_EQ_INT(json_object_size(cur), 2);
    merge(cur, "{\"select\":null,\"delete\":\"doc.owner_id == auth.uid\"}", &out, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_OK);
    char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    ASSERT_EQ_STR(s, "{\"delete\":\"doc.owner_id == auth.uid\",\"insert\":\"auth.uid == new.owner_id\"}");
    free(s);
    json_decref(out);

    merge(cur, "{\"select\":\"doc.x == 1; DROP TABLE t\"}", &out, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_EINVAL);
    ASSERT(out == NULL);
    ASSERT_EQ_STR(buf_cstr(&msg), "rule for select: unexpected character ';' at position 11");
    ASSERT_EQ_STR(buf_cstr(&det), "doc.x == 1; DROP TABLE t\n          ^");
    buf_reset(&msg);
    buf_reset(&det);

    merge(cur, "{\"read\":\"true\"}", &out, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_EINVAL);
    ASSERT_CONTAINS(buf_cstr(&msg), "unknown operation \"read\"");
    buf_reset(&msg);
    merge(cur, "{\"select\":true}", &out, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_EINVAL);
    ASSERT_CONTAINS(buf_cstr(&msg), "must be a string");
    buf_reset(&msg);
    merge(cur, "{\"select\":\"new.a == 1\"}", &out, &msg, &det, &rc);
    ASSERT_EQ_INT(rc, BS_EINVAL);
    ASSERT_EQ_STR(buf_cstr(&msg), "rule for select: new.* is not available in select rules (use doc.*) at position 1");
    buf_reset(&msg);
    rc = rules_merge(cur, NULL, &out, &msg, &det);
    ASSERT_EQ_INT(rc, BS_EINVAL);
    json_decref(cur);
    buf_free(&msg);
    buf_free(&det);
}

TEST(op_names)
{
    rules_op op;
    ASSERT_EQ_INT(rules_op_parse("update", &op), BS_OK);
    ASSERT_EQ_INT(op, RULES_UPDATE);
    ASSERT_EQ_INT(rules_op_parse("UPDATE", &op), BS_ENOTFOUND);
    ASSERT_EQ_STR(rules_op_name(RULES_DELETE), "delete");
}

TEST_MAIN(T(valid_rules), T(error_positions), T(sql_looking_junk_is_refused), T(depth_and_length_bounds),
          T(per_operation_checks), T(refcounts), T(literals_are_bound_not_pasted),
          T(owner_rule_sql_matches_the_index_expression), T(merge_rule_sets), T(op_names))
