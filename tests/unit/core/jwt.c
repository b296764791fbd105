/* Unit tests for auth/jwt.c: signing, verification, every forged-token
 * shape we know of, the cache and concurrent use.
 *
 * Forged and hand-made tokens are built here with OpenSSL (EVP_EncodeBlock
 * + HMAC), never with the module under test or libjwt, so verification is
 * not only checked against its own signer.  One token was made by PyJWT
 * 2.6 as a known answer. */
#include "../test.h"
#include "core/jwt.h"

#include <jwt.h>
#include "core/error.h"

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SECRET "basalt-unit-test-secret-0123456789abcdef"
#define NOW ((int64_t)1700000000)
#define HDR_HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD_PAYLOAD "{\"role\":\"authenticated\",\"sub\":\"u1\",\"exp\":1700003600}"

/* PyJWT 2.6: jwt.encode({"role":"authenticated","sub":"1111...","email":
 * "a@b.co","exp":4102444800,"iat":1700000000}, SECRET, algorithm="HS256") */
static const char pyjwt_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJyb2xlIjoiYXV0aGVudGljYXRlZCIsInN1YiI6IjExMTExMTExLTIyMjItMzMzMy00NDQ0"
    "LTU1NTU1NTU1NTU1NSIsImVtYWlsIjoiYUBiLmNvIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQi"
    "OjE3MDAwMDAwMDB9."
    "l8mzlCAEdn-JIIy6A5CuUqaJPi7ike47KIUvI4l5wE0";

static auth_jwt *new_jwt(void)
{
    auth_jwt *j = NULL;
    if (auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &j) != BS_OK)
        abort();
    return j;
}

/* Append the unpadded base64url of p[0..n) to dst (which has room). */
static void b64url_cat(char *dst, const unsigned char *p, size_t n)
{
    char *tmp = malloc(4 * ((n + 2) / 3) + 1);
    if (!tmp)
        abort();
    int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
    size_t o = strlen(dst);
    for (int i = 0; i < len; i++) {
        char c = tmp[i];
        if (c == '=')
            break;
        dst[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    dst[o] = '\0';
    free(tmp);
}

/* "b64(hdr).b64(payload)." followed by the base64url HMAC of the first two
 * segments under key with md (no signature when md is NULL).  malloc'd. */
static char *make_token_md(const char *hdr, const char *payload, const char *key,
                           const EVP_MD *md)
{
    size_t cap = 2 * (strlen(hdr) + strlen(payload)) + 200;
    char *t = calloc(1, cap);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!t)
        abort();
    b64url_cat(t, (const unsigned char *)hdr, strlen(hdr));
    strcat(t, ".");
    b64url_cat(t, (const unsigned char *)payload, strlen(payload));
    if (md && !HMAC(md, key, (int)strlen(key), (unsigned char *)t, strlen(t), mac, &maclen))
        abort();
    strcat(t, ".");
    if (md)
        b64url_cat(t, mac, maclen);
    return t;
}

static char *make_token(const char *hdr, const char *payload)
{
    return make_token_md(hdr, payload, SECRET, EVP_sha256());
}

/* Verify and drop the claims; returns the code. */
static int verify_rc(auth_jwt *j, const char *tok, int64_t now)
{
    auth_claims *c = (auth_claims *)1;
    int rc = auth_jwt_verify(j, tok, now, &c);
    if (rc != BS_OK && c != NULL)
        return 12345;   /* out must be NULL on failure */
    auth_claims_release(c);
    return rc;
}

static int verify_payload(auth_jwt *j, const char *payload)
{
    char *t = make_token(HDR_HS256, payload);
    int rc = verify_rc(j, t, NOW);
    free(t);
    return rc;
}

static int verify_header(auth_jwt *j, const char *hdr)
{
    char *t = make_token(hdr, GOOD_PAYLOAD);
    int rc = verify_rc(j, t, NOW);
    free(t);
    return rc;
}

TEST(new_secret_rules)
{
    auth_jwt *j = (auth_jwt *)1;
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)SECRET, 31, &j), BS_EINVAL);
    ASSERT(j == NULL);
    ASSERT_EQ_INT(auth_jwt_new(NULL, 32, &j), BS_EINVAL);
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)SECRET, 32, NULL), BS_EINVAL);
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)SECRET, 32, &j), BS_OK);
    ASSERT(j != NULL);
    auth_jwt_free(j);
    auth_jwt_free(NULL);
    auth_claims_release(NULL);
    ASSERT(auth_claims_retain(NULL) == NULL);
}

