/* Tests that rules_eval and rules_to_sql agree: every rule of a table over
 * every document, for several callers, evaluated in C and by SQLite on an
 * in-memory table built the way collections are (id, data, created_at,
 * updated_at, version).  The comparison is three-valued (true, false,
 * unknown/NULL), so NOT and null handling must agree too.  A second table
 * pins the expected answer of the cases whose semantics matter most. */
#include <sqlite3.h>

#include "../test.h"
#include "core/jwt.h"
#include "core/error.h"
#include "rules/rules_int.h"

static const char *const docs[] = {
    "{\"id\":\"a1\",\"owner_id\":\"u1\",\"public\":true,\"n\":5,\"s\":\"5\",\"b\":false,\"nested\":{\"x\":{\"y\":\"deep\"}},"
    "\"tags\":[\"a\",\"b\"],\"z\":null,\"one\":1,\"t\":\"true\"}",
    "{\"id\":\"a2\",\"owner_id\":\"u2\",\"public\":false,\"n\":1,\"s\":\"abc\",\"b\":true,\"nested\":{\"x\":1},\"tags\":[],"
    "\"one\":true,\"f\":1.5}",
    "{\"id\":\"a3\"}",
    "{\"id\":\"a4\",\"owner_id\":null,\"public\":\"true\",\"n\":\"1\",\"b\":0,\"nested\":\"str\",\"tags\":\"a\",\"one\":1.0,"
    "\"obj\":{\"a\":1}}",
    "{\"id\":7,\"owner_id\":\"u1\",\"n\":-3.5,\"s\":\"\",\"b\":1,\"public\":1,\"big\":9007199254740993}",
    "{\"id\":\"a6\",\"owner_id\":\"[1]\",\"s\":\"{\\\"a\\\":1}\",\"obj\":[1],\"n\":0,\"b\":\"false\",\"f\":2}",
    "{\"id\":\"a7\",\"owner_id\":\"U1\",\"n\":5.0,\"s\":\"ab\",\"tags\":[\"b\",\"a\"],\"one\":0,\"public\":false}",
};
#define NDOCS (sizeof docs / sizeof docs[0])

static const char *const rules_tab[] = {
    "auth.uid == doc.owner_id", "doc.owner_id == auth.uid", "doc.owner_id != auth.uid",
    "doc.public == true", "doc.public", "!doc.public", "doc.public != true", "doc.public == false",
    "doc.public < true", "doc.public >= false",
    "doc.n == 5", "doc.n == 1", "doc.n == 0", "doc.n > 2", "doc.n <= 1", "doc.n < 'x'", "doc.n != 5",
    "doc.n > -4", "doc.n == 5.0", "doc.n == -3.5",
    "doc.s == '5'", "doc.s == 5", "doc.s != 'abc'", "doc.s >= 'a'", "doc.s < 'abc'", "doc.s == ''",
    "doc.s == '{\"a\":1}'", "doc.obj == '{\"a\":1}'", "doc.obj == '[1]'", "doc.owner_id == '[1]'",
    "doc.obj != 'x'", "doc.obj is null", "doc.tags == doc.tags",
    "doc.b == false", "doc.b != false", "doc.b < true", "doc.b == 0", "doc.b == 1", "doc.b == 'false'",
    "doc.one == 1", "doc.one == true", "doc.one != 1", "doc.one > 0", "doc.one == 0",
    "doc.nested.x.y == 'deep'", "doc.nested.x == 1", "doc.nested.x.y.z == 1", "doc.tags[0] == 'a'",
    "doc.tags.1 == 'b'", "doc.tags[5] is null", "doc.tags[0] in ['a', 'b']",
    "doc.z is null", "doc.z is not null", "doc.missing is null", "doc.owner_id is null", "doc.z == null",
    "doc.owner_id in ['u1', 'u3']", "doc.owner_id in ['u1', null]", "doc.n in [5, 1, 'x']", "doc.n in []",
    "doc.b in [true]", "!(doc.owner_id in ['u1'])", "doc.owner_id in [auth.uid, 'u2']", "doc.n in [0, true]",
    "doc.s in ['{\"a\":1}', '5']", "!(doc.n in [])",
    "auth.role == 'authenticated'", "auth.role == 'anon' || doc.public == true", "auth.uid is null",
    "auth.claims.app_metadata.role == 'admin'", "auth.claims.level > 2 && doc.n > 0",
    "auth.claims.missing == doc.owner_id", "auth.claims.app_metadata.teams[0] == 't1'",
    "auth.claims.level == doc.n", "auth.email is null", "auth.email == 'u1@example.com' || doc.n == 1",
    "doc.id == 'a1'", "doc.id == '7'", "doc.id == 7", "doc.id in ['a2', '7']", "doc.id != 'a1'",
    "doc.created_at > '2000'", "doc.updated_at == '2024-01-01T00:00:00.000Z'", "doc.id is null",
    "doc.n == doc.one", "doc.owner_id == doc.s", "doc.n < doc.one", "doc.obj == doc.obj", "doc.id == doc.owner_id",
    "doc.b == doc.one", "doc.missing == doc.also_missing", "doc.f > doc.one", "doc.n != doc.f",
    "doc.big == 9007199254740993", "doc.big > 9007199254740992",
    "doc.f == 1.5", "doc.f > 1", "doc.f == 2",
    "true", "false", "null", "!null", "!(doc.n > 2) && true", "(doc.n > 2 || doc.s == 'abc') && !(doc.b == true)",
    "doc.n != null", "null == null", "doc.t == true", "!(doc.missing == 1) || doc.n == 5",
    "!(doc.missing == 1) && doc.n == 5", "doc.missing == 1 || true", "doc.missing == 1 && false",
    "!(doc.owner_id == auth.uid)", "(doc.public == true || doc.owner_id == auth.uid) && doc.n is not null",
};
#define NRULES (sizeof rules_tab / sizeof rules_tab[0])

