/* libFuzzer target for auth_jwt_verify (auth/jwt.c).
 *
 * Every input is verified twice over:
 *   - as it is: a NUL-terminated copy of the bytes is the token;
 *   - if it holds a '\n': the bytes before it are taken as header JSON and
 *     the bytes after it as payload JSON, and the target builds
 *     base64url(header).base64url(payload).base64url(HMAC) with the fixed
 *     secret, so the fuzzer also reaches the header, claim and libjwt code
 *     behind the signature check, which raw bytes practically never pass.
 * Oracles beyond the sanitizers: a failure returns BS_EAUTH / BS_EEXPIRED
 * (or BS_ENOMEM) with *out NULL; a success returns claims that satisfy the
 * header's contract, no deeper than JSONIN_MAX_DEPTH, and a second verify
 * of the same token succeeds with the same claims.  A signed token whose
 * header or payload jansson reads deeper than JSONIN_MAX_DEPTH must be
 * refused (both are parsed before anything else is trusted), and every
 * verify runs on a small stack (fuzz_json.h).
 *
 * The auth_jwt and its cache live for the whole run (reachable, so not a
 * leak); `now` is fixed so runs are reproducible.
 */
#include "core/jwt.h"
#include "core/error.h"
#include "fuzz_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SECRET "basalt-fuzz-secret-0123456789abcdef0123"
#define NOW ((int64_t)1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static auth_jwt *fuzz_jwt;

static void check(const char *tok, bool must_fail)
{
    auth_claims *c = NULL, *again = NULL;
    int rc = auth_jwt_verify(fuzz_jwt, tok, NOW, &c);

    if (rc != BS_OK) {
        if (c != NULL || (rc != BS_EAUTH && rc != BS_EEXPIRED && rc != BS_ENOMEM))
            abort();
        return;
    }
    if (must_fail)
        abort(); /* a header or payload deeper than the limit was admitted */
    if (!c || !c->role || !c->role[0] || !c->sub || !c->email || !c->session_id ||
        c->exp <= NOW || !json_is_object(c->json) || fuzz_tree_depth(c->json) > JSONIN_MAX_DEPTH)
        abort();
    /* touch every string so ASan sees a dangling one */
    volatile size_t n = strlen(c->role) + strlen(c->sub) + strlen(c->email) +
                        strlen(c->session_id);
    (void)n;
    /* Usually a cache hit (the same claims); once the fuzzer has filled the
     * cache's byte budget the insert is skipped and we get an equal copy. */
    if (auth_jwt_verify(fuzz_jwt, tok, NOW, &again) != BS_OK ||
        (again != c && !json_equal(again->json, c->json)))
        abort();
    auth_claims_release(again);
    auth_claims_release(c);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of p[0..n) at dst; returns the characters written. */
static size_t enc(char *dst, const unsigned char *p, size_t n)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        dst[o++] = b64url[v >> 18];
        dst[o++] = b64url[(v >> 12) & 63];
        dst[o++] = b64url[(v >> 6) & 63];
        dst[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        dst[o++] = b64url[v >> 18];
        dst[o++] = b64url[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        dst[o++] = b64url[v >> 18];
        dst[o++] = b64url[(v >> 12) & 63];
        dst[o++] = b64url[(v >> 6) & 63];
    }
    return o;
}

static void check_signed(const uint8_t *data, size_t size, size_t nl, bool must_fail)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *tok = malloc(2 * size + 64);   /* 4/3 of each part + dots + MAC */
    size_t o;

    if (!tok)
        return;
    o = enc(tok, data, nl);
    tok[o++] = '.';
    o += enc(tok + o, data + nl + 1, size - nl - 1);
    if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)tok, o, mac,
              &maclen))
        abort();
    tok[o++] = '.';
    o += enc(tok + o, mac, maclen);
    tok[o] = '\0';
    check(tok, must_fail);
    free(tok);
}

typedef struct input {
    const uint8_t *data;
    size_t size;
    const uint8_t *nl;
    bool too_deep;
} input;

static void *run(void *arg)
{
    const input *in = arg;
    char *tok = malloc(in->size + 1);
    if (!tok)
        return NULL;
    memcpy(tok, in->data, in->size);
    tok[in->size] = '\0';
    check(tok, false);
    free(tok);
    if (in->nl)
        check_signed(in->data, in->size, (size_t)(in->nl - in->data), in->too_deep);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_jwt &&
        auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &fuzz_jwt) != BS_OK)
        abort();

    input in = {data, size, memchr(data, '\n', size), false};
    if (in.nl) {
        size_t hn = (size_t)(in.nl - data);
        in.too_deep = fuzz_jansson_depth((const char *)data, hn, 0) > JSONIN_MAX_DEPTH ||
                      fuzz_jansson_depth((const char *)in.nl + 1, size - hn - 1, 0) > JSONIN_MAX_DEPTH;
    }
    fuzz_on_small_stack(run, &in);
    return 0;
}
