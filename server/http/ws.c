/* ws.c - see ws.h.
 *
 * Per connection: the ready handler opens the rt_conn and starts the
 * sender; the data handler reassembles fragmented messages (bounded by
 * RT_MAX_FRAME) and hands complete ones to rt_conn_recv; the close handler
 * detaches the rt_conn (which wakes the sender), joins the sender and
 * drops the reference.  A close requested by the engine (bad apikey, send
 * queue full) is sent as a close frame with code and reason; civetweb ends
 * the connection when the client answers it.
 */
#include "http/ws.h"
#include "http/http_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "realtime/rt_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WS_PATH "/realtime/v1/websocket"
#define SENDER_STACK (128 * 1024)

typedef struct ws_conn {
    http_server *srv;
    struct mg_connection *mc;
    rt_conn *rc;
    pthread_t sender;
    bool sender_started;
    buf frag;
    int frag_op;
} ws_conn;

static const rt_transport ws_transport = {"civetweb", NULL};

static void *sender_main(void *arg)
{
    ws_conn *w = arg;
    bool broken = false;
    for (;;) {
        rt_msg *m;
        int code;
        char reason[RT_CLOSE_REASON_MAX];
        int r = rt_conn_pop(w->rc, true, &m, &code, reason);
        if (r == RT_POP_DETACHED)
            break;
        if (r == RT_POP_MSG) {
            if (!broken && mg_websocket_write(w->mc, m->binary ? MG_WEBSOCKET_OPCODE_BINARY : MG_WEBSOCKET_OPCODE_TEXT,
                                              (const char *)m->data, m->len) <= 0)
                broken = true; /* keep draining until the close handler detaches */
            rt_msg_release(m);
        } else if (r == RT_POP_CLOSE && !broken) {
            char body[2 + RT_CLOSE_REASON_MAX];
            size_t rl = strlen(reason);
            body[0] = (char)(code >> 8);
            body[1] = (char)(code & 0xff);
            memcpy(body + 2, reason, rl);
            mg_websocket_write(w->mc, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, body, 2 + rl);
        }
    }
    return NULL;
}

/* Each WebSocket here holds a civetweb worker for its whole life, so the
 * main port takes at most --main-websockets of them and keeps the other
 * workers for HTTP: without the cap, as many realtime clients as workers
 * stop every HTTP request.  Over the cap the upgrade is refused with a 503
 * that names the way out (the libwebsockets listener holds thousands on
 * one thread).  The check and the count are not one atomic step, so a
 * burst of upgrades may pass the cap by the number of upgrades in flight
 * at once, bounded by the workers: the reserve holds. */
static int on_connect(const struct mg_connection *cmc, void *cbdata)
{
    http_server *srv = cbdata;
    int max = srv->app->cfg->main_websockets;
    if (atomic_load(&srv->ws_active) < max)
        return 0;
    static const char body[] = "{\"code\":\"PGRST000\",\"details\":null,\"hint\":\"connect to the realtime "
                               "listener (--realtime-port), which is built for many WebSockets\",\"message\":"
                               "\"too many WebSockets on the main port (--main-websockets)\"}";
    struct mg_connection *mc = (struct mg_connection *)cmc;
    mg_printf(mc,
              "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
              "Access-Control-Allow-Origin: *\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
              sizeof body - 1);
    mg_write(mc, body, sizeof body - 1);
    static _Atomic int64_t last_log;
    int64_t now = time_now_s(), prev = atomic_load(&last_log);
    if (now - prev >= 10 && atomic_compare_exchange_strong(&last_log, &prev, now))
        log_warn("refusing WebSockets on the main port: %d open (--main-websockets); serve realtime "
                 "clients from --realtime-port (logged once per 10 s)", max);
    return 1;
}

static void on_ready(struct mg_connection *mc, void *cbdata)
{
    http_server *srv = cbdata;
    ws_conn *w = calloc(1, sizeof *w);
    if (!w)
        return;
    const struct mg_request_info *ri = mg_get_request_info(mc);
    w->srv = srv;
    w->mc = mc;
    w->rc = rt_conn_open(srv->rt, ri->query_string ? ri->query_string : "", &ws_transport, w);
    if (!w->rc) {
        free(w);
        return;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, SENDER_STACK);
    w->sender_started = pthread_create(&w->sender, &at, sender_main, w) == 0;
    pthread_attr_destroy(&at);
    if (!w->sender_started) {
        log_warn("realtime: cannot start a sender thread; dropping the WebSocket");
        rt_conn_closed(w->rc);
        rt_conn_release(w->rc);
        free(w);
        return;
    }
    atomic_fetch_add(&srv->ws_active, 1);
    mg_set_user_connection_data(mc, w);
    db_reader_release(); /* this worker now waits on the socket for as long as the client stays */
}

static int handle_frame(ws_conn *w, struct mg_connection *mc, int bits, char *data, size_t len);

/* Every message, whatever the engine did with it, ends its unit of work:
 * the read connection it may have taken goes back to the pool. */
static int on_data(struct mg_connection *mc, int bits, char *data, size_t len, void *cbdata)
{
    (void)cbdata;
    int keep = handle_frame(mg_get_user_connection_data(mc), mc, bits, data, len);
    db_reader_release();
    return keep;
}

static int handle_frame(ws_conn *w, struct mg_connection *mc, int bits, char *data, size_t len)
{
    int op = bits & 0x0f;
    bool fin = (bits & 0x80) != 0;
    if (!w)
        return 0;
    switch (op) {
    case MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE:
        return 0;
    case MG_WEBSOCKET_OPCODE_PING:
        mg_websocket_write(mc, MG_WEBSOCKET_OPCODE_PONG, data, len);
        return 1;
    case MG_WEBSOCKET_OPCODE_PONG:
        return 1;
    case MG_WEBSOCKET_OPCODE_TEXT:
    case MG_WEBSOCKET_OPCODE_BINARY:
        buf_reset(&w->frag);
        w->frag_op = op;
        /* fall through */
    case MG_WEBSOCKET_OPCODE_CONTINUATION:
        if (!w->frag_op)
            return 0;
        if (fin && !w->frag.len) { /* the usual case: one unfragmented frame */
            rt_conn_recv(w->rc, w->frag_op == MG_WEBSOCKET_OPCODE_BINARY, data, len);
            w->frag_op = 0;
            return 1;
        }
        if (w->frag.len + len > RT_MAX_FRAME) {
            rt_conn_close_request(w->rc, 1009, "message too large (limit 1 MiB)");
            w->frag_op = 0;
            buf_free(&w->frag);
            return 1;
        }
        if (buf_append(&w->frag, data, len))
            return 0;
        if (fin) {
            rt_conn_recv(w->rc, w->frag_op == MG_WEBSOCKET_OPCODE_BINARY, w->frag.data, w->frag.len);
            w->frag_op = 0;
            buf_free(&w->frag);
        }
        return 1;
    default:
        return 1;
    }
}

static void on_close(const struct mg_connection *mc, void *cbdata)
{
    (void)cbdata;
    ws_conn *w = mg_get_user_connection_data(mc);
    if (!w)
        return;
    rt_conn_closed(w->rc);
    if (w->sender_started)
        pthread_join(w->sender, NULL);
    rt_conn_release(w->rc);
    buf_free(&w->frag);
    atomic_fetch_sub(&w->srv->ws_active, 1);
    free(w);
}

void ws_attach(http_server *s, struct rt_engine *rt)
{
    if (!s || !rt)
        return;
    s->rt = rt;
    mg_set_websocket_handler(s->ctx, WS_PATH, on_connect, on_ready, on_data, on_close, s);
}
