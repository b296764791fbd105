/* jwt_key.h - the optional asymmetric JWT signing key (RS256 / ES256).
 *
 * An auth_jwtkey is a private key loaded from PEM: RSA of 2048 to 8192
 * bits (RS256, RSASSA-PKCS1-v1_5 with SHA-256) or EC on P-256 (ES256,
 * the JOSE r||s signature of 64 bytes).  Its kid is the RFC 7638 JWK
 * thumbprint (SHA-256, base64url unpadded) of its public key.  auth/jwt.c
 * uses it to sign user access tokens and to verify tokens whose header
 * names this key's kid; everything else stays HS256 with the secret.
 *
 * Threads: load/free on one thread before/after use; every other function
 * only reads the key and may be called from any number of threads at once.
 * Errors: BS_EINVAL for a key that is not a supported private key,
 * BS_EIO for an unreadable file, BS_ENOMEM.  auth_jwtkey_free(NULL) is a
 * no-op.
 */
#ifndef BS_AUTH_JWT_KEY_H
#define BS_AUTH_JWT_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct auth_jwtkey auth_jwtkey;

/* Parse a PEM private key (pem[0..len)). */
int auth_jwtkey_from_pem(const char *pem, size_t len, auth_jwtkey **out);
/* Read and parse the PEM file at path (at most 64 KiB). */
int auth_jwtkey_load(const char *path, auth_jwtkey **out);
void auth_jwtkey_free(auth_jwtkey *k);

/* "RS256" or "ES256". */
const char *auth_jwtkey_alg(const auth_jwtkey *k);
/* The kid (the JWK thumbprint); owned by the key. */
const char *auth_jwtkey_kid(const auth_jwtkey *k);
/* Length in bytes of every signature this key makes (256.. for RSA, 64). */
size_t auth_jwtkey_sig_len(const auth_jwtkey *k);
/* The public JWK with alg, use and kid: a new reference (NULL: no memory). */
json_t *auth_jwtkey_jwk(const auth_jwtkey *k);

/* Make a compact JWS: header {"alg":ALG,"kid":KID,"typ":"JWT"}, the given
 * payload text (payload[0..n)), this key's signature.  *token is malloc'd. */
int auth_jwtkey_sign(const auth_jwtkey *k, const char *payload, size_t n, char **token);

/* True when sig[0..siglen) is this key's valid signature over in[0..n).
 * siglen must be exactly auth_jwtkey_sig_len; an ES256 signature is the
 * JOSE r||s form. */
bool auth_jwtkey_verify(const auth_jwtkey *k, const unsigned char *in, size_t n,
                        const unsigned char *sig, size_t siglen);

/* Unpadded base64url of p[0..n) in a malloc'd string (caller frees);
 * NULL on out of memory. */
char *auth_b64url(const unsigned char *p, size_t n);

#endif
