/* jwt.c - HS256 JWT signing, verification and the verified-token cache.
 *
 * Signing writes the header {"alg":"HS256","typ":"JWT"} and three unpadded
 * base64url segments with OpenSSL's HMAC (see auth_jwt_sign for why not
 * through libjwt; the unit tests check both directions against libjwt).
 *
 * Verification is done here first and only then by libjwt, in this order:
 *
 *   1. Shape: at most AUTH_JWT_MAX_LEN bytes, exactly three segments, every
 *      segment strict base64url (alphabet A-Z a-z 0-9 - _, no '=', no
 *      whitespace, length % 4 != 1, unused trailing bits zero).
 *   2. Header: a JSON object (duplicate keys refused, at most
 *      JSONIN_MAX_DEPTH deep: it is parsed before anything is verified,
 *      so through core/jsonin.h like all outside JSON) whose "typ", if
 *      present, is exactly "JWT", that has no "crit", and that picks one
 *      of exactly two verifiers, each with its algorithm pinned:
 *        - "alg" exactly "HS256": the secret.  With no signing key set,
 *          other members (kid, ...) are ignored; with a signing key set
 *          the header must have no "kid" at all.
 *        - only with a signing key set (auth_jwt_set_signing_key): "alg"
 *          exactly that key's algorithm (RS256 or ES256) and "kid" exactly
 *          its kid.  The key is never used as an HMAC secret and the
 *          secret never checks an asymmetric token, so HS/RS confusion,
 *          "none", a kid-less RS256 token or an HS256 token wearing our kid
 *          are all refused here.
 *      The signature must then decode to exactly 32 bytes (HS256) or
 *      exactly the key's signature length.
 *   3. Signature: HMAC-SHA256 over "header.payload" computed with
 *      OpenSSL and compared with CRYPTO_memcmp; for the asymmetric key,
 *      EVP_DigestVerify in auth/jwt_key.c (public values only).  We do not rely on
 *      libjwt for this compare: upstream libjwt 1.10.2 compares the
 *      base64 signature text with strcmp() (CVE-2024-25189).  Debian's
 *      1.10.2-1+deb12u1 patches that to a constant-time jwt_strcmp, but
 *      the build links whatever libjwt pkg-config finds, so the timing-
 *      safe compare has to be ours.
 *   4. Claims: the payload is parsed with jsonin_parse (duplicates refused,
 *      at most JSONIN_MAX_DEPTH deep: user_metadata is the user's choice)
 *      into the json_t that the auth_claims will own; `exp` must be a JSON
 *      integer, `nbf` and `iat` integers when present, `role` a non-empty
 *      string, `sub` / `email` / `session_id` strings and `is_anonymous`
 *      a boolean when present (JSON null counts as absent).  Only when the
 *      types are right are the times checked: exp <= now or nbf > now is
 *      BS_EEXPIRED.
 *   5. libjwt (HS256 only): jwt_decode with the secret (libjwt re-checks
 *      the header and the HMAC), then jwt_get_alg must be JWT_ALG_HS256.  This is a
 *      second, independent opinion; because it runs after step 3, libjwt
 *      only ever parses bytes signed with our secret, so its more lenient
 *      base64 and header parsing is not reachable by an attacker.
 *
 * Cache: AUTH_JWT_CACHE_MAX slots arranged as 4-way sets, indexed by a
 * SipHash-2-4 of the token text under a random 128-bit key drawn from
 * RAND_bytes when the auth_jwt is made, so nobody can aim many tokens at one
 * set.  A slot keeps a copy of the full token (compared on hit), its exp
 * and nbf and one reference to the claims.  A hit needs nbf <= now < exp;
 * an expired slot met on lookup is freed.  An insert first frees the
 * expired ways of its set, then evicts the way that expires first until
 * there is a free way.  Besides the slot count, the cache holds at most
 * CACHE_BYTES of token copies and parsed claims (estimated from the
 * payload's structure, see payload_cost), because GoTrue puts
 * user_metadata, which users control, into their tokens: ~6 KB of "[{},"
 * parses into ~0.5 MB.  An insert that would pass the budget evicts more
 * of its own set; if the set is empty and there is still no room the token
 * is not cached and a few other sets are swept for expired slots.  The
 * budget is read and charged with relaxed atomics under per-set locks, so
 * concurrent inserts may overshoot it by one token per thread.  Failed
 * verifications are never cached.
 *
 * Signing key: auth_jwt_sign_access signs with the key when one is set
 * (auth_jwtkey_sign writes the header {"alg","kid","typ"}), else exactly
 * like auth_jwt_sign; API keys always use auth_jwt_sign (HS256), so they
 * survive adding or removing the key.  Cached tokens are keyed by their
 * full text, so the cache serves both kinds alike.
 *
 * Threads: every function except auth_jwt_new / auth_jwt_free /
 * auth_jwt_set_signing_key may be
 * called from any number of threads at once.  Sets are guarded by
 * LOCK_STRIPES striped mutexes; statistics are relaxed atomics; claim
 * reference counts use the __atomic builtins (the public struct holds a
 * plain int).  Claims are immutable once published, so readers need no
 * lock.
 */
