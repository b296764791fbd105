/* admin_module.c - health, metrics, the effective config and the
 * collections admin API (/admin/v1/ catch-all). */
#include "admin/admin.h"
#include "app/module.h"
#include "core/metrics.h"

#define RW (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PATCH | HTTP_DELETE)

static const http_route routes[] = {
    {HTTP_GET | HTTP_HEAD, "/health", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_health},
    {HTTP_GET, "/metrics", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_SYSTEM, admin_metrics},
    {HTTP_GET, "/admin/v1/config", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_config},
    {RW, "/admin/v1/", HTTP_SERVICE, HTTP_ERR_PGRST, METRICS_G_ADMIN, admin_collections},
};

const bs_module admin_module = {.name = "admin", .routes = routes, .nroutes = BS_COUNT(routes)};
