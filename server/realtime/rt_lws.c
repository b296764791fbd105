/* rt_lws.c - the libwebsockets listener (--realtime-port): the same path
 * and protocol as the main port, on one event-loop thread.
 *
 * A thin adapter: accept WebSocket upgrades on /realtime/v1/websocket
 * (anything else gets 404), reassemble inbound messages and hand them to
 * rt_conn_recv, and write queued messages one per
 * LWS_CALLBACK_SERVER_WRITEABLE.  Other threads (the dispatcher, civetweb
 * workers broadcasting) never touch lws objects: the engine's wake
 * callback adds the connection to a mutex-guarded list and calls
 * lws_cancel_service() (the only lws call that is safe from another
 * thread) when the list goes from empty to non-empty; the loop thread then
 * asks for WRITEABLE on each listed connection.  Messages carry
 * RT_MSG_HEADROOM bytes in front, so lws_write writes its header in place
 * without a copy.
 *
 * Memory per idle connection: the lws wsi, a small rx buffer (1 KiB;
 * larger messages arrive in pieces and are reassembled) and the rt_conn.
 */
#include "realtime/rt_int.h"
#include "core/error.h"
#include "core/log.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(LWS_PRE <= RT_MSG_HEADROOM, "rt_msg headroom must cover LWS_PRE");

#define WS_PATH "/realtime/v1/websocket"

struct rt_lws {
    rt_engine *e;
    struct lws_context *ctx;
    pthread_t th;
    bool started;
    int stop;
    int start_rc;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool ready;
    rt_vec pending; /* rt_conn* (one reference each) waiting for WRITEABLE */
};

typedef struct pss {
    struct lws *wsi;
    rt_conn *c;
    buf rx;
} pss;

static void lws_wake(void *tctx, rt_conn *c);
static const rt_transport lws_transport = {"lws", lws_wake};

static void lws_wake(void *tctx, rt_conn *c)
{
    (void)tctx;
    rt_lws *l = c->e->lws;
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    bool first = l->pending.n == 0;
    if (rt_vec_push(&l->pending, rt_conn_retain(c)) == BS_OK) {
        if (first)
            lws_cancel_service(l->ctx);
    } else {
        rt_conn_release(c);
    }
    pthread_mutex_unlock(&l->mu);
}

static void drain_pending(rt_lws *l)
{
    rt_vec v;
    pthread_mutex_lock(&l->mu);
    v = l->pending;
    l->pending = (rt_vec)RT_VEC_INIT;
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < v.n; i++) {
        rt_conn *c = v.v[i];
        pss *p = rt_conn_wake_done(c);
        if (p)
            lws_callback_on_writable(p->wsi);
        rt_conn_release(c);
    }
    rt_vec_free(&v);
}

static char *query_of(struct lws *wsi)
{
    buf q = BUF_INIT;
    char frag[AUTH_JWT_MAX_LEN + 64];
    for (int i = 0; i < 32; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if ((q.len && buf_putc(&q, '&')) || buf_append(&q, frag, (size_t)n)) {
            buf_free(&q);
            return NULL;
        }
    }
    if (!q.data && buf_puts(&q, ""))
        return NULL;
    return buf_steal(&q, NULL);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    pss *p = user;
    struct lws_context *ctx = lws_get_context(wsi);
    rt_lws *l = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "only " WS_PATH " (WebSocket) is served here");
        return -1;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[128];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, WS_PATH) != 0)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        char *q = query_of(wsi);
        memset(p, 0, sizeof *p);
        p->wsi = wsi;
        p->c = q ? rt_conn_open(l->e, q, &lws_transport, p) : NULL;
        free(q);
        if (!p->c)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!p->c)
            return -1;
        if (lws_is_first_fragment(wsi))
            buf_reset(&p->rx);
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) && !p->rx.len) {
            rt_conn_recv(p->c, lws_frame_is_binary(wsi), in, len); /* whole message in one piece */
            return 0;
        }
        if (p->rx.len + len > RT_MAX_FRAME) {
            rt_conn_close_request(p->c, 1009, "message too large (limit 1 MiB)");
            buf_free(&p->rx);
            return 0;
        }
        if (buf_append(&p->rx, in, len))
            return -1;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            rt_conn_recv(p->c, lws_frame_is_binary(wsi), p->rx.data, p->rx.len);
            buf_free(&p->rx);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!p->c)
            return -1;
        rt_msg *m;
        int code;
        char why[RT_CLOSE_REASON_MAX];
        int r = rt_conn_pop(p->c, false, &m, &code, why);
        for (int k = 0; r == RT_POP_MSG; k++) {
            /* several whole messages per callback while the socket takes
             * them (lws buffers a partial write itself); then come back */
            int n = lws_write(wsi, m->data, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            rt_msg_release(m);
            if (n < 0)
                return -1;
            if (k == 15 || lws_send_pipe_choked(wsi)) {
                lws_callback_on_writable(wsi);
                return 0;
            }
            r = rt_conn_pop(p->c, false, &m, &code, why);
        }
        if (r == RT_POP_NONE)
            return 0;
        if (r == RT_POP_CLOSE) {
            lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
            return -1;
        }
        return r == RT_POP_DETACHED ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (p && p->c) {
            rt_conn_closed(p->c);
            rt_conn_release(p->c);
            p->c = NULL;
        }
        if (p)
            buf_free(&p->rx);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (l)
            drain_pending(l);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"basalt-realtime", cb, sizeof(pss), 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *loop_main(void *arg)
{
    rt_lws *l = arg;
    const bs_config *cfg = l->e->app->cfg;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->realtime_port;
    info.iface = strcmp(cfg->listen_addr, "0.0.0.0") == 0 ? NULL : cfg->listen_addr;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = l;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (info.iface && !strchr(info.iface, ':'));
    info.fd_limit_per_thread = (unsigned int)cfg->realtime_max_connections + 64;
    lws_set_log_level(LLL_ERR, NULL);
    l->ctx = lws_create_context(&info);
    pthread_mutex_lock(&l->mu);
    l->start_rc = l->ctx ? BS_OK : BS_EIO;
    l->ready = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    if (!l->ctx)
        return NULL;
    log_info("realtime: libwebsockets listener on port %d", cfg->realtime_port);
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
        if (lws_service(l->ctx, 0) < 0)
            break;
    lws_context_destroy(l->ctx); /* closes every connection: CLOSED callbacks run here */
    return NULL;
}

int rt_lws_start(rt_engine *e, rt_lws **out)
{
    *out = NULL;
    rt_lws *l = calloc(1, sizeof *l);
    if (!l)
        return BS_ENOMEM;
    l->e = e;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    e->lws = l; /* the wake callback finds it here */
    if (pthread_create(&l->th, NULL, loop_main, l) != 0) {
        e->lws = NULL;
        free(l);
        return BS_ENOMEM;
    }
    l->started = true;
    pthread_mutex_lock(&l->mu);
    while (!l->ready)
        pthread_cond_wait(&l->cond, &l->mu);
    pthread_mutex_unlock(&l->mu);
    if (l->start_rc) {
        int rc = l->start_rc;
        pthread_join(l->th, NULL);
        e->lws = NULL;
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cond);
        free(l);
        return rc;
    }
    *out = l;
    return BS_OK;
}

void rt_lws_stop(rt_lws *l)
{
    if (!l)
        return;
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    lws_cancel_service(l->ctx);
    pthread_join(l->th, NULL);
    /* wakes that raced with the shutdown */
    for (size_t i = 0; i < l->pending.n; i++)
        rt_conn_release(l->pending.v[i]);
    rt_vec_free(&l->pending);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    free(l);
}