/* callers: NULL (no claims), anon key, u1 with custom claims, u2 */
static json_t *claims_json[4];
static auth_claims claims[4];
static const auth_claims *callers[4];

static void make_callers(void)
{
    if (claims_json[1])
        return;
    json_error_t je;
    claims_json[1] = json_loads("{\"role\":\"anon\"}", 0, &je);
    claims_json[2] = json_loads("{\"role\":\"authenticated\",\"sub\":\"u1\",\"email\":\"u1@example.com\","
                                "\"level\":3,\"app_metadata\":{\"role\":\"admin\",\"teams\":[\"t1\"]}}",
                                0, &je);
    claims_json[3] = json_loads("{\"role\":\"authenticated\",\"sub\":\"u2\",\"level\":5}", 0, &je);
    callers[0] = NULL;
    claims[1] = (auth_claims){.role = "anon", .sub = "", .email = "", .session_id = "", .json = claims_json[1]};
    claims[2] = (auth_claims){.role = "authenticated", .sub = "u1", .email = "u1@example.com", .session_id = "",
                              .json = claims_json[2]};
    claims[3] = (auth_claims){.role = "authenticated", .sub = "u2", .email = "", .session_id = "", .json = claims_json[3]};
    for (int i = 1; i < 4; i++)
        callers[i] = &claims[i];
}