#include "core/jwt.h"
#include "core/jwt_key.h"
#include "core/error.h"
#include "core/jsonin.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define MIN_SECRET_LEN 32
#define SIG_LEN 32              /* HMAC-SHA256 output */
#define API_KEY_LIFETIME ((int64_t)10 * 365 * 86400)

#define CACHE_WAYS 4
#define CACHE_SETS (AUTH_JWT_CACHE_MAX / CACHE_WAYS)
#define LOCK_STRIPES 64
#define CACHE_BYTES ((size_t)64 << 20)
#define SWEEP_SETS 64

_Static_assert((CACHE_SETS & (CACHE_SETS - 1)) == 0, "sets: power of two");
_Static_assert(CACHE_SETS % LOCK_STRIPES == 0, "stripes divide sets");

typedef struct slot {
    uint64_t h;
    int64_t exp, nbf;
    size_t len, cost;
    char *tok;               /* NULL when the slot is empty */
    auth_claims *c;          /* the cache's reference */
} slot;

struct auth_jwt {
    unsigned char *key;
    size_t key_len;
    auth_jwtkey *akey;       /* NULL: HS256 only */
    uint64_t sip[2];
    slot *slots;             /* CACHE_SETS * CACHE_WAYS */
    pthread_mutex_t locks[LOCK_STRIPES];
    _Atomic uint64_t hits, misses;
    _Atomic size_t entries, bytes, sweep_next;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein), keyed per auth_jwt ---------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                             \
    do {                                                                     \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);            \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                               \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                               \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);            \
    } while (0)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash24(const uint64_t k[2], const void *data, size_t len)
{
    const unsigned char *in = data;
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k[0];
    uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k[1];
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k[0];
    uint64_t v3 = UINT64_C(0x7465646279746573) ^ k[1];
    size_t full = len & ~(size_t)7;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- strict base64url ------------------------------------------------ */

static int b64url_val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '-') return 62;
    if (ch == '_') return 63;
    return -1;
}

/* Decode n unpadded base64url characters into out (room for n * 3 / 4
 * bytes).  False for a character outside the alphabet, n % 4 == 1, or
 * non-zero unused bits in the last character (a non-canonical spelling of
 * the same bytes). */
static bool b64url_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n % 4 == 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0)
        return false;
    *outlen = o;
    return true;
}

/* ---- claims ---------------------------------------------------------- */

auth_claims *auth_claims_retain(auth_claims *c)
{
    if (c)
        __atomic_fetch_add(&c->refs_, 1, __ATOMIC_RELAXED);
    return c;
}

void auth_claims_release(auth_claims *c)
{
    if (!c)
        return;
    if (__atomic_sub_fetch(&c->refs_, 1, __ATOMIC_ACQ_REL) == 0) {
        json_decref(c->json);
        free(c);
    }
}

/* Optional string claim: absent or null -> "", string -> its value, any
 * other type -> false. */
static bool opt_string(json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        *out = "";
        return true;
    }
    if (!json_is_string(v))
        return false;
    *out = json_string_value(v);
    return true;
}

enum verifier { V_NONE, V_HS256, V_KEY };

static bool json_str_is(json_t *v, const char *want)
{
    size_t n = strlen(want);
    return json_is_string(v) && json_string_length(v) == n && memcmp(json_string_value(v), want, n) == 0;
}

