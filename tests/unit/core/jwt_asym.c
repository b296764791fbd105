/* Unit tests for the asymmetric signing key (auth/jwt_key.c and its use in
 * auth/jwt.c): RS256 and ES256 round trips, the JWK and its RFC 7638 kid,
 * every algorithm-confusion case, key-file validation, the cache.
 *
 * Keys are generated here with OpenSSL and written to temporary PEM files;
 * forged and foreign tokens are signed here with OpenSSL directly (ECDSA
 * DER converted to r||s by the test's own code), never with the module
 * under test. */
#include "../test.h"
#include "core/jwt.h"
#include "core/error.h"

#include <pthread.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define SECRET "basalt-unit-test-secret-0123456789abcdef"
#define NOW ((int64_t)1700000000)
#define PAYLOAD "{\"role\":\"authenticated\",\"sub\":\"u1\",\"exp\":1700003600}"

static EVP_PKEY *rsa2048, *rsa2048b, *ec256, *ec256b;

static EVP_PKEY *keys_get(int which)
{
    if (!rsa2048) {
        rsa2048 = EVP_RSA_gen(2048);
        rsa2048b = EVP_RSA_gen(2048);
        ec256 = EVP_EC_gen("P-256");
        ec256b = EVP_EC_gen("P-256");
        if (!rsa2048 || !rsa2048b || !ec256 || !ec256b)
            abort();
    }
    EVP_PKEY *all[] = {rsa2048, rsa2048b, ec256, ec256b};
    return all[which];
}
#define RSA_A keys_get(0)
#define RSA_B keys_get(1)
#define EC_A keys_get(2)
#define EC_B keys_get(3)

/* Write pk's private PEM to a fresh temp file; returns its malloc'd path. */
static char *write_pem(EVP_PKEY *pk)
{
    char *path = strdup("/tmp/basalt-jwtkey-XXXXXX");
    int fd = path ? mkstemp(path) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
        abort();
    fclose(f);
    return path;
}

static auth_jwt *jwt_with(EVP_PKEY *pk)
{
    auth_jwt *j = NULL;
    if (auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &j) != BS_OK)
        abort();
    if (pk) {
        char *p = write_pem(pk);
        int rc = auth_jwt_set_signing_key(j, p);
        unlink(p);
        free(p);
        if (rc != BS_OK)
            abort();
    }
    return j;
}

static int load_rc(EVP_PKEY *pk)
{
    auth_jwt *j = NULL;
    if (auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &j) != BS_OK)
        abort();
    char *p = write_pem(pk);
    int rc = auth_jwt_set_signing_key(j, p);
    unlink(p);
    free(p);
    auth_jwt_free(j);
    return rc;
}

static void b64url_cat(char *dst, const unsigned char *p, size_t n)
{
    char *tmp = malloc(4 * ((n + 2) / 3) + 1);
    if (!tmp)
        abort();
    int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
    size_t o = strlen(dst);
    for (int i = 0; i < len && tmp[i] != '='; i++)
        dst[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
    dst[o] = '\0';
    free(tmp);
}

static size_t b64url_dec(const char *s, size_t n, unsigned char *out)
{
    char *tmp = calloc(1, n + 4);
    if (!tmp)
        abort();
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        tmp[m++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (m % 4)
        tmp[m++] = '=';
    int len = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)m);
    if (len < 0)
        abort();
    size_t pad = 0;
    while (pad < m && tmp[m - 1 - pad] == '=')
        pad++;
    free(tmp);
    return (size_t)len - pad;
}

/* "b64(hdr).b64(payload)." then a signature: mode 'h' HMAC-SHA256 with
 * hkey, 'k' pk's signature (ECDSA as r||s), 'd' pk's ECDSA signature left
 * in DER, 'n' none. */
static char *make(const char *hdr, const char *payload, char mode, EVP_PKEY *pk,
                  const unsigned char *hkey, size_t hlen)
{
    char *t = calloc(1, 2 * (strlen(hdr) + strlen(payload)) + 2000);
    unsigned char sig[1024];
    size_t sl = sizeof sig;
    if (!t)
        abort();
    b64url_cat(t, (const unsigned char *)hdr, strlen(hdr));
    strcat(t, ".");
    b64url_cat(t, (const unsigned char *)payload, strlen(payload));
    if (mode == 'h') {
        unsigned int ml = 0;
        if (!HMAC(EVP_sha256(), hkey, (int)hlen, (unsigned char *)t, strlen(t), sig, &ml))
            abort();
        sl = ml;
    } else if (mode == 'k' || mode == 'd') {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
            EVP_DigestSign(ctx, sig, &sl, (unsigned char *)t, strlen(t)) != 1)
            abort();
        EVP_MD_CTX_free(ctx);
        if (mode == 'k' && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
            const BIGNUM *r, *s;
            if (!es)
                abort();
            ECDSA_SIG_get0(es, &r, &s);
            BN_bn2binpad(r, sig, 32);
            BN_bn2binpad(s, sig + 32, 32);
            ECDSA_SIG_free(es);
            sl = 64;
        }
    } else {
        sl = 0;
    }
    strcat(t, ".");
    b64url_cat(t, sig, sl);
    return t;
}

