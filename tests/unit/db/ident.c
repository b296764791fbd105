/* Tests for server/db/ident.c: the grammar of names and paths, and that
 * nothing but validated text is ever emitted. */
#include "../test.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "db/ident.h"

static const char LONG63[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk";
static const char LONG64[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl";

TEST(collection_names)
{
    ASSERT_EQ_INT(strlen(LONG63), 63);
    ASSERT(db_ident_collection_ok("todos"));
    ASSERT(db_ident_collection_ok("T"));
    ASSERT(db_ident_collection_ok("user_profiles2"));
    ASSERT(db_ident_collection_ok(LONG63));
    ASSERT(db_ident_collection_ok("sqlitex"));
    ASSERT(db_ident_collection_ok("sqlite"));

    static const char *const bad[] = {
        "", "1todos", "_basalt_x", "_basalt_migrations", "_x", "sqlite_master",
        "SQLITE_MASTER", "Sqlite_x", "sqlite_", "to-dos", "to dos", "todos;", "todos;DROP TABLE x",
        "to\"dos", "to'dos", "todos--", "t/*", "t.x", "t\n", "caf\xc3\xa9", "\xef\xbc\xa1",
        "t\x01", "t$", "t`", "[t]", LONG64,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (db_ident_collection_ok(bad[i]))
            TEST_FAIL_("accepted collection name \"%s\"", bad[i]);
    }
    ASSERT(!db_ident_collection_ok(NULL));
}

TEST(field_names)
{
    ASSERT(db_ident_field_ok("a", 1));
    ASSERT(db_ident_field_ok("_x", 2));
    ASSERT(db_ident_field_ok("owner_id", 8));
    ASSERT(db_ident_field_ok("sqlite_master", 13)); /* only a JSON key */
    ASSERT(db_ident_field_ok(LONG63, 63));
    ASSERT(!db_ident_field_ok(LONG64, 64));
    ASSERT(!db_ident_field_ok("", 0));
    ASSERT(!db_ident_field_ok(NULL, 3));
    ASSERT(!db_ident_field_ok("abc", 0));
    /* n is honoured: the NUL and what follows are not part of the name */
    ASSERT(db_ident_field_ok("ab'c", 2));
    ASSERT(!db_ident_field_ok("ab\0c", 4));

    static const char *const bad[] = {
        "1a", "0x1", "a-b", "a b", "a'b", "a\"b", "a]", "a[0]", "a.b", "a;", "a--", "$a",
        "caf\xc3\xa9", "a\\", "a)", "a,b", "a:b", "a*", "a\t",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (db_ident_field_ok(bad[i], strlen(bad[i])))
            TEST_FAIL_("accepted field name \"%s\"", bad[i]);
    }
}

TEST(quote_collection)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(db_ident_quote(&b, "todos"), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "\"todos\"");
    ASSERT_EQ_INT(db_ident_quote(&b, "to\"dos"), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_quote(&b, "sqlite_master"), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_quote(&b, "_basalt_users"), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_quote(&b, ""), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_quote(&b, NULL), BS_EINVAL);
    ASSERT_EQ_STR(buf_cstr(&b), "\"todos\"");
    buf_free(&b);
}

TEST(field_literal)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(db_ident_field_literal(&b, "title"), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "'title'");
    ASSERT_EQ_INT(db_ident_field_literal(&b, "ti'tle"), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_field_literal(&b, ""), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_field_literal(&b, NULL), BS_EINVAL);
    ASSERT_EQ_INT(db_ident_field_literal(&b, LONG64), BS_EINVAL);
    ASSERT_EQ_STR(buf_cstr(&b), "'title'");
    buf_free(&b);
}

/* Parse s and render value/json/literal forms separated by " | ". */
static int render(arena *a, const char *s, buf *out)
{
    db_path p;
    int rc = db_path_parse(a, s, strlen(s), &p);
    if (rc != BS_OK)
        return rc;
    db_path_value_expr(out, &p);
    buf_puts(out, " | ");
    db_path_json_expr(out, &p);
    buf_puts(out, " | ");
    db_path_literal(out, &p);
    return BS_OK;
}

