/* rt_lws.c - the libwebsockets listener (--realtime-port): the same path
 * and protocol as the main port, on N event-loop threads (shards).
 *
 * Each shard is its own lws context (no listener of its own) with its own
 * loop thread, so the socket writes of one fan-out run on every core.
 * Debian's lws is built with LWS_MAX_SMP 1, so lws's service threads and
 * its SO_REUSEPORT listen sharing (which needs them) are not available.
 * Instead one acceptor thread owns the listening socket, accepts, and
 * hands the new sockets to the shards in turn (a shard's pending-fd list,
 * then lws_cancel_service); the shard's loop adopts it
 * with lws_adopt_socket, as if its own listener had accepted it.  A
 * connection stays on that shard for its life.
 *
 * A thin adapter: accept WebSocket upgrades on /realtime/v1/websocket
 * (anything else gets 404), reassemble inbound messages and hand them to
 * rt_conn_recv, and write queued messages in LWS_CALLBACK_SERVER_WRITEABLE.
 * Other threads (the dispatcher, civetweb workers broadcasting) never
 * touch lws objects: the engine's wake callback adds the connection to its
 * shard's mutex-guarded list and calls lws_cancel_service() (the only lws
 * call that is safe from another thread) when the list goes from empty to
 * non-empty; the shard's loop then asks for WRITEABLE on each listed
 * connection.  A message comes with its frame header already built
 * (rt_msg.h), so it goes out with one LWS_WRITE_RAW of frame..end: lws
 * never writes into the shared block (with LWS_WRITE_TEXT it would write
 * its header in front of the data, from every shard at once), and a
 * partial send is buffered by lws itself.
 *
 * Memory per idle connection: the lws wsi, a small rx buffer (1 KiB;
 * larger messages arrive in pieces and are reassembled) and the rt_conn.
 * lws hands a frame over in pieces of at most that rx buffer, so the only
 * per-message buffer is ours: a message (one frame or fragments) over
 * RT_MAX_FRAME is refused as soon as its pieces pass the limit, with close
 * 1009, before anything past the limit is kept.
 */
#include "realtime/rt_int.h"
#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_AUTO_SHARDS 8

typedef struct lws_shard {
    rt_lws *l;
    struct lws_context *ctx;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    rt_vec pending; /* rt_conn* (one reference each) waiting for WRITEABLE (mu) */
    int *fds;       /* accepted sockets waiting to be adopted (mu) */
    size_t nfds, capfds;
    /* start handshake (mu) */
    pthread_cond_t cond;
    bool ready;
    int start_rc;
} lws_shard;

struct rt_lws {
    rt_engine *e;
    int stop; /* atomic */
    int n;
    lws_shard *sh;
    int listen_fd;
    pthread_t acceptor;
    bool acceptor_started;
};

typedef struct pss {
    struct lws *wsi;
    lws_shard *s;
    rt_conn *c;
    buf rx;
    bool refused;   /* a message over RT_MAX_FRAME: closing, input dropped */
} pss;

static void lws_wake(void *tctx, rt_conn *c);
static const rt_transport lws_transport = {"lws", lws_wake};

/* Any thread, c->mu held: tctx is the pss, alive until rt_conn_closed
 * (which takes c->mu) runs in the CLOSED callback. */
static void lws_wake(void *tctx, rt_conn *c)
{
    lws_shard *s = ((pss *)tctx)->s;
    pthread_mutex_lock(&s->mu);
    bool first = s->pending.n == 0;
    if (rt_vec_push(&s->pending, rt_conn_retain(c)) == BS_OK) {
        if (first)
            lws_cancel_service(s->ctx);
    } else {
        rt_conn_release(c);
    }
    pthread_mutex_unlock(&s->mu);
}

/* The shard's loop thread, on LWS_CALLBACK_EVENT_WAIT_CANCELLED: adopt the
 * sockets the acceptor handed over, ask WRITEABLE for the woken. */
static void drain_pending(lws_shard *s)
{
    rt_vec v;
    int fds[64];
    size_t nf;
    pthread_mutex_lock(&s->mu);
    v = s->pending;
    s->pending = (rt_vec)RT_VEC_INIT;
    nf = s->nfds < 64 ? s->nfds : 64;
    if (nf) {
        memcpy(fds, s->fds, nf * sizeof *fds);
        memmove(s->fds, s->fds + nf, (s->nfds - nf) * sizeof *fds);
        s->nfds -= nf;
    }
    bool more = s->nfds > 0;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < nf; i++)
        if (!lws_adopt_socket(s->ctx, fds[i])) /* closes the fd on failure */
            log_warn("realtime: could not adopt a connection");
    if (more) /* a burst of connects: the rest on the next turn, after I/O */
        lws_cancel_service(s->ctx);
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

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: only the realtime path. */
static int path_ok(struct lws *wsi)
{
    char uri[128];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) >= 0 && strcmp(uri, RT_WS_PATH) == 0;
}

