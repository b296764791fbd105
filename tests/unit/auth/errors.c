/* Tests for the GoTrue error catalogue (auth/auth_errors.h): every row has
 * a GoTrue-style code, an error status and a default message; no two rows
 * answer the same (code, status); a code shared by two rows differs in
 * status; values outside the table read as unexpected_failure. */
#include "../test.h"
#include "auth/auth_errors.h"

#include <ctype.h>
#include <stdbool.h>

static bool snake(const char *s)
{
    if (!*s || *s == '_')
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

TEST(rows_are_well_formed)
{
    ASSERT(AUTH_E__COUNT > 20);
    for (int e = 0; e < AUTH_E__COUNT; e++) {
        ASSERT(snake(auth_err_code((auth_err)e)));
        ASSERT(auth_err_status((auth_err)e) >= 400 && auth_err_status((auth_err)e) <= 599);
        ASSERT(auth_err_message((auth_err)e) && auth_err_message((auth_err)e)[0]);
    }
}

TEST(code_and_status_pairs_are_unique)
{
    for (int a = 0; a < AUTH_E__COUNT; a++)
        for (int b = a + 1; b < AUTH_E__COUNT; b++) {
            bool same_code = strcmp(auth_err_code((auth_err)a), auth_err_code((auth_err)b)) == 0;
            if (same_code && auth_err_status((auth_err)a) == auth_err_status((auth_err)b)) {
                fprintf(stderr, "rows %d and %d both answer %s %d\n", a, b, auth_err_code((auth_err)a),
                        auth_err_status((auth_err)a));
                ASSERT(!"duplicate (code, status)");
            }
        }
}

TEST(known_rows)
{
    ASSERT_EQ_STR(auth_err_code(AUTH_E_VALIDATION_FAILED), "validation_failed");
    ASSERT_EQ_INT(auth_err_status(AUTH_E_VALIDATION_FAILED), 400);
    ASSERT_EQ_STR(auth_err_code(AUTH_E_NOT_ADMIN), "not_admin");
    ASSERT_EQ_INT(auth_err_status(AUTH_E_NOT_ADMIN), 403);
    ASSERT_EQ_STR(auth_err_code(AUTH_E_PHONE_DISABLED), auth_err_code(AUTH_E_PHONE_LOGIN_DISABLED));
    ASSERT_EQ_INT(auth_err_status(AUTH_E_UNAVAILABLE), 503);
    ASSERT_EQ_STR(auth_err_message(AUTH_E_INVALID_CREDENTIALS), "Invalid login credentials");
}

TEST(outside_the_table_is_unexpected_failure)
{
    ASSERT_EQ_STR(auth_err_code(AUTH_E__COUNT), "unexpected_failure");
    ASSERT_EQ_INT(auth_err_status(AUTH_E__COUNT), 500);
}

TEST_MAIN(T(rows_are_well_formed), T(code_and_status_pairs_are_unique), T(known_rows),
          T(outside_the_table_is_unexpected_failure))