TEST(sign_verify_round_trip)
{
    auth_jwt *j = new_jwt();
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s}",
                               "iss", "http://x/auth/v1", "sub", "user-1", "email", "a@b.co",
                               "role", "authenticated", "session_id", "sess-1",
                               "exp", (json_int_t)(NOW + 3600), "iat", (json_int_t)NOW,
                               "is_anonymous", 1, "aud", "authenticated");
    char *tok = NULL;
    auth_claims *c = NULL;

    ASSERT_EQ_INT(auth_jwt_sign(j, claims, &tok), BS_OK);
    json_decref(claims);
    ASSERT(tok != NULL);
    ASSERT_NOT_CONTAINS(tok, "=");
    /* three segments, header exactly {"alg":"HS256","typ":"JWT"} */
    char *d1 = strchr(tok, '.');
    ASSERT(d1 != NULL);
    char *d2 = strchr(d1 + 1, '.');
    ASSERT(d2 != NULL && strchr(d2 + 1, '.') == NULL);
    char want_hdr[64] = "";
    b64url_cat(want_hdr, (const unsigned char *)HDR_HS256, strlen(HDR_HS256));
    ASSERT_EQ_INT((size_t)(d1 - tok), strlen(want_hdr));
    ASSERT(memcmp(tok, want_hdr, strlen(want_hdr)) == 0);
    ASSERT_EQ_INT(strlen(d2 + 1), 43);

    ASSERT_EQ_INT(auth_jwt_verify(j, tok, NOW, &c), BS_OK);
    ASSERT(c != NULL);
    ASSERT_EQ_STR(c->role, "authenticated");
    ASSERT_EQ_STR(c->sub, "user-1");
    ASSERT_EQ_STR(c->email, "a@b.co");
    ASSERT_EQ_STR(c->session_id, "sess-1");
    ASSERT_EQ_INT(c->exp, NOW + 3600);
    ASSERT_EQ_INT(c->iat, NOW);
    ASSERT(c->is_anonymous);
    ASSERT_EQ_STR(json_string_value(json_object_get(c->json, "aud")), "authenticated");
    ASSERT_EQ_STR(json_string_value(json_object_get(c->json, "iss")), "http://x/auth/v1");
    auth_claims_release(c);

    /* Signing needs an object and the out pointer. */
    json_t *arr = json_array();
    char *t2 = (char *)1;
    ASSERT_EQ_INT(auth_jwt_sign(j, arr, &t2), BS_EINVAL);
    ASSERT(t2 == NULL);
    ASSERT_EQ_INT(auth_jwt_sign(j, NULL, &t2), BS_EINVAL);
    json_decref(arr);
    free(tok);
    auth_jwt_free(j);
}

TEST(claim_defaults)
{
    auth_jwt *j = new_jwt();
    char *t = make_token(HDR_HS256, "{\"role\":\"anon\",\"exp\":1700003600}");
    auth_claims *c = NULL;
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "anon");
    ASSERT_EQ_STR(c->sub, "");
    ASSERT_EQ_STR(c->email, "");
    ASSERT_EQ_STR(c->session_id, "");
    ASSERT_EQ_INT(c->iat, 0);
    ASSERT(!c->is_anonymous);
    auth_claims_release(c);
    free(t);

    /* null counts as absent; typ may be left out; other header members
     * (kid) are ignored */
    t = make_token_md("{\"alg\":\"HS256\",\"kid\":\"k1\"}",
                      "{\"role\":\"anon\",\"exp\":1700003600,\"sub\":null,"
                      "\"is_anonymous\":null,\"nbf\":1699999999}",
                      SECRET, EVP_sha256());
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->sub, "");
    ASSERT(!c->is_anonymous);
    auth_claims_release(c);
    free(t);
    auth_jwt_free(j);
}

