#include "../test.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"

TEST(buf_append_printf)
{
    buf b = BUF_INIT;
    ASSERT_EQ_STR(buf_cstr(&b), "");
    ASSERT_EQ_INT(buf_puts(&b, "ab"), BS_OK);
    ASSERT_EQ_INT(buf_printf(&b, "%d-%s", 42, "x"), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "ab42-x");
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ_INT(buf_putc(&b, 'z'), BS_OK);
    ASSERT_EQ_INT(b.len, 1006);
    buf_free(&b);
    buf_free(&b);
}

TEST(buf_json_escapes)
{
    buf b = BUF_INIT;
    ASSERT_EQ_INT(buf_json_str(&b, "a\"b\\c\n\x01", 7), BS_OK);
    ASSERT_EQ_STR(buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
    buf_free(&b);
}

TEST(arena_many)
{
    arena a = ARENA_INIT;
    for (int i = 0; i < 10000; i++) {
        char *p = arena_strdup(&a, "hello");
        ASSERT(p && strcmp(p, "hello") == 0);
        ASSERT(((uintptr_t)p & 15) == 0);
    }
    void *big = arena_alloc(&a, 100000);
    ASSERT(big);
    char *after = arena_strdup(&a, "x");
    ASSERT_EQ_STR(after, "x");
    arena_free(&a);
    arena_free(&a);
}

TEST(error_names)
{
    ASSERT_EQ_STR(basalt_errname(BS_ENOMEM), "BS_ENOMEM");
    ASSERT_EQ_STR(basalt_strerror(BS_ENOTFOUND), "not found");
    ASSERT_EQ_STR(basalt_strerror(12345), "unknown error");
}

TEST_MAIN(T(buf_append_printf), T(buf_json_escapes), T(arena_many), T(error_names))
