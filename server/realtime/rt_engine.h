/* rt_engine.h - the realtime engine: Phoenix channels over any WebSocket
 * transport, fed by the change log.
 *
 * One rt_engine per process (app->rt).  It owns the channel registry
 * (topics, postgres_changes subscriptions indexed by collection and by
 * equality-filter value, presence), the change dispatcher thread and, when
 * --realtime-port is set, the libwebsockets listener (rt_lws.h).  The
 * civetweb adapter (server/http/ws.c) and the lws adapter are thin: they
 * open an rt_conn per WebSocket, hand it every complete inbound message
 * with rt_conn_recv, and write what rt_conn_pop gives them.
 *
 * Outbound messages are rt_msg (serialised once, shared by reference) in a
 * bounded per-connection queue (--realtime-queue-bytes bytes and
 * RT_QUEUE_MAX_MSGS messages).  A connection whose queue overflows loses
 * its queue and gets a close request (1008 "send queue full").
 *
 * Threads: rt_engine_start/stop on the main thread (start after the store,
 * stop before db_close).  rt_conn_* may be called from the connection's
 * transport thread (recv, pop, closed) and pop may block on a thread of its
 * own (rt_conn_pop with wait).  The transport's wake callback is called
 * from any thread with the connection's lock held: it must only record the
 * wake and return (lws: add to a list and lws_cancel_service).
 */
#ifndef BS_RT_ENGINE_H
#define BS_RT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include <jansson.h>

#include "core/buf.h"
#include "realtime/rt_msg.h"

#define RT_WS_PATH "/realtime/v1/websocket" /* on the main port and on --realtime-port */
#define RT_MAX_FRAME (1u << 20)       /* largest inbound WebSocket message */
#define RT_MAX_BROADCAST (256u << 10) /* largest broadcast payload */
#define RT_QUEUE_MAX_MSGS 16384       /* per-connection queued messages */
#define RT_JOIN_RATE 25               /* joins per second per connection (burst 2x) */
#define RT_CLOSE_REASON_MAX 124
#define RT_TOO_BIG_REASON "message too big (limit 1 MiB)"
#define RT_BCAST_TOO_BIG_REASON "broadcast payload too large (limit 256 KiB)" /* RT_MAX_BROADCAST */

typedef struct rt_engine rt_engine;
typedef struct rt_conn rt_conn;

typedef struct rt_transport {
    const char *name;                /* "civetweb" / "lws", for logs */
    /* Called (connection lock held) when something was queued or a close
     * was requested and no wake is pending; NULL when the transport waits
     * in rt_conn_pop instead.  The transport retains c if it keeps it. */
    void (*wake)(void *tctx, rt_conn *c);
} rt_transport;

/* Start the engine: register the commit hook, start the dispatcher and, if
 * cfg->realtime_port, the lws listener.  BS_EIO when that port cannot be
 * bound. */
int rt_engine_start(bs_app *app, rt_engine **out);
/* Stop the lws listener and the dispatcher, free everything.  Call after
 * the HTTP server stopped (its WebSockets are closed by then).  NULL-safe. */
void rt_engine_stop(rt_engine *e);
/* Take the main port's WebSockets at /realtime/v1/websocket (main thread,
 * right after http_start; no-op when either is NULL). */
struct http_server;
void rt_civet_attach(rt_engine *e, struct http_server *s);

/* The store's hooks, wired by the module (rt_module.c), on the writer
 * thread: a commit logged changes up to last_seq (wake the dispatcher);
 * another process committed (reload the channel rules through w, the
 * writer connection, and re-check joined private channels). */
struct db_conn;
void rt_dispatch_committed(rt_engine *e, int64_t last_seq);
void rt_dispatch_external(rt_engine *e, struct db_conn *w);

/* A new WebSocket.  query: the raw query string ("apikey=...&vsn=2.0.0").
 * Never NULL except on ENOMEM: when the key does not verify or the engine
 * is full, the connection comes back with a close request queued (the
 * transport sends the close frame with the reason and ends).  The caller
 * holds one reference (rt_conn_release). */
rt_conn *rt_conn_open(rt_engine *e, const char *query, const rt_transport *tp, void *tctx);
/* One complete inbound message (text or binary). */
void rt_conn_recv(rt_conn *c, bool binary, const void *data, size_t len);

enum { RT_POP_NONE, RT_POP_MSG, RT_POP_CLOSE, RT_POP_DETACHED };
/* Next thing to send: RT_POP_MSG with *m (the caller releases it),
 * RT_POP_CLOSE once (send a close frame with code/reason, then keep
 * popping until DETACHED or end the socket), RT_POP_DETACHED after
 * rt_conn_closed, RT_POP_NONE when empty and !wait.  With wait, blocks
 * until one of the others. */
int rt_conn_pop(rt_conn *c, bool wait, rt_msg **m, int *code, char reason[RT_CLOSE_REASON_MAX]);
/* Ask the transport to close (queue dropped): used by adapters on a
 * protocol violation (frame too large). */
void rt_conn_close_request(rt_conn *c, int code, const char *reason);
/* The socket is gone: leave every channel (presence leaves go out), drop
 * the queue, stop calling wake.  Does not drop the caller's reference. */
void rt_conn_closed(rt_conn *c);
rt_conn *rt_conn_retain(rt_conn *c);
void rt_conn_release(rt_conn *c);
/* The transport context given to rt_conn_open, or NULL once closed. */
void *rt_conn_tctx(rt_conn *c);
/* The transport handled a wake: clears the pending flag (the next queued
 * message wakes again) and returns tctx, or NULL once closed. */
void *rt_conn_wake_done(rt_conn *c);

/* Fan out a broadcast on `topic` (full topic, "realtime:room") from the
 * REST API: payload is JSON text of any value.  priv: to the private
 * channel of that name, if caller may send there (insert rule,
 * extension broadcast), else BS_EDENIED.  BS_ETOOBIG past
 * RT_MAX_BROADCAST. */
struct auth_claims;
int rt_broadcast_rest(rt_engine *e, const char *topic, const char *event, const char *payload, size_t plen,
                      bool priv, const struct auth_claims *caller);

/* The private channel rules (docs/REALTIME.md) as stored: a new reference
 * to {"select": "...", "insert": "..."} (ops without a rule absent).
 * BS_EDB on a read error.  Any thread with a db_reader. */
int rt_rules_get(rt_engine *e, json_t **out);
/* Change them: patch {op: text|null} merged into the stored set, or
 * replacing it when replace.  Validated (BS_EINVAL with msg and details,
 * as rules_merge), committed, then in force for every later decision, and
 * every joined private channel is re-checked (a channel that may no longer
 * read is closed; a presence that may no longer be held is untracked).
 * *out: the new set (a new reference).  Civetweb worker threads. */
int rt_rules_set(rt_engine *e, json_t *patch, bool replace, json_t **out, buf *msg, buf *details);

/* The engine's counters as Prometheus text lines (appended); all zero when
 * e is NULL.  Any thread while the engine runs. */
int rt_metrics_render(const rt_engine *e, buf *out);

#endif