TEST(hand_built_and_pyjwt_tokens)
{
    auth_jwt *j = new_jwt();
    char *t = make_token(HDR_HS256,
                         "{\"sub\":\"abc\",\"role\":\"service_role\",\"exp\":1700000001,"
                         "\"iat\":1699999000,\"session_id\":\"s\",\"is_anonymous\":true}");
    auth_claims *c = NULL;
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "service_role");
    ASSERT_EQ_STR(c->sub, "abc");
    ASSERT_EQ_STR(c->session_id, "s");
    ASSERT_EQ_INT(c->exp, 1700000001);
    ASSERT_EQ_INT(c->iat, 1699999000);
    ASSERT(c->is_anonymous);
    auth_claims_release(c);
    free(t);

    ASSERT_EQ_INT(auth_jwt_verify(j, pyjwt_token, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "authenticated");
    ASSERT_EQ_STR(c->sub, "11111111-2222-3333-4444-555555555555");
    ASSERT_EQ_STR(c->email, "a@b.co");
    ASSERT_EQ_INT(c->exp, 4102444800);
    auth_claims_release(c);
    auth_jwt_free(j);
}

TEST(forged_algorithms)
{
    auth_jwt *j = new_jwt();
    char *t;

    /* alg none, empty signature */
    t = make_token_md("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_PAYLOAD, SECRET, NULL);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    t = make_token_md("{\"alg\":\"none\"}", GOOD_PAYLOAD, SECRET, NULL);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    /* alg none with a (valid HS256) signature, and other spellings */
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"none\",\"typ\":\"JWT\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"None\",\"typ\":\"JWT\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"NONE\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"hs256\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256 \"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":null}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":[\"HS256\"]}"), BS_EAUTH);
    /* HS384 / HS512 signed with the same secret, honest headers */
    t = make_token_md("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", GOOD_PAYLOAD, SECRET, EVP_sha384());
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    t = make_token_md("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GOOD_PAYLOAD, SECRET, EVP_sha512());
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    /* HS384 signature under an HS256 header */
    t = make_token_md(HDR_HS256, GOOD_PAYLOAD, SECRET, EVP_sha384());
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    /* RS256 / ES256 headers with an HMAC of the secret (key confusion) */
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"PS256\"}"), BS_EAUTH);
    /* crit, missing alg, wrong typ, duplicated alg, non-object headers */
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\",\"crit\":[]}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"typ\":\"JWT\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\",\"typ\":\"JWE\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\",\"typ\":1}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"none\",\"alg\":\"HS256\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "[\"HS256\"]"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "\"HS256\""), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\""), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\"}x"), BS_EAUTH);
    ASSERT_EQ_INT(verify_header(j, "{}"), BS_EAUTH);
    /* the control: the same builder with a good header verifies */
    ASSERT_EQ_INT(verify_header(j, "{\"alg\":\"HS256\"}"), BS_OK);
    ASSERT_EQ_INT(verify_header(j, HDR_HS256), BS_OK);
    auth_jwt_free(j);
}

TEST(bad_signatures)
{
    auth_jwt *j = new_jwt();
    auth_jwt *other = NULL;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *good = make_token(HDR_HS256, GOOD_PAYLOAD);
    size_t n = strlen(good);
    int accepted = 0;

    ASSERT_EQ_INT(verify_rc(j, good, NOW), BS_OK);
    /* Every single-character substitution, in all three segments. */
    for (size_t i = 0; i < n; i++) {
        if (good[i] == '.')
            continue;
        char *t = strdup(good);
        const char *pos = strchr(alphabet, good[i]);
        t[i] = alphabet[((size_t)(pos - alphabet) + 1) % 64];
        int rc = verify_rc(j, t, NOW);
        if (rc != BS_EAUTH) {
            fprintf(stderr, "position %zu: rc %d\n", i, rc);
            accepted++;
        }
        free(t);
    }
    ASSERT_EQ_INT(accepted, 0);

    /* signed with a different (valid) secret */
    char *t = make_token_md(HDR_HS256, GOOD_PAYLOAD,
                            "another-secret-that-is-long-enough-0123456789", EVP_sha256());
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    /* and the other way round: our token under another auth_jwt */
    const char *s2 = "another-secret-that-is-long-enough-0123456789";
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)s2, strlen(s2), &other), BS_OK);
    ASSERT_EQ_INT(verify_rc(other, good, NOW), BS_EAUTH);
    /* empty signature under an HS256 header */
    t = make_token_md(HDR_HS256, GOOD_PAYLOAD, SECRET, NULL);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    auth_jwt_free(other);
    free(good);
    auth_jwt_free(j);
}