static sqlite3 *make_db(void)
{
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return NULL;
    /* the schema of collections.c, with an expression index as collections get */
    sqlite3_exec(db,
                 "CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL, "
                 "updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1);"
                 "CREATE INDEX t_owner ON t(json_extract(data, '$.owner_id'));",
                 NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "INSERT INTO t(id, data, created_at, updated_at) VALUES(CAST(?1 ->> '$.id' AS TEXT), "
                       "json_set(?1, '$.created_at', ?2, '$.updated_at', ?2), ?2, ?2)",
                       -1, &st, NULL);
    for (size_t i = 0; i < NDOCS; i++) {
        sqlite3_bind_text(st, 1, docs[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, "2024-01-01T00:00:00.000Z", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "insert %zu: %s\n", i, sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return db;
}

static void bind_all(sqlite3_stmt *st, const db_binds *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const db_bind *v = &b->v[i];
        int idx = (int)i + 1;
        switch (v->type) {
        case DB_BIND_NULL: sqlite3_bind_null(st, idx); break;
        case DB_BIND_INT: sqlite3_bind_int64(st, idx, v->i); break;
        case DB_BIND_REAL: sqlite3_bind_double(st, idx, v->r); break;
        case DB_BIND_TEXT: sqlite3_bind_text(st, idx, v->s, (int)v->n, SQLITE_STATIC); break;
        }
    }
}

static const char *tri_name(int t) { return t == TRI_T ? "true" : t == TRI_F ? "false" : "unknown"; }

/* Answers of one rule for one caller over every row: C and SQL. */
static int check_rule(sqlite3 *db, const char *text, const auth_claims *who, bool new_as_doc, int *mismatches)
{
    rules_expr *e;
    rules_error err;
    if (rules_parse(text, &e, &err) != BS_OK) {
        fprintf(stderr, "rule does not parse: %s (%s at %d)\n", text, err.message, err.pos);
        return -1;
    }
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    int rc = buf_puts(&sql, "SELECT id, data, ");
    if (!rc)
        rc = rules_to_sql_ex(e, who, new_as_doc, &a, &sql, &b);
    if (!rc)
        rc = buf_puts(&sql, " FROM t ORDER BY id");
    sqlite3_stmt *st = NULL;
    if (rc || sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "rule %s: compile rc %d, sql %s: %s\n", text, rc, buf_cstr(&sql), sqlite3_errmsg(db));
        rc = -1;
        goto out;
    }
    bind_all(st, &b);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *data = (const char *)sqlite3_column_text(st, 1);
        int sql_t = sqlite3_column_type(st, 2) == SQLITE_NULL ? TRI_U : sqlite3_column_int(st, 2) ? TRI_T : TRI_F;
        json_t *doc = rules_json_load(data, strlen(data));
        rules_env env = {.auth = who, .doc = doc, .new_doc = new_as_doc ? doc : NULL};
        int c_t = rules__node(e->root, &env);
        bool allowed = rules_eval(e, &env);
        if (c_t != sql_t || allowed != (c_t == TRI_T)) {
            fprintf(stderr, "MISMATCH rule [%s] caller %s doc %s: C %s, SQL %s\n  sql: %s\n", text,
                    who ? who->sub : "(none)", sqlite3_column_text(st, 0), tri_name(c_t), tri_name(sql_t),
                    buf_cstr(&sql));
            (*mismatches)++;
        }
        json_decref(doc);
    }
out:
    sqlite3_finalize(st);
    rules_free(e);
    buf_free(&sql);
    arena_free(&a);
    return rc;
}

TEST(c_and_sql_agree_on_every_rule_doc_and_caller)
{
    make_callers();
    sqlite3 *db = make_db();
    ASSERT(db != NULL);
    int mismatches = 0, compiled = 0;
    for (size_t r = 0; r < NRULES; r++)
        for (int w = 0; w < 4; w++) {
            ASSERT_EQ_INT(check_rule(db, rules_tab[r], callers[w], false, &mismatches), 0);
            compiled++;
        }
    /* new.* in an update's target selection reads the stored row */
    for (int w = 0; w < 4; w++)
        ASSERT_EQ_INT(check_rule(db, "new.owner_id == auth.uid && doc.n == new.n", callers[w], true, &mismatches), 0);
    sqlite3_close(db);
    ASSERT_EQ_INT(mismatches, 0);
    ASSERT_EQ_INT(compiled, (int)NRULES * 4);
}

/* rule, caller index, doc index → expected (TRI_*) */
typedef struct expect {
    const char *rule;
    int who, doc, want;
} expect;