/* Check the header's JSON and pick the verifier: see step 2 of the design
 * comment.  V_NONE refuses the token. */
static enum verifier header_ok(const auth_jwt *j, const unsigned char *h, size_t n)
{
    json_t *hdr = NULL;
    enum verifier ok = V_NONE, pick = V_NONE;
    json_t *v, *kid;

    /* before the signature is checked: anyone can send this */
    if (jsonin_parse((const char *)h, n, AUTH_JWT_MAX_LEN, JSON_REJECT_DUPLICATES, &hdr, NULL, 0) != BS_OK ||
        !json_is_object(hdr))
        goto out;
    v = json_object_get(hdr, "alg");
    kid = json_object_get(hdr, "kid");
    if (json_str_is(v, "HS256") && (!j->akey || !kid))
        pick = V_HS256;
    else if (j->akey && json_str_is(v, auth_jwtkey_alg(j->akey)) &&
             json_str_is(kid, auth_jwtkey_kid(j->akey)))
        pick = V_KEY;
    else
        goto out;
    v = json_object_get(hdr, "typ");
    if (v && (!json_is_string(v) || json_string_length(v) != 3 ||
              memcmp(json_string_value(v), "JWT", 3) != 0))
        goto out;
    if (json_object_get(hdr, "crit"))
        goto out;
    ok = pick;
out:
    json_decref(hdr);
    return ok;
}

/* Parse and type-check the payload (step 4).  On BS_OK *out holds a claims
 * object with one reference and *nbf the nbf claim (INT64_MIN if none). */
static int claims_from_payload(const unsigned char *p, size_t n, int64_t now,
                               auth_claims **out, int64_t *nbf)
{
    int rc = BS_EAUTH;
    auth_claims *c = NULL;
    json_t *js = NULL;
    json_t *exp, *nb, *iat, *role, *anon;

    *out = NULL;
    /* signed, but GoTrue tokens carry user_metadata that users chose */
    if (jsonin_parse((const char *)p, n, AUTH_JWT_MAX_LEN, JSON_REJECT_DUPLICATES, &js, NULL, 0) != BS_OK ||
        !json_is_object(js))
        goto out;
    exp = json_object_get(js, "exp");
    nb = json_object_get(js, "nbf");
    iat = json_object_get(js, "iat");
    role = json_object_get(js, "role");
    anon = json_object_get(js, "is_anonymous");
    if (!json_is_integer(exp) || (nb && !json_is_integer(nb)) ||
        (iat && !json_is_integer(iat)))
        goto out;
    if (!json_is_string(role) || json_string_length(role) == 0)
        goto out;
    if (anon && !json_is_null(anon) && !json_is_boolean(anon))
        goto out;

    c = calloc(1, sizeof *c);
    if (!c) {
        rc = BS_ENOMEM;
        goto out;
    }
    c->role = json_string_value(role);
    if (!opt_string(js, "sub", &c->sub) || !opt_string(js, "email", &c->email) ||
        !opt_string(js, "session_id", &c->session_id))
        goto out;
    c->exp = json_integer_value(exp);
    c->iat = iat ? json_integer_value(iat) : 0;
    c->is_anonymous = json_is_true(anon);
    *nbf = nb ? json_integer_value(nb) : INT64_MIN;

    if (c->exp <= now || *nbf > now) {
        rc = BS_EEXPIRED;
        goto out;
    }
    c->json = js;
    c->refs_ = 1;
    js = NULL;
    *out = c;
    c = NULL;
    rc = BS_OK;
out:
    free(c);
    json_decref(js);
    return rc;
}

/* Upper estimate of the bytes a cached payload occupies once jansson has
 * parsed it: every '{', '[', ',', ':' and '"' stands for at most one node,
 * hashtable or pair, weighted by what jansson 2.14 allocates for it
 * (measured with glibc: the estimate is 1.0-2x the real heap use, for
 * typical GoTrue claims as for adversarial shapes such as [{},{},...] or
 * deep nesting).  Counting those bytes inside strings only overestimates. */
static size_t payload_cost(const unsigned char *p, size_t n)
{
    size_t cost = n;
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '{': cost += 256; break;
        case '[': cost += 128; break;
        case ',': case ':': cost += 64; break;
        case '"': cost += 24; break;
        default: break;
        }
    }
    return cost;
}

