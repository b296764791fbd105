/* gate.c - what civetweb 1.15 has no option for: a per-address connection
 * cap at accept time, and the stack size of its worker threads.
 *
 * Why here and why this way.  civetweb's master thread accept()s a socket
 * and queues it for a worker; the worker then waits up to the request
 * timeout for the first header byte.  Nothing runs between the accept and
 * the queue, and a worker cannot drop a connection before it has read a
 * request, so a cap checked anywhere later would still let one address
 * hold a worker per connection.  civetweb's worker stacks are fixed at
 * build time (Debian builds it with USE_STACK_SIZE=102400), too small for
 * a plugin's sync handler or SQLite on a deep expression.
 *
 * How.  libcivetweb imports accept() and pthread_attr_setstacksize() from
 * libc, and in ELF a definition in the executable takes precedence over
 * the library's (the dynamic linker resolves civetweb's reference to the
 * first definition in load order, which is the executable).  So this file
 * defines both:
 *   - accept(): takes the connection (accept4), asks the cap for a slot for
 *     its address, and on refusal writes a one-shot 429 and closes it,
 *     returning ECONNABORTED (civetweb ignores a failed accept and polls
 *     again).  It also records the socket under its peer address and port:
 *     a worker knows its peer (request_info) but civetweb never tells it
 *     the socket, which the slow-body watch (watch.c) needs.  The slot and
 *     the record go in civetweb's connection_close callback
 *     (http_gate_closed), which runs on the worker before the close.
 *   - pthread_attr_setstacksize(): while http_gate_start_threads() is in
 *     force on the calling thread (only around mg_start, which creates the
 *     master and every worker on that thread), a request smaller than the
 *     chosen size is raised to it; otherwise it passes through unchanged.
 *
 * Limits, stated: this holds for a dynamically linked civetweb (Debian's);
 * a static civetweb would bind its calls at link time and the cap would be
 * silently off, so http_start checks at start that the interposition takes
 * effect (http_gate_check) and says so loudly if not.  Nothing else in
 * the process calls plain accept() (the lws acceptor uses accept4), so the
 * gate sees only the HTTP listener.  There is one gate per process: the
 * hooks have no context argument, so the active cap is a global set by
 * http_start and cleared by http_stop.
 */
#include "http/http_int.h"
#include "core/log.h"
#include "core/netaddr.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static _Atomic(net_conncap *) g_cap;
static __thread size_t tl_min_stack;

void http_gate_set(net_conncap *cap) { atomic_store(&g_cap, cap); }

/* ---- open sockets by peer (address, port) ---- */

#define FD_BUCKETS 4096

typedef struct fd_node {
    net_addr a;
    int port;
    int fd;
    struct fd_node *next;
} fd_node;

static pthread_mutex_t fd_mu = PTHREAD_MUTEX_INITIALIZER;
static fd_node *fd_buckets[FD_BUCKETS];

static unsigned fd_bucket(const net_addr *a, int port)
{
    uint32_t h = 2166136261u ^ (uint32_t)port;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->b[i]) * 16777619u;
    return h % FD_BUCKETS;
}

static void fd_put(const net_addr *a, int port, int fd)
{
    fd_node *n = malloc(sizeof *n);
    if (!n)
        return; /* this connection goes unwatched; nothing else depends on it */
    n->a = *a;
    n->port = port;
    n->fd = fd;
    unsigned b = fd_bucket(a, port);
    pthread_mutex_lock(&fd_mu);
    n->next = fd_buckets[b];
    fd_buckets[b] = n;
    pthread_mutex_unlock(&fd_mu);
}

/* Find (and with take, unlink) the record of (a, port). */
static int fd_find(const net_addr *a, int port, bool take)
{
    unsigned b = fd_bucket(a, port);
    int fd = -1;
    pthread_mutex_lock(&fd_mu);
    for (fd_node **pp = &fd_buckets[b]; *pp; pp = &(*pp)->next) {
        fd_node *n = *pp;
        if (n->port == port && memcmp(n->a.b, a->b, 16) == 0) {
            fd = n->fd;
            if (take) {
                *pp = n->next;
                free(n);
            }
            break;
        }
    }
    pthread_mutex_unlock(&fd_mu);
    return fd;
}

static int sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
    return -1;
}

int http_gate_fd(const char *remote_addr, int remote_port)
{
    net_addr a;
    if (!remote_addr || !net_addr_parse(remote_addr, strlen(remote_addr), &a))
        return -1;
    return fd_find(&a, remote_port, false);
}

static void refuse(int fd, const net_addr *a)
{
    static const char body[] = "{\"code\":\"PGRST000\",\"details\":null,\"hint\":\"close idle connections, or "
                               "connect through a proxy listed in --trusted-proxies\",\"message\":\"too many "
                               "connections from your address\"}";
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                     "Access-Control-Allow-Origin: *\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof body - 1, body);
    /* best effort: the socket is new, its send buffer empty */
    if (n > 0 && (size_t)n < sizeof resp) {
        ssize_t w = send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w;
    }
    close(fd);
    static _Atomic int64_t last_log;
    int64_t now = (int64_t)time(NULL);
    int64_t prev = atomic_load(&last_log);
    if (now - prev >= 10 && atomic_compare_exchange_strong(&last_log, &prev, now)) {
        char s[NET_ADDR_STRLEN];
        net_addr_format(a, s);
        log_warn("refusing connections from %s: over --max-connections-per-ip (logged once per 10 s)", s);
    }
}

int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int c = accept4(fd, (struct sockaddr *)&ss, &sl, 0);
    if (c < 0)
        return c;
    net_conncap *cap = atomic_load(&g_cap);
    net_addr a;
    if (cap && net_addr_from_sockaddr((struct sockaddr *)&ss, &a)) {
        if (!net_conncap_acquire(cap, &a)) {
            refuse(c, &a);
            errno = ECONNABORTED;
            return -1;
        }
        fd_put(&a, sockaddr_port(&ss), c);
    }
    if (addr.__sockaddr__ && len) {
        memcpy(addr.__sockaddr__, &ss, sl < *len ? sl : *len);
        *len = sl;
    }
    return c;
}

void http_gate_closed(const char *remote_addr, int remote_port)
{
    net_conncap *cap = atomic_load(&g_cap);
    net_addr a;
    if (cap && remote_addr && net_addr_parse(remote_addr, strlen(remote_addr), &a)) {
        fd_find(&a, remote_port, true);
        net_conncap_release(cap, &a);
    }
}

bool http_gate_check(void)
{
    /* civetweb's reference resolves through the global scope, as this
     * lookup does: both find the executable's definition or neither */
    return dlsym(RTLD_DEFAULT, "accept") == (void *)accept &&
           dlsym(RTLD_DEFAULT, "pthread_attr_setstacksize") == (void *)pthread_attr_setstacksize;
}

typedef int (*setstacksize_fn)(pthread_attr_t *, size_t);

int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
    static _Atomic(setstacksize_fn) real;
    setstacksize_fn f = atomic_load(&real);
    if (!f) {
        f = (setstacksize_fn)dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
        if (!f)
            return ENOSYS;
        atomic_store(&real, f);
    }
    if (tl_min_stack && size < tl_min_stack)
        size = tl_min_stack;
    return f(attr, size);
}

void http_gate_start_threads(size_t min_stack) { tl_min_stack = min_stack; }
