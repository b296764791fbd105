/* st_errors.h - the storage-api error catalogue: every error storage
 * answers, {"statusCode":"<status>","error":"<name>","message":"..."}, comes
 * from one row of this table (storage-api's own error list; PocketBase's
 * apis/api_error.go).  Call sites name the row and, where the case says
 * more than the default message, give the message; no call site writes an
 * error name or a status.
 *
 * The gate's refusals on storage routes (no key, a bad key or token) are
 * the front's (gate_answers in server/http/http.c, storage column); the
 * admin endpoint /admin/v1/buckets/ speaks PostgREST (http/pgrst.h).
 *
 * Threads: any (a pure table; answering runs on the request's thread). */
#ifndef BS_ST_ERRORS_H
#define BS_ST_ERRORS_H

#include "http/http.h"

/* X(name, status, error, default message) */
#define ST_ERRORS(X)                                                                              \
    X(INTERNAL, 500, "InternalError", "Internal server error")                                    \
    X(UNAVAILABLE, 503, "InternalError", "the server is shutting down")                           \
    X(BAD_REQUEST, 400, "InvalidRequest", "The request is not valid")                             \
    X(METHOD, 405, "InvalidRequest", "Method not allowed")                                        \
    X(BODY_TOO_LARGE, 413, "Payload too large", "The request body is too large")                  \
    X(OBJECT_TOO_LARGE, 413, "Payload too large", "The object exceeded the maximum allowed size") \
    X(INVALID_KEY, 400, "InvalidKey", "Invalid key: ")                                            \
    X(INVALID_BUCKET_NAME, 400, "Invalid Input", "Bucket name invalid")                           \
    X(NO_BUCKET, 404, "Bucket not found", "Bucket not found")                                     \
    X(NO_OBJECT, 404, "not_found", "Object not found")                                            \
    X(NO_ROUTE, 404, "not_found", "Route not found")                                              \
    X(INVALID_JWT, 400, "InvalidJWT", "invalid signature")                                        \
    X(EXPIRED_JWT, 400, "InvalidJWT", "jwt expired")                                              \
    X(INVALID_SIGNATURE, 400, "InvalidSignature", "The token is not valid for this object")       \
    X(DENIED, 403, "Unauthorized", "new row violates row-level security policy")                  \
    X(DUPLICATE, 409, "Duplicate", "The resource already exists")                                 \
    X(NOT_EMPTY, 409, "ResourceNotEmpty", "The bucket you tried to delete is not empty")          \
    X(MIME, 415, "invalid_mime_type", "mime type is not supported")                               \
    X(RANGE, 416, "InvalidRange", "The range is not satisfiable")

typedef enum {
#define ST_ERR_ENUM(name, status, error, message) ST_ERR_##name,
    ST_ERRORS(ST_ERR_ENUM)
#undef ST_ERR_ENUM
        ST_ERR__COUNT
} st_error;

int st_error_status(st_error e);
const char *st_error_name(st_error e);
const char *st_error_message(st_error e);

/* Answer e with its default message; returns http_error's result. */
int st_reply_error(http_req *r, st_error e);
/* Answer e with the message of the case (printf format; at most ~1 KiB
 * kept). */
int st_reply_errorf(http_req *r, st_error e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answer a failure of ours (a BS_* code): 503 while shutting down, else
 * 500 with the code's text ("out of memory" for BS_ENOMEM). */
int st_reply_failure(http_req *r, int rc);

#endif