static const expect expects[] = {
    {"auth.uid == doc.owner_id", 2, 0, TRI_T},   /* u1 owns a1 */
    {"auth.uid == doc.owner_id", 3, 0, TRI_F},
    {"auth.uid == doc.owner_id", 1, 0, TRI_U},   /* anon: no uid */
    {"auth.uid == doc.owner_id", 0, 0, TRI_U},
    {"auth.uid == doc.owner_id", 2, 6, TRI_F},   /* "U1": case matters */
    {"auth.uid == doc.owner_id", 2, 3, TRI_U},   /* owner_id null */
    {"doc.public == true", 0, 0, TRI_T},
    {"doc.public == true", 0, 3, TRI_F},         /* "true" is a string */
    {"doc.public == true", 0, 4, TRI_F},         /* 1 is a number */
    {"doc.public", 0, 0, TRI_T},
    {"!doc.public", 0, 2, TRI_U},                /* missing: still denied */
    {"!doc.public", 0, 1, TRI_T},
    {"doc.one == 1", 0, 0, TRI_T},
    {"doc.one == 1", 0, 1, TRI_F},               /* true is not 1 */
    {"doc.one == 1", 0, 3, TRI_T},               /* 1.0 == 1 */
    {"doc.one == true", 0, 0, TRI_F},
    {"doc.b == 0", 0, 3, TRI_T},
    {"doc.b == 0", 0, 0, TRI_F},                 /* false is not 0 */
    {"doc.s == 5", 0, 0, TRI_F},                 /* "5" is not 5 */
    {"doc.s == '5'", 0, 0, TRI_T},
    {"doc.n != 5", 0, 3, TRI_F},                 /* "1" vs 5: type mismatch is false, also for != */
    {"doc.n < 'x'", 0, 0, TRI_F},
    {"doc.n == 5", 0, 6, TRI_T},                 /* 5.0 */
    {"doc.obj == '{\"a\":1}'", 0, 3, TRI_F},     /* an object is not a string */
    {"doc.s == '{\"a\":1}'", 0, 5, TRI_T},
    {"doc.z is null", 0, 0, TRI_T},
    {"doc.z is null", 0, 2, TRI_T},
    {"doc.z == null", 0, 0, TRI_U},
    {"doc.owner_id in ['u1', null]", 0, 1, TRI_U},
    {"doc.owner_id in ['u1', null]", 0, 0, TRI_T},
    {"!(doc.owner_id in ['u1'])", 0, 1, TRI_T},
    {"!(doc.owner_id in ['u1'])", 0, 2, TRI_U},
    {"doc.n in []", 0, 2, TRI_F},
    {"doc.id == '7'", 0, 4, TRI_T},              /* integer ids read as text */
    {"doc.id == 7", 0, 4, TRI_F},
    {"doc.nested.x.y == 'deep'", 0, 0, TRI_T},
    {"doc.nested.x.y == 'deep'", 0, 1, TRI_U},   /* through a number: null */
    {"doc.tags[0] == 'a'", 0, 0, TRI_T},
    {"doc.tags.1 == 'b'", 0, 0, TRI_T},
    {"auth.claims.app_metadata.teams[0] == 't1'", 2, 2, TRI_T},
    {"auth.claims.app_metadata.teams[0] == 't1'", 3, 2, TRI_U},
    {"auth.role == 'anon' || doc.public == true", 0, 1, TRI_T},
    {"auth.role == 'anon' || doc.public == true", 2, 1, TRI_F},
    {"doc.big == 9007199254740993", 0, 4, TRI_T},
    {"doc.big > 9007199254740992", 0, 4, TRI_T},
    {"doc.missing == 1 || true", 0, 2, TRI_T},
    {"!(doc.missing == 1) || doc.n == 5", 0, 0, TRI_T},
};

TEST(expected_answers)
{
    make_callers();
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++) {
        const expect *x = &expects[i];
        rules_expr *e;
        ASSERT_EQ_INT(rules_parse(x->rule, &e, NULL), BS_OK);
        json_t *doc = rules_json_load(docs[x->doc], strlen(docs[x->doc]));
        rules_env env = {.auth = callers[x->who], .doc = doc};
        int got = rules__node(e->root, &env);
        json_decref(doc);
        rules_free(e);
        if (got != x->want)
            TEST_FAIL_("[%s] caller %d doc %d: got %s, want %s", x->rule, x->who, x->doc, tri_name(got),
                       tri_name(x->want));
    }
}

/* The owner rule ANDed into a point read still uses the primary key, and a
 * listing uses the owner_id expression index. */
TEST(rules_keep_index_use)
{
    make_callers();
    sqlite3 *db = make_db();
    rules_expr *e;
    ASSERT_EQ_INT(rules_parse("auth.uid == doc.owner_id", &e, NULL), BS_OK);
    arena a = ARENA_INIT;
    buf sql = BUF_INIT;
    db_binds b = {0};
    ASSERT_EQ_INT(buf_puts(&sql, "EXPLAIN QUERY PLAN SELECT data FROM t WHERE "), BS_OK);
    ASSERT_EQ_INT(rules_to_sql(e, callers[2], &a, &sql, &b), BS_OK);
    ASSERT_EQ_INT(buf_puts(&sql, " AND (1)"), BS_OK);
    sqlite3_stmt *st;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, sql.data, -1, &st, NULL), SQLITE_OK);
    bind_all(st, &b);
    char plan[512] = "";
    while (sqlite3_step(st) == SQLITE_ROW)
        snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s;", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    ASSERT_CONTAINS(plan, "USING INDEX t_owner");
    rules_free(e);
    buf_free(&sql);
    arena_free(&a);
    sqlite3_close(db);
}

TEST_MAIN(T(c_and_sql_agree_on_every_rule_doc_and_caller), T(expected_answers), T(rules_keep_index_use))
