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
#include "realtime/rt_engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WS_PATH "/realtime/v1/websocket"
#define SENDER_STACK (128 * 1024)

typedef struct ws_conn {
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

static int on_connect(const struct mg_connection *mc, void *cbdata)
{
    (void)mc;
    return cbdata ? 0 : 1;
}

static void on_ready(struct mg_connection *mc, void *cbdata)
{
    rt_engine *rt = cbdata;
    ws_conn *w = calloc(1, sizeof *w);
    if (!w)
        return;
    const struct mg_request_info *ri = mg_get_request_info(mc);
    w->mc = mc;
    w->rc = rt_conn_open(rt, ri->query_string ? ri->query_string : "", &ws_transport, w);
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
    mg_set_user_connection_data(mc, w);
}

static int on_data(struct mg_connection *mc, int bits, char *data, size_t len, void *cbdata)
{
    (void)cbdata;
    ws_conn *w = mg_get_user_connection_data(mc);
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
    free(w);
}

void ws_attach(http_server *s, struct rt_engine *rt)
{
    if (!s || !rt)
        return;
    mg_set_websocket_handler(s->ctx, WS_PATH, on_connect, on_ready, on_data, on_close, rt);
}
