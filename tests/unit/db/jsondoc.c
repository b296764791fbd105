/* Tests for server/db/jsondoc.c: canonical key spelling, the path step that
 * finds any key in SQLite 3.40, members, merges, and duplicate reporting.
 * The round-trip tests run the built paths through the linked SQLite: they
 * are the proof that a label and a stored key agree for every escape
 * class (and they fail with a quoted "$.\"key\"" label built by hand). */
#include "../test.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "db/jsondoc.h"

#include <sqlite3.h>

static const char *canon(buf *b, const char *s, db_jdoc_info *info)
{
    buf_reset(b);
    int rc = db_jdoc_canon(b, s, strlen(s), info);
    return rc == BS_OK ? buf_cstr(b) : "(error)";
}

TEST(canon_keys_every_escape_class)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"caf\\u00e9\":1}", "{\"caf\xc3\xa9\":1}"},
        {"{\"caf\\u00E9\":1}", "{\"caf\xc3\xa9\":1}"},
        {"{\"a\\/b\":1}", "{\"a/b\":1}"},
        {"{\"\\u0041\":1}", "{\"A\":1}"},
        {"{\"a\\\\b\":1}", "{\"a\\\\b\":1}"},
        {"{\"\\b\\f\\n\\r\\t\":1}", "{\"\\b\\f\\n\\r\\t\":1}"},
        {"{\"\\u0008\\u000C\\u000a\":1}", "{\"\\b\\f\\n\":1}"},
        {"{\"\\u0001\\u001F\\u007f\":1}", "{\"\\u0001\\u001f\x7f\":1}"},
        {"{\"\\ud83d\\ude00\":1}", "{\"\xf0\x9f\x98\x80\":1}"},
        {"{\"\\uD83D\\uDE00x\":1}", "{\"\xf0\x9f\x98\x80x\":1}"},
        {"{\"\\uD800\":1}", "{\"\\ud800\":1}"},
        {"{\"\\uDC00\\uD800\":1}", "{\"\\udc00\\ud800\":1}"},
        /* a lone high escape before the raw bytes of a low one: escaped, the
         * two would pair up on the next read, so both stay raw (found by
         * the fuzzer) */
        {"{\"\\ud800\xed\xba\xba\":1}", "{\"\xed\xa0\x80\xed\xba\xba\":1}"},
        {"{\"\xed\xa0\x80x\xed\xba\xba\":1}", "{\"\\ud800x\\udeba\":1}"},
        {"{\"a\\\"b\":1}", "{\"a\\\"b\":1}"},
        {"{\"a\\\"b.c[0]\":1}", "{\"a\\\"b\\u002ec\\u005b0]\":1}"},
        {"{\"a.b[0]$*\":1}", "{\"a.b[0]$*\":1}"},
        {"{\"\":1}", "{\"\":1}"},
        {"{\"\\u0000\":1}", "{\"\\u0000\":1}"},
        {" { \"a\" : [ 1 , { \"caf\\u00e9\" : \"caf\\u00e9\" } ] , \"b\" : 1.50e+3 } ",
         "{\"a\":[1,{\"caf\xc3\xa9\":\"caf\\u00e9\"}],\"b\":1.50e+3}"},
        {"[\"\\u00e9\",-0,12345678901234567890123,true,false,null,{}]",
         "[\"\\u00e9\",-0,12345678901234567890123,true,false,null,{}]"},
        {"\"x\"", "\"x\""},
    };
    buf b = BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = canon(&b, cases[i].in, NULL);
        if (strcmp(got, cases[i].want) != 0)
            TEST_FAIL_("canon(%s):\n  got:  %s\n  want: %s", cases[i].in, got, cases[i].want);
        /* canonical texts are fixed points */
        buf again = BUF_INIT;
        ASSERT_EQ_INT(db_jdoc_canon(&again, b.data, b.len, NULL), BS_OK);
        ASSERT_EQ_STR(buf_cstr(&again), got);
        buf_free(&again);
    }
    buf_free(&b);
}

