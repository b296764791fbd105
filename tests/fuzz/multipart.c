/* multipart.c - libFuzzer target for storage/st_multipart.c.
 *
 * Input: first byte = chunk size (1..256) for feeding, then a boundary up
 * to the first '\n' (at most 70 bytes), then the body.  The body is fed in
 * chunks of that size and, separately, in one piece: both runs must agree
 * exactly on the events they report and on the outcome, whatever the
 * split (the parser's promise), and nothing may crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "storage/st_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rec {
    buf log;
} rec;

static int on_part(void *u, const st_mp_part *p)
{
    rec *r = u;
    return buf_printf(&r->log, "\nP:%s|%s|%s\n", p->name, p->filename ? p->filename : "-",
                      p->content_type ? p->content_type : "-");
}

static int on_data(void *u, const char *p, size_t n)
{
    rec *r = u;
    return buf_append(&r->log, p, n);
}

static int on_end(void *u)
{
    rec *r = u;
    return buf_puts(&r->log, "\nE\n");
}

static int run(const char *boundary, const char *body, size_t n, size_t chunk, buf *log, bool *done)
{
    static const st_mp_callbacks cb = {on_part, on_data, on_end};
    rec r = {BUF_INIT};
    st_mp *m = NULL;
    int rc = st_mp_new(boundary, &cb, &r, &m);
    if (rc) {
        *log = r.log;
        *done = false;
        return rc;
    }
    for (size_t i = 0; i < n && rc == BS_OK; i += chunk)
        rc = st_mp_feed(m, body + i, n - i < chunk ? n - i : chunk);
    *done = st_mp_done(m);
    st_mp_free(m);
    *log = r.log;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data[0] % 256 + 1;
    const char *p = (const char *)data + 1;
    size_t rest = size - 1;
    const char *nl = memchr(p, '\n', rest < 71 ? rest : 71);
    if (!nl)
        return 0;
    char boundary[72];
    size_t bl = (size_t)(nl - p);
    memcpy(boundary, p, bl);
    boundary[bl] = '\0';
    const char *body = nl + 1;
    size_t n = rest - bl - 1;
    if (strlen(boundary) != bl)
        return 0; /* NUL inside */
    buf a = BUF_INIT, b = BUF_INIT;
    bool da, db;
    int ra = run(boundary, body, n, chunk, &a, &da);
    int rb = run(boundary, body, n, n ? n : 1, &b, &db);
    /* an error stops at the first bad byte, so only compare complete runs */
    if ((ra == BS_OK) != (rb == BS_OK))
        abort();
    if (ra == BS_OK && (da != db || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)))
        abort();
    buf_free(&a);
    buf_free(&b);
    return 0;
}