TEST(malformed_shapes)
{
    auth_jwt *j = new_jwt();
    char *good = make_token(HDR_HS256, GOOD_PAYLOAD);
    size_t n = strlen(good);
    char *buf = malloc(n + 16);
    char *d1 = strchr(good, '.'), *d2 = strchr(d1 + 1, '.');
    size_t i1 = (size_t)(d1 - good), i2 = (size_t)(d2 - good);

    ASSERT_EQ_INT(verify_rc(j, good, NOW), BS_OK);
    ASSERT_EQ_INT(verify_rc(j, NULL, NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, "", NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, ".", NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, "..", NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, "...", NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, "a.b.c", NOW), BS_EAUTH);
    ASSERT_EQ_INT(verify_rc(j, "not a token", NOW), BS_EAUTH);

    /* truncated: every proper prefix */
    int accepted = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(buf, good, k);
        buf[k] = '\0';
        if (verify_rc(j, buf, NOW) != BS_EAUTH)
            accepted++;
    }
    ASSERT_EQ_INT(accepted, 0);

    /* two segments (signature dropped, with and without the dot) */
    memcpy(buf, good, i2);
    buf[i2] = '\0';
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    /* four segments */
    snprintf(buf, n + 16, "%s.", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%s.e30", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "e30.%s", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    /* empty header or payload segment */
    snprintf(buf, n + 16, "%s", d1);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%.*s%s", (int)i1 + 1, good, d2);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);

    /* padding '=' at the end of each segment */
    snprintf(buf, n + 16, "%s=", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%s==", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%.*s=%s", (int)i1, good, d1);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%.*s=%s", (int)i2, good, d2);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);

    /* characters outside base64url, inserted and substituted */
    static const char bad[] = "+/= \t\n*%!\"\\\x80\xff";
    accepted = 0;
    for (size_t b = 0; b < sizeof bad - 1; b++) {
        size_t at[] = {0, i1 / 2, i1 + 3, i2 + 5, n - 1};
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
            strcpy(buf, good);
            buf[at[k]] = bad[b];
            if (verify_rc(j, buf, NOW) != BS_EAUTH)
                accepted++;
            snprintf(buf, n + 16, "%.*s%c%s", (int)at[k], good, bad[b], good + at[k]);
            if (verify_rc(j, buf, NOW) != BS_EAUTH)
                accepted++;
        }
    }
    ASSERT_EQ_INT(accepted, 0);
    snprintf(buf, n + 16, " %s", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "%s\n", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);
    snprintf(buf, n + 16, "Bearer %s", good);
    ASSERT_EQ_INT(verify_rc(j, buf, NOW), BS_EAUTH);

    free(buf);
    free(good);
    auth_jwt_free(j);
}

TEST(bad_payloads)
{
    auth_jwt *j = new_jwt();

    ASSERT_EQ_INT(verify_payload(j, GOOD_PAYLOAD), BS_OK);
    ASSERT_EQ_INT(verify_payload(j, "not json"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "[{\"role\":\"anon\",\"exp\":1700003600}]"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "\"x\""), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "1700003600"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{}"), BS_EAUTH);
    /* exp */
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":\"9999999999\"}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":9999999999.0}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":9999999999.5}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1e10}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":null}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":true}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":99999999999999999999999}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1699999999}"), BS_EEXPIRED);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700000000}"), BS_EEXPIRED);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":-1}"), BS_EEXPIRED);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700000001}"), BS_OK);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"exp\":1}"),
                  BS_EAUTH);
    /* nbf */
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"nbf\":1700000001}"),
                  BS_EEXPIRED);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"nbf\":1700000000}"),
                  BS_OK);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"nbf\":\"0\"}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"nbf\":1.5}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"iat\":\"1\"}"),
                  BS_EAUTH);
    /* role */
    ASSERT_EQ_INT(verify_payload(j, "{\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"\",\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":null,\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":1,\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":[\"anon\"],\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"an\\u0000on\",\"exp\":1700003600}"), BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"role\":\"service_role\","
                                    "\"exp\":1700003600}"),
                  BS_EAUTH);
    /* wrongly typed optional claims */
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"sub\":1}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,\"email\":{}}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,"
                                    "\"session_id\":false}"),
                  BS_EAUTH);
    ASSERT_EQ_INT(verify_payload(j, "{\"role\":\"anon\",\"exp\":1700003600,"
                                    "\"is_anonymous\":\"true\"}"),
                  BS_EAUTH);
    /* a structural error wins over an expired exp */
    ASSERT_EQ_INT(verify_payload(j, "{\"exp\":1}"), BS_EAUTH);

    uint64_t hits, misses;
    size_t entries;
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits, 0);
    ASSERT_EQ_INT(entries, 3);  /* only the good ones were cached */
    auth_jwt_free(j);
}

