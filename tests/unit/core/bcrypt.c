/* Known-answer tests for auth/bcrypt.c: jBCrypt's published $2a$ vectors
 * (Damien Miller's TestBCrypt) and pyca/bcrypt's $2b$ vectors. */
#include "core/bcrypt.h"
#include "core/error.h"
#include "../test.h"

typedef struct vec {
    const char *pw;
    const char *hash;
} vec;

static const vec vectors[] = {
    /* jBCrypt, $2a$ */
    {"", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."},
    {"", "$2a$08$HqWuK6/Ng6sg9gQzbLrgb.Tl.ZHfXLhvt/SgVyWhQqgqcZ7ZuUtye"},
    {"a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"},
    {"a", "$2a$08$cfcvVd2aQ8CMvoMpP2EBfeodLEkkFJ9umNEfPD18.hUF62qqlC/V."},
    {"abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"},
    {"abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"},
    {"~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"},
    /* pyca/bcrypt, $2b$ */
    {"Kk4DQuMMfZL9o", "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"},
    {"9IeRXmnGxMYbs", "$2b$04$pQ7gRO7e6wx/936oXhNjrOUNOHL1D0h1N2IDbJZYs.1ppzSof6SPy"},
    {"xVQVbwa1S0M8r", "$2b$04$SQe9knOzepOVKoYXo9xTteNYr6MBwVz4tpriJVe3PNgYufGIsgKcW"},
    {"Zfgr26LWd22Za", "$2b$04$eH8zX.q5Q.j2hO1NkVYJQOM6KxntS/ow3.YzVmFrE4t//CoF4fvne"},
    {"Tg4daC27epFBE", "$2b$04$ahiTdwRXpUG2JLRcIznxc.s1.ydaPGD372bsGs8NqyYjLY1inG5n2"},
    {"xhQPMmwh5ALzW", "$2b$04$nQn78dV0hGHf5wUBe0zOFu8n07ZbWWOKoGasZKRspZxtt.vBRNMIy"},
    {"59je8h5Gj71tg", "$2b$04$cvXudZ5ugTg95W.rOjMITuM1jC0piCl3zF5cmGhzCibHZrNHkmckG"},
};

TEST(known_vectors_hash)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char out[AUTH_BCRYPT_LEN + 1];
        ASSERT_EQ_INT(auth_bcrypt_hash(vectors[i].pw, strlen(vectors[i].pw), vectors[i].hash, out), BS_OK);
        ASSERT_EQ_STR(out, vectors[i].hash);
    }
}

TEST(known_vectors_verify)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        bool ok = false;
        ASSERT_EQ_INT(auth_bcrypt_verify(vectors[i].pw, strlen(vectors[i].pw), vectors[i].hash, &ok), BS_OK);
        ASSERT(ok);
        ASSERT_EQ_INT(auth_bcrypt_verify("wrong", 5, vectors[i].hash, &ok), BS_OK);
        ASSERT(!ok);
    }
}

TEST(prefix_2y_is_the_same_algorithm)
{
    /* $2y$ (PHP's name for the fixed algorithm) hashes exactly as $2b$ */
    bool ok = false;
    ASSERT_EQ_INT(auth_bcrypt_verify("Kk4DQuMMfZL9o", 13, "$2y$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm", &ok),
                  BS_OK);
    ASSERT(ok);
}

TEST(long_passwords_cut_at_72)
{
    char a[100], b[100];
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    b[80] = 'y'; /* differs only past byte 72 */
    char ha[AUTH_BCRYPT_LEN + 1];
    ASSERT_EQ_INT(auth_bcrypt_hash(a, sizeof a, "$2b$04$cVWp4XaNU8a4v1uMRum2SO", ha), BS_OK);
    bool ok = false;
    ASSERT_EQ_INT(auth_bcrypt_verify(b, sizeof b, ha, &ok), BS_OK);
    ASSERT(ok);
    ASSERT_EQ_INT(auth_bcrypt_verify(a, 72, ha, &ok), BS_OK);
    ASSERT(ok);
    ASSERT_EQ_INT(auth_bcrypt_verify(a, 71, ha, &ok), BS_OK);
    ASSERT(!ok);
}

TEST(malformed_hashes_refused)
{
    bool ok = true;
    const char *bad[] = {
        "",
        "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s",   /* 59 chars */
        "$2c$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",  /* prefix */
        "$2a$03$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",  /* cost < 4 */
        "$2a$31$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",  /* cost too high */
        "$2a$06$DCq7YPn5Rq63x1Lad4cll!TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",  /* bad char */
        "$scrypt$ln=14,r=8,p=1$abc$def",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT(!auth_bcrypt_valid(bad[i]));
        ASSERT_EQ_INT(auth_bcrypt_verify("", 0, bad[i], &ok), BS_EINVAL);
        ASSERT(!ok);
    }
}

TEST_MAIN(T(known_vectors_hash), T(known_vectors_verify), T(prefix_2y_is_the_same_algorithm),
          T(long_passwords_cut_at_72), T(malformed_hashes_refused))
