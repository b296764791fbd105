/* Unit tests for storage/st_multipart.c: parts, headers, and delimiters
 * split across reads at every position. */
#include "../test.h"
#include "core/buf.h"
#include "core/error.h"
#include "storage/st_multipart.h"

typedef struct rec {
    buf log;    /* "P(name|filename|type)" "D<bytes>" "E" events, data merged */
    int parts;
} rec;

static int on_part(void *u, const st_mp_part *p)
{
    rec *r = u;
    r->parts++;
    return buf_printf(&r->log, "P(%s|%s|%s)", p->name, p->filename ? p->filename : "-",
                      p->content_type ? p->content_type : "-");
}

static int on_data(void *u, const char *p, size_t n)
{
    rec *r = u;
    /* merge adjacent data events so that split points do not show */
    if (!(r->log.len && r->log.data[r->log.len - 1] != ')' && r->log.data[r->log.len - 1] != 'E' &&
          strrchr(r->log.data, 'D') > strrchr(r->log.data, ')')))
        buf_putc(&r->log, 'D');
    return buf_append(&r->log, p, n);
}

static int on_end(void *u)
{
    rec *r = u;
    return buf_putc(&r->log, 'E');
}

static const st_mp_callbacks cbs = {on_part, on_data, on_end};

#define BOUNDARY "----formdata-undici-0123456789"

static const char body[] =
    "preamble to ignore\r\n"
    "--" BOUNDARY "\r\n"
    "Content-Disposition: form-data; name=\"cacheControl\"\r\n"
    "\r\n"
    "3600\r\n"
    "--" BOUNDARY "\r\n"
    "Content-Disposition: form-data; name=\"metadata\"\r\n"
    "\r\n"
    "{\"a\":1}\r\n"
    "--" BOUNDARY "\r\n"
    "Content-Disposition: form-data; name=\"\"; filename=\"blob\"\r\n"
    "Content-Type: image/png\r\n"
    "\r\n"
    "\r\n------formdata-undici-01234x not a delimiter \r\r\n-\r\n--\r\n--" "----formdata\r\n"
    "--" BOUNDARY "--\r\n"
    "epilogue";

static const char expect[] =
    "P(cacheControl|-|-)D3600E"
    "P(metadata|-|-)D{\"a\":1}E"
    "P(|blob|image/png)D\r\n------formdata-undici-01234x not a delimiter \r\r\n-\r\n--\r\n--" "----formdataE";

static void run(const char *data, size_t n, size_t split, rec *r, int *rc_out, bool *done)
{
    st_mp *m = NULL;
    memset(r, 0, sizeof *r);
    *rc_out = st_mp_new(BOUNDARY, &cbs, r, &m);
    if (*rc_out)
        return;
    for (size_t i = 0; i < n && *rc_out == BS_OK; i += split) {
        size_t len = n - i < split ? n - i : split;
        *rc_out = st_mp_feed(m, data + i, len);
    }
    *done = st_mp_done(m);
    st_mp_free(m);
}

TEST(every_split)
{
    size_t n = sizeof body - 1;
    for (size_t split = 1; split <= n; split++) {
        rec r;
        int rc;
        bool done = false;
        run(body, n, split, &r, &rc, &done);
        if (rc != BS_OK || !done || strcmp(buf_cstr(&r.log), expect) != 0)
            TEST_FAIL_("split %zu: rc %d done %d\n got:  %s\n want: %s", split, rc, done, buf_cstr(&r.log), expect);
        buf_free(&r.log);
    }
}

TEST(two_chunk_splits)
{
    /* one cut at every position */
    size_t n = sizeof body - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        rec r;
        memset(&r, 0, sizeof r);
        st_mp *m = NULL;
        ASSERT_EQ_INT(st_mp_new(BOUNDARY, &cbs, &r, &m), BS_OK);
        int rc = st_mp_feed(m, body, cut);
        if (!rc)
            rc = st_mp_feed(m, body + cut, n - cut);
        bool done = st_mp_done(m);
        st_mp_free(m);
        if (rc != BS_OK || !done || strcmp(buf_cstr(&r.log), expect) != 0)
            TEST_FAIL_("cut %zu: rc %d\n got:  %s", cut, rc, buf_cstr(&r.log));
        buf_free(&r.log);
    }
}

TEST(no_preamble_and_empty_part)
{
    const char b[] = "--XyZ\r\nContent-Disposition: form-data; name=file; filename=a.txt\r\n\r\n\r\n--XyZ--";
    rec r;
    memset(&r, 0, sizeof r);
    st_mp *m = NULL;
    ASSERT_EQ_INT(st_mp_new("XyZ", &cbs, &r, &m), BS_OK);
    ASSERT_EQ_INT(st_mp_feed(m, b, sizeof b - 1), BS_OK);
    ASSERT(st_mp_done(m));
    ASSERT_EQ_STR(buf_cstr(&r.log), "P(file|a.txt|-)E");
    st_mp_free(m);
    buf_free(&r.log);
}

