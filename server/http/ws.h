/* ws.h - the civetweb WebSocket adapter for realtime.
 *
 * Registers /realtime/v1/websocket on the main port.  civetweb gives each
 * WebSocket one worker thread for its lifetime (reads and the data
 * callback); this adapter adds one small sender thread per connection that
 * blocks in rt_conn_pop and writes with mg_websocket_write, so a slow
 * socket only ever blocks its own sender.  The main port therefore holds
 * at most --main-websockets WebSockets at once (default half of --threads,
 * always below it, so HTTP keeps workers); past that the upgrade gets a
 * 503 pointing to the libwebsockets listener (--realtime-port), which
 * large fleets use.
 *
 * Threads: ws_attach on the main thread right after http_start.
 */
#ifndef BS_HTTP_WS_H
#define BS_HTTP_WS_H

#include "http/http.h"

struct rt_engine;

/* No-op when rt is NULL. */
void ws_attach(http_server *s, struct rt_engine *rt);

#endif
