/* Tests for auth/password.c: PHC round trip, wrong passwords, parameter
 * upgrades (rehash), bcrypt imports, malformed stored hashes. */
#include "../test.h"
#include "core/password.h"
#include "core/error.h"

#include <stdbool.h>

TEST(phc_round_trip)
{
    ASSERT_EQ_INT(auth_password_set_params(10, 8, 1), BS_OK); /* fast for the test */
    char *h = NULL;
    ASSERT_EQ_INT(auth_password_hash("correct horse", 13, &h), BS_OK);
    ASSERT(h != NULL);
    ASSERT(strncmp(h, "$scrypt$ln=10,r=8,p=1$", 22) == 0);
    /* 16-byte salt = 22 chars, 32-byte key = 43 chars (unpadded base64) */
    ASSERT_EQ_INT(strlen(h), 22 + 22 + 1 + 43);
    ASSERT(auth_password_hash_valid(h));
    bool ok = false, rehash = true;
    ASSERT_EQ_INT(auth_password_verify("correct horse", 13, h, &ok, &rehash), BS_OK);
    ASSERT(ok);
    ASSERT(!rehash);
    ASSERT_EQ_INT(auth_password_verify("correct horsE", 13, h, &ok, &rehash), BS_OK);
    ASSERT(!ok);
    ASSERT_EQ_INT(auth_password_verify("correct hors", 12, h, &ok, NULL), BS_OK);
    ASSERT(!ok);
    ASSERT_EQ_INT(auth_password_verify("", 0, h, &ok, NULL), BS_OK);
    ASSERT(!ok);
    free(h);
}

TEST(salts_differ)
{
    char *a = NULL, *b = NULL;
    ASSERT_EQ_INT(auth_password_set_params(10, 8, 1), BS_OK);
    ASSERT_EQ_INT(auth_password_hash("same", 4, &a), BS_OK);
    ASSERT_EQ_INT(auth_password_hash("same", 4, &b), BS_OK);
    ASSERT(strcmp(a, b) != 0);
    free(a);
    free(b);
}

TEST(weaker_params_ask_for_rehash)
{
    char *h = NULL;
    ASSERT_EQ_INT(auth_password_set_params(10, 8, 1), BS_OK);
    ASSERT_EQ_INT(auth_password_hash("pw", 2, &h), BS_OK);
    ASSERT_EQ_INT(auth_password_set_params(11, 8, 1), BS_OK);
    bool ok = false, rehash = false;
    ASSERT_EQ_INT(auth_password_verify("pw", 2, h, &ok, &rehash), BS_OK);
    ASSERT(ok);   /* old parameters still verify */
    ASSERT(rehash);
    free(h);
    ASSERT_EQ_INT(auth_password_set_params(10, 8, 1), BS_OK);
}

TEST(known_scrypt_vector)
{
    /* RFC 7914 section 12: P="password", S="NaCl", N=1024, r=8, p=16,
     * first 32 bytes of the 64-byte output, as a PHC string. */
    const char *h = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI";
    bool ok = false;
    ASSERT_EQ_INT(auth_password_verify("password", 8, h, &ok, NULL), BS_OK);
    ASSERT(ok);
}

TEST(bcrypt_import_verifies_and_asks_for_rehash)
{
    bool ok = false, rehash = false;
    const char *h = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm";
    ASSERT(auth_password_hash_valid(h));
    ASSERT_EQ_INT(auth_password_verify("Kk4DQuMMfZL9o", 13, h, &ok, &rehash), BS_OK);
    ASSERT(ok);
    ASSERT(rehash);
    ASSERT_EQ_INT(auth_password_verify("Kk4DQuMMfZL9O", 13, h, &ok, &rehash), BS_OK);
    ASSERT(!ok);
}

TEST(malformed_stored_hashes)
{
    const char *bad[] = {
        "",
        "plain",
        "$scrypt$ln=10,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=010,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$c2Fs$AAAAAAAAAAAAAAAAAAAAAA",          /* salt too short */
        "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$AAAA",                     /* key too short */
        "$scrypt$ln=10,r=8,p=1$c2Fsd!NhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool ok = true;
        ASSERT(!auth_password_hash_valid(bad[i]));
        ASSERT_EQ_INT(auth_password_verify("x", 1, bad[i], &ok, NULL), BS_EINVAL);
        ASSERT(!ok);
    }
}

TEST(params_range)
{
    ASSERT_EQ_INT(auth_password_set_params(0, 8, 1), BS_EINVAL);
    ASSERT_EQ_INT(auth_password_set_params(21, 8, 1), BS_EINVAL);
    ASSERT_EQ_INT(auth_password_set_params(14, 0, 1), BS_EINVAL);
    ASSERT_EQ_INT(auth_password_set_params(14, 8, 17), BS_EINVAL);
    int ln, r, p;
    auth_password_get_params(&ln, &r, &p);
    ASSERT_EQ_INT(ln, 10);
}

TEST_MAIN(T(phc_round_trip), T(salts_differ), T(weaker_params_ask_for_rehash), T(known_scrypt_vector),
          T(bcrypt_import_verifies_and_asks_for_rehash), T(malformed_stored_hashes), T(params_range))