static int verify_rc(auth_jwt *j, const char *tok, int64_t now)
{
    auth_claims *c = (auth_claims *)1;
    int rc = auth_jwt_verify(j, tok, now, &c);
    if (rc != BS_OK && c != NULL)
        return 12345;
    auth_claims_release(c);
    return rc;
}

static int check(auth_jwt *j, const char *hdr, char mode, EVP_PKEY *pk,
                 const unsigned char *hkey, size_t hlen)
{
    char *t = make(hdr, PAYLOAD, mode, pk, hkey, hlen);
    int rc = verify_rc(j, t, NOW);
    free(t);
    return rc;
}

/* The decoded header of a compact token, as JSON. */
static json_t *token_header(const char *tok)
{
    unsigned char buf[512];
    const char *dot = strchr(tok, '.');
    size_t n = b64url_dec(tok, (size_t)(dot - tok), buf);
    return json_loadb((const char *)buf, n, 0, NULL);
}

/* The base64url of a BIGNUM parameter (pad bytes, or minimal when 0). */
static char *param_b64(EVP_PKEY *pk, const char *name, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    char *out = calloc(1, 2048);
    if (!out || EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        abort();
    int len = pad ? pad : BN_num_bytes(bn);
    BN_bn2binpad(bn, buf, len);
    b64url_cat(out, buf, (size_t)len);
    BN_free(bn);
    return out;
}

static char *pub_pem(EVP_PKEY *pk, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    if (!b || PEM_write_bio_PUBKEY(b, pk) != 1)
        abort();
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    BIO_free(b);
    return out;
}

static void hdr_with(char *out, size_t cap, const char *alg, const char *kid)
{
    if (kid)
        snprintf(out, cap, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
    else
        snprintf(out, cap, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
}

/* Round trip, header, JWK, kid for one key type. */
static void round_trip(EVP_PKEY *pk, const char *alg, const char *kty)
{
    auth_jwt *j = jwt_with(pk);
    json_t *claims = json_pack("{s:s,s:s,s:I,s:I,s:s}", "role", "authenticated", "sub", "user-1",
                               "exp", (json_int_t)(NOW + 3600), "iat", (json_int_t)NOW,
                               "session_id", "s1");
    char *tok = NULL, *canon = NULL;
    auth_claims *c = NULL;
    json_t *h = NULL, *jwks = NULL;

    ASSERT(claims);
    ASSERT_EQ_INT(auth_jwt_sign_access(j, claims, &tok), BS_OK);
    json_decref(claims);
    h = token_header(tok);
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "alg")), alg);
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "typ")), "JWT");
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "kid")), auth_jwt_kid(j));
    ASSERT_EQ_INT(strlen(auth_jwt_kid(j)), 43);

    ASSERT_EQ_INT(auth_jwt_verify(j, tok, NOW, &c), BS_OK);
    ASSERT_EQ_STR(c->role, "authenticated");
    ASSERT_EQ_STR(c->sub, "user-1");
    ASSERT_EQ_STR(c->session_id, "s1");
    ASSERT_EQ_INT(c->exp, NOW + 3600);
    auth_claims_release(c);

    /* the cache serves the asymmetric token too, until its exp */
    uint64_t hits0, hits1, misses;
    size_t entries;
    auth_jwt_cache_stats(j, &hits0, &misses, &entries);
    ASSERT_EQ_INT(entries, 1);
    ASSERT_EQ_INT(verify_rc(j, tok, NOW + 1), BS_OK);
    auth_jwt_cache_stats(j, &hits1, &misses, &entries);
    ASSERT_EQ_INT(hits1, hits0 + 1);
    ASSERT_EQ_INT(verify_rc(j, tok, NOW + 3600), BS_EEXPIRED);

    /* a tampered payload is refused: swap one payload character */
    char *d1 = strchr(tok, '.');
    d1[2] = d1[2] == 'A' ? 'B' : 'A';
    ASSERT_EQ_INT(verify_rc(j, tok, NOW), BS_EAUTH);

    /* the JWK: public values equal OpenSSL's, kid is the RFC 7638 thumbprint */
    jwks = auth_jwt_jwks(j);
    ASSERT_EQ_INT(json_array_size(json_object_get(jwks, "keys")), 1);
    json_t *k = json_array_get(json_object_get(jwks, "keys"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(k, "kty")), kty);
    ASSERT_EQ_STR(json_string_value(json_object_get(k, "alg")), alg);
    ASSERT_EQ_STR(json_string_value(json_object_get(k, "use")), "sig");
    ASSERT_EQ_STR(json_string_value(json_object_get(k, "kid")), auth_jwt_kid(j));
    ASSERT(!json_object_get(k, "d"));   /* never the private part */
    canon = calloc(1, 4096);
    ASSERT(canon);
    if (strcmp(kty, "RSA") == 0) {
        char *n = param_b64(pk, OSSL_PKEY_PARAM_RSA_N, 0), *e = param_b64(pk, OSSL_PKEY_PARAM_RSA_E, 0);
        ASSERT_EQ_STR(json_string_value(json_object_get(k, "n")), n);
        ASSERT_EQ_STR(json_string_value(json_object_get(k, "e")), "AQAB");
        ASSERT_EQ_STR(e, "AQAB");
        snprintf(canon, 4096, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
        ASSERT_EQ_INT(json_object_size(k), 6);
        free(n);
        free(e);
    } else {
        char *x = param_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, 32), *y = param_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        ASSERT_EQ_STR(json_string_value(json_object_get(k, "crv")), "P-256");
        ASSERT_EQ_STR(json_string_value(json_object_get(k, "x")), x);
        ASSERT_EQ_STR(json_string_value(json_object_get(k, "y")), y);
        ASSERT_EQ_INT(strlen(x), 43);
        snprintf(canon, 4096, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
        ASSERT_EQ_INT(json_object_size(k), 7);
        free(x);
        free(y);
    }
    unsigned char md[32];
    char kid[64] = "";
    unsigned int ml = 0;
    EVP_Digest(canon, strlen(canon), md, &ml, EVP_sha256(), NULL);
    b64url_cat(kid, md, ml);
    ASSERT_EQ_STR(auth_jwt_kid(j), kid);

    free(canon);
    json_decref(jwks);
    json_decref(h);
    free(tok);
    auth_jwt_free(j);
}

