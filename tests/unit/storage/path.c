/* Unit tests for storage/st_path.c: keys, bucket names, sizes, MIME. */
#include "../test.h"
#include "core/arena.h"
#include "core/error.h"
#include "storage/st_path.h"

#define KEY_OK(s) ASSERT(st_key_valid((s), strlen(s)))
#define KEY_BAD(s) ASSERT(!st_key_valid((s), strlen(s)))

TEST(key_valid)
{
    KEY_OK("a.txt");
    KEY_OK("dir/sub/a b.txt");
    KEY_OK("..a/b..");
    KEY_OK(".hidden/.x");
    KEY_OK("a/.../b");
    KEY_OK("ünïcødé/文件.png");
    KEY_BAD("");
    KEY_BAD("/abs");
    KEY_BAD("a//b");
    KEY_BAD("a/");
    KEY_BAD(".");
    KEY_BAD("..");
    KEY_BAD("../etc/passwd");
    KEY_BAD("a/../b");
    KEY_BAD("a/./b");
    KEY_BAD("a/..");
    KEY_BAD("a\x01" "b");
    KEY_BAD("tab\there");
    KEY_BAD("new\nline");
    KEY_BAD("del\x7f");
    KEY_BAD("bad\xff utf8");
    KEY_BAD("\xc0\xaf");           /* overlong '/' */
    KEY_BAD("\xed\xa0\x80");       /* surrogate */
    ASSERT(!st_key_valid("a\0b", 3)); /* NUL */
    char big[ST_KEY_MAX + 2];
    memset(big, 'x', sizeof big);
    ASSERT(st_key_valid(big, ST_KEY_MAX));
    ASSERT(!st_key_valid(big, ST_KEY_MAX + 1));
}

TEST(key_decode)
{
    arena a = ARENA_INIT;
    char *k = NULL;
    ASSERT_EQ_INT(st_key_decode(&a, "a%20b/c.txt", 11, &k), BS_OK);
    ASSERT_EQ_STR(k, "a b/c.txt");
    ASSERT_EQ_INT(st_key_decode(&a, "a+b", 3, &k), BS_OK);
    ASSERT_EQ_STR(k, "a+b");
    ASSERT_EQ_INT(st_key_decode(&a, "%C3%A9", 6, &k), BS_OK);
    ASSERT_EQ_STR(k, "\xc3\xa9");
    /* a '%' without two hex digits is a literal '%' (storage-js sends
     * "50% off.txt" unencoded, so the wire has "50%%20off.txt") */
    ASSERT_EQ_INT(st_key_decode(&a, "50%%20off.txt", 13, &k), BS_OK);
    ASSERT_EQ_STR(k, "50% off.txt");
    ASSERT_EQ_INT(st_key_decode(&a, "a%zz", 4, &k), BS_OK);
    ASSERT_EQ_STR(k, "a%zz");
    ASSERT_EQ_INT(st_key_decode(&a, "a%4", 3, &k), BS_OK);
    ASSERT_EQ_STR(k, "a%4");
    ASSERT_EQ_INT(st_key_decode(&a, "a%2520b", 7, &k), BS_OK);
    ASSERT_EQ_STR(k, "a%20b");
    const char *bad[] = {"%2e%2e/x", "%2E%2E%2Fetc", "a/%2e/b", "a%00b", "%00", "a%0ab", "%2Fabs", "a%2F%2Fb",
                         "a%FFb", "a%1Fb", "..", "a/../b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = st_key_decode(&a, bad[i], strlen(bad[i]), &k);
        if (rc != BS_EINVAL)
            TEST_FAIL_("%s decoded to %s", bad[i], k ? k : "(null)");
        ASSERT(k == NULL);
    }
    arena_free(&a);
}

