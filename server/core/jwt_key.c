/* jwt_key.c - the asymmetric signing key: PEM loading, JWK, sign, verify.
 *
 * Loading: PEM_read_bio_PrivateKey (PKCS#8 or the traditional RSA / EC
 * forms; encrypted keys are refused because no passphrase callback is
 * given).  An RSA key must have 2048..8192 bits; an EC key must be on
 * P-256.  The public parameters are read with EVP_PKEY_get_bn_param
 * (OpenSSL 3) and kept as base64url strings for the JWK; the kid is the
 * RFC 7638 thumbprint: SHA-256 over the canonical JSON of the required
 * members in lexicographic order ({"e","kty","n"} / {"crv","kty","x","y"}).
 * A load ends with one signature made and verified, as a self-test and so
 * that OpenSSL's lazily built provider key cache exists before threads
 * share the key.
 *
 * Signing and verifying go through EVP_DigestSign / EVP_DigestVerify with
 * SHA-256 (RSA: PKCS#1 v1.5 padding, OpenSSL's default).  ECDSA in
 * OpenSSL speaks DER; JOSE speaks r||s with each half left-padded to 32
 * bytes, so signatures are converted both ways with ECDSA_SIG.  Verifying
 * uses only public values, so nothing here needs a constant-time compare.
 */
#include "core/jwt_key.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MAX_PEM ((size_t)64 << 10)
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define EC_HALF 32

struct auth_jwtkey {
    EVP_PKEY *pkey;
    bool ec;
    size_t sig_len;
    char *a, *b;             /* RSA: n, e; EC: x, y (base64url) */
    char kid[44];            /* base64url of 32 bytes + NUL */
};

char *auth_b64url(const unsigned char *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *s = malloc(n / 3 * 4 + 5), *o = s;
    if (!s)
        return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = al[v >> 18];
        *o++ = al[(v >> 12) & 63];
        *o++ = al[(v >> 6) & 63];
        *o++ = al[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *o++ = al[v >> 18];
        *o++ = al[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *o++ = al[v >> 18];
        *o++ = al[(v >> 12) & 63];
        *o++ = al[(v >> 6) & 63];
    }
    *o = '\0';
    return s;
}

/* base64url of a BIGNUM parameter: minimal big-endian bytes, or exactly
 * pad bytes when pad > 0. */
static char *bn_param_b64(const EVP_PKEY *pk, const char *name, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;
    char *s = NULL;

    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1 || !bn)
        goto out;
    int len = pad > 0 ? pad : BN_num_bytes(bn);
    if (len <= 0 || !(buf = malloc((size_t)len)))
        goto out;
    if (BN_bn2binpad(bn, buf, len) != len)
        goto out;
    s = auth_b64url(buf, (size_t)len);
out:
    free(buf);
    BN_free(bn);
    return s;
}

static int raw_sign(const auth_jwtkey *k, const unsigned char *in, size_t n,
                    unsigned char *sig /* sig_len */)
{
    int rc = BS_ENOMEM;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    ECDSA_SIG *es = NULL;
    size_t dlen = 0;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &dlen, in, n) != 1 || !(der = malloc(dlen)) ||
        EVP_DigestSign(ctx, der, &dlen, in, n) != 1)
        goto out;
    if (!k->ec) {
        if (dlen != k->sig_len)
            goto out;
        memcpy(sig, der, dlen);
    } else {
        const unsigned char *p = der;
        const BIGNUM *r, *s;
        if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)))
            goto out;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, sig, EC_HALF) != EC_HALF ||
            BN_bn2binpad(s, sig + EC_HALF, EC_HALF) != EC_HALF)
            goto out;
    }
    rc = BS_OK;
out:
    ECDSA_SIG_free(es);
    free(der);
    EVP_MD_CTX_free(ctx);
    return rc;
}

bool auth_jwtkey_verify(const auth_jwtkey *k, const unsigned char *in, size_t n,
                        const unsigned char *sig, size_t siglen)
{
    bool ok = false;
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    const unsigned char *vs = sig;
    size_t vlen = siglen;

    if (!k || !in || !sig || siglen != k->sig_len)
        return false;
    if (k->ec) {
        r = BN_bin2bn(sig, EC_HALF, NULL);
        s = BN_bin2bn(sig + EC_HALF, EC_HALF, NULL);
        if (!r || !s || !(es = ECDSA_SIG_new()) || ECDSA_SIG_set0(es, r, s) != 1)
            goto out;
        r = s = NULL;                       /* owned by es now */
        int dl = i2d_ECDSA_SIG(es, &der);
        if (dl <= 0)
            goto out;
        vs = der;
        vlen = (size_t)dl;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1)
        goto out;
    ok = EVP_DigestVerify(ctx, vs, vlen, in, n) == 1;
out:
    if (!ok)
        ERR_clear_error();      /* a forged token leaves no error behind on this thread */
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    return ok;
}

