/* rt_civet.c - realtime on the main port: the engine's handler for the
 * front's WebSockets (server/http/ws.h).
 *
 * Per connection: open makes the rt_conn and starts a small sender thread
 * that blocks in rt_conn_pop and writes with http_ws_send, so a slow
 * socket only ever blocks its own sender; message hands whole messages to
 * rt_conn_recv; closed detaches the rt_conn (which wakes the sender), joins
 * the sender and drops the reference.  A close the engine asks for (bad
 * apikey, send queue full) goes out as a close frame with code and reason.
 *
 * Threads: open/message/too_big/closed on the connection's civetweb worker;
 * the sender on its own thread.
 */
#include "realtime/rt_int.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>

#define SENDER_STACK (128 * 1024)

typedef struct civet_conn {
    http_ws *ws;
    rt_conn *rc;
    pthread_t sender;
} civet_conn;

static const rt_transport civet_transport = {"civetweb", NULL};

static void *sender_main(void *arg)
{
    civet_conn *cc = arg;
    for (;;) {
        rt_msg *m;
        int code;
        char reason[RT_CLOSE_REASON_MAX];
        int r = rt_conn_pop(cc->rc, true, &m, &code, reason);
        if (r == RT_POP_DETACHED)
            break;
        if (r == RT_POP_MSG) {
            /* a failed send drops the rest; keep draining until closed detaches */
            http_ws_send(cc->ws, m->binary, m->data, m->len);
            rt_msg_release(m);
        } else if (r == RT_POP_CLOSE) {
            http_ws_close(cc->ws, code, reason);
        }
    }
    return NULL;
}

static void *on_open(void *ctx, http_ws *ws, const char *query)
{
    rt_engine *e = ctx;
    civet_conn *cc = calloc(1, sizeof *cc);
    if (!cc)
        return NULL;
    cc->ws = ws;
    cc->rc = rt_conn_open(e, query, &civet_transport, cc);
    if (!cc->rc) {
        free(cc);
        return NULL;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, SENDER_STACK);
    bool started = pthread_create(&cc->sender, &at, sender_main, cc) == 0;
    pthread_attr_destroy(&at);
    if (!started) {
        log_warn("realtime: cannot start a sender thread; dropping the WebSocket");
        rt_conn_closed(cc->rc);
        rt_conn_release(cc->rc);
        free(cc);
        return NULL;
    }
    return cc;
}

static void on_message(void *state, bool binary, const char *data, size_t len)
{
    civet_conn *cc = state;
    rt_conn_recv(cc->rc, binary, data, len);
}

/* The front refused a message over RT_MAX_FRAME and sends close 1009: the
 * engine drops the connection's queue and ignores what follows. */
static void on_too_big(void *state)
{
    civet_conn *cc = state;
    rt_conn_close_request(cc->rc, 1009, RT_TOO_BIG_REASON);
}

static void on_closed(void *state)
{
    civet_conn *cc = state;
    rt_conn_closed(cc->rc);
    pthread_join(cc->sender, NULL);
    rt_conn_release(cc->rc);
    free(cc);
}

void rt_civet_attach(rt_engine *e, http_server *s)
{
    if (!e || !s)
        return;
    e->civet = (http_ws_handler){
        .path = RT_WS_PATH,
        .max_message = RT_MAX_FRAME,
        .too_big_reason = RT_TOO_BIG_REASON,
        .ctx = e,
        .open = on_open,
        .message = on_message,
        .too_big = on_too_big,
        .closed = on_closed,
    };
    http_ws_attach(s, &e->civet);
}
