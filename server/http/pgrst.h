/* pgrst.h - the PostgREST error catalogue: every PostgREST-shaped error the
 * server answers, with its code and status, in one table (PostgREST's own
 * error list; PocketBase's apis/api_error.go).  /rest/v1, RPC, functions,
 * the admin API, the console and realtime's REST endpoints answer from it;
 * call sites give only the message (and details/hint) of the case.
 *
 * Threads: any (pure tables; answering runs on the request's thread). */
#ifndef BS_HTTP_PGRST_H
#define BS_HTTP_PGRST_H

#include "http/http.h"

/* X(name, code, status) */
#define PGRST_ERRORS(X)                                                        \
    X(INTERNAL, "PGRST000", 500)       /* a failure of ours */                 \
    X(UNAVAILABLE, "PGRST000", 503)    /* try again: shutting down, busy */    \
    X(PARSE, "PGRST100", 400)          /* the query string */                  \
    X(BAD_BODY, "PGRST102", 400)       /* the request body */                  \
    X(RANGE, "PGRST103", 416)          /* Range / offset past the end */       \
    X(PROFILE, "PGRST106", 406)        /* Accept-/Content-Profile */           \
    X(SINGULAR, "PGRST116", 406)       /* vnd.pgrst.object with != 1 row */    \
    X(NO_ROW, "PGRST116", 404)         /* the row a path names is not there */ \
    X(METHOD, "PGRST117", 405)         /* method not allowed on the path */    \
    X(NO_PATH, "PGRST125", 404)        /* no route */                          \
    X(BAD_PATH, "PGRST125", 400)       /* a path that cannot be a name */      \
    X(NO_FUNCTION, "PGRST202", 404)    /* RPC / function not found */          \
    X(NO_TABLE, "PGRST205", 404)       /* collection not found */              \
    X(TOO_BIG, "PGRST413", 413)        /* body over --max-body */              \
    X(DENIED_ANON, "42501", 401)       /* a rule refused the anon role */      \
    X(DENIED, "42501", 403)            /* a rule refused the caller */         \
    X(BAD_VALUE, "22P02", 400)         /* a value of the wrong type */         \
    X(CARDINALITY, "21000", 400)       /* more rows than the operation takes */\
    X(NO_CONSTRAINT, "42P10", 400)     /* on_conflict without a unique index */\
    X(UNIQUE, "23505", 409)            /* a unique index refused the row */    \
    X(TIMEOUT, "57014", 504)           /* a statement or function timed out */ \
    X(TOO_MANY, "53300", 429)          /* concurrency / rate limit */          \
    X(RAISED, "P0001", 400)            /* an RPC's error (or the status it set) */\
    X(FUNCTION_FAILED, "P0001", 500)   /* an RPC failed without saying why */  \
    /* the console's sign-in: GoTrue's codes in PostgREST's shape */          \
    X(LOGIN_FIELDS, "validation_failed", 400)                                 \
    X(LOGIN_FAILED, "invalid_credentials", 400)                               \
    X(LOGIN_LIMIT, "over_request_rate_limit", 429)

typedef enum {
#define PGRST_ENUM(name, code, status) PGRST_##name,
    PGRST_ERRORS(PGRST_ENUM)
#undef PGRST_ENUM
        PGRST__COUNT
} pgrst_error;

const char *pgrst_code(pgrst_error e);
int pgrst_status(pgrst_error e);

/* Answer e in PostgREST's shape with this message (details and hint may be
 * NULL); returns http_error's result. */
int pgrst_reply(http_req *r, pgrst_error e, const char *message, const char *details, const char *hint);

#endif