/* The whole uncached verification (steps 1-5).  tok[len] is NUL. */
static int verify_full(auth_jwt *j, const char *tok, size_t len, int64_t now,
                       auth_claims **out, int64_t *nbf, size_t *cost)
{
    int rc = BS_EAUTH;
    unsigned char *dec = NULL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t hn = 0, pn = 0, sn = 0;
    auth_claims *c = NULL;
    jwt_t *lj = NULL;

    *out = NULL;
    /* 1. shape */
    const char *d1 = memchr(tok, '.', len);
    if (!d1)
        goto out;
    const char *pay = d1 + 1;
    const char *d2 = memchr(pay, '.', len - (size_t)(pay - tok));
    if (!d2)
        goto out;
    const char *s = d2 + 1;
    size_t hlen = (size_t)(d1 - tok), plen = (size_t)(d2 - pay);
    size_t slen = len - (size_t)(s - tok);
    if (hlen == 0 || plen == 0 || slen == 0 || memchr(s, '.', slen))
        goto out;
    dec = malloc(hlen * 3 / 4 + plen * 3 / 4 + slen * 3 / 4 + 3);
    if (!dec) {
        rc = BS_ENOMEM;
        goto out;
    }
    unsigned char *hdr = dec, *payload = dec + hlen * 3 / 4 + 1;
    unsigned char *sig = payload + plen * 3 / 4 + 1;
    if (!b64url_decode(tok, hlen, hdr, &hn) || !b64url_decode(pay, plen, payload, &pn) ||
        !b64url_decode(s, slen, sig, &sn))
        goto out;

    /* 2. header */
    enum verifier v = header_ok(j, hdr, hn);
    if (v == V_NONE || sn != (v == V_HS256 ? SIG_LEN : auth_jwtkey_sig_len(j->akey)))
        goto out;

    /* 3. signature: HMAC with a constant-time compare (see the top
     * comment), or the asymmetric key's public half */
    if (v == V_KEY) {
        if (!auth_jwtkey_verify(j->akey, (const unsigned char *)tok, hlen + 1 + plen, sig, sn))
            goto out;
    } else {
        if (!HMAC(EVP_sha256(), j->key, (int)j->key_len, (const unsigned char *)tok,
                  hlen + 1 + plen, mac, &maclen) || maclen != SIG_LEN) {
            rc = BS_ENOMEM;
            goto out;
        }
        if (CRYPTO_memcmp(mac, sig, SIG_LEN) != 0)
            goto out;
    }

    /* 4. claims */
    rc = claims_from_payload(payload, pn, now, &c, nbf);
    if (rc != BS_OK)
        goto out;

    /* 5. libjwt's own opinion on an already authenticated HS256 token */
    rc = BS_EAUTH;
    if (v == V_HS256) {
        if (jwt_decode(&lj, tok, j->key, (int)j->key_len) != 0 || !lj)
            goto out;
        if (jwt_get_alg(lj) != JWT_ALG_HS256)
            goto out;
    }

    *cost = len + payload_cost(payload, pn) + sizeof *c + 64;
    *out = c;
    c = NULL;
    rc = BS_OK;
out:
    OPENSSL_cleanse(mac, sizeof mac);
    jwt_free(lj);
    auth_claims_release(c);
    free(dec);
    return rc;
}

/* ---- cache ----------------------------------------------------------- */

static void slot_take(auth_jwt *j, slot *s, char **tok, auth_claims **c)
{
    *tok = s->tok;
    *c = s->c;
    atomic_fetch_sub_explicit(&j->entries, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&j->bytes, s->cost, memory_order_relaxed);
    memset(s, 0, sizeof *s);
}

static pthread_mutex_t *set_lock(auth_jwt *j, size_t set)
{
    return &j->locks[set % LOCK_STRIPES];
}

/* Free the expired ways of one set.  Caller holds the set's lock; the
 * victims are handed back to be freed after unlocking. */
static int purge_set(auth_jwt *j, slot *set, int64_t now, char **toks, auth_claims **cs)
{
    int n = 0;
    for (int w = 0; w < CACHE_WAYS; w++)
        if (set[w].tok && set[w].exp <= now) {
            slot_take(j, &set[w], &toks[n], &cs[n]);
            n++;
        }
    return n;
}

