/* error.c - messages and names for the error enum of error.h. */
#include "error.h"

const char *basalt_strerror(int rc)
{
    switch (rc) {
    case BS_OK: return "success";
#define BS_ERR_MSG(name, msg) case BS_E##name: return msg;
        BS_ERRNO_MAP(BS_ERR_MSG)
#undef BS_ERR_MSG
    default: return "unknown error";
    }
}

const char *basalt_errname(int rc)
{
    switch (rc) {
    case BS_OK: return "BS_OK";
#define BS_ERR_NAME(name, msg) case BS_E##name: return "BS_E" #name;
        BS_ERRNO_MAP(BS_ERR_NAME)
#undef BS_ERR_NAME
    default: return "BS_E?";
    }
}
