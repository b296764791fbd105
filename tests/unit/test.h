/* test.h - tiny assertion kit for the C unit tests (libuv's ASSERT_* style).
 *
 * Each test file is its own executable registered with ctest.  Write
 *     TEST(name) { ASSERT_EQ_INT(1 + 1, 2); }
 * and end the file with
 *     TEST_MAIN(name, other_name, ...)
 * A failed assertion prints both sides with file and line, and the run
 * exits non-zero after the remaining tests.
 */
#ifndef BS_TEST_H
#define BS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_;
static int test_cur_failed_;

#define TEST_FAIL_(...)                                                      \
    do {                                                                     \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        test_cur_failed_ = 1;                                                \
        return;                                                              \
    } while (0)

#define ASSERT(c)                                                            \
    do { if (!(c)) TEST_FAIL_("assertion failed: %s", #c); } while (0)

#define ASSERT_EQ_INT(a, b)                                                  \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_)                                                        \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);            \
    } while (0)

#define ASSERT_NE_INT(a, b)                                                  \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ == b_)                                                        \
            TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);                   \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                  \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                               \
            TEST_FAIL_("%s == %s:\n  got:  %s\n  want: %s", #a, #b,          \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");              \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
    do {                                                                     \
        const char *h_ = (hay), *n_ = (needle);                              \
        if (!h_ || !strstr(h_, n_))                                          \
            TEST_FAIL_("%s contains %s:\n  in:   %s\n  want: %s", #hay,      \
                       #needle, h_ ? h_ : "(null)", n_);                     \
    } while (0)

#define ASSERT_NOT_CONTAINS(hay, needle)                                     \
    do {                                                                     \
        const char *h_ = (hay), *n_ = (needle);                              \
        if (h_ && strstr(h_, n_))                                            \
            TEST_FAIL_("%s must not contain %s:\n  in: %s", #hay, #needle,   \
                       h_);                                                  \
    } while (0)

#define TEST(name) static void test_##name(void)

typedef struct { const char *name; void (*fn)(void); } test_case_;

/* TEST_MAIN takes the list as an initializer of test_case_ entries built
 * with T(name); see the files under tests/unit for use. */
#define T(name) {#name, test_##name}
#define TEST_MAIN(...)                                                       \
    int main(void)                                                           \
    {                                                                        \
        static const test_case_ cases_[] = {__VA_ARGS__};                    \
        size_t n_ = sizeof cases_ / sizeof cases_[0], ok_ = 0;               \
        for (size_t i_ = 0; i_ < n_; i_++) {                                 \
            test_cur_failed_ = 0;                                            \
            cases_[i_].fn();                                                 \
            if (test_cur_failed_) {                                          \
                test_failed_ = 1;                                            \
                fprintf(stderr, "FAIL %s\n", cases_[i_].name);               \
            } else {                                                         \
                ok_++;                                                       \
                printf("ok   %s\n", cases_[i_].name);                        \
            }                                                                \
        }                                                                    \
        printf("%zu passed, %zu failed\n", ok_, n_ - ok_);                   \
        return test_failed_ ? 1 : 0;                                         \
    }

#endif