TEST(canon_refuses_bad_json)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{a:1}", "[1,]", "[1 2]", "{\"a\":1,}", "01", "1.", ".5", "-",
        "1e", "+1", "tru", "nulll", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\x01\"", "\"abc", "[1]]", "[1}",
        "{\"a\":1]", "1 2", "\"\\", "{\"a\"  :  1  \"b\":2}", "{'a':1}", "[\"\\u00e9\"", "nan", "[,1]",
    };
    buf b = BUF_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&b);
        ASSERT_EQ_INT(buf_puts(&b, "keep"), BS_OK);
        if (db_jdoc_canon(&b, bad[i], strlen(bad[i]), NULL) != BS_EJSON)
            TEST_FAIL_("accepted %s", bad[i]);
        ASSERT_EQ_STR(buf_cstr(&b), "keep"); /* rolled back */
    }
    /* NUL inside the text is not JSON */
    ASSERT_EQ_INT(db_jdoc_canon(&b, "\"a\0b\"", 5, NULL), BS_EJSON);
    buf_free(&b);
}

TEST(canon_depth_limit)
{
    buf deep = BUF_INIT, out = BUF_INIT;
    for (int i = 0; i < DB_JDOC_MAX_DEPTH; i++)
        ASSERT_EQ_INT(buf_putc(&deep, '['), BS_OK);
    for (int i = 0; i < DB_JDOC_MAX_DEPTH; i++)
        ASSERT_EQ_INT(buf_putc(&deep, ']'), BS_OK);
    ASSERT_EQ_INT(db_jdoc_canon(&out, deep.data, deep.len, NULL), BS_OK);
    buf_reset(&deep);
    for (int i = 0; i <= DB_JDOC_MAX_DEPTH; i++)
        ASSERT_EQ_INT(buf_putc(&deep, '['), BS_OK);
    for (int i = 0; i <= DB_JDOC_MAX_DEPTH; i++)
        ASSERT_EQ_INT(buf_putc(&deep, ']'), BS_OK);
    ASSERT_EQ_INT(db_jdoc_canon(&out, deep.data, deep.len, NULL), BS_EJSON);
    buf_free(&deep);
    buf_free(&out);
}

TEST(canon_reports_duplicates_and_respellings)
{
    buf b = BUF_INIT;
    db_jdoc_info info;
    ASSERT_EQ_STR(canon(&b, "{\"a\":1,\"a\":2}", &info), "{\"a\":1,\"a\":2}");
    ASSERT_EQ_INT(info.dup_keys, 1);
    ASSERT_EQ_INT(info.ndup_names, 1);
    ASSERT_EQ_STR(info.dup_names[0], "a");
    ASSERT_EQ_INT(info.respelled_keys, 0);

    /* the old bug's shape: one key spelled two ways */
    ASSERT_EQ_STR(canon(&b, "{\"caf\\u00e9\":null,\"caf\xc3\xa9\":2}", &info),
                  "{\"caf\xc3\xa9\":null,\"caf\xc3\xa9\":2}");
    ASSERT_EQ_INT(info.dup_keys, 1);
    ASSERT_EQ_INT(info.respelled_keys, 1);
    ASSERT_EQ_STR(info.respelled_names[0], "caf\xc3\xa9");

    /* same key in different objects is not a duplicate; nested ones are */
    ASSERT_EQ_STR(canon(&b, "{\"a\":{\"a\":1},\"b\":[{\"x\":1,\"x\":1},{\"x\":2}]}", &info),
                  "{\"a\":{\"a\":1},\"b\":[{\"x\":1,\"x\":1},{\"x\":2}]}");
    ASSERT_EQ_INT(info.dup_keys, 1);
    ASSERT_EQ_STR(info.dup_names[0], "x");

    /* a big object goes through the hashed check */
    buf big = BUF_INIT;
    ASSERT_EQ_INT(buf_putc(&big, '{'), BS_OK);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ_INT(buf_printf(&big, "%s\"k%d\":%d", i ? "," : "", i % 90, i), BS_OK);
    ASSERT_EQ_INT(buf_putc(&big, '}'), BS_OK);
    ASSERT_EQ_INT(db_jdoc_canon(&b, big.data, big.len, &info), BS_OK);
    ASSERT_EQ_INT(info.dup_keys, 10);
    ASSERT_EQ_INT(info.ndup_names, DB_JDOC_NAMES);
    buf_free(&big);
    buf_free(&b);
}

TEST(key_spelling_and_path_step)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(db_jdoc_key(&b, "caf\xc3\xa9", 5), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "caf\xc3\xa9");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_key(&b, "a\"b.c[d\\e\x01", 10), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "a\\\"b\\u002ec\\u005bd\\\\e\\u0001");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_key(&b, "a\0b", 3), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "a\\u0000b");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_key(&b, "\xed\xa0\x80", 3), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "\\ud800");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_path_step(&b, "a.b", 3), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), ".\"a.b\"");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_path_step(&b, "a\"b.c", 5), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), ".a\\\"b\\u002ec");
    buf_reset(&b);
    ASSERT_EQ_INT(db_jdoc_path_step(&b, "", 0), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), ".\"\"");
    buf_free(&b);
}