TEST(path_parse_and_emit)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"owner_id", "json_extract(data, '$.owner_id') | data -> '$.owner_id' | '$.owner_id'"},
        {"id", "id | data -> '$.id' | '$.id'"},
        {"created_at", "created_at | data -> '$.created_at' | '$.created_at'"},
        {"updated_at", "updated_at | data -> '$.updated_at' | '$.updated_at'"},
        {"version", "json_extract(data, '$.version') | data -> '$.version' | '$.version'"},
        {"id->x", "json_extract(data, '$.id.x') | data -> '$.id.x' | '$.id.x'"},
        {"a->b->>c", "json_extract(data, '$.a.b.c') | data ->> '$.a.b.c' | '$.a.b.c'"},
        {"a->0->b", "json_extract(data, '$.a[0].b') | data -> '$.a[0].b' | '$.a[0].b'"},
        {"a->>3", "json_extract(data, '$.a[3]') | data ->> '$.a[3]' | '$.a[3]'"},
        {"a->007", "json_extract(data, '$.a[7]') | data -> '$.a[7]' | '$.a[7]'"},
        {"a->999999999", "json_extract(data, '$.a[999999999]') | data -> '$.a[999999999]' | "
                         "'$.a[999999999]'"},
        {"_->_1", "json_extract(data, '$._._1') | data -> '$._._1' | '$._._1'"},
    };
    arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b = BUF_INIT;
        ASSERT_EQ_INT(render(&a, cases[i].in, &b), BS_OK);
        ASSERT_EQ_STR(buf_cstr(&b), cases[i].want);
        buf_free(&b);
    }
    db_path p;
    ASSERT_EQ_INT(db_path_parse(&a, "a->b->>c", 8, &p), BS_OK);
    ASSERT_EQ_INT(p.n, 3);
    ASSERT(p.text_last);
    ASSERT(!p.is_index[1]);
    ASSERT_EQ_STR(p.segs[2], "c");
    /* n bounds the input */
    ASSERT_EQ_INT(db_path_parse(&a, "ab->c", 2, &p), BS_OK);
    ASSERT_EQ_INT(p.n, 1);
    ASSERT_EQ_STR(p.segs[0], "ab");
    /* 16 segments is the maximum */
    const char *s16 = "a->b->c->d->e->f->g->h->i->j->k->l->m->n->o->p";
    ASSERT_EQ_INT(db_path_parse(&a, s16, strlen(s16), &p), BS_OK);
    ASSERT_EQ_INT(p.n, 16);
    arena_free(&a);
}

TEST(path_rejects)
{
    static const char *const bad[] = {
        "", "->a", "a->", "a->>", "a-->b", "a->->b", "a->>b->c", "a->>b->>c", "a>b", "a-b",
        "a->b'c", "a'->b", "a]->b", "a->b]", "a->[0]", "0", "0->a", "a->0x1", "a->1234567890",
        "a->-1", "a.b", "a ->b", "a-> b", "a->b ", " a", "a\n", "a->caf\xc3\xa9", "a->b;--",
        "a->$", "a->*", "a->'b'", "a->\"b", "a->\"b\"x", "\"a\"b", "a->b)", "a,b", "a::text", "\"a\\",
        "a->b->c->d->e->f->g->h->i->j->k->l->m->n->o->p->q", /* 17 segments */
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl->b",
        "a->abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
        "a->99999999999999999999999999",
    };
    arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        db_path p;
        if (db_path_parse(&a, bad[i], strlen(bad[i]), &p) != BS_EPARSE)
            TEST_FAIL_("accepted path \"%s\"", bad[i]);
    }
    db_path p;
    ASSERT_EQ_INT(db_path_parse(&a, "a\0b", 3, &p), BS_EPARSE);
    ASSERT_EQ_INT(db_path_parse(&a, NULL, 0, &p), BS_EPARSE);
    arena_free(&a);
}

