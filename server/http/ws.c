/* ws.c - see ws.h.
 *
 * Per connection: the ready handler asks the handler for the connection's
 * state; the data handler reassembles fragmented messages and hands
 * complete ones to the handler; the close handler tells it the connection
 * ended.  A close the handler asks for is sent as a close frame with code
 * and reason; civetweb ends the connection when the client answers it.
 *
 * Message size.  Inbound messages are limited to max_message (1 MiB for realtime),
 * single frames and fragmented messages alike, text and binary; a larger
 * one gets close 1009 "message too big" and the connection ends.  civetweb
 * 1.15 gives no hook before it buffers a frame: its read_websocket() reads
 * the frame header, mallocs the whole declared payload (it refuses only
 * above 0x7FFF0000 bytes) and reads all of it before the data handler sees
 * a byte, so a check in on_data alone would let one frame hold up to 2 GiB.
 * The adapter therefore also counts what civetweb's reader receives: a
 * thread-local marks the worker thread that runs this connection's read
 * loop (ready, data and close handlers and read_websocket all run on it),
 * and this file's recv() (civetweb calls recv() for plain sockets; the
 * main port has no TLS) adds up the bytes received since the data handler
 * last ran.  Past max_message + WS_READ_SLACK the close frame goes out and
 * recv fails, which ends civetweb's read loop and frees its buffer.  The
 * bound for one message on the main port is thus max_message + WS_READ_SLACK
 * bytes of payload, plus civetweb's request buffer (max_request_size, 64 KiB)
 * that may already hold the start of the frame: malloc'ed pages that were
 * never written are not resident.  Only the connection's own read loop is
 * counted (the mark is cleared while on_data runs, so a recv made by a
 * handler, e.g. a JWKS fetch, is never charged to the socket).
 */
#include "http/ws.h"
#include "http/http_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/error.h"
#include "core/timeutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What the reader may receive beyond one whole message before the next
 * on_data: a frame header and one read of civetweb's request buffer
 * (64 KiB) that may run into the following frame. */
#define WS_READ_SLACK ((64u << 10) + 64u)
#define CLOSE_REASON_MAX 123   /* a close frame's payload is at most 125 bytes */
#define WS_DRAIN_MS 5000

struct http_ws {
    struct mg_connection *mc;
    http_server *srv;
    const http_ws_handler *h;
    void *state;            /* the handler's */
    pthread_mutex_t wmu;    /* writes and close_sent: any thread may send or close */
    bool close_sent;
    bool broken;            /* a write failed: drop what follows */
    buf frag;
    int frag_op;
    size_t unread;          /* bytes civetweb's reader received since on_data last ran */
    bool refused;           /* too big: recv fails from now on */
};
typedef struct http_ws ws_conn;

/* The connection whose read loop runs on this thread (see the top). */
static _Thread_local ws_conn *reading;
/* Marks a thread whose connection could not be set up: reads fail at once. */
static ws_conn refuse_all = {.refused = true};

/* Send one close frame (the first caller wins), any thread. */
static void send_close(ws_conn *w, int code, const char *reason)
{
    pthread_mutex_lock(&w->wmu);
    if (!w->close_sent) {
        char body[2 + CLOSE_REASON_MAX];
        size_t rl = strlen(reason);
        if (rl > CLOSE_REASON_MAX)
            rl = CLOSE_REASON_MAX;
        body[0] = (char)(code >> 8);
        body[1] = (char)(code & 0xff);
        memcpy(body + 2, reason, rl);
        mg_websocket_write(w->mc, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, body, 2 + rl);
        w->close_sent = true;
    }
    pthread_mutex_unlock(&w->wmu);
}

/* The message is over the limit: tell the handler (it stops sending) and
 * the client (close 1009).  The next recv of the read loop drains and
 * fails (see recv). */
static void too_big(ws_conn *w)
{
    w->refused = true;
    w->h->too_big(w->state);
    send_close(w, 1009, w->h->too_big_reason);
}

/* The closing handshake after a refusal (RFC 6455 7.1.1): our close frame is
 * out; read and drop what the client still sends until it closes its side,
 * for at most WS_DRAIN_MS.  Closing with unread data would make the kernel
 * answer with a reset, which can destroy the close frame before the client
 * reads it.  Nothing is kept: a 16 KiB scratch buffer on the stack. */
static void drain(int fd)
{
    char scratch[16384];
    shutdown(fd, SHUT_WR);
    int64_t deadline = time_now_ms() + WS_DRAIN_MS;
    for (;;) {
        int64_t left = deadline - time_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t r = syscall(SYS_recvfrom, fd, scratch, sizeof scratch, MSG_DONTWAIT, NULL, NULL);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            break;
    }
}

/* Interposes libc's recv() for the whole process (the executable's symbol
 * wins over libc's for civetweb and every other library).  On threads that
 * run no main-port WebSocket read loop it is exactly recv(). */
