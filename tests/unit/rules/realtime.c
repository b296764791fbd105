/* Tests for the realtime channel rules (server/rules: realtime.* in the
 * parser, evaluator and SQL compiler; rules_sets.c's checks and merge):
 * what parses where, evaluation over realtime.topic / extension /
 * presence_key and auth.*, and that nothing realtime reaches SQL. */
#include "../test.h"
#include "core/jwt.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "rules/rules.h"

#include <jansson.h>

static bool eval(const char *text, const auth_claims *who, const char *topic, const char *ext, const char *key)
{
    rules_expr *e = NULL;
    rules_error err;
    if (rules_parse_realtime(text, &e, &err) != BS_OK) {
        fprintf(stderr, "%s: %s at %d\n", text, err.message, err.pos);
        return false;
    }
    rules_realtime rt = {topic, ext, key};
    rules_env env = {.auth = who, .realtime = &rt};
    bool ok = rules_eval(e, &env);
    rules_free(e);
    return ok;
}

static auth_claims alice, anon;
static json_t *alice_json;

static void setup(void)
{
    if (alice_json)
        return;
    alice_json = json_pack("{s:s, s:s, s:{s:s}}", "sub", "u-alice", "role", "authenticated", "app_metadata", "team", "red");
    alice = (auth_claims){.role = "authenticated", .sub = "u-alice", .email = "alice@example.com", .session_id = "",
                          .json = alice_json};
    anon = (auth_claims){.role = "anon", .sub = "", .email = "", .session_id = "", .json = NULL};
}

TEST(evaluates_topic_extension_and_caller)
{
    setup();
    const char *r = "realtime.topic == 'room' && auth.role == 'authenticated'";
    ASSERT(eval(r, &alice, "room", "broadcast", NULL));
    ASSERT(!eval(r, &alice, "other", "broadcast", NULL));
    ASSERT(!eval(r, &anon, "room", "broadcast", NULL));
    ASSERT(!eval(r, NULL, "room", "broadcast", NULL)); /* NULL auth reads as anon */
    ASSERT(eval("realtime.topic == auth.uid", &alice, "u-alice", "presence", NULL));
    ASSERT(!eval("realtime.topic == auth.uid", &anon, "", "presence", NULL)); /* "" and a missing uid are null */
    ASSERT(eval("realtime.extension in ['broadcast']", &anon, "x", "broadcast", NULL));
    ASSERT(!eval("realtime.extension in ['broadcast']", &anon, "x", "presence", NULL));
    ASSERT(eval("realtime.topic == 'team-red' && auth.claims.app_metadata.team == 'red'", &alice, "team-red", "broadcast", NULL));
    ASSERT(eval("realtime.presence_key == auth.email", &alice, "room", "presence", "alice@example.com"));
    ASSERT(!eval("realtime.presence_key == auth.email", &alice, "room", "presence", "bob@example.com"));
    ASSERT(eval("realtime.presence_key is null", &alice, "room", "broadcast", NULL));
    ASSERT(!eval("realtime.topic != 'x'", &alice, NULL, "broadcast", NULL)); /* unknown: deny */
}

TEST(without_a_realtime_env_fields_read_as_null)
{
    setup();
    rules_expr *e = NULL;
    rules_error err;
    ASSERT_EQ_INT(rules_parse_realtime("realtime.topic is null", &e, &err), BS_OK);
    rules_env env = {.auth = &alice};
    ASSERT(rules_eval(e, &env));
    rules_free(e);
}

