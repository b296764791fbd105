/* Tests for core/password.c: PHC round trip, wrong passwords, parameter
 * upgrades (rehash), bcrypt imports, malformed stored hashes, the dummy
 * check for unknown accounts. */
#include "../test.h"
#include "core/password.h"
#include "core/error.h"

#include <stdbool.h>

/* A hasher with cheap parameters (fast for the test). */
static auth_passwords *hasher(int ln)
{
    auth_password_params pp = {ln, 8, 1};
    auth_passwords *h = NULL;
    if (auth_passwords_new(&pp, &h) != BS_OK)
        abort();
    return h;
}

TEST(phc_round_trip)
{
    auth_passwords *hs = hasher(10);
    char *h = NULL;
    ASSERT_EQ_INT(auth_password_hash(hs, "correct horse", 13, &h), BS_OK);
    ASSERT(h != NULL);
    ASSERT(strncmp(h, "$scrypt$ln=10,r=8,p=1$", 22) == 0);
    /* 16-byte salt = 22 chars, 32-byte key = 43 chars (unpadded base64) */
    ASSERT_EQ_INT(strlen(h), 22 + 22 + 1 + 43);
    ASSERT(auth_password_hash_valid(h));
    bool ok = false, rehash = true;
    ASSERT_EQ_INT(auth_password_verify(hs, "correct horse", 13, h, &ok, &rehash), BS_OK);
    ASSERT(ok);
    ASSERT(!rehash);
    ASSERT_EQ_INT(auth_password_verify(hs, "correct horsE", 13, h, &ok, &rehash), BS_OK);
    ASSERT(!ok);
    ASSERT_EQ_INT(auth_password_verify(hs, "correct hors", 12, h, &ok, NULL), BS_OK);
    ASSERT(!ok);
    ASSERT_EQ_INT(auth_password_verify(hs, "", 0, h, &ok, NULL), BS_OK);
    ASSERT(!ok);
    free(h);
    auth_passwords_free(hs);
}

TEST(salts_differ)
{
    auth_passwords *hs = hasher(10);
    char *a = NULL, *b = NULL;
    ASSERT_EQ_INT(auth_password_hash(hs, "same", 4, &a), BS_OK);
    ASSERT_EQ_INT(auth_password_hash(hs, "same", 4, &b), BS_OK);
    ASSERT(strcmp(a, b) != 0);
    free(a);
    free(b);
    auth_passwords_free(hs);
}

TEST(weaker_params_ask_for_rehash)
{
    auth_passwords *h10 = hasher(10), *h11 = hasher(11);
    char *h = NULL;
    ASSERT_EQ_INT(auth_password_hash(h10, "pw", 2, &h), BS_OK);
    bool ok = false, rehash = false;
    ASSERT_EQ_INT(auth_password_verify(h11, "pw", 2, h, &ok, &rehash), BS_OK);
    ASSERT(ok); /* old parameters still verify */
    ASSERT(rehash);
    ASSERT_EQ_INT(auth_password_verify(h10, "pw", 2, h, &ok, &rehash), BS_OK);
    ASSERT(ok);
    ASSERT(!rehash); /* each hasher keeps its own parameters */
    free(h);
    auth_passwords_free(h10);
    auth_passwords_free(h11);
}

TEST(known_scrypt_vector)
{
    /* RFC 7914 section 12: P="password", S="NaCl", N=1024, r=8, p=16,
     * first 32 bytes of the 64-byte output, as a PHC string. */
    auth_passwords *hs = hasher(10);
    const char *h = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI";
    bool ok = false;
    ASSERT_EQ_INT(auth_password_verify(hs, "password", 8, h, &ok, NULL), BS_OK);
    ASSERT(ok);
    auth_passwords_free(hs);
}

TEST(bcrypt_import_verifies_and_asks_for_rehash)
{
    auth_passwords *hs = hasher(10);
    bool ok = false, rehash = false;
    const char *h = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm";
    ASSERT(auth_password_hash_valid(h));
    ASSERT_EQ_INT(auth_password_verify(hs, "Kk4DQuMMfZL9o", 13, h, &ok, &rehash), BS_OK);
    ASSERT(ok);
    ASSERT(rehash);
    ASSERT_EQ_INT(auth_password_verify(hs, "Kk4DQuMMfZL9O", 13, h, &ok, &rehash), BS_OK);
    ASSERT(!ok);
    auth_passwords_free(hs);
}

TEST(malformed_stored_hashes)
{
    auth_passwords *hs = hasher(10);
    const char *bad[] = {
        "",
        "plain",
        "$scrypt$ln=10,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=010,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$c2Fs$AAAAAAAAAAAAAAAAAAAAAA", /* salt too short */
        "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$AAAA",            /* key too short */
        "$scrypt$ln=10,r=8,p=1$c2Fsd!NhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool ok = true;
        ASSERT(!auth_password_hash_valid(bad[i]));
        ASSERT_EQ_INT(auth_password_verify(hs, "x", 1, bad[i], &ok, NULL), BS_EINVAL);
        ASSERT(!ok);
    }
    auth_passwords_free(hs);
}

TEST(unknown_account_is_checked_against_the_dummy)
{
    auth_passwords *hs = hasher(10);
    bool ok = true, rehash = true;
    ASSERT_EQ_INT(auth_password_verify(hs, "anything", 8, NULL, &ok, &rehash), BS_OK);
    ASSERT(!ok);
    ASSERT(!rehash);
    ASSERT_EQ_INT(auth_password_verify(hs, "", 0, NULL, &ok, NULL), BS_OK);
    ASSERT(!ok);
    auth_passwords_free(hs);
}

TEST(params_range)
{
    static const auth_password_params bad[] = {{0, 8, 1}, {21, 8, 1}, {14, 0, 1}, {14, 8, 17}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        auth_passwords *h = (auth_passwords *)1;
        ASSERT_EQ_INT(auth_passwords_new(&bad[i], &h), BS_EINVAL);
        ASSERT(h == NULL);
    }
    auth_passwords *hs = hasher(10);
    auth_password_params pp = auth_passwords_params(hs);
    ASSERT_EQ_INT(pp.ln, 10);
    ASSERT_EQ_INT(pp.r, 8);
    ASSERT_EQ_INT(pp.p, 1);
    auth_passwords_free(hs);
    auth_passwords_free(NULL);
}

TEST_MAIN(T(phc_round_trip), T(salts_differ), T(weaker_params_ask_for_rehash), T(known_scrypt_vector),
          T(bcrypt_import_verifies_and_asks_for_rehash), T(malformed_stored_hashes),
          T(unknown_account_is_checked_against_the_dummy), T(params_range))
