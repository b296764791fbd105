/* password.h - password hashing: scrypt in a PHC string, bcrypt imports.
 *
 * New hashes are scrypt (OpenSSL EVP_PBE_scrypt) written as
 *     $scrypt$ln=14,r=8,p=1$<salt>$<hash>
 * (N = 2^ln; salt 16 random bytes, hash 32 bytes, both standard base64
 * without padding), so the cost can be raised later without breaking old
 * hashes: auth_password_verify reports `rehash` when a stored hash is
 * bcrypt or uses weaker parameters than the current ones.
 *
 * Hashing is slow on purpose (~30-60 ms at the default ln=14 on the
 * reference machine): call it on an HTTP worker thread, never inside a
 * db_write callback.
 *
 * Threads: auth_password_set_params on the main thread before serving
 * (or in a test); everything else from any thread.
 */
#ifndef BS_AUTH_PASSWORD_H
#define BS_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_SCRYPT_LN 14
#define AUTH_SCRYPT_R 8
#define AUTH_SCRYPT_P 1

/* Parameters for new hashes (defaults above).  BS_EINVAL when out of
 * range (ln 1..20, r 1..32, p 1..16). */
int auth_password_set_params(int ln, int r, int p);
void auth_password_get_params(int *ln, int *r, int *p);

/* Hash pw into a malloc'd PHC string (*out, freed by the caller).
 * BS_ENOMEM / BS_EIO (OpenSSL failure). */
int auth_password_hash(const char *pw, size_t len, char **out);

/* Check pw against a stored hash (scrypt PHC or bcrypt).  *ok tells the
 * result (constant-time compare); *rehash (may be NULL) is set when the
 * stored hash should be replaced by a fresh auth_password_hash.
 * BS_EINVAL when `stored` is in no known format (then *ok is false). */
int auth_password_verify(const char *pw, size_t len, const char *stored, bool *ok, bool *rehash);

/* True when s is a hash auth_password_verify understands. */
bool auth_password_hash_valid(const char *s);

#endif
