/* auth_errors.c - the GoTrue error catalogue and the answers made from it;
 * see auth_errors.h. */
#include "auth/auth_errors.h"
#include "auth/auth_int.h"
#include "core/error.h"
#include "core/log.h"

#include <stdio.h>

static const struct {
    const char *code;
    int status;
    const char *message;
} catalogue[] = {
#define AUTH_E_ROW(name, code, status, message) [AUTH_E_##name] = {code, status, message},
    AUTH_ERRORS(AUTH_E_ROW)
#undef AUTH_E_ROW
};

static auth_err known(auth_err e) { return (unsigned)e < AUTH_E__COUNT ? e : AUTH_E_UNEXPECTED_FAILURE; }

const char *auth_err_code(auth_err e) { return catalogue[known(e)].code; }
int auth_err_status(auth_err e) { return catalogue[known(e)].status; }
const char *auth_err_message(auth_err e) { return catalogue[known(e)].message; }

int auth_reply_error(http_req *r, auth_err e, const char *msg)
{
    e = known(e);
    return http_error(r, catalogue[e].status, catalogue[e].code, msg ? msg : catalogue[e].message, NULL, NULL);
}

int auth_reply_fail(http_req *r, const char *what, int rc)
{
    log_error("auth: %s failed: %s", what, basalt_strerror(rc));
    return auth_reply_error(r, rc == BS_ESHUTDOWN ? AUTH_E_UNAVAILABLE : AUTH_E_UNEXPECTED_FAILURE, NULL);
}

int auth_reply_weak_password(http_req *r, const char *msg, const char *reason)
{
    const char *code = catalogue[AUTH_E_WEAK_PASSWORD].code;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:{s:[s],s:s}}", "code", code, "error_code", code, "message", msg, "msg",
                          msg, "weak_password", "reasons", reason, "message", msg);
    return auth_reply_json(r, catalogue[AUTH_E_WEAK_PASSWORD].status, j);
}

int auth_reply_metadata_too_big(http_req *r, const char *which)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s is too large: at most %d bytes as JSON (it is carried in every access token)", which,
             AUTH_METADATA_MAX);
    return auth_reply_error(r, AUTH_E_VALIDATION_FAILED, msg);
}
