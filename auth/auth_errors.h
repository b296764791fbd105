/* auth_errors.h - the GoTrue error catalogue: every error /auth/v1 answers,
 * with its code, status and default message, in one table (GoTrue's own
 * internal/api/errorcodes.go; pgrst.h is the PostgREST one).  Call sites
 * name the row and give a message only when theirs says more than the
 * default; no GoTrue code is written anywhere else in auth/.
 *
 * The apikey refusals are not here: the gate answers them (gate_answers in
 * server/http/http.c, its GoTrue column) before auth runs.
 *
 * Threads: any (pure tables; answering runs on the request's thread). */
#ifndef BS_AUTH_ERRORS_H
#define BS_AUTH_ERRORS_H

#include "http/http.h"

/* X(name, code, status, default message) */
#define AUTH_ERRORS(X)                                                                                           \
    X(BAD_JSON, "bad_json", 400, "Could not parse request body as JSON")                                         \
    X(VALIDATION_FAILED, "validation_failed", 400, "Invalid request")                                            \
    X(INVALID_CREDENTIALS, "invalid_credentials", 400, "Invalid login credentials")                              \
    X(EMAIL_NOT_CONFIRMED, "email_not_confirmed", 400, "Email not confirmed")                                    \
    X(USER_BANNED, "user_banned", 400, "User is banned")                                                         \
    X(PHONE_LOGIN_DISABLED, "phone_provider_disabled", 400, "Phone logins are disabled")                         \
    X(REFRESH_TOKEN_NOT_FOUND, "refresh_token_not_found", 400, "Invalid Refresh Token: Refresh Token Not Found") \
    X(REFRESH_TOKEN_REUSED, "refresh_token_already_used", 400, "Invalid Refresh Token: Already Used")            \
    X(NO_AUTHORIZATION, "no_authorization", 401, "This endpoint requires a Bearer token")                        \
    X(BAD_JWT, "bad_jwt", 403, "invalid JWT: unable to parse or verify signature, token signature is invalid")   \
    X(NOT_ADMIN, "not_admin", 403, "User not allowed")                                                           \
    X(SESSION_NOT_FOUND, "session_not_found", 403, "Session from session_id claim in JWT does not exist")        \
    X(OTP_EXPIRED, "otp_expired", 403, "Email link is invalid or has expired")                                   \
    X(NOT_FOUND, "not_found", 404, "Not found")                                                                  \
    X(USER_NOT_FOUND, "user_not_found", 404, "User not found")                                                   \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", 405, "Method not allowed for this endpoint")                     \
    X(REQUEST_TOO_LARGE, "request_too_large", 413, "Request body is too large")                                  \
    X(PHONE_DISABLED, "phone_provider_disabled", 422, "Phone signups are disabled")                              \
    X(ANONYMOUS_DISABLED, "anonymous_provider_disabled", 422, "Anonymous sign-ins are disabled")                 \
    X(SIGNUP_DISABLED, "signup_disabled", 422, "Signups not allowed for this instance")                          \
    X(USER_ALREADY_EXISTS, "user_already_exists", 422, "User already registered")                                \
    X(EMAIL_EXISTS, "email_exists", 422, "A user with this email address has already been registered")           \
    X(SAME_PASSWORD, "same_password", 422, "New password should be different from the old password.")            \
    X(WEAK_PASSWORD, "weak_password", 422, "Password is too weak")                                               \
    X(RATE_LIMITED, "over_request_rate_limit", 429, "Request rate limit reached")                                \
    X(UNEXPECTED_FAILURE, "unexpected_failure", 500,                                                             \
      "Unexpected failure, please check server logs for more information")                                       \
    X(UNAVAILABLE, "unexpected_failure", 503, "The server is shutting down")

typedef enum {
#define AUTH_E_ENUM(name, code, status, message) AUTH_E_##name,
    AUTH_ERRORS(AUTH_E_ENUM)
#undef AUTH_E_ENUM
        AUTH_E__COUNT
} auth_err;

/* The row's code, status and default message (unexpected_failure's for a
 * value outside the table). */
const char *auth_err_code(auth_err e);
int auth_err_status(auth_err e);
const char *auth_err_message(auth_err e);

/* ---- answering the client (worker thread) ---- */

/* Answer e in GoTrue's shape ({"code","error_code","message","msg"}) with
 * msg, or the row's default message when msg is NULL. */
int auth_reply_error(http_req *r, auth_err e, const char *msg);
/* Answer 500 unexpected_failure (503 while shutting down), logging what
 * failed. */
int auth_reply_fail(http_req *r, const char *what, int rc);
/* Answer 422 weak_password with weak_password.reasons = [reason]. */
int auth_reply_weak_password(http_req *r, const char *msg, const char *reason);
/* Answer 400 validation_failed for metadata `which` over the limit. */
int auth_reply_metadata_too_big(http_req *r, const char *which);

#endif