TEST(rs256_round_trip) { round_trip(RSA_A, "RS256", "RSA"); }
TEST(es256_round_trip) { round_trip(EC_A, "ES256", "EC"); }

/* Tokens built by the test, for one configured key. */
static void confusion(EVP_PKEY *pk, EVP_PKEY *other, const char *alg, EVP_PKEY *cross,
                      const char *cross_alg)
{
    auth_jwt *j = jwt_with(pk);
    const char *kid = auth_jwt_kid(j);
    char h[256];
    const unsigned char *sec = (const unsigned char *)SECRET;
    size_t sl = strlen(SECRET), pl = 0;
    char *pem = pub_pem(pk, &pl);

    /* accepted: our algorithm with our kid; HS256 with the secret and no kid */
    hdr_with(h, sizeof h, alg, kid);
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_OK);
    ASSERT_EQ_INT(check(j, "{\"alg\":\"" "HS256\"}", 'h', NULL, sec, sl), BS_OK);
    hdr_with(h, sizeof h, "HS256", NULL);
    ASSERT_EQ_INT(check(j, h, 'h', NULL, sec, sl), BS_OK);

    /* HS256 carrying our kid (or any kid), even with the right secret */
    hdr_with(h, sizeof h, "HS256", kid);
    ASSERT_EQ_INT(check(j, h, 'h', NULL, sec, sl), BS_EAUTH);
    hdr_with(h, sizeof h, "HS256", "k1");
    ASSERT_EQ_INT(check(j, h, 'h', NULL, sec, sl), BS_EAUTH);
    /* HS/RS confusion: the public key (PEM, as libraries take it) as an
     * HMAC secret, with and without our kid */
    hdr_with(h, sizeof h, "HS256", kid);
    ASSERT_EQ_INT(check(j, h, 'h', NULL, (unsigned char *)pem, pl), BS_EAUTH);
    hdr_with(h, sizeof h, "HS256", NULL);
    ASSERT_EQ_INT(check(j, h, 'h', NULL, (unsigned char *)pem, pl), BS_EAUTH);
    /* our algorithm claimed but the signature is an HMAC of the public key */
    hdr_with(h, sizeof h, alg, kid);
    ASSERT_EQ_INT(check(j, h, 'h', NULL, (unsigned char *)pem, pl), BS_EAUTH);
    /* our algorithm, validly signed, without a kid or with another kid */
    hdr_with(h, sizeof h, alg, NULL);
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_EAUTH);
    hdr_with(h, sizeof h, alg, "someone-else");
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_EAUTH);
    /* alg none, with and without our kid; alg differing in case */
    hdr_with(h, sizeof h, "none", kid);
    ASSERT_EQ_INT(check(j, h, 'n', NULL, NULL, 0), BS_EAUTH);
    hdr_with(h, sizeof h, "none", NULL);
    ASSERT_EQ_INT(check(j, h, 'n', NULL, NULL, 0), BS_EAUTH);
    hdr_with(h, sizeof h, strcmp(alg, "RS256") == 0 ? "rs256" : "es256", kid);
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_EAUTH);
    /* another key of the same type, claiming our kid */
    hdr_with(h, sizeof h, alg, kid);
    ASSERT_EQ_INT(check(j, h, 'k', other, NULL, 0), BS_EAUTH);
    /* the other asymmetric algorithm with our kid, signed by a key of that type */
    hdr_with(h, sizeof h, cross_alg, kid);
    ASSERT_EQ_INT(check(j, h, 'k', cross, NULL, 0), BS_EAUTH);
    /* our algorithm and kid, but no signature / a crit header */
    ASSERT_EQ_INT(check(j, h, 'n', NULL, NULL, 0), BS_EAUTH);
    snprintf(h, sizeof h, "{\"alg\":\"%s\",\"kid\":\"%s\",\"crit\":[\"b64\"]}", alg, kid);
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_EAUTH);
    /* kid that is not a string */
    snprintf(h, sizeof h, "{\"alg\":\"%s\",\"kid\":1}", alg);
    ASSERT_EQ_INT(check(j, h, 'k', pk, NULL, 0), BS_EAUTH);

    /* with no signing key configured, a well-signed asymmetric token fails */
    auth_jwt *plain = jwt_with(NULL);
    hdr_with(h, sizeof h, alg, kid);
    ASSERT_EQ_INT(check(plain, h, 'k', pk, NULL, 0), BS_EAUTH);
    ASSERT(auth_jwt_kid(plain) == NULL);
    json_t *jwks = auth_jwt_jwks(plain);
    char *txt = json_dumps(jwks, JSON_COMPACT);
    ASSERT_EQ_STR(txt, "{\"keys\":[]}");
    free(txt);
    json_decref(jwks);
    auth_jwt_free(plain);

    free(pem);
    auth_jwt_free(j);
}

