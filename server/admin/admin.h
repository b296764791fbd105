/* admin.h - /admin/v1 (service_role only, enforced by the route table) and
 * the system endpoints /health and /metrics.
 * Threads: civetweb worker threads. */
#ifndef BS_ADMIN_H
#define BS_ADMIN_H

#include "http/http.h"

int admin_collections(http_req *r);
int admin_config(http_req *r);
int admin_health(http_req *r);
int admin_metrics(http_req *r);

#endif
