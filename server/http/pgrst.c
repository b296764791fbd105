/* pgrst.c - see pgrst.h. */
#include "http/pgrst.h"

static const struct {
    const char *code;
    int status;
} catalogue[] = {
#define PGRST_ROW(name, code, status) [PGRST_##name] = {code, status},
    PGRST_ERRORS(PGRST_ROW)
#undef PGRST_ROW
};

const char *pgrst_code(pgrst_error e) { return e < PGRST__COUNT ? catalogue[e].code : "PGRST000"; }
int pgrst_status(pgrst_error e) { return e < PGRST__COUNT ? catalogue[e].status : 500; }

int pgrst_reply(http_req *r, pgrst_error e, const char *message, const char *details, const char *hint)
{
    return http_error(r, pgrst_status(e), pgrst_code(e), message, details, hint);
}