TEST(rs256_confusion_refused) { confusion(RSA_A, RSA_B, "RS256", EC_A, "ES256"); }
TEST(es256_confusion_refused) { confusion(EC_A, EC_B, "ES256", RSA_A, "RS256"); }

TEST(es256_signature_forms)
{
    auth_jwt *j = jwt_with(EC_A);
    char h[256];
    hdr_with(h, sizeof h, "ES256", auth_jwt_kid(j));
    /* the DER form OpenSSL makes is not a JOSE signature */
    ASSERT_EQ_INT(check(j, h, 'd', EC_A, NULL, 0), BS_EAUTH);
    ASSERT_EQ_INT(check(j, h, 'k', EC_A, NULL, 0), BS_OK);
    /* an all-zero r||s */
    char *t = make(h, PAYLOAD, 'n', NULL, NULL, 0);
    unsigned char zero[64] = {0};
    t = realloc(t, strlen(t) + 100);
    b64url_cat(t, zero, sizeof zero);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_EAUTH);
    free(t);
    auth_jwt_free(j);
}

TEST(api_keys_stay_hs256)
{
    auth_jwt *j = jwt_with(RSA_A);
    char *k = NULL;
    ASSERT_EQ_INT(auth_jwt_api_key(j, "anon", NOW, &k), BS_OK);
    json_t *h = token_header(k);
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "alg")), "HS256");
    ASSERT(!json_object_get(h, "kid"));
    ASSERT_EQ_INT(verify_rc(j, k, NOW), BS_OK);
    /* and the same key verifies in an auth_jwt without the signing key */
    auth_jwt *plain = jwt_with(NULL);
    ASSERT_EQ_INT(verify_rc(plain, k, NOW), BS_OK);
    /* sign_access without a key is plain HS256 */
    json_t *claims = json_pack("{s:s,s:I}", "role", "authenticated", "exp", (json_int_t)(NOW + 60));
    char *t = NULL;
    ASSERT_EQ_INT(auth_jwt_sign_access(plain, claims, &t), BS_OK);
    json_t *h2 = token_header(t);
    ASSERT_EQ_STR(json_string_value(json_object_get(h2, "alg")), "HS256");
    ASSERT_EQ_INT(verify_rc(plain, t, NOW), BS_OK);
    ASSERT_EQ_INT(verify_rc(j, t, NOW), BS_OK);
    json_decref(h2);
    json_decref(claims);
    free(t);
    auth_jwt_free(plain);
    json_decref(h);
    free(k);
    auth_jwt_free(j);
}

