/* routes.c - the route table: every path the server answers, who may call
 * it, and which protocol's errors it speaks.  Audit access here.
 * First match wins; a path ending in '/' is a prefix. */
#include "admin/admin.h"
#include "rest/rest.h"
#include "http/http.h"
#include "routes.h"
#include "core/metrics.h"
/* @includes */
#include "functions/fn.h"
#include "console/console.h"
#include "realtime/rt_rest.h"
#include "storage/st_service.h"
#include "auth/auth.h"

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

const http_route bs_routes[] = {
    {HTTP_GET | HTTP_HEAD, "/health", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_health},
    {HTTP_GET, "/metrics", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_metrics},
    /* @routes:functions (rpc before the table route) */
    {HTTP_GET | HTTP_HEAD | HTTP_POST, "/rest/v1/rpc/", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS, fn_rpc_handle},
    {HTTP_ANY & ~HTTP_OPTIONS, "/functions/v1/", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_FUNCTIONS, fn_http_handle},
    {RW, "/rest/v1/", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_REST, rest_handle},
    /* @routes:auth */
    {RW | HTTP_PUT, "/auth/v1/", HTTP_PUBLIC, HTTP_ERR_GOTRUE, METRICS_G_AUTH, auth_handle},
    /* @routes:storage */
    {RW | HTTP_PUT, "/storage/v1/", HTTP_PUBLIC, HTTP_ERR_STORAGE, METRICS_G_STORAGE, st_handle},
    /* @routes:realtime */
    {HTTP_POST, "/realtime/v1/api/broadcast", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_REALTIME, rt_rest_broadcast},
    {HTTP_POST, "/realtime/v1/api/broadcast/", HTTP_APIKEY, HTTP_ERR_PGRST, METRICS_G_REALTIME, rt_rest_broadcast_event},
    {HTTP_GET, "/admin/v1/config", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_config},
    /* @routes:admin (more specific /admin/v1/ paths go above the catch-all) */
    {RW, "/admin/v1/functions/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, fn_admin_handle},
    {HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_POST | HTTP_PATCH, "/admin/v1/realtime/rules", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, rt_rules_admin},
    {HTTP_POST, "/admin/v1/login", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_login},
    {HTTP_GET | HTTP_HEAD, "/admin/v1/stats", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_stats},
    {HTTP_GET | HTTP_HEAD, "/admin/v1/keys", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_keys},
    {HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_PATCH, "/admin/v1/buckets/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, st_admin_buckets},
    {RW, "/admin/v1/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_collections},
    /* @routes:console */
    {HTTP_GET | HTTP_HEAD, "/console", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_CONSOLE, console_static},
    {HTTP_GET | HTTP_HEAD, "/console/", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_CONSOLE, console_static},
};
const size_t bs_nroutes = sizeof bs_routes / sizeof bs_routes[0];
