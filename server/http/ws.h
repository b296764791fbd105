/* ws.h - WebSockets on the main port, over civetweb.
 *
 * The front knows nothing of what a WebSocket carries: a handler (the
 * realtime engine's, server/realtime/rt_civet.c) is attached at one path
 * and gets whole messages; it answers with http_ws_send/http_ws_close from
 * any thread.  civetweb gives each WebSocket one worker thread for its
 * lifetime (reads and the callbacks), so the main port holds at most
 * http_options.main_websockets of them at once and keeps the other workers
 * for HTTP; past that the upgrade gets a 503 that points to the realtime
 * listener (--realtime-port), which large fleets use.
 *
 * Inbound messages are limited to the handler's max_message, single
 * frames and fragmented messages alike; a larger one gets close 1009 and
 * the connection ends, and the front never buffers much more than the
 * limit for it (see ws.c for the bound and how it holds).
 *
 * Threads: http_ws_attach on the main thread right after http_start; the
 * handler's open/message/too_big/closed run on the connection's worker
 * thread; http_ws_send/http_ws_close from any thread until closed returns.
 */
#ifndef BS_HTTP_WS_H
#define BS_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

typedef struct http_ws http_ws;

typedef struct http_ws_handler {
    const char *path;        /* exact path of the upgrade, e.g. "/realtime/v1/websocket" */
    size_t max_message;      /* bytes; larger inbound messages close with 1009 */
    const char *too_big_reason;
    void *ctx;
    /* A client upgraded (query: its query string, "" if none): the
     * connection's state, or NULL to drop it. */
    void *(*open)(void *ctx, http_ws *ws, const char *query);
    /* One whole inbound message. */
    void (*message)(void *state, bool binary, const char *data, size_t len);
    /* A message over max_message: the close frame (1009) is going out and
     * nothing more will be read. */
    void (*too_big)(void *state);
    /* The connection ended; ws is gone once this returns. */
    void (*closed)(void *state);
} http_ws_handler;

/* Take WebSocket upgrades at h->path (h borrowed until http_stop).
 * NULL h: no-op. */
void http_ws_attach(http_server *s, const http_ws_handler *h);

/* Send one message.  BS_OK, or BS_EIO once the connection broke or a close
 * frame went out (later sends are dropped). */
int http_ws_send(http_ws *ws, bool binary, const void *data, size_t len);
/* Send a close frame with code and reason (the first close wins; later ones
 * are ignored).  civetweb ends the connection when the client answers. */
void http_ws_close(http_ws *ws, int code, const char *reason);

#endif
