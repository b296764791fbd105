/* st_errors.c - the storage-api error catalogue; see st_errors.h. */
#include "storage/st_errors.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct st_error_row {
    int status;
    const char *error, *message;
} st_error_row;

static const st_error_row rows[ST_ERR__COUNT] = {
#define ST_ERR_ROW(name, status, error, message) [ST_ERR_##name] = {status, error, message},
    ST_ERRORS(ST_ERR_ROW)
#undef ST_ERR_ROW
};

static const st_error_row *row(st_error e) { return &rows[(unsigned)e < ST_ERR__COUNT ? e : ST_ERR_INTERNAL]; }

int st_error_status(st_error e) { return row(e)->status; }

const char *st_error_name(st_error e) { return row(e)->error; }

const char *st_error_message(st_error e) { return row(e)->message; }

int st_reply_error(http_req *r, st_error e)
{
    return http_error(r, row(e)->status, row(e)->error, row(e)->message, NULL, NULL);
}

int st_reply_errorf(http_req *r, st_error e, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return http_error(r, row(e)->status, row(e)->error, msg, NULL, NULL);
}

int st_reply_failure(http_req *r, int rc)
{
    if (rc == BS_ESHUTDOWN)
        return st_reply_error(r, ST_ERR_UNAVAILABLE);
    if (rc == BS_ENOMEM)
        return st_reply_errorf(r, ST_ERR_INTERNAL, "out of memory");
    return st_reply_errorf(r, ST_ERR_INTERNAL, "Internal server error (%s)", basalt_strerror(rc));
}