static void free_victims(int n, char **toks, auth_claims **cs)
{
    for (int i = 0; i < n; i++) {
        free(toks[i]);
        auth_claims_release(cs[i]);
    }
}

static void sweep_some(auth_jwt *j, int64_t now)
{
    char *toks[CACHE_WAYS];
    auth_claims *cs[CACHE_WAYS];

    for (int k = 0; k < SWEEP_SETS; k++) {
        size_t set = atomic_fetch_add_explicit(&j->sweep_next, 1, memory_order_relaxed) &
                     (CACHE_SETS - 1);
        pthread_mutex_lock(set_lock(j, set));
        int n = purge_set(j, &j->slots[set * CACHE_WAYS], now, toks, cs);
        pthread_mutex_unlock(set_lock(j, set));
        free_victims(n, toks, cs);
    }
}

static auth_claims *cache_get(auth_jwt *j, uint64_t h, const char *tok, size_t len,
                              int64_t now)
{
    size_t set = (size_t)(h & (CACHE_SETS - 1));
    slot *ways = &j->slots[set * CACHE_WAYS];
    auth_claims *hit = NULL, *dead = NULL;
    char *dead_tok = NULL;

    pthread_mutex_lock(set_lock(j, set));
    for (int w = 0; w < CACHE_WAYS; w++) {
        slot *s = &ways[w];
        if (!s->tok || s->h != h || s->len != len || CRYPTO_memcmp(s->tok, tok, len) != 0)
            continue;
        if (now < s->exp && now >= s->nbf)
            hit = auth_claims_retain(s->c);
        else if (now >= s->exp)
            slot_take(j, s, &dead_tok, &dead);
        break;
    }
    pthread_mutex_unlock(set_lock(j, set));

    free(dead_tok);
    auth_claims_release(dead);
    atomic_fetch_add_explicit(hit ? &j->hits : &j->misses, 1, memory_order_relaxed);
    return hit;
}

/* Best effort: on any failure the token simply is not cached. */
static void cache_put(auth_jwt *j, uint64_t h, const char *tok, size_t len, int64_t now,
                      int64_t nbf, size_t cost, auth_claims *c)
{
    size_t set = (size_t)(h & (CACHE_SETS - 1));
    slot *ways = &j->slots[set * CACHE_WAYS];
    char *toks[CACHE_WAYS];         /* every way is taken at most once */
    auth_claims *cs[CACHE_WAYS];
    int nvict = 0;
    bool stored = false, over_budget = false;
    slot *dst = NULL;
    char *copy = malloc(len + 1);

    if (!copy)
        return;
    memcpy(copy, tok, len + 1);

    pthread_mutex_lock(set_lock(j, set));
    for (int w = 0; w < CACHE_WAYS; w++)
        if (ways[w].tok && ways[w].h == h && ways[w].len == len &&
            memcmp(ways[w].tok, tok, len) == 0)
            goto unlock;    /* another thread got there first */
    nvict = purge_set(j, ways, now, toks, cs);
    /* Evict from this set, soonest exp first, until there is a free way and
     * the byte budget has room; with the set empty and still no room, give
     * up.  Sets are picked by a keyed hash, so this is random eviction. */
    for (;;) {
        slot *free_way = NULL, *soonest = NULL;
        for (int w = 0; w < CACHE_WAYS; w++) {
            if (!ways[w].tok) {
                if (!free_way)
                    free_way = &ways[w];
            } else if (!soonest || ways[w].exp < soonest->exp) {
                soonest = &ways[w];
            }
        }
        if (free_way && atomic_load_explicit(&j->bytes, memory_order_relaxed) + cost <=
                            CACHE_BYTES) {
            dst = free_way;
            break;
        }
        if (!soonest) {
            over_budget = true;
            goto unlock;
        }
        slot_take(j, soonest, &toks[nvict], &cs[nvict]);
        nvict++;
    }
    dst->h = h;
    dst->exp = c->exp;
    dst->nbf = nbf;
    dst->len = len;
    dst->cost = cost;
    dst->tok = copy;
    dst->c = auth_claims_retain(c);
    atomic_fetch_add_explicit(&j->entries, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&j->bytes, cost, memory_order_relaxed);
    stored = true;
unlock:
    pthread_mutex_unlock(set_lock(j, set));
    free_victims(nvict, toks, cs);
    if (!stored)
        free(copy);
    if (over_budget)
        sweep_some(j, now);
}

