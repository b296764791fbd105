/* console.h - the admin web console: its static files and its admin API.
 *
 *   GET  /console, /console/... web/ files embedded at build time
 *                               (scripts/embed_web.cmake); /console and
 *                               /console/ answer index.html
 *   POST /admin/v1/login        {"email","password"} -> {"access_token",...}
 *                               (public route; failures rate-limited per IP)
 *   GET  /admin/v1/stats        overview numbers (HTTP_CONSOLE)
 *   GET  /admin/v1/keys         the project's anon and service_role keys
 *                               (HTTP_CONSOLE)
 *
 * Admin tokens (console session tokens) are service_role JWTs with
 * "admin": true, the admin's id in "sub" and a lifetime of
 * CONSOLE_TOKEN_TTL_S.
 *
 * The console's state (app->console: the sign-in limiter and the password
 * hasher) is made by its module's start and freed by its stop.
 *
 * Threads: console_state_new/free on the main thread (before the listener
 * starts / after it stopped); handlers on civetweb worker threads;
 * console_admin_main on the main thread of the `basalt admin` command.
 */
#ifndef BS_CONSOLE_H
#define BS_CONSOLE_H

#include <stddef.h>

#include "http/http.h"

#define CONSOLE_TOKEN_TTL_S (8 * 3600)
/* Failed logins allowed per client address: a burst of MAX_FAILS, then
 * one more each WINDOW_MS / MAX_FAILS (429 with Retry-After meanwhile). */
#define CONSOLE_LOGIN_MAX_FAILS 10
#define CONSOLE_LOGIN_WINDOW_MS (5 * 60 * 1000)
/* The longest e-mail an admin account may have. */
#define CONSOLE_EMAIL_MAX 320

typedef struct console_state console_state;

/* Make / free app->console (the module's start and stop).  BS_OK or
 * BS_ENOMEM / BS_EIO; stop accepts a partial start. */
int console_state_new(console_state **out);
void console_state_free(console_state *st);

/* One embedded file of web/.  The table (generated) ends with a NULL path. */
typedef struct console_file {
    const char *path; /* relative to web/, e.g. "js/app.js" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* strong, quoted */
} console_file;
extern const console_file console_files[];

/* The file for a path relative to web/, or NULL. */
const console_file *console_find(const char *path);
/* Content-Type for a file name by extension ("application/octet-stream"
 * when unknown). */
const char *console_content_type(const char *path);

/* Answer j (stolen; NULL: out of memory) as JSON, 200. */
struct json_t;
int console_reply_json(http_req *r, struct json_t *j);

int console_static(http_req *r);
int console_login(http_req *r);
int console_stats(http_req *r);
int console_keys(http_req *r);

/* `basalt admin ...` (argv[1] == "admin"); returns the exit code. */
int console_admin_main(int argc, char **argv);

#endif