TEST(length_limit)
{
    auth_jwt *j = new_jwt();
    size_t cap = AUTH_JWT_MAX_LEN * 2;
    char *payload = malloc(cap);
    char *at_limit = NULL, *over = NULL;

    /* Grow a filler claim until the token is exactly AUTH_JWT_MAX_LEN long
     * (and then one past it). */
    for (size_t fill = 5000; fill < 7000 && (!at_limit || !over); fill++) {
        int k = snprintf(payload, cap, "{\"role\":\"anon\",\"exp\":1700003600,\"x\":\"");
        memset(payload + k, 'a', fill);
        strcpy(payload + k + fill, "\"}");
        char *t = make_token(HDR_HS256, payload);
        size_t n = strlen(t);
        if (n == AUTH_JWT_MAX_LEN && !at_limit)
            at_limit = t;
        else if (n > AUTH_JWT_MAX_LEN && !over)
            over = t;
        else
            free(t);
    }
    ASSERT(at_limit != NULL && over != NULL);
    ASSERT_EQ_INT(verify_rc(j, at_limit, NOW), BS_OK);
    ASSERT_EQ_INT(verify_rc(j, over, NOW), BS_EAUTH);

    /* a huge token is refused without reading all of it */
    char *huge = malloc(1 << 20);
    memset(huge, 'A', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    ASSERT_EQ_INT(verify_rc(j, huge, NOW), BS_EAUTH);
    free(huge);

    /* signing claims that would make an unverifiable token fails */
    json_t *claims = json_pack("{s:s, s:I}", "role", "anon", "exp", (json_int_t)(NOW + 60));
    char *big = calloc(1, AUTH_JWT_MAX_LEN);
    memset(big, 'b', AUTH_JWT_MAX_LEN - 1);
    json_object_set_new(claims, "x", json_string(big));
    char *tok = (char *)1;
    ASSERT_EQ_INT(auth_jwt_sign(j, claims, &tok), BS_ETOOBIG);
    ASSERT(tok == NULL);
    json_decref(claims);
    free(big);
    free(at_limit);
    free(over);
    free(payload);
    auth_jwt_free(j);
}

TEST(api_key)
{
    auth_jwt *j = new_jwt();
    char *key = NULL;
    auth_claims *c = NULL;

    ASSERT_EQ_INT(auth_jwt_api_key(j, "anon", NOW, &key), BS_OK);
    ASSERT_EQ_INT(auth_jwt_verify(j, key, NOW + 9 * 365 * 86400LL, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "anon");
    ASSERT_EQ_INT(c->iat, NOW);
    ASSERT_EQ_INT(c->exp, NOW + 10 * 365 * 86400LL);
    ASSERT_EQ_STR(json_string_value(json_object_get(c->json, "iss")), "basalt");
    ASSERT_EQ_INT(json_object_size(c->json), 4);
    auth_claims_release(c);
    ASSERT_EQ_INT(verify_rc(j, key, NOW + 10 * 365 * 86400LL), BS_EEXPIRED);
    free(key);

    ASSERT_EQ_INT(auth_jwt_api_key(j, "service_role", NOW, &key), BS_OK);
    ASSERT_EQ_INT(auth_jwt_verify(j, key, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "service_role");
    auth_claims_release(c);
    free(key);

    key = (char *)1;
    ASSERT_EQ_INT(auth_jwt_api_key(j, "", NOW, &key), BS_EINVAL);
    ASSERT(key == NULL);
    ASSERT_EQ_INT(auth_jwt_api_key(j, NULL, NOW, &key), BS_EINVAL);
    ASSERT_EQ_INT(auth_jwt_api_key(j, "anon", INT64_MAX - 5, &key), BS_EINVAL);
    auth_jwt_free(j);
}

TEST(cache_hits_and_expiry)
{
    auth_jwt *j = new_jwt();
    char *t = make_token(HDR_HS256, "{\"role\":\"anon\",\"exp\":1700000100,\"nbf\":1699999000}");
    auth_claims *a = NULL, *b = NULL;
    uint64_t hits, misses;
    size_t entries;

    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits + misses + entries, 0);
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW, &a), BS_OK);
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits, 0);
    ASSERT_EQ_INT(misses, 1);
    ASSERT_EQ_INT(entries, 1);
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW + 99, &b), BS_OK);
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits, 1);
    ASSERT_EQ_INT(misses, 1);
    ASSERT(a == b);              /* the same shared, immutable claims */
    ASSERT_EQ_STR(b->role, "anon");
    auth_claims_release(a);
    auth_claims_release(b);

    /* a cached token is never served past exp or before nbf */
    ASSERT_EQ_INT(verify_rc(j, t, 1699998999), BS_EEXPIRED);
    ASSERT_EQ_INT(verify_rc(j, t, 1700000100), BS_EEXPIRED);
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(entries, 0);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_OK);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_OK);
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits, 2);
    ASSERT_EQ_INT(misses, 4);
    ASSERT_EQ_INT(entries, 1);
    free(t);

    /* failures are never cached */
    t = make_token_md(HDR_HS256, GOOD_PAYLOAD, "another-secret-that-is-long-enough-0123456789",
                      EVP_sha256());
    for (int i = 0; i < 3; i++)
        ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits, 2);
    ASSERT_EQ_INT(misses, 7);
    ASSERT_EQ_INT(entries, 1);
    free(t);

    /* claims outlive the cache that produced them */
    t = make_token(HDR_HS256, GOOD_PAYLOAD);
    ASSERT_EQ_INT(auth_jwt_verify(j, t, NOW, &a), BS_OK);
    auth_jwt_free(j);
    ASSERT_EQ_STR(a->sub, "u1");
    auth_claims_release(a);
    free(t);
}