TEST(key_file_rules)
{
    auth_jwt *j = jwt_with(NULL);
    ASSERT_EQ_INT(auth_jwt_set_signing_key(j, "/nonexistent/basalt.pem"), BS_EIO);
    ASSERT_EQ_INT(auth_jwt_set_signing_key(j, NULL), BS_EINVAL);

    /* garbage, a public key only, too-small RSA, P-384, Ed25519 */
    char path[] = "/tmp/basalt-jwtkey-bad-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_EQ_INT(write(fd, "not a key\n", 10), 10);
    close(fd);
    ASSERT_EQ_INT(auth_jwt_set_signing_key(j, path), BS_EINVAL);
    size_t pl = 0;
    char *pem = pub_pem(RSA_A, &pl);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fwrite(pem, 1, pl, f);
    fclose(f);
    free(pem);
    ASSERT_EQ_INT(auth_jwt_set_signing_key(j, path), BS_EINVAL);
    unlink(path);
    ASSERT(auth_jwt_kid(j) == NULL);
    auth_jwt_free(j);

    EVP_PKEY *small = EVP_RSA_gen(1024), *p384 = EVP_EC_gen("P-384");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ASSERT(small && p384 && ed);
    ASSERT_EQ_INT(load_rc(small), BS_EINVAL);
    ASSERT_EQ_INT(load_rc(p384), BS_EINVAL);
    ASSERT_EQ_INT(load_rc(ed), BS_EINVAL);
    ASSERT_EQ_INT(load_rc(RSA_B), BS_OK);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
}

/* Threads signing and verifying distinct tokens with one shared key. */
#define THREADS 4
#define ITERS 40
typedef struct { auth_jwt *j; int id, errors; } worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < ITERS; i++) {
        char sub[32];
        char *t = NULL;
        auth_claims *c = NULL;
        snprintf(sub, sizeof sub, "u-%d-%d", a->id, i);
        json_t *cl = json_pack("{s:s,s:s,s:I}", "role", "authenticated", "sub", sub, "exp",
                               (json_int_t)(NOW + 60));
        if (!cl || auth_jwt_sign_access(a->j, cl, &t) != BS_OK ||
            auth_jwt_verify(a->j, t, NOW, &c) != BS_OK || strcmp(c->sub, sub) != 0)
            a->errors++;
        /* a corrupted copy fails without disturbing the others */
        if (t) {
            t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
            if (verify_rc(a->j, t, NOW) != BS_EAUTH)
                a->errors++;
        }
        auth_claims_release(c);
        json_decref(cl);
        free(t);
    }
    return NULL;
}

static void concurrent(EVP_PKEY *pk)
{
    auth_jwt *j = jwt_with(pk);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){j, i, 0};
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    int errors = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += args[i].errors;
    }
    ASSERT_EQ_INT(errors, 0);
    auth_jwt_free(j);
}

TEST(concurrent_rs256) { concurrent(RSA_A); }
TEST(concurrent_es256) { concurrent(EC_A); }

TEST(release_keys)
{
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa2048b);
    EVP_PKEY_free(ec256);
    EVP_PKEY_free(ec256b);
    rsa2048 = rsa2048b = ec256 = ec256b = NULL;
}

TEST_MAIN(T(rs256_round_trip), T(es256_round_trip), T(rs256_confusion_refused),
          T(es256_confusion_refused), T(es256_signature_forms), T(api_keys_stay_hs256),
          T(key_file_rules), T(concurrent_rs256), T(concurrent_es256), T(release_keys))