int auth_jwtkey_sign(const auth_jwtkey *k, const char *payload, size_t n, char **token)
{
    int rc = BS_ENOMEM;
    char hdr[160];
    char *h64 = NULL, *p64 = NULL, *s64 = NULL, *t = NULL;
    unsigned char *sig = NULL;

    if (token)
        *token = NULL;
    if (!k || !payload || !token)
        return BS_EINVAL;
    int hl = snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                      auth_jwtkey_alg(k), k->kid);
    if (hl < 0 || (size_t)hl >= sizeof hdr)
        return BS_EINVAL;
    h64 = auth_b64url((const unsigned char *)hdr, (size_t)hl);
    p64 = auth_b64url((const unsigned char *)payload, n);
    if (!h64 || !p64)
        goto out;
    size_t hn = strlen(h64), pn = strlen(p64);
    size_t sn = k->sig_len / 3 * 4 + 4;
    if (!(t = malloc(hn + 1 + pn + 1 + sn + 1)) || !(sig = malloc(k->sig_len)))
        goto out;
    memcpy(t, h64, hn);
    t[hn] = '.';
    memcpy(t + hn + 1, p64, pn);
    if ((rc = raw_sign(k, (const unsigned char *)t, hn + 1 + pn, sig)) != BS_OK)
        goto out;
    rc = BS_ENOMEM;
    if (!(s64 = auth_b64url(sig, k->sig_len)))
        goto out;
    t[hn + 1 + pn] = '.';
    memcpy(t + hn + 1 + pn + 1, s64, strlen(s64) + 1);
    *token = t;
    t = NULL;
    rc = BS_OK;
out:
    free(h64);
    free(p64);
    free(s64);
    free(sig);
    free(t);
    return rc;
}

/* Fill the public members and the kid from k->pkey. */
static int describe(auth_jwtkey *k)
{
    int rc = BS_EINVAL;
    char *canon = NULL, *kid = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(k->pkey);
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
            goto out;
        k->sig_len = (size_t)EVP_PKEY_get_size(k->pkey);
        k->a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        k->b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC) {
        char grp[64];
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, grp,
                                           sizeof grp, &gl) != 1 ||
            strcmp(grp, "prime256v1") != 0)
            goto out;
        k->ec = true;
        k->sig_len = 2 * EC_HALF;
        k->a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, EC_HALF);
        k->b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, EC_HALF);
    } else {
        goto out;
    }
    rc = BS_ENOMEM;
    if (!k->a || !k->b)
        goto out;
    size_t cl = strlen(k->a) + strlen(k->b) + 64;
    if (!(canon = malloc(cl)))
        goto out;
    if (k->ec)
        snprintf(canon, cl, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->a, k->b);
    else
        snprintf(canon, cl, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", k->b, k->a);
    if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32 ||
        !(kid = auth_b64url(md, mdlen)))
        goto out;
    memcpy(k->kid, kid, strlen(kid) + 1);  /* 43 characters */
    rc = BS_OK;
out:
    free(kid);
    free(canon);
    return rc;
}

int auth_jwtkey_from_pem(const char *pem, size_t len, auth_jwtkey **out)
{
    int rc = BS_EINVAL;
    auth_jwtkey *k = NULL;
    BIO *bio = NULL;
    unsigned char *sig = NULL;
    static const unsigned char probe[] = "basalt.self-test";

    if (out)
        *out = NULL;
    if (!out || !pem || len == 0 || len > MAX_PEM)
        return BS_EINVAL;
    rc = BS_ENOMEM;
    if (!(k = calloc(1, sizeof *k)) || !(bio = BIO_new_mem_buf(pem, (int)len)))
        goto out;
    rc = BS_EINVAL;
    /* "" as the passphrase: an encrypted key fails instead of prompting */
    if (!(k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")))
        goto out;
    if ((rc = describe(k)) != BS_OK)
        goto out;
    rc = BS_ENOMEM;
    if (!(sig = malloc(k->sig_len)))
        goto out;
    if ((rc = raw_sign(k, probe, sizeof probe - 1, sig)) != BS_OK)
        goto out;
    if (!auth_jwtkey_verify(k, probe, sizeof probe - 1, sig, k->sig_len)) {
        rc = BS_EINVAL;
        goto out;
    }
    *out = k;
    k = NULL;
    rc = BS_OK;
out:
    if (rc != BS_OK)
        ERR_clear_error();
    free(sig);
    BIO_free(bio);
    auth_jwtkey_free(k);
    return rc;
}

int auth_jwtkey_load(const char *path, auth_jwtkey **out)
{
    int rc = BS_EIO;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = NULL;

    if (out)
        *out = NULL;
    if (!path || !out)
        return BS_EINVAL;
    if (!(f = fopen(path, "rb")))
        goto out;
    rc = BS_ENOMEM;
    if (!(buf = malloc(MAX_PEM + 1)))
        goto out;
    n = fread(buf, 1, MAX_PEM + 1, f);
    rc = BS_EIO;
    if (ferror(f))
        goto out;
    rc = n > MAX_PEM ? BS_ETOOBIG : auth_jwtkey_from_pem(buf, n, out);
out:
    if (buf) {
        OPENSSL_cleanse(buf, MAX_PEM + 1);
        free(buf);
    }
    if (f)
        fclose(f);
    return rc;
}

void auth_jwtkey_free(auth_jwtkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->a);
    free(k->b);
    free(k);
}

const char *auth_jwtkey_alg(const auth_jwtkey *k)
{
    return k->ec ? "ES256" : "RS256";
}

const char *auth_jwtkey_kid(const auth_jwtkey *k)
{
    return k->kid;
}

size_t auth_jwtkey_sig_len(const auth_jwtkey *k)
{
    return k->sig_len;
}

json_t *auth_jwtkey_jwk(const auth_jwtkey *k)
{
    if (k->ec)
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", k->a,
                         "y", k->b, "alg", "ES256", "use", "sig", "kid", k->kid);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "n", k->a, "e", k->b, "alg",
                     "RS256", "use", "sig", "kid", k->kid);
}
