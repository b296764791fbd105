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
 * The parameters of new hashes belong to an `auth_passwords` (the hasher)
 * that its owner makes once and never changes (the auth service and the
 * console each own one; `basalt admin create` makes one for its hash), so
 * no thread ever sees them change.  The hasher also holds a dummy hash made
 * with its parameters: verifying a password for an account that does not
 * exist (stored == NULL) costs what a real verification costs, so response
 * times do not tell which accounts exist.
 *
 * Threads: auth_passwords_new/free on one thread with no concurrent use;
 * everything else from any thread (the hasher is immutable).
 */
#ifndef BS_AUTH_PASSWORD_H
#define BS_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_SCRYPT_LN 14
#define AUTH_SCRYPT_R 8
#define AUTH_SCRYPT_P 1

/* scrypt parameters of new hashes: N = 2^ln, r, p. */
typedef struct auth_password_params {
    int ln, r, p;
} auth_password_params;

#define AUTH_PASSWORD_PARAMS_DEFAULT {AUTH_SCRYPT_LN, AUTH_SCRYPT_R, AUTH_SCRYPT_P}

typedef struct auth_passwords auth_passwords;

/* A hasher for pp (NULL: the defaults above), its dummy hash made.
 * BS_EINVAL when out of range (ln 1..20, r 1..32, p 1..16), BS_ENOMEM,
 * BS_EIO (OpenSSL failure); *out is NULL on failure. */
int auth_passwords_new(const auth_password_params *pp, auth_passwords **out);
/* NULL-safe. */
void auth_passwords_free(auth_passwords *h);
auth_password_params auth_passwords_params(const auth_passwords *h);

/* Hash pw with h's parameters into a malloc'd PHC string (*out, freed by
 * the caller).  BS_ENOMEM / BS_EIO (OpenSSL failure). */
int auth_password_hash(const auth_passwords *h, const char *pw, size_t len, char **out);

/* Check pw against a stored hash (scrypt PHC or bcrypt).  *ok tells the
 * result (constant-time compare); *rehash (may be NULL) is set when the
 * stored hash should be replaced by a fresh auth_password_hash (bcrypt,
 * or weaker parameters than h's).  stored NULL: the account does not
 * exist; pw is verified against h's dummy hash all the same and *ok is
 * false (BS_OK).  BS_EINVAL when `stored` is in no known format (then *ok
 * is false). */
int auth_password_verify(const auth_passwords *h, const char *pw, size_t len, const char *stored, bool *ok,
                         bool *rehash);

/* True when s is a hash auth_password_verify understands. */
bool auth_password_hash_valid(const char *s);

#endif
