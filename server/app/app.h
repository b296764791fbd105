/* app.h - the process-wide context handed to every handler.
 *
 * Built by main.c before the listener starts and torn down after it stops;
 * handlers only read it (the objects it points to have their own thread
 * contracts). */
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
    int64_t started_ms;
    char anon_key[1024];
    char service_key[1024];
} bs_app;

#endif
