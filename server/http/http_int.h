/* http_int.h - what the files of server/http/ share privately (http.c and
 * the WebSocket adapter ws.c).  Nothing outside server/http/ includes it. */
#ifndef BS_HTTP_INT_H
#define BS_HTTP_INT_H

#include <civetweb.h>
#include <stdatomic.h>

#include "core/netaddr.h"
#include "http/http.h"

/* Stack of every civetweb thread: handlers, SQLite and the sync handlers
 * of function plugins run on it (civetweb's own default is 100 KiB). */
#define HTTP_WORKER_STACK (512 * 1024)

/* watch.c: the slow-body watch, one slot per worker. */
#define HTTP_MIN_BODY_RATE 256   /* bytes per second, averaged after --request-timeout */
typedef struct http_watchers http_watchers;
typedef struct http_watch http_watch;
/* Start the watch thread with nslots slots; BS_ENOMEM. */
int http_watch_start(int nslots, int grace_s, http_watchers **out);
void http_watch_stop(http_watchers *w);
/* The calling worker's slot, taken on first use (NULL when w is NULL and
 * the thread has none yet, or when every slot is taken). */
http_watch *http_watch_self(http_watchers *w);
/* Watch the body arriving on fd from now on.  NULL-safe. */
void http_watch_begin(http_watch *s, int fd);
/* Stop watching; true when the watch had cut the body.  NULL-safe. */
bool http_watch_end(http_watch *s);
/* Whether the watch has cut the body being read.  NULL-safe. */
bool http_watch_was_cut(http_watch *s);

struct http_server {
    struct mg_context *ctx;
    http_options o;            /* as given to http_start, routes sorted for matching */
    http_route *routes_owned;  /* that sorted copy */
    net_conncap *cap;          /* per-address connection slots (gate.c) */
    net_cidr_list trusted;     /* --trusted-proxies */
    atomic_int inflight;       /* requests inside on_request */
    atomic_bool draining;      /* stop has begun: answer 503 */
    atomic_int ws_active;      /* main-port WebSockets (ws.c) */
    const struct http_ws_handler *ws; /* ws.c: who takes the WebSockets (http_ws_attach) */
    http_watchers *watch;      /* watch.c */
};

/* gate.c: the connection cap at accept time and the worker stack size.
 * http_gate_set installs the cap the accept hook consults (NULL: none);
 * http_gate_closed gives back the slot of a connection civetweb closed;
 * http_gate_check says whether the hooks are in effect in this process;
 * http_gate_start_threads(n) makes threads created by the calling thread
 * get at least n bytes of stack until called again with 0. */
void http_gate_set(net_conncap *cap);
void http_gate_closed(const char *remote_addr, int remote_port);
/* The socket of the open connection from (remote_addr, remote_port), or -1
 * when the gate did not see it.  Valid until that connection closes. */
int http_gate_fd(const char *remote_addr, int remote_port);
bool http_gate_check(void);
void http_gate_start_threads(size_t min_stack);

/* The end of a unit of work on a worker (a request, a WebSocket message). */
static inline void http_work_done(const http_server *s)
{
    if (s->o.work_done)
        s->o.work_done();
}

#endif
