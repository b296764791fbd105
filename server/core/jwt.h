/* jwt.h - signing and verifying the project's JWTs (libjwt underneath).
 *
 * One auth_jwt holds the project secret (HS256), optionally an asymmetric
 * signing key (RS256 or ES256, see auth_jwt_set_signing_key below), and a
 * cache of verified tokens.  Verification pins the algorithm per key: a
 * token is HS256 with the secret (and, when a signing key is configured,
 * carries no `kid`), or uses the signing key's algorithm with its `kid`;
 * "none", any other algorithm, HS/RS confusion, a bad signature, a missing or non-integer
 * `exp`, an `exp` in the past, an `nbf` in the future, or a missing `role`
 * are all refused before any claim is trusted.  The header is checked by
 * this module itself before libjwt sees the token, so libjwt's own
 * algorithm handling is never the only guard.
 *
 * Verified tokens are cached by a hash of the token text (full text
 * compared on hit) until their `exp`, so the hot path of a request does a
 * hash lookup instead of an HMAC.  The cache is bounded (AUTH_JWT_CACHE_MAX
 * entries; an insert into a full cache evicts) and safe to use from every
 * civetweb worker thread at once.
 *
 * Ownership: auth_claims are immutable and reference-counted; every
 * successful auth_jwt_verify returns one reference that the caller drops
 * with auth_claims_release.  auth_jwt_free(NULL) is a no-op.
 */
#ifndef BS_AUTH_JWT_H
#define BS_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AUTH_JWT_CACHE_MAX 65536
#define AUTH_JWT_MAX_LEN 8192

typedef struct auth_jwt auth_jwt;

typedef struct auth_claims {
    const char *role;        /* never NULL: "anon", "authenticated", "service_role", ... */
    const char *sub;         /* "" when absent */
    const char *email;       /* "" when absent */
    const char *session_id;  /* "" when absent */
    int64_t exp, iat;        /* iat 0 when absent */
    bool is_anonymous;
    json_t *json;            /* every claim; read-only, owned by the claims */
    /* private */
    int refs_;
} auth_claims;

/* secret: raw bytes, at least 32. Returns BS_OK or BS_EINVAL/BS_ENOMEM. */
int auth_jwt_new(const unsigned char *secret, size_t len, auth_jwt **out);
void auth_jwt_free(auth_jwt *j);

/* Sign `claims` (borrowed; any JSON object) with HS256.  *token is malloc'd
 * and freed by the caller. */
int auth_jwt_sign(auth_jwt *j, json_t *claims, char **token);

/* Verify `token` at time `now` (unix seconds).  BS_OK and *out (one
 * reference), BS_EEXPIRED for a past exp (or a future nbf), BS_EAUTH for
 * everything else that is wrong with the token. */
int auth_jwt_verify(auth_jwt *j, const char *token, int64_t now, auth_claims **out);

/* Add / drop a reference; release(NULL) is a no-op. */
auth_claims *auth_claims_retain(auth_claims *c);
void auth_claims_release(auth_claims *c);

/* Make an API key: {"iss":"basalt","role":role,"iat":now,"exp":now+10 years}. */
int auth_jwt_api_key(auth_jwt *j, const char *role, int64_t now, char **token);

/* Cache statistics for /metrics. */
void auth_jwt_cache_stats(auth_jwt *j, uint64_t *hits, uint64_t *misses, size_t *entries);

/* ---- optional asymmetric signing key (auth/jwt_key.h) ----------------- */

/* Load the PEM private key at path (RSA >= 2048 bits -> RS256, EC P-256 ->
 * ES256) as the key of user access tokens.  From then on auth_jwt_verify
 * also accepts tokens with that algorithm and the key's kid, and refuses
 * HS256 tokens that carry any kid.  Call once, on the thread that made j,
 * before any other thread uses j.  BS_EIO (unreadable), BS_EINVAL (not a
 * supported unencrypted private key), BS_ETOOBIG, BS_ENOMEM. */
int auth_jwt_set_signing_key(auth_jwt *j, const char *path);

/* Sign a user access token: with the signing key (header alg, kid, typ)
 * when one is set, else HS256 exactly like auth_jwt_sign. */
int auth_jwt_sign_access(auth_jwt *j, json_t *claims, char **token);

/* The JWKS document {"keys":[...]}: the signing key's public JWK, or no
 * keys.  A new reference; NULL when out of memory. */
json_t *auth_jwt_jwks(auth_jwt *j);

/* The signing key's kid (owned by j), or NULL when there is none. */
const char *auth_jwt_kid(const auth_jwt *j);

#endif