/* LWS_CALLBACK_ESTABLISHED: the engine's connection (a refused key comes
 * back with a close queued).  -1 ends the socket. */
static int on_established(pss *p, struct lws *wsi, lws_shard *s)
{
    char *q = query_of(wsi);
    memset(p, 0, sizeof *p);
    p->wsi = wsi;
    p->s = s; /* before open: a refused key queues a close and wakes */
    p->c = q ? rt_conn_open(s->l->e, q, &lws_transport, p) : NULL;
    free(q);
    return p->c ? 0 : -1;
}

/* LWS_CALLBACK_RECEIVE: a piece of a message; whole messages go to the
 * engine, one over RT_MAX_FRAME closes with 1009. */
static int on_receive(pss *p, struct lws *wsi, const void *in, size_t len)
{
    if (!p->c)
        return -1;
    if (p->refused)
        return 0; /* the rest of a refused message: dropped unread */
    if (lws_is_first_fragment(wsi))
        buf_reset(&p->rx);
    bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (last && !p->rx.len) {
        rt_conn_recv(p->c, lws_frame_is_binary(wsi), in, len); /* whole message in one piece */
        return 0;
    }
    if (p->rx.len + len > RT_MAX_FRAME) {
        /* The close goes out from WRITEABLE like every other close
         * (lws then waits for the client's close, discarding what it
         * still sends); until then the rest is dropped, never kept. */
        buf_free(&p->rx);
        p->refused = true;
        rt_conn_close_request(p->c, 1009, RT_TOO_BIG_REASON);
        return 0;
    }
    if (buf_append(&p->rx, in, len))
        return -1;
    if (last) {
        rt_conn_recv(p->c, lws_frame_is_binary(wsi), p->rx.data, p->rx.len);
        buf_free(&p->rx);
    }
    return 0;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: write what is queued, or the close. */
static int on_writeable(pss *p, struct lws *wsi)
{
    if (!p->c)
        return -1;
    rt_msg *m;
    int code;
    char why[RT_CLOSE_REASON_MAX];
    int r = rt_conn_pop(p->c, false, &m, &code, why);
    for (int k = 0; r == RT_POP_MSG; k++) {
        /* several whole messages per callback while the socket takes
         * them (lws buffers a partial write itself); then come back.
         * RAW: the frame header is part of the message already. */
        int n = lws_write(wsi, m->frame, m->frame_len, LWS_WRITE_RAW);
        rt_msg_release(m);
        if (n < 0)
            return -1;
        if (k == 15 || lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        r = rt_conn_pop(p->c, false, &m, &code, why);
    }
    if (r == RT_POP_CLOSE)
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
    return r == RT_POP_NONE ? 0 : -1;
}

/* LWS_CALLBACK_CLOSED (p may be NULL). */
static void on_closed(pss *p)
{
    if (!p)
        return;
    if (p->c) {
        rt_conn_closed(p->c); /* no wake reads p->s after this */
        rt_conn_release(p->c);
        p->c = NULL;
    }
    buf_free(&p->rx);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    pss *p = user;
    struct lws_context *ctx = lws_get_context(wsi);
    lws_shard *s = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "only " RT_WS_PATH " (WebSocket) is served here");
        return -1;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return path_ok(wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(p, wsi, s);
    case LWS_CALLBACK_RECEIVE:
        return on_receive(p, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(p, wsi);
    case LWS_CALLBACK_CLOSED:
        on_closed(p);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s)
            drain_pending(s);
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
    lws_shard *s = arg;
    rt_lws *l = s->l;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* the acceptor hands sockets over */
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = s;
    /* No fd_limit_per_thread: lws then sizes its fd -> wsi table from the
     * open-file limit and finds a socket's wsi by index.  A limit below the
     * ulimit switches lws 4.1 to a linear scan of that table for every
     * event (measured: 58% of a 15,000-connection loop's time).  The
     * connection cap is the engine's (--realtime-max-connections). */
    lws_set_log_level(LLL_ERR, NULL);
    s->ctx = lws_create_context(&info);
    pthread_mutex_lock(&s->mu);
    s->start_rc = s->ctx ? BS_OK : BS_EIO;
    s->ready = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (!s->ctx)
        return NULL;
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
        if (lws_service(s->ctx, 0) < 0)
            break;
    lws_context_destroy(s->ctx); /* closes every connection: CLOSED callbacks run here */
    return NULL;
}

static int shard_count(const bs_config *cfg)
{
    if (cfg->realtime_threads > 0)
        return cfg->realtime_threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_AUTO_SHARDS ? MAX_AUTO_SHARDS : (int)n;
}

/* The listening socket, bound like the main port: exactly listen_addr. */
static int listen_on(const char *addr, int port, int *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(addr, ps, &hints, &ai) != 0 || !ai)
        return BS_EINVAL;
    int rc = BS_EIO;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
        *out = fd;
        rc = BS_OK;
    } else if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

static void *acceptor_main(void *arg)
{
    rt_lws *l = arg;
    time_t last_warn = 0;
    int next = 0; /* round robin: no state shared with the loops */
    for (;;) {
        int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (time(NULL) != last_warn) { /* out of descriptors: back off, say so once a second */
                    last_warn = time(NULL);
                    log_warn("realtime: cannot accept (%s); raise the open-file limit", strerror(errno));
                }
                usleep(10000);
            }
            continue; /* ECONNABORTED, EINTR, ...: the next one */
        }
        /* each message is one write: never hold it back for an ACK */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        lws_shard *best = &l->sh[next];
        next = (next + 1) % l->n;
        pthread_mutex_lock(&best->mu);
        bool ok = true;
        if (best->nfds == best->capfds) {
            size_t cap = best->capfds ? best->capfds * 2 : 64;
            int *nf = realloc(best->fds, cap * sizeof *nf);
            if (nf) {
                best->fds = nf;
                best->capfds = cap;
            } else {
                ok = false;
            }
        }
        if (ok) {
            best->fds[best->nfds++] = fd;
            lws_cancel_service(best->ctx);
        }
        pthread_mutex_unlock(&best->mu);
        if (!ok)
            close(fd);
    }
}