/* ---- public API ------------------------------------------------------ */

int auth_jwt_new(const unsigned char *secret, size_t len, auth_jwt **out)
{
    int rc = BS_EINVAL;
    auth_jwt *j = NULL;
    int nlocks = 0;

    if (out)
        *out = NULL;
    if (!out || !secret || len < MIN_SECRET_LEN || len > INT_MAX)
        return BS_EINVAL;

    rc = BS_ENOMEM;
    j = calloc(1, sizeof *j);
    if (!j)
        goto out;
    j->key = malloc(len);
    j->slots = calloc((size_t)CACHE_SETS * CACHE_WAYS, sizeof(slot));
    if (!j->key || !j->slots)
        goto out;
    memcpy(j->key, secret, len);
    j->key_len = len;
    unsigned char seed[16];
    if (RAND_bytes(seed, sizeof seed) != 1) {
        rc = BS_EIO;
        goto out;
    }
    j->sip[0] = load_le64(seed);
    j->sip[1] = load_le64(seed + 8);
    OPENSSL_cleanse(seed, sizeof seed);
    for (; nlocks < LOCK_STRIPES; nlocks++)
        if (pthread_mutex_init(&j->locks[nlocks], NULL) != 0)
            goto out;
    atomic_init(&j->hits, 0);
    atomic_init(&j->misses, 0);
    atomic_init(&j->entries, 0);
    atomic_init(&j->bytes, 0);
    atomic_init(&j->sweep_next, 0);
    *out = j;
    j = NULL;
    rc = BS_OK;
out:
    if (j) {
        while (nlocks > 0)
            pthread_mutex_destroy(&j->locks[--nlocks]);
        if (j->key)
            OPENSSL_cleanse(j->key, len);
        free(j->key);
        free(j->slots);
        free(j);
    }
    return rc;
}

void auth_jwt_free(auth_jwt *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < (size_t)CACHE_SETS * CACHE_WAYS; i++) {
        free(j->slots[i].tok);
        auth_claims_release(j->slots[i].c);
    }
    for (int i = 0; i < LOCK_STRIPES; i++)
        pthread_mutex_destroy(&j->locks[i]);
    OPENSSL_cleanse(j->key, j->key_len);
    free(j->key);
    auth_jwtkey_free(j->akey);
    free(j->slots);
    free(j);
}

/* HS256 signing is done here with OpenSSL's HMAC, the primitive libjwt
 * itself uses: going through libjwt 1.10 would dump the claims, re-parse
 * them (jwt_add_grants_json takes only a string) and dump them again, which
 * measured about a sixth of the HTTP worker's time per token refresh.  The
 * output is the same compact JWS libjwt writes, and every token we accept
 * is still checked by libjwt in auth_jwt_verify (tests/unit/auth/jwt.c
 * verifies our tokens with libjwt and libjwt's tokens with ours). */
#define HS256_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" /* {"alg":"HS256","typ":"JWT"} */

int auth_jwt_sign(auth_jwt *j, json_t *claims, char **token)
{
    int rc = BS_ENOMEM;
    char *js = NULL, *p64 = NULL, *s64 = NULL, *t = NULL;

    if (token)
        *token = NULL;
    if (!j || !token || !json_is_object(claims))
        return BS_EINVAL;

    js = json_dumps(claims, JSON_COMPACT);
    if (!js || !(p64 = auth_b64url((const unsigned char *)js, strlen(js))))
        goto out;
    size_t hl = sizeof HS256_HEADER_B64 - 1, pl = strlen(p64);
    if (hl + 1 + pl + 1 + 43 > AUTH_JWT_MAX_LEN) {
        rc = BS_ETOOBIG; /* auth_jwt_verify would refuse it */
        goto out;
    }
    t = malloc(hl + 1 + pl + 1 + 44);
    if (!t)
        goto out;
    memcpy(t, HS256_HEADER_B64, hl);
    t[hl] = '.';
    memcpy(t + hl + 1, p64, pl);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), j->key, (int)j->key_len, (const unsigned char *)t, hl + 1 + pl, mac, &maclen) ||
        maclen != 32 || !(s64 = auth_b64url(mac, maclen))) {
        rc = BS_EIO;
        goto out;
    }
    t[hl + 1 + pl] = '.';
    memcpy(t + hl + 1 + pl + 1, s64, 44); /* 43 characters and the NUL */
    *token = t;
    t = NULL;
    rc = BS_OK;
