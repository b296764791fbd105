/* crypto.h - small crypto helpers of the auth module: random tokens,
 * SHA-256, base64.  Pure functions over OpenSSL; any thread. */
#ifndef BS_AUTH_CRYPTO_H
#define BS_AUTH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_BYTES 24                 /* 192 random bits */
#define AUTH_TOKEN_LEN 32                   /* base64url characters of 24 bytes */
#define AUTH_HASH_LEN 32                    /* SHA-256 */

/* A fresh random token: AUTH_TOKEN_LEN base64url characters and a NUL.
 * BS_OK or BS_EIO (RAND_bytes failed). */
int auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/* SHA-256 of s[0..n). */
void auth_sha256(const void *s, size_t n, uint8_t out[AUTH_HASH_LEN]);

/* Base64 without padding of n bytes; out must hold 4*((n+2)/3)+1 bytes.
 * url selects the base64url alphabet.  Returns the length written. */
size_t auth_b64_encode(const uint8_t *in, size_t n, char *out, bool url);

/* Decode unpadded base64 (url or standard alphabet, as chosen); returns
 * the byte count or -1 on a bad character, bad length or out overflow. */
long auth_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, bool url);

#endif
