/* http_int.h - what the files of server/http/ share privately (http.c and
 * the WebSocket adapter ws.c).  Nothing outside server/http/ includes it. */
#ifndef BS_HTTP_INT_H
#define BS_HTTP_INT_H

#include <civetweb.h>

#include "http/http.h"

struct http_server {
    struct mg_context *ctx;
    bs_app *app;
};

#endif