/* Every key class, as JSON text (how a client may spell it) and decoded. */
static const struct {
    const char *json; /* the key as a client sends it, quotes included */
    const char *dec;
    size_t dec_len;
} KEYS[] = {
    {"\"caf\\u00e9\"", "caf\xc3\xa9", 5},
    {"\"caf\xc3\xa9\"", "caf\xc3\xa9", 5},
    {"\"a\\\\b\"", "a\\b", 3},
    {"\"a\\\"b\"", "a\"b", 3},
    {"\"a\\\"b.c[1]\"", "a\"b.c[1]", 8},
    {"\"a\\/b\"", "a/b", 3},
    {"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5},
    {"\"\\u0001\\u001f\"", "\x01\x1f", 2},
    {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
    {"\"a.b\"", "a.b", 3},
    {"\"a[0]\"", "a[0]", 4},
    {"\"$\"", "$", 1},
    {"\"$.x\"", "$.x", 3},
    {"\"*\"", "*", 1},
    {"\"a b\"", "a b", 3},
    {"\"\"", "", 0},
    {"\"it's\"", "it's", 4},
    {"\"\\\\\"", "\\", 1},
    {"\"\\\"\"", "\"", 1},
    {"\"\\\\u00e9\"", "\\u00e9", 6},
    {"\"plain\"", "plain", 5},
};

static int64_t sql_int(sqlite3 *db, const char *sql, const char *a, size_t an, const char *b, size_t bn)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -2;
    sqlite3_bind_text(st, 1, a, (int)an, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, (int)bn, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

TEST(sqlite_round_trip_every_key_class)
{
    sqlite3 *db;
    ASSERT_EQ_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    buf doc = BUF_INIT, raw = BUF_INIT, path = BUF_INIT;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        buf_reset(&raw);
        buf_reset(&doc);
        buf_reset(&path);
        /* a sibling whose key could be confused with it */
        ASSERT_EQ_INT(buf_printf(&raw, "{\"other\":0,%s:7}", KEYS[i].json), BS_OK);
        ASSERT_EQ_INT(db_jdoc_canon(&doc, raw.data, raw.len, NULL), BS_OK);
        ASSERT_EQ_INT(buf_putc(&path, '$'), BS_OK);
        ASSERT_EQ_INT(db_jdoc_path_step(&path, KEYS[i].dec, KEYS[i].dec_len), BS_OK);
        int64_t got = sql_int(db, "SELECT json_extract(?1, ?2)", doc.data, doc.len, path.data, path.len);
        if (got != 7)
            TEST_FAIL_("key %s: json_extract(%s, %s) = %lld", KEYS[i].json, doc.data, path.data, (long long)got);
        got = sql_int(db, "SELECT ?1 -> ?2", doc.data, doc.len, path.data, path.len);
        if (got != 7)
            TEST_FAIL_("key %s: -> gave %lld", KEYS[i].json, (long long)got);
        /* json_set through the same path replaces, never appends */
        got = sql_int(db, "SELECT count(*) FROM json_each(json_set(?1, ?2, 8))", doc.data, doc.len, path.data,
                      path.len);
        if (got != 2)
            TEST_FAIL_("key %s: json_set appended (%lld keys)", KEYS[i].json, (long long)got);
        /* SQLite decodes the stored key to the same bytes */
        sqlite3_stmt *st;
        ASSERT_EQ_INT(sqlite3_prepare_v2(db, "SELECT key FROM json_each(?1) WHERE key <> 'other'", -1, &st, NULL),
                      SQLITE_OK);
        sqlite3_bind_text(st, 1, doc.data, (int)doc.len, SQLITE_STATIC);
        ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
        int kn = sqlite3_column_bytes(st, 0);
        const void *k = sqlite3_column_text(st, 0);
        if ((size_t)kn != KEYS[i].dec_len || memcmp(k, KEYS[i].dec, (size_t)kn) != 0)
            TEST_FAIL_("key %s: json_each decoded %.*s", KEYS[i].json, kn, (const char *)k);
        sqlite3_finalize(st);
    }
    buf_free(&doc);
    buf_free(&raw);
    buf_free(&path);
    sqlite3_close(db);
}

TEST(members_and_elements)
{
    arena a = ARENA_INIT;
    db_jmember *m;
    size_t n;
    const char *s = " { \"a\" : 1 , \"b\":{\"c\":[1,2]},\"a\":\"x\" } ";
    ASSERT_EQ_INT(db_jdoc_members(&a, s, strlen(s), &m, &n), BS_OK);
    ASSERT_EQ_INT(n, 3);
    ASSERT(m[0].key.n == 1 && m[0].key.p[0] == 'a' && m[0].val.n == 1 && m[0].val.p[0] == '1');
    ASSERT(m[1].val.n == 11 && memcmp(m[1].val.p, "{\"c\":[1,2]}", 11) == 0);
    ASSERT(m[2].val.n == 3 && memcmp(m[2].val.p, "\"x\"", 3) == 0);
    ASSERT_EQ_INT(db_jdoc_members(&a, "{}", 2, &m, &n), BS_OK);
    ASSERT_EQ_INT(n, 0);
    static const char *const bad[] = {"[]", "{", "{\"a\":1", "{\"a\":1}x", "{\"a\" 1}", "{1:1}", "", "{\"a\":[}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (db_jdoc_members(&a, bad[i], strlen(bad[i]), &m, &n) != BS_EJSON)
            TEST_FAIL_("members accepted %s", bad[i]);
    db_jspan *e;
    s = "[{\"a\":1}, 2 ,\"x\",[]]";
    ASSERT_EQ_INT(db_jdoc_elements(&a, s, strlen(s), &e, &n), BS_OK);
    ASSERT_EQ_INT(n, 4);
    ASSERT(e[0].n == 7 && e[1].n == 1 && e[2].n == 3 && e[3].n == 2);
    ASSERT_EQ_INT(db_jdoc_elements(&a, "{}", 2, &e, &n), BS_EJSON);
    arena_free(&a);
}

#define M(k, v) {{k, sizeof k - 1}, {v, sizeof v - 1}}

TEST(merge)
{
    arena a = ARENA_INIT;
    buf out = BUF_INIT;
    const db_jmember base[] = {M("a", "1"), M("b", "2"), M("c", "3")};
    const db_jmember set[] = {M("b", "\"B\""), M("d", "null")};
    size_t dropped = 9;
    ASSERT_EQ_INT(db_jdoc_merge(&a, &out, base, 3, set, 2, &dropped), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&out), "{\"a\":1,\"b\":\"B\",\"c\":3,\"d\":null}");
    ASSERT_EQ_INT(dropped, 0);

    /* duplicates in base: untouched keys keep every copy; a set key keeps one */
    const db_jmember dup[] = {M("x", "1"), M("y", "1"), M("x", "2"), M("y", "2")};
    const db_jmember setx[] = {M("x", "9")};
    buf_reset(&out);
    ASSERT_EQ_INT(db_jdoc_merge(&a, &out, dup, 4, setx, 1, &dropped), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&out), "{\"x\":9,\"y\":1,\"y\":2}");
    ASSERT_EQ_INT(dropped, 1);

    /* empty sides; a key repeated in set is written once */
    buf_reset(&out);
    ASSERT_EQ_INT(db_jdoc_merge(&a, &out, NULL, 0, NULL, 0, NULL), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&out), "{}");
    const db_jmember twice[] = {M("k", "1"), M("k", "2")};
    buf_reset(&out);
    ASSERT_EQ_INT(db_jdoc_merge(&a, &out, NULL, 0, twice, 2, NULL), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&out), "{\"k\":1}");

    /* many keys: the index is hashed */
    db_jmember many[300];
    char names[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        many[i] = (db_jmember){{names[i], strlen(names[i])}, {"0", 1}};
    }
    db_jindex ix;
    ASSERT_EQ_INT(db_jdoc_index(&a, many, 300, &ix), BS_OK);
    for (int i = 0; i < 300; i++)
        ASSERT(db_jdoc_find(&ix, names[i], strlen(names[i])) == &many[i]);
    ASSERT(db_jdoc_find(&ix, "k300", 4) == NULL);
    buf_free(&out);
    arena_free(&a);
}

TEST_MAIN(T(canon_keys_every_escape_class), T(canon_refuses_bad_json), T(canon_depth_limit),
          T(canon_reports_duplicates_and_respellings), T(key_spelling_and_path_step),
          T(sqlite_round_trip_every_key_class), T(members_and_elements), T(merge))