__attribute__((visibility("default"))) ssize_t recv(int fd, void *b, size_t n, int flags)
{
    ws_conn *w = reading;
    if (w && w->refused) {
        if (w != &refuse_all)
            drain(fd);
        reading = &refuse_all; /* once */
        errno = EMSGSIZE;
        return -1;
    }
    ssize_t r = syscall(SYS_recvfrom, fd, b, n, flags, NULL, NULL);
    if (w && r > 0) {
        w->unread += (size_t)r;
        if (w->unread > w->h->max_message + WS_READ_SLACK) {
            too_big(w);
            drain(fd);
            reading = &refuse_all;
            errno = EMSGSIZE;
            return -1;
        }
    }
    return r;
}

int http_ws_send(http_ws *w, bool binary, const void *data, size_t len)
{
    int rc = BS_OK;
    pthread_mutex_lock(&w->wmu);
    if (w->broken || w->close_sent)
        rc = BS_EIO;
    else if (mg_websocket_write(w->mc, binary ? MG_WEBSOCKET_OPCODE_BINARY : MG_WEBSOCKET_OPCODE_TEXT,
                                (const char *)data, len) <= 0) {
        w->broken = true;
        rc = BS_EIO;
    }
    pthread_mutex_unlock(&w->wmu);
    return rc;
}

void http_ws_close(http_ws *w, int code, const char *reason)
{
    send_close(w, code, reason);
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
    int max = srv->o.main_websockets;
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
    reading = &refuse_all; /* until this connection is set up */
    ws_conn *w = calloc(1, sizeof *w);
    if (!w)
        return;
    const struct mg_request_info *ri = mg_get_request_info(mc);
    w->mc = mc;
    w->srv = srv;
    w->h = srv->ws;
    pthread_mutex_init(&w->wmu, NULL);
    /* set before open: the handler may send from another thread at once */
    mg_set_user_connection_data(mc, w);
    w->state = w->h->open(w->h->ctx, w, ri->query_string ? ri->query_string : "");
    if (!w->state) {
        mg_set_user_connection_data(mc, NULL);
        pthread_mutex_destroy(&w->wmu);
        free(w);
        http_work_done(srv);
        return;
    }
    atomic_fetch_add(&srv->ws_active, 1);
    reading = w;
    http_work_done(srv); /* this worker now waits on the socket for as long as the client stays */
}

/* One frame from civetweb (reading is cleared while it runs). */
static int frame(ws_conn *w, int bits, char *data, size_t len)
{
    int op = bits & 0x0f;
    bool fin = (bits & 0x80) != 0;
    switch (op) {
    case MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE:
        return 0;
    case MG_WEBSOCKET_OPCODE_PING:
        mg_websocket_write(w->mc, MG_WEBSOCKET_OPCODE_PONG, data, len);
        return 1;
    case MG_WEBSOCKET_OPCODE_PONG:
        return 1;
    case MG_WEBSOCKET_OPCODE_TEXT:
    case MG_WEBSOCKET_OPCODE_BINARY:
        buf_free(&w->frag);
        w->frag_op = op;
        /* fall through */
    case MG_WEBSOCKET_OPCODE_CONTINUATION:
        if (!w->frag_op)
            return 0;
        if (w->frag.len + len > w->h->max_message) {
            buf_free(&w->frag);
            too_big(w);
            return 0;
        }
        if (fin && !w->frag.len) { /* the usual case: one unfragmented frame */
            w->h->message(w->state, w->frag_op == MG_WEBSOCKET_OPCODE_BINARY, data, len);
            w->frag_op = 0;
            return 1;
        }
        if (buf_append(&w->frag, data, len))
            return 0;
        if (fin) {
            w->h->message(w->state, w->frag_op == MG_WEBSOCKET_OPCODE_BINARY, w->frag.data, w->frag.len);
            w->frag_op = 0;
            buf_free(&w->frag);
        }
        return 1;
    default:
        return 1;
    }
}

static int on_data(struct mg_connection *mc, int bits, char *data, size_t len, void *cbdata)
{
    (void)cbdata;
    ws_conn *w = mg_get_user_connection_data(mc);
    if (!w)
        return 0;
    if (w->refused) /* closing: drop frames still in civetweb's buffer */
        return (bits & 0x0f) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
    reading = NULL;
    int keep = frame(w, bits, data, len);
    /* whatever the handler did with it, the message ends its unit of work */
    http_work_done(w->srv);
    w->unread = 0;
    reading = w;
    /* after a refusal keep the loop: its next recv drains, then fails */
    return keep || w->refused;
}

static void on_close(const struct mg_connection *mc, void *cbdata)
{
    (void)cbdata;
    reading = NULL;
    ws_conn *w = mg_get_user_connection_data(mc);
    if (!w)
        return;
    w->h->closed(w->state);
    buf_free(&w->frag);
    pthread_mutex_destroy(&w->wmu);
    atomic_fetch_sub(&w->srv->ws_active, 1);
    free(w);
}

void http_ws_attach(http_server *s, const http_ws_handler *h)
{
    if (!s || !h)
        return;
    s->ws = h;
    mg_set_websocket_handler(s->ctx, h->path, on_connect, on_ready, on_data, on_close, s);
}
