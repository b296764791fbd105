/* routes.c - the route table: every path the server answers, who may call
 * it, and which protocol's errors it speaks.  Audit access here.
 * First match wins; a path ending in '/' is a prefix. */
#include "admin/admin.h"
#include "db/rest.h"
#include "http/http.h"
#include "metrics.h"
/* @includes */

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

const http_route http_routes[] = {
    {HTTP_GET | HTTP_HEAD, "/health", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_health},
    {HTTP_GET, "/metrics", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_metrics},
    /* @routes:functions (rpc before the table route) */
    {RW, "/rest/v1/", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_REST, db_rest_handle},
    /* @routes:auth */
    /* @routes:storage */
    /* @routes:realtime */
    {HTTP_GET, "/admin/v1/config", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_config},
    /* @routes:admin (more specific /admin/v1/ paths go above the catch-all) */
    {RW, "/admin/v1/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_collections},
    /* @routes:console */
};
const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