TEST(quoted_params)
{
    const char b[] = "--B\r\ncontent-disposition: form-data; filename=\"a;b \\\"q\\\".txt\"; name=\"f\"\r\n"
                     "content-type:  text/plain ; charset=utf-8 \r\n\r\nxy\r\n--B--\r\n";
    rec r;
    memset(&r, 0, sizeof r);
    st_mp *m = NULL;
    ASSERT_EQ_INT(st_mp_new("B", &cbs, &r, &m), BS_OK);
    ASSERT_EQ_INT(st_mp_feed(m, b, sizeof b - 1), BS_OK);
    ASSERT(st_mp_done(m));
    ASSERT_EQ_STR(buf_cstr(&r.log), "P(f|a;b \"q\".txt|text/plain ; charset=utf-8)DxyE");
    st_mp_free(m);
    buf_free(&r.log);
}

TEST(malformed)
{
    const char *bad[] = {
        "--B\r\nno colon header\r\n\r\nx\r\n--B--",  /* header without ':' */
        "--B\nContent-Type: a/b\n\nx\r\n--B--",        /* bare LF */
        "--Bxx\r\n",                                     /* junk after the delimiter */
        "--B-x",                                         /* half a close */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rec r;
        memset(&r, 0, sizeof r);
        st_mp *m = NULL;
        ASSERT_EQ_INT(st_mp_new("B", &cbs, &r, &m), BS_OK);
        int rc = st_mp_feed(m, bad[i], strlen(bad[i]));
        if (rc != BS_EPARSE)
            TEST_FAIL_("case %zu: rc %d", i, rc);
        ASSERT_EQ_INT(st_mp_feed(m, "x", 1), BS_EPARSE); /* stays failed */
        st_mp_free(m);
        buf_free(&r.log);
    }
    /* unterminated: not done */
    rec r;
    memset(&r, 0, sizeof r);
    st_mp *m = NULL;
    ASSERT_EQ_INT(st_mp_new("B", &cbs, &r, &m), BS_OK);
    ASSERT_EQ_INT(st_mp_feed(m, "--B\r\n\r\nabc\r\n--", 15), BS_OK);
    ASSERT(!st_mp_done(m));
    st_mp_free(m);
    buf_free(&r.log);
    /* a header block over the limit */
    memset(&r, 0, sizeof r);
    ASSERT_EQ_INT(st_mp_new("B", &cbs, &r, &m), BS_OK);
    ASSERT_EQ_INT(st_mp_feed(m, "--B\r\n", 5), BS_OK);
    char big[1024];
    memset(big, 'a', sizeof big);
    int rc = BS_OK;
    for (int i = 0; i < 20 && rc == BS_OK; i++)
        rc = st_mp_feed(m, big, sizeof big);
    ASSERT_EQ_INT(rc, BS_ETOOBIG);
    st_mp_free(m);
}

TEST(boundary_header)
{
    char b[ST_MP_MAX_BOUNDARY + 1];
    ASSERT_EQ_INT(st_mp_boundary("multipart/form-data; boundary=----abc", b, sizeof b), BS_OK);
    ASSERT_EQ_STR(b, "----abc");
    ASSERT_EQ_INT(st_mp_boundary("Multipart/Form-Data;charset=x; boundary=\"a b;c\"", b, sizeof b), BS_OK);
    ASSERT_EQ_STR(b, "a b;c");
    ASSERT_EQ_INT(st_mp_boundary("multipart/form-data", b, sizeof b), BS_EINVAL);
    ASSERT_EQ_INT(st_mp_boundary("multipart/form-data; boundary=", b, sizeof b), BS_EINVAL);
    ASSERT_EQ_INT(st_mp_boundary("text/plain; boundary=x", b, sizeof b), BS_EINVAL);
    ASSERT_EQ_INT(st_mp_boundary("multipart/form-datax; boundary=x", b, sizeof b), BS_EINVAL);
    st_mp *m = NULL;
    ASSERT_EQ_INT(st_mp_new("a\r\nb", &cbs, NULL, &m), BS_EINVAL);
    ASSERT_EQ_INT(st_mp_new("", &cbs, NULL, &m), BS_EINVAL);
}

TEST_MAIN(T(every_split), T(two_chunk_splits), T(no_preamble_and_empty_part), T(quoted_params), T(malformed),
          T(boundary_header))
