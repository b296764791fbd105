/* app.h - the process-wide context handed to every handler.
 *
 * Built by main.c; each module (app/module.h) sets its own fields in its
 * start and clears them in its stop.  Handlers only read it (the objects
 * it points to have their own thread contracts). */
#ifndef BS_APP_H
#define BS_APP_H

#include <stdint.h>

#include "app/config.h"

struct db_store;
struct auth_jwt;
struct auth_service;   /* auth/: users, sessions, GoTrue endpoints */
struct rules_cache;    /* server/rules/: compiled rules per collection */
struct rt_engine;      /* server/realtime/ */
struct st_service;     /* storage/ */
struct fn_registry;    /* functions/ */
struct http_server;    /* server/http/: connection counts for /metrics */
struct rest_doccheck_bg; /* server/rest/: the start-up document check */
struct store_maint;    /* app/store_module.c: change-log trimming */
struct db_sqlfns;

typedef struct bs_app {
    const bs_config *cfg;
    struct db_store *store;
    struct auth_jwt *jwt;
    struct auth_service *auth;
    struct rules_cache *rules;
    struct rt_engine *rt;
    struct st_service *storage;
    struct fn_registry *fn;
    struct http_server *http;
    struct rest_doccheck_bg *doccheck;
    struct store_maint *store_maint;
    struct console_state *console;    /* server/console/: sign-in limiter, password hasher */
    const struct db_sqlfns *sqlfns;   /* every module's, for the store's open */
    size_t nsqlfns;
    int64_t started_ms;
    char anon_key[1024];
    char service_key[1024];
} bs_app;

#endif