TEST(parse_errors_name_the_position)
{
    rules_expr *e = NULL;
    rules_error err;
    ASSERT_EQ_INT(rules_parse_realtime("realtime.topik == 'a'", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 10);
    ASSERT_CONTAINS(err.message, "unknown realtime field");
    ASSERT_EQ_INT(rules_parse_realtime("realtime == 'a'", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 1);
    ASSERT_CONTAINS(err.message, "realtime needs a field");
    ASSERT_EQ_INT(rules_parse_realtime("realtime. topic == 'a'", &e, &err), BS_EPARSE);
    ASSERT_CONTAINS(err.message, "no spaces");
    ASSERT_EQ_INT(rules_parse_realtime("auth.uid != null && doc.owner == auth.uid", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 21);
    ASSERT_CONTAINS(err.message, "doc., new. and object. are not available");
    ASSERT_EQ_INT(rules_parse_realtime("new.x == 1", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(rules_parse_realtime("object.bucket == 'b'", &e, &err), BS_EPARSE);
    ASSERT(e == NULL);
}

TEST(collection_rules_refuse_realtime_and_sql_never_sees_it)
{
    rules_expr *e = NULL;
    rules_error err;
    ASSERT_EQ_INT(rules_parse_op(RULES_SELECT, "auth.uid == doc.owner || realtime.topic == 'x'", &e, &err), BS_EPARSE);
    ASSERT_EQ_INT(err.pos, 26);
    ASSERT_CONTAINS(err.message, "realtime.* is only for realtime channel rules");
    /* a plain parse accepts it, but the SQL compiler refuses */
    ASSERT_EQ_INT(rules_parse("realtime.topic == 'x'", &e, &err), BS_OK);
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    ASSERT_EQ_INT(rules_to_sql(e, NULL, &a, &sql, &b), BS_EINVAL);
    ASSERT_EQ_INT(rules_to_sql_ex(e, NULL, true, &a, &sql, &b), BS_EINVAL);
    buf_free(&sql);
    arena_free(&a);
    rules_free(e);
}

TEST(presence_key_use_is_detected)
{
    rules_expr *e = NULL;
    rules_error err;
    ASSERT_EQ_INT(rules_parse_realtime("realtime.topic == 'a' || realtime.presence_key == auth.uid", &e, &err), BS_OK);
    ASSERT(rules_uses_presence_key(e));
    rules_free(e);
    ASSERT_EQ_INT(rules_parse_realtime("realtime.topic == 'a' && realtime.extension == 'presence'", &e, &err), BS_OK);
    ASSERT(!rules_uses_presence_key(e));
    rules_free(e);
    ASSERT(!rules_uses_presence_key(NULL));
}

TEST(merge_takes_select_and_insert_only)
{
    buf msg = BUF_INIT, details = BUF_INIT;
    json_t *out = NULL;
    json_t *cur = json_pack("{s:s, s:s}", "select", "true", "insert", "auth.uid != null");
    json_t *patch = json_pack("{s:n, s:s}", "select", "insert", "realtime.topic == 'a'");
    ASSERT_EQ_INT(rules_realtime_merge(cur, patch, &out, &msg, &details), BS_OK);
    char *txt = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    ASSERT_EQ_STR(txt, "{\"insert\":\"realtime.topic == 'a'\"}");
    free(txt);
    json_decref(out);
    json_decref(patch);
    patch = json_pack("{s:s}", "update", "true");
    ASSERT_EQ_INT(rules_realtime_merge(cur, patch, &out, &msg, &details), BS_EINVAL);
    ASSERT_CONTAINS(buf_cstr(&msg), "use select or insert");
    ASSERT(out == NULL);
    json_decref(patch);
    buf_reset(&msg);
    patch = json_pack("{s:s}", "select", "doc.a == 1");
    ASSERT_EQ_INT(rules_realtime_merge(NULL, patch, &out, &msg, &details), BS_EINVAL);
    ASSERT_CONTAINS(buf_cstr(&msg), "rule for select:");
    ASSERT_CONTAINS(buf_cstr(&details), "doc.a == 1\n^");
    json_decref(patch);
    /* the collection merge is unchanged: update is an op there */
    buf_reset(&msg);
    patch = json_pack("{s:s}", "update", "auth.uid == doc.owner");
    ASSERT_EQ_INT(rules_merge(NULL, patch, &out, &msg, &details), BS_OK);
    json_decref(out);
    json_decref(patch);
    json_decref(cur);
    buf_free(&msg);
    buf_free(&details);
}

TEST_MAIN(T(evaluates_topic_extension_and_caller), T(without_a_realtime_env_fields_read_as_null),
          T(parse_errors_name_the_position), T(collection_rules_refuse_realtime_and_sql_never_sees_it),
          T(presence_key_use_is_detected), T(merge_takes_select_and_insert_only))
