/* Tests for auth/crypto.c: refresh-token generation and hashing, base64. */
#include "../test.h"
#include "core/crypto.h"
#include "core/error.h"

TEST(tokens_are_random_base64url)
{
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    ASSERT_EQ_INT(auth_token_new(a), BS_OK);
    ASSERT_EQ_INT(auth_token_new(b), BS_OK);
    ASSERT_EQ_INT(strlen(a), AUTH_TOKEN_LEN);
    ASSERT(strcmp(a, b) != 0);
    ASSERT_EQ_INT(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), AUTH_TOKEN_LEN);
    /* 192 bits: decodes back to 24 bytes */
    uint8_t raw[64];
    ASSERT_EQ_INT(auth_b64_decode(a, strlen(a), raw, sizeof raw, true), AUTH_TOKEN_BYTES);
    ASSERT(AUTH_TOKEN_BYTES * 8 >= 128);
}

TEST(sha256_of_token)
{
    /* FIPS 180-2 test vector "abc" */
    uint8_t h[AUTH_HASH_LEN];
    auth_sha256("abc", 3, h);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* the stored hash of a token never equals the token's bytes */
    char t[AUTH_TOKEN_LEN + 1];
    ASSERT_EQ_INT(auth_token_new(t), BS_OK);
    auth_sha256(t, strlen(t), h);
    ASSERT(memcmp(h, t, AUTH_HASH_LEN) != 0);
}

TEST(base64_round_trip)
{
    const uint8_t in[] = {0xfb, 0xff, 0x00, 0x10, 0x83};
    char out[16];
    ASSERT_EQ_INT(auth_b64_encode(in, 5, out, false), 7);
    ASSERT_EQ_STR(out, "+/8AEIM");
    ASSERT_EQ_INT(auth_b64_encode(in, 5, out, true), 7);
    ASSERT_EQ_STR(out, "-_8AEIM");
    uint8_t back[8];
    ASSERT_EQ_INT(auth_b64_decode("-_8AEIM", 7, back, sizeof back, true), 5);
    ASSERT(memcmp(back, in, 5) == 0);
    ASSERT_EQ_INT(auth_b64_decode("+/8AEIM", 7, back, sizeof back, true), -1);
    ASSERT_EQ_INT(auth_b64_decode("abcde", 5, back, sizeof back, false), -1);
    ASSERT_EQ_INT(auth_b64_decode("AAAAAAAA", 8, back, 2, false), -1);
}

TEST_MAIN(T(tokens_are_random_base64url), T(sha256_of_token), T(base64_round_trip))
