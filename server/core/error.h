/* error.h - the one error enum of the whole server.
 *
 * Every fallible function returns an int that is BS_OK (0) or one of the
 * negative codes below.  The table is an X-macro so the enum, the names and
 * the messages can never drift apart (libuv's UV_ERRNO_MAP).  Mapping to
 * HTTP statuses and protocol error bodies happens in one place per protocol
 * (server/http/errors.c for PostgREST, auth/ for GoTrue).
 *
 * Threads: everything here is pure and may be called from any thread.
 */
#ifndef BS_ERROR_H
#define BS_ERROR_H

#define BS_ERRNO_MAP(X)                                                   \
    X(NOMEM,     "out of memory")                                         \
    X(INVAL,     "invalid argument")                                      \
    X(PARSE,     "malformed input")                                       \
    X(JSON,      "malformed JSON")                                        \
    X(NOTFOUND,  "not found")                                             \
    X(EXISTS,    "already exists")                                        \
    X(TOOBIG,    "input too large")                                       \
    X(IO,        "input/output error")                                    \
    X(DB,        "database error")                                        \
    X(CONSTRAINT,"constraint violation")                                  \
    X(DENIED,    "permission denied")                                     \
    X(AUTH,      "authentication failed")                                 \
    X(EXPIRED,   "token expired")                                         \
    X(BUSY,      "resource busy")                                         \
    X(SHUTDOWN,  "shutting down")                                         \
    X(UNSUPP,    "not supported")                                         \
    X(CHANGED,   "applied migration changed")                             \
    X(TIMEOUT,   "timed out")                                             \
    X(DEPTH,     "nested too deeply")

enum {
    BS_OK = 0,
#define BS_ERR_ENUM(name, msg) BS_E##name,
    BS__FIRST = -100,
    BS_ERRNO_MAP(BS_ERR_ENUM)
#undef BS_ERR_ENUM
    BS__LAST
};

/* Static message for a code; never NULL (unknown codes get a fixed text). */
const char *basalt_strerror(int rc);
/* Static symbolic name ("BS_ENOMEM"); never NULL. */
const char *basalt_errname(int rc);

#endif