TEST(bucket_names)
{
    ASSERT(st_bucket_name_valid("avatars", 7));
    ASSERT(st_bucket_name_valid("my-bucket_1.x", 13));
    ASSERT(!st_bucket_name_valid("", 0));
    ASSERT(!st_bucket_name_valid(".", 1));
    ASSERT(!st_bucket_name_valid("..", 2));
    ASSERT(!st_bucket_name_valid("a/b", 3));
    ASSERT(!st_bucket_name_valid("a b", 3));
    ASSERT(!st_bucket_name_valid("public", 6));
    ASSERT(!st_bucket_name_valid("sign", 4));
    ASSERT(!st_bucket_name_valid("list", 4));
    ASSERT(st_bucket_name_valid("publicx", 7));
}

TEST(size_parse)
{
    int64_t n = 0;
    ASSERT_EQ_INT(st_size_parse("10MB", &n), BS_OK);
    ASSERT_EQ_INT(n, 10000000);
    ASSERT_EQ_INT(st_size_parse("1.5GB", &n), BS_OK);
    ASSERT_EQ_INT(n, 1500000000);
    ASSERT_EQ_INT(st_size_parse("30kb", &n), BS_OK);
    ASSERT_EQ_INT(n, 30000);
    ASSERT_EQ_INT(st_size_parse("3B", &n), BS_OK);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(st_size_parse("1024", &n), BS_OK);
    ASSERT_EQ_INT(n, 1024);
    ASSERT_EQ_INT(st_size_parse("0.5KB", &n), BS_OK);
    ASSERT_EQ_INT(n, 500);
    const char *bad[] = {"", "MB", "10 MB", "10TB", "-1MB", "1.MB", ".5MB", "10MBx", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (st_size_parse(bad[i], &n) != BS_EINVAL)
            TEST_FAIL_("%s parsed", bad[i]);
}

TEST(mime_match)
{
    ASSERT(st_mime_match("image/*", "image/png"));
    ASSERT(st_mime_match("image/*", "IMAGE/JPEG; q=1"));
    ASSERT(!st_mime_match("image/*", "image/"));
    ASSERT(!st_mime_match("image/*", "imagex/png"));
    ASSERT(!st_mime_match("image/*", "text/plain"));
    ASSERT(st_mime_match("text/plain", "text/plain;charset=UTF-8"));
    ASSERT(!st_mime_match("text/plain", "text/plainx"));
    ASSERT(st_mime_match("*", "application/pdf"));
    ASSERT(st_mime_match("*/*", "application/pdf"));
    ASSERT(st_mime_valid("text/plain;charset=UTF-8"));
    ASSERT(st_mime_valid("application/vnd.api+json"));
    ASSERT(!st_mime_valid("text"));
    ASSERT(!st_mime_valid("text/"));
    ASSERT(!st_mime_valid("/plain"));
    ASSERT(!st_mime_valid("text/pl ain"));
    ASSERT(!st_mime_valid("text/plain\r\nX: y"));
}

TEST(mime_active)
{
    const char *active[] = {"text/html", "TEXT/HTML; charset=utf-8", "text/html ;x=1", "image/svg+xml",
                            "application/xhtml+xml", "text/xml", "application/xml", "application/rss+xml",
                            "application/vnd.mozilla.xul+xml", "text/xsl", "multipart/x-mixed-replace; boundary=x",
                            /* not one valid type: browsers could read it as anything */
                            "text/plain, text/html", "text/plain; a=b, text/html", "", "html", "text/", "t\x01/x"};
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++) {
        if (!st_mime_active(active[i]))
            fprintf(stderr, "should be active: '%s'\n", active[i]);
        ASSERT(st_mime_active(active[i]));
    }
    ASSERT(st_mime_active(NULL));
    const char *passive[] = {"text/plain", "text/plain; charset=utf-8", "image/png", "image/jpeg", "application/json",
                             "application/pdf", "application/octet-stream", "video/mp4", "text/css",
                             "application/javascript", "text/csv", "application/xml-dtd", "image/svg"};
    for (size_t i = 0; i < sizeof passive / sizeof passive[0]; i++) {
        if (st_mime_active(passive[i]))
            fprintf(stderr, "should be passive: '%s'\n", passive[i]);
        ASSERT(!st_mime_active(passive[i]));
    }
}

TEST_MAIN(T(key_valid), T(key_decode), T(bucket_names), T(size_parse), T(mime_match), T(mime_active))