TEST(cache_is_bounded)
{
    auth_jwt *j = new_jwt();
    char payload[128];
    size_t entries = 0;
    int failed = 0;

    for (int i = 0; i < AUTH_JWT_CACHE_MAX + 4096; i++) {
        snprintf(payload, sizeof payload, "{\"role\":\"anon\",\"exp\":%d,\"n\":%d}",
                 1700003600 + (i % 1000), i);
        if (verify_payload(j, payload) != BS_OK)
            failed++;
    }
    ASSERT_EQ_INT(failed, 0);
    auth_jwt_cache_stats(j, NULL, NULL, &entries);
    ASSERT(entries <= AUTH_JWT_CACHE_MAX);
    ASSERT(entries > AUTH_JWT_CACHE_MAX / 2);
    auth_jwt_free(j);
}

/* Tokens whose claims parse into much more memory than their size are
 * held to the byte budget, not just the slot count, and still verify. */
TEST(cache_byte_budget)
{
    auth_jwt *j = new_jwt();
    size_t cap = 8000, entries = 0;
    char *payload = malloc(cap);
    int failed = 0;

    for (int i = 0; i < 400; i++) {
        int k = snprintf(payload, cap, "{\"role\":\"anon\",\"exp\":1700003600,\"n\":%d,\"m\":[", i);
        while ((size_t)k < 5500) {
            memcpy(payload + k, "{},", 3);
            k += 3;
        }
        strcpy(payload + k - 1, "]}");
        if (verify_payload(j, payload) != BS_OK)
            failed++;
    }
    ASSERT_EQ_INT(failed, 0);
    auth_jwt_cache_stats(j, NULL, NULL, &entries);
    ASSERT(entries > 0);
    ASSERT(entries < 250);      /* ~0.6 MB estimated each against 64 MiB */
    free(payload);
    auth_jwt_free(j);
}

#define THREADS 8
#define ITERS 10000
#define NTOK 16

