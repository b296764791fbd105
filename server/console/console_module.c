/* console_module.c - the web console as a module: its pages, the admin
 * endpoints only the console uses (sign-in, stats, keys), and its state
 * (app->console: the sign-in limiter and password hasher). */
#include "app/module.h"
#include "console/console.h"
#include "core/metrics.h"

static const http_route routes[] = {
    {HTTP_POST, "/admin/v1/login", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_login},
    {HTTP_GET | HTTP_HEAD, "/admin/v1/stats", HTTP_CONSOLE, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_stats},
    {HTTP_GET | HTTP_HEAD, "/admin/v1/keys", HTTP_CONSOLE, HTTP_ERR_PGRST, METRICS_G_ADMIN, console_keys},
    {HTTP_GET | HTTP_HEAD, "/console", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_CONSOLE, console_static},
    {HTTP_GET | HTTP_HEAD, "/console/", HTTP_PUBLIC, HTTP_ERR_PGRST, METRICS_G_CONSOLE, console_static},
};

static int start(bs_app *app) { return console_state_new(&app->console); }

static void stop(bs_app *app)
{
    console_state_free(app->console);
    app->console = NULL;
}

const bs_module console_module = {
    .name = "console", .start = start, .stop = stop, .routes = routes, .nroutes = BS_COUNT(routes)};
