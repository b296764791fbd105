/* routes.h - the route table of the binary (routes.c): every path the
 * server answers, who may call it, and which protocol's errors it speaks.
 * main.c hands it to http_start. */
#ifndef BS_ROUTES_H
#define BS_ROUTES_H

#include <stddef.h>

#include "http/http.h"

extern const http_route bs_routes[];
extern const size_t bs_nroutes;

#endif
