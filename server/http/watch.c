/* watch.c - the slow-body watch: a client must send a request body at an
 * average of HTTP_MIN_BODY_RATE bytes/s once --request-timeout has passed.
 *
 * civetweb's reads time out only after --request-timeout of silence, and
 * mg_read blocks until its whole buffer is filled, so a client sending a
 * byte every few seconds (R-U-D-Y, slow POST) holds a worker for ever and
 * the handler never gets control back to notice.  The watch looks from
 * outside instead: each worker has a slot; while a request's body is being
 * read (by the handler, or by civetweb discarding what the handler left)
 * the slot holds the socket, when the body began and the kernel's count of
 * bytes received then (TCP_INFO tcpi_bytes_received, so bytes sitting in
 * mg_read's buffer count too).  One thread looks at every slot once a
 * second and, for a body below the rate, shuts the socket's read side: the
 * blocked read returns at once, the handler sees a failed body and
 * answers, and the connection closes.  This is Apache's mod_reqtimeout
 * MinRate and Kestrel's MinRequestBodyDataRate, done around a library
 * that offers no hook for it.
 *
 * Threads: a slot is written by its own worker and read by the watch
 * thread, under the slot's mutex; the watch shuts a socket down only under
 * that mutex while the slot is active, and the worker clears the slot
 * before its connection can close, so the socket cannot be another
 * connection's by then.
 */
#include "http/http_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct http_watch {
    pthread_mutex_t mu;
    bool active;          /* a body is being read */
    bool cut;             /* the watch shut it down */
    int fd;
    uint64_t t0_ns;
    uint64_t base;        /* tcpi_bytes_received at t0 */
};

struct http_watchers {
    http_watch *slots;
    int nslots;
    atomic_int next;
    int grace_s;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
};

static __thread http_watch *tl_watch;

static bool bytes_received(int fd, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return false;
    *out = ti.tcpi_bytes_received;
    return true;
}

static void scan(http_watchers *w)
{
    uint64_t now = time_mono_ns();
    for (int i = 0; i < w->nslots; i++) {
        http_watch *s = &w->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->active) {
            double secs = (double)(now - s->t0_ns) / 1e9;
            uint64_t got;
            if (secs > w->grace_s && bytes_received(s->fd, &got) &&
                (double)(got - s->base) < secs * HTTP_MIN_BODY_RATE) {
                shutdown(s->fd, SHUT_RD);
                s->cut = true;
                s->active = false;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

static void *watch_main(void *arg)
{
    http_watchers *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w->cond, &w->mu, &ts);
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        scan(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int http_watch_start(int nslots, int grace_s, http_watchers **out)
{
    *out = NULL;
    http_watchers *w = calloc(1, sizeof *w);
    if (!w)
        return BS_ENOMEM;
    w->slots = calloc((size_t)nslots, sizeof *w->slots);
    if (!w->slots) {
        free(w);
        return BS_ENOMEM;
    }
    w->nslots = nslots;
    w->grace_s = grace_s;
    for (int i = 0; i < nslots; i++)
        pthread_mutex_init(&w->slots[i].mu, NULL);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->started = pthread_create(&w->thread, NULL, watch_main, w) == 0;
    if (!w->started) {
        http_watch_stop(w);
        return BS_ENOMEM;
    }
    *out = w;
    return BS_OK;
}

void http_watch_stop(http_watchers *w)
{
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    for (int i = 0; i < w->nslots; i++)
        pthread_mutex_destroy(&w->slots[i].mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w->slots);
    free(w);
}

http_watch *http_watch_self(http_watchers *w)
{
    if (!tl_watch && w) {
        int i = atomic_fetch_add(&w->next, 1);
        if (i < w->nslots)
            tl_watch = &w->slots[i];
    }
    return tl_watch;
}

void http_watch_begin(http_watch *s, int fd)
{
    if (!s || fd < 0)
        return;
    uint64_t base = 0;
    if (!bytes_received(fd, &base))
        return;
    pthread_mutex_lock(&s->mu);
    s->fd = fd;
    s->t0_ns = time_mono_ns();
    s->base = base;
    s->cut = false;
    s->active = true;
    pthread_mutex_unlock(&s->mu);
}

bool http_watch_end(http_watch *s)
{
    if (!s)
        return false;
    pthread_mutex_lock(&s->mu);
    bool cut = s->cut;
    s->active = false;
    s->cut = false;
    pthread_mutex_unlock(&s->mu);
    return cut;
}

bool http_watch_was_cut(http_watch *s)
{
    if (!s)
        return false;
    pthread_mutex_lock(&s->mu);
    bool cut = s->cut;
    pthread_mutex_unlock(&s->mu);
    return cut;
}
