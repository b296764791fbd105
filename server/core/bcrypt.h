/* bcrypt.h - bcrypt ($2a$ / $2b$ / $2y$) hashing and verification.
 *
 * Only verification is used by the server: users imported through the
 * admin API may bring a bcrypt `password_hash` (GoTrue accepts them too);
 * on their next successful sign-in the password is re-hashed with scrypt
 * (password.h).  Hashing with a given setting exists for the known-answer
 * tests.  The three prefixes are the same algorithm for passwords of at
 * most 72 bytes; longer passwords are cut at 72 bytes as OpenBSD's $2b$
 * does (the $2a$ length-wrap bug at 255 bytes is not reproduced).
 *
 * Threads: pure functions, any thread.  Cost is bounded by
 * AUTH_BCRYPT_MAX_COST so a stored hash cannot make one verification run
 * for minutes.
 */
#ifndef BS_AUTH_BCRYPT_H
#define BS_AUTH_BCRYPT_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_BCRYPT_LEN 60      /* "$2b$10$" + 22 salt + 31 hash characters */
#define AUTH_BCRYPT_MAX_COST 16

/* True when s has the exact shape of a bcrypt hash with a supported
 * prefix and a cost in 4..AUTH_BCRYPT_MAX_COST. */
bool auth_bcrypt_valid(const char *s);

/* Hash pw with the prefix, cost and salt of `setting` (its first 29
 * characters: "$2b$04$" + 22 salt characters).  out receives 60
 * characters and a NUL.  BS_EINVAL for a bad setting. */
int auth_bcrypt_hash(const char *pw, size_t len, const char *setting, char out[AUTH_BCRYPT_LEN + 1]);

/* *ok = the password matches `hash` (constant-time compare).  BS_EINVAL
 * when hash is not a valid bcrypt hash. */
int auth_bcrypt_verify(const char *pw, size_t len, const char *hash, bool *ok);

#endif