/* A path assembled by hand is re-checked before anything is written. */
TEST(emit_revalidates)
{
    static const struct {
        const char *segs[3];
        bool idx[3];
        size_t n;
        bool text_last;
    } bad[] = {
        {{"a'b"}, {false}, 1, false},
        {{"a", "x') OR 1 --"}, {false, false}, 2, false},
        {{"a", "1]"}, {false, true}, 2, false},
        {{"a", "b"}, {false, true}, 2, false},           /* index that is not digits */
        {{"1"}, {true}, 1, false},                      /* first segment as index */
        {{"a", "1234567890"}, {false, true}, 2, false}, /* index too long */
        {{NULL}, {false}, 1, false},
        {{"a"}, {false}, 0, false},
        {{"a"}, {false}, 1, true}, /* ->> needs a step */
        {{"caf\xc3\xa9"}, {false}, 1, false},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        db_path p;
        memset(&p, 0, sizeof p);
        for (size_t k = 0; k < 3; k++) {
            p.segs[k] = bad[i].segs[k];
            p.is_index[k] = bad[i].idx[k];
        }
        p.n = bad[i].n;
        p.text_last = bad[i].text_last;
        buf b = BUF_INIT;
        ASSERT_EQ_INT(buf_puts(&b, "X"), BS_OK);
        ASSERT_EQ_INT(db_path_value_expr(&b, &p), BS_EINVAL);
        ASSERT_EQ_INT(db_path_json_expr(&b, &p), BS_EINVAL);
        ASSERT_EQ_INT(db_path_literal(&b, &p), BS_EINVAL);
        ASSERT_EQ_STR(buf_cstr(&b), "X");
        buf_free(&b);
    }
    db_path big;
    memset(&big, 0, sizeof big);
    big.n = DB_PATH_MAX_SEGS + 1;
    buf b = BUF_INIT;
    ASSERT_EQ_INT(db_path_literal(&b, &big), BS_EINVAL);
    ASSERT_EQ_INT(db_path_literal(&b, NULL), BS_EINVAL);
    ASSERT_EQ_STR(buf_cstr(&b), "");
    buf_free(&b);
}

/* Quoted keys: decoded, never written as SQL text, and their bound path
 * is the store's key spelling (jsondoc.h). */
TEST(quoted_keys)
{
    static const struct {
        const char *in;
        const char *text; /* db_path_text */
        bool plain;
    } cases[] = {
        {"\"a.b\"", "$.\"a.b\"", false},
        {"\"a b\"->0->>\"c[1]\"", "$.\"a b\"[0].\"c[1]\"", false},
        {"\"\"", "$.\"\"", false},
        {"\"say \\\"hi\\\".\"", "$.say \\\"hi\\\"\\u002e", false},
        {"\"a\\\\b\"", "$.\"a\\\\b\"", false},
        {"\"caf\xc3\xa9\"", "$.\"caf\xc3\xa9\"", false},
        {"\"it's\"", "$.\"it's\"", false},
        {"\"0\"", "$.\"0\"", false},
        {"a->\"0\"", "$.\"a\".\"0\"", false},
        {"\"owner_id\"", "$.\"owner_id\"", true},
        {"\"id\"->x", "$.\"id\".\"x\"", true},
    };
    arena a = ARENA_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        db_path p;
        if (db_path_parse(&a, cases[i].in, strlen(cases[i].in), &p) != BS_OK) {
            TEST_FAIL_("refused %s", cases[i].in);
        }
        buf t = BUF_INIT, sql = BUF_INIT;
        ASSERT_EQ_INT(db_path_text(&t, &p), BS_OK);
        ASSERT_EQ_STR(buf_cstr(&t), cases[i].text);
        ASSERT_EQ_INT(db_path_is_plain(&p), cases[i].plain);
        /* only plain paths become SQL text */
        ASSERT_EQ_INT(db_path_value_expr(&sql, &p), cases[i].plain ? BS_OK : BS_EINVAL);
        ASSERT_EQ_INT(db_path_json_expr(&sql, &p), cases[i].plain ? BS_OK : BS_EINVAL);
        ASSERT_EQ_INT(db_path_literal(&sql, &p), cases[i].plain ? BS_OK : BS_EINVAL);
        if (!cases[i].plain)
            ASSERT_EQ_STR(buf_cstr(&sql), "");
        buf_free(&t);
        buf_free(&sql);
    }
    db_path p;
    ASSERT_EQ_INT(db_path_parse(&a, "\"a\\\"b\"", 6, &p), BS_OK);
    ASSERT_EQ_STR(p.segs[0], "a\"b");
    ASSERT_EQ_INT(db_path_parse(&a, "\"a\0b\"", 5, &p), BS_EPARSE);
    arena_free(&a);
}

TEST_MAIN(T(collection_names), T(field_names), T(quote_collection), T(field_literal),
          T(path_parse_and_emit), T(path_rejects), T(emit_revalidates), T(quoted_keys))