typedef struct {
    auth_jwt *j;
    char **toks;
    const char *bad;
    int id;
    int errors;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < ITERS; i++) {
        auth_claims *c = NULL;
        const char *tok;
        int want = BS_OK;
        if (i % 2 == 0)
            tok = w->toks[0];                        /* shared by all */
        else if (i % 97 == 1) {
            tok = w->bad;                            /* never cached */
            want = BS_EAUTH;
        } else
            tok = w->toks[(w->id + i) % NTOK];       /* spread */
        int rc = auth_jwt_verify(w->j, tok, NOW, &c);
        if (rc != want || (rc == BS_OK && (!c || strcmp(c->role, "authenticated") != 0)))
            w->errors++;
        auth_claims_release(c);
    }
    return NULL;
}

TEST(concurrent_verify)
{
    auth_jwt *j = new_jwt();
    char *toks[NTOK];
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    char payload[128];

    for (int i = 0; i < NTOK; i++) {
        snprintf(payload, sizeof payload,
                 "{\"role\":\"authenticated\",\"exp\":1700003600,\"sub\":\"user-%d\"}", i);
        toks[i] = make_token(HDR_HS256, payload);
    }
    char *bad = make_token_md(HDR_HS256, GOOD_PAYLOAD,
                              "another-secret-that-is-long-enough-0123456789", EVP_sha256());
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){j, toks, bad, t, 0};
        ASSERT_EQ_INT(pthread_create(&th[t], NULL, worker, &args[t]), 0);
    }
    int errors = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        errors += args[t].errors;
    }
    ASSERT_EQ_INT(errors, 0);

    uint64_t hits, misses;
    size_t entries;
    auth_jwt_cache_stats(j, &hits, &misses, &entries);
    ASSERT_EQ_INT(hits + misses, THREADS * ITERS);
    ASSERT_EQ_INT(entries, NTOK);
    ASSERT(hits > THREADS * ITERS * 9 / 10);
    for (int i = 0; i < NTOK; i++)
        free(toks[i]);
    free(bad);
    auth_jwt_free(j);
}

/* Our signer and libjwt agree both ways. */
TEST(interop_with_libjwt)
{
    auth_jwt *j = new_jwt();
    ASSERT(j);
    json_t *claims = json_pack("{s:s,s:s,s:I,s:I}", "role", "authenticated", "sub", "u-1", "exp",
                               (json_int_t)4102444800, "iat", (json_int_t)1700000000);
    char *ours = NULL;
    ASSERT_EQ_INT(auth_jwt_sign(j, claims, &ours), BS_OK);
    ASSERT(strncmp(ours, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    jwt_t *lj = NULL;
    ASSERT_EQ_INT(jwt_decode(&lj, ours, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
    ASSERT_EQ_INT(jwt_get_alg(lj), JWT_ALG_HS256);
    ASSERT_EQ_STR(jwt_get_grant(lj, "sub"), "u-1");
    ASSERT_EQ_INT(jwt_get_grant_int(lj, "exp"), 4102444800);
    jwt_free(lj);
    /* and a token libjwt wrote verifies with ours, with the same claims */
    lj = NULL;
    ASSERT_EQ_INT(jwt_new(&lj), 0);
    ASSERT_EQ_INT(jwt_set_alg(lj, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
    char *js = json_dumps(claims, JSON_COMPACT);
    ASSERT_EQ_INT(jwt_add_grants_json(lj, js), 0);
    char *theirs = jwt_encode_str(lj);
    ASSERT(theirs);
    auth_claims *c = NULL;
    ASSERT_EQ_INT(auth_jwt_verify(j, theirs, 1800000000, &c), BS_OK);
    ASSERT_EQ_STR(c->sub, "u-1");
    auth_claims_release(c);
    c = NULL;
    ASSERT_EQ_INT(auth_jwt_verify(j, ours, 1800000000, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "authenticated");
    auth_claims_release(c);
    free(theirs);
    free(js);
    jwt_free(lj);
    free(ours);
    json_decref(claims);
    auth_jwt_free(j);
}

TEST_MAIN(T(interop_with_libjwt), T(new_secret_rules), T(sign_verify_round_trip), T(claim_defaults),
          T(hand_built_and_pyjwt_tokens), T(forged_algorithms), T(bad_signatures),
          T(malformed_shapes), T(bad_payloads), T(length_limit), T(api_key),
          T(cache_hits_and_expiry), T(cache_is_bounded), T(cache_byte_budget), T(concurrent_verify))
