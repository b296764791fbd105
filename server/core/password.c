/* password.c - scrypt password hashes in PHC strings, bcrypt imports; see
 * password.h.
 *
 * Parsing of a stored PHC string is strict (exact parameter order
 * ln,r,p; decimal numbers without leading zeros; salt 4..64 bytes; hash
 * 16..64 bytes) so a corrupted row fails verification instead of being
 * read loosely.  The comparison of derived keys is CRYPTO_memcmp.
 */
#include "core/password.h"
#include "core/bcrypt.h"
#include "core/crypto.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SALT_LEN 16
#define KEY_LEN 32

struct auth_passwords {
    auth_password_params pp;  /* set by new, never changed */
    char *dummy;              /* a hash of a random password, made with pp */
};

static bool params_ok(long ln, long r, long p)
{
    return ln >= 1 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

static int derive(const char *pw, size_t len, const uint8_t *salt, size_t slen, int ln, int r, int p,
                  uint8_t *key, size_t klen)
{
    uint64_t n = (uint64_t)1 << ln;
    /* scrypt needs 128*r*N*p bytes plus a little; allow that much */
    uint64_t maxmem = 128 * (uint64_t)r * n * (uint64_t)p + 128 * (uint64_t)r * (n + 2) + (1u << 20);
    if (EVP_PBE_scrypt(pw, len, salt, slen, n, (uint64_t)r, (uint64_t)p, maxmem, key, klen) != 1)
        return BS_EIO;
    return BS_OK;
}

int auth_password_hash(const auth_passwords *h, const char *pw, size_t len, char **out)
{
    *out = NULL;
    uint8_t salt[SALT_LEN], key[KEY_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return BS_EIO;
    int ln = h->pp.ln, r = h->pp.r, p = h->pp.p;
    int rc = derive(pw, len, salt, sizeof salt, ln, r, p, key, sizeof key);
    if (rc)
        return rc;
    char s64[32], k64[48];
    auth_b64_encode(salt, sizeof salt, s64, false);
    auth_b64_encode(key, sizeof key, k64, false);
    OPENSSL_cleanse(key, sizeof key);
    char *res = malloc(128);
    if (!res)
        return BS_ENOMEM;
    snprintf(res, 128, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, s64, k64);
    *out = res;
    return BS_OK;
}

/* Reads a decimal number without sign or leading zero; advances *s. */
static bool read_num(const char **s, long *v)
{
    const char *p = *s;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return false;
    long n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p++ - '0');
        if (n > 1000000)
            return false;
    }
    *s = p;
    *v = n;
    return true;
}

typedef struct phc {
    long ln, r, p;
    uint8_t salt[64], key[64];
    long slen, klen;
} phc;

static bool parse_phc(const char *s, phc *o)
{
    static const char pre[] = "$scrypt$ln=";
    if (strncmp(s, pre, sizeof pre - 1) != 0)
        return false;
    s += sizeof pre - 1;
    if (!read_num(&s, &o->ln) || strncmp(s, ",r=", 3) != 0)
        return false;
    s += 3;
    if (!read_num(&s, &o->r) || strncmp(s, ",p=", 3) != 0)
        return false;
    s += 3;
    if (!read_num(&s, &o->p) || *s != '$' || !params_ok(o->ln, o->r, o->p))
        return false;
    s++;
    const char *d = strchr(s, '$');
    if (!d)
        return false;
    o->slen = auth_b64_decode(s, (size_t)(d - s), o->salt, sizeof o->salt, false);
    o->klen = auth_b64_decode(d + 1, strlen(d + 1), o->key, sizeof o->key, false);
    return o->slen >= 4 && o->klen >= 16;
}

bool auth_password_hash_valid(const char *s)
{
    phc h;
    return s && (auth_bcrypt_valid(s) || parse_phc(s, &h));
}

/* Check pw against a PHC string; rehash when weaker than h's parameters. */
static int verify_phc(const auth_passwords *h, const char *pw, size_t len, const char *stored, bool *ok,
                      bool *rehash)
{
    phc ph;
    if (!parse_phc(stored, &ph))
        return BS_EINVAL;
    uint8_t key[64];
    int rc = derive(pw, len, ph.salt, (size_t)ph.slen, (int)ph.ln, (int)ph.r, (int)ph.p, key, (size_t)ph.klen);
    if (rc)
        return rc;
    *ok = CRYPTO_memcmp(key, ph.key, (size_t)ph.klen) == 0;
    OPENSSL_cleanse(key, sizeof key);
    if (rehash)
        *rehash = ph.ln < h->pp.ln || ph.r < h->pp.r || ph.p < h->pp.p || ph.klen < KEY_LEN;
    return BS_OK;
}

int auth_password_verify(const auth_passwords *h, const char *pw, size_t len, const char *stored, bool *ok,
                         bool *rehash)
{
    *ok = false;
    if (rehash)
        *rehash = false;
    if (!stored) {
        /* no such account: spend what a check costs, and answer no */
        bool same = false;
        return verify_phc(h, pw, len, h->dummy, &same, NULL);
    }
    if (stored[0] == '$' && stored[1] == '2') {
        int rc = auth_bcrypt_verify(pw, len, stored, ok);
        if (rehash)
            *rehash = true;
        return rc;
    }
    return verify_phc(h, pw, len, stored, ok, rehash);
}

int auth_passwords_new(const auth_password_params *pp, auth_passwords **out)
{
    *out = NULL;
    static const auth_password_params defaults = AUTH_PASSWORD_PARAMS_DEFAULT;
    if (!pp)
        pp = &defaults;
    if (!params_ok(pp->ln, pp->r, pp->p))
        return BS_EINVAL;
    auth_passwords *h = calloc(1, sizeof *h);
    if (!h)
        return BS_ENOMEM;
    h->pp = *pp;
    /* the password is random: nobody can sign in with the dummy */
    uint8_t pw[24];
    int rc = RAND_bytes(pw, sizeof pw) == 1 ? BS_OK : BS_EIO;
    if (!rc)
        rc = auth_password_hash(h, (const char *)pw, sizeof pw, &h->dummy);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc) {
        auth_passwords_free(h);
        return rc;
    }
    *out = h;
    return BS_OK;
}

void auth_passwords_free(auth_passwords *h)
{
    if (!h)
        return;
    free(h->dummy);
    free(h);
}

auth_password_params auth_passwords_params(const auth_passwords *h) { return h->pp; }