int rt_lws_start(rt_engine *e, rt_lws **out)
{
    *out = NULL;
    const bs_config *cfg = e->app->cfg;
    rt_lws *l = calloc(1, sizeof *l);
    int n = shard_count(cfg);
    if (!l || !(l->sh = calloc((size_t)n, sizeof *l->sh))) {
        free(l);
        return BS_ENOMEM;
    }
    l->e = e;
    l->listen_fd = -1;
    int rc = listen_on(cfg->listen_addr, cfg->realtime_port, &l->listen_fd);
    for (int i = 0; i < n && !rc; i++) {
        lws_shard *s = &l->sh[i];
        s->l = l;
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cond, NULL);
        l->n = i + 1; /* shards [0, n) are initialised: rt_lws_stop undoes them */
        if (pthread_create(&s->th, NULL, loop_main, s) != 0) {
            rc = BS_ENOMEM;
            break;
        }
        s->started = true;
        pthread_mutex_lock(&s->mu);
        while (!s->ready)
            pthread_cond_wait(&s->cond, &s->mu);
        rc = s->start_rc;
        pthread_mutex_unlock(&s->mu);
    }
    if (!rc) {
        if (pthread_create(&l->acceptor, NULL, acceptor_main, l) == 0)
            l->acceptor_started = true;
        else
            rc = BS_ENOMEM;
    }
    if (rc) {
        rt_lws_stop(l);
        return rc;
    }
    log_info("realtime: libwebsockets listener on port %d (%d event loop%s)", cfg->realtime_port, n,
             n == 1 ? "" : "s");
    *out = l;
    return BS_OK;
}

void rt_lws_stop(rt_lws *l)
{
    if (!l)
        return;
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    if (l->acceptor_started) {
        shutdown(l->listen_fd, SHUT_RDWR); /* wakes the blocked accept4 (Linux) */
        pthread_join(l->acceptor, NULL);
    }
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    for (int i = 0; i < l->n; i++) {
        lws_shard *s = &l->sh[i];
        if (!s->started)
            continue;
        if (s->ctx)
            lws_cancel_service(s->ctx);
        pthread_join(s->th, NULL);
    }
    for (int i = 0; i < l->n; i++) {
        lws_shard *s = &l->sh[i];
        /* wakes and hand-overs that raced with the shutdown */
        for (size_t k = 0; k < s->pending.n; k++)
            rt_conn_release(s->pending.v[k]);
        rt_vec_free(&s->pending);
        for (size_t k = 0; k < s->nfds; k++)
            close(s->fds[k]);
        free(s->fds);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
    }
    free(l->sh);
    free(l);
}