out:
    free(t);
    free(s64);
    free(p64);
    free(js);
    return rc;
}

int auth_jwt_verify(auth_jwt *j, const char *token, int64_t now, auth_claims **out)
{
    auth_claims *c = NULL;
    int64_t nbf = INT64_MIN;
    size_t cost = 0;

    if (out)
        *out = NULL;
    if (!j || !out)
        return BS_EINVAL;
    if (!token)
        return BS_EAUTH;
    size_t len = strnlen(token, AUTH_JWT_MAX_LEN + 1);
    if (len == 0 || len > AUTH_JWT_MAX_LEN)
        return BS_EAUTH;

    uint64_t h = siphash24(j->sip, token, len);
    c = cache_get(j, h, token, len, now);
    if (c) {
        *out = c;
        return BS_OK;
    }
    int rc = verify_full(j, token, len, now, &c, &nbf, &cost);
    if (rc != BS_OK)
        return rc;
    cache_put(j, h, token, len, now, nbf, cost, c);
    *out = c;
    return BS_OK;
}

int auth_jwt_api_key(auth_jwt *j, const char *role, int64_t now, char **token)
{
    int rc;
    json_t *claims;

    if (token)
        *token = NULL;
    if (!j || !token || !role || !*role || now > INT64_MAX - API_KEY_LIFETIME ||
        now < INT64_MIN + API_KEY_LIFETIME)
        return BS_EINVAL;
    claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", "basalt", "role", role,
                       "iat", (json_int_t)now, "exp", (json_int_t)(now + API_KEY_LIFETIME));
    if (!claims)
        return BS_EINVAL;   /* role is not valid UTF-8, or out of memory */
    rc = auth_jwt_sign(j, claims, token);
    json_decref(claims);
    return rc;
}

void auth_jwt_cache_stats(auth_jwt *j, uint64_t *hits, uint64_t *misses, size_t *entries)
{
    if (hits)
        *hits = j ? atomic_load_explicit(&j->hits, memory_order_relaxed) : 0;
    if (misses)
        *misses = j ? atomic_load_explicit(&j->misses, memory_order_relaxed) : 0;
    if (entries)
        *entries = j ? atomic_load_explicit(&j->entries, memory_order_relaxed) : 0;
}

int auth_jwt_set_signing_key(auth_jwt *j, const char *path)
{
    auth_jwtkey *k = NULL;

    if (!j || !path)
        return BS_EINVAL;
    int rc = auth_jwtkey_load(path, &k);
    if (rc != BS_OK)
        return rc;
    auth_jwtkey_free(j->akey);
    j->akey = k;
    return BS_OK;
}

int auth_jwt_sign_access(auth_jwt *j, json_t *claims, char **token)
{
    int rc;
    char *js = NULL, *t = NULL;

    if (token)
        *token = NULL;
    if (!j || !token || !json_is_object(claims))
        return BS_EINVAL;
    if (!j->akey)
        return auth_jwt_sign(j, claims, token);
    js = json_dumps(claims, JSON_COMPACT);
    if (!js)
        return BS_ENOMEM;
    rc = auth_jwtkey_sign(j->akey, js, strlen(js), &t);
    if (rc == BS_OK && strlen(t) > AUTH_JWT_MAX_LEN)
        rc = BS_ETOOBIG;        /* auth_jwt_verify would refuse it */
    if (rc == BS_OK) {
        *token = t;
        t = NULL;
    }
    free(t);
    free(js);
    return rc;
}

json_t *auth_jwt_jwks(auth_jwt *j)
{
    json_t *keys = json_array();
    if (keys && j && j->akey && json_array_append_new(keys, auth_jwtkey_jwk(j->akey)) != 0) {
        json_decref(keys);
        return NULL;
    }
    return keys ? json_pack("{s:o}", "keys", keys) : NULL;
}

const char *auth_jwt_kid(const auth_jwt *j)
{
    return j && j->akey ? auth_jwtkey_kid(j->akey) : NULL;
}
