/* rt_load.c - realtime load generator (one libwebsockets client loop on a
 * libev loop: epoll, so a turn costs the sockets that are ready, not all
 * of them; lws's own poll() loop spent most of its time scanning 15,000
 * idle descriptors).
 *
 *   rt_load --port P --key SERVICE_KEY --conns N [--http-port HP]
 *           [--pid SERVER_PID] [--inserts M] [--rate R] [--sources S]
 *           [--ramp K] [--timeout SECONDS]
 *
 * Opens N WebSockets to ws://127.0.0.1:P/realtime/v1/websocket (vsn 2.0.0),
 * each bound to a source address 127.0.0.2 .. 127.0.0.(1+S) to avoid
 * ephemeral-port exhaustion, and joins "realtime:bench" with a
 * postgres_changes INSERT binding on collection "bench".
 *
 * (a) idle: once all are joined, reports the server's VmRSS growth per
 *     connection (needs --pid; RSS is read before connecting and after).
 * (b) latency (--inserts M): a second thread POSTs M documents
 *     {"t": <send time, µs>} to http://127.0.0.1:HP/rest/v1/bench at R per
 *     second; every receipt computes now - t.  Reports p50/p99/max over all
 *     N*M receipts and how many were missing at the end (t is taken just
 *     before the POST, so this is an upper bound of commit→receipt).
 *
 * The process raises RLIMIT_NOFILE to the hard limit (root: 1M).  Every
 * run is bounded by --timeout (default 120 s).
 */
#include <arpa/inet.h>
#include <ev.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port = 0, http_port = 0, conns = 100, inserts = 0, sources = 16, ramp = 500, timeout_s = 120;
static double rate = 10;
static const char *key = NULL;
static long server_pid = 0;

static struct lws_context *ctx;
static struct ev_loop *loop; /* foreign libev loop: epoll, cost per ready fd not per fd */
static int opened, joined, failed, closed_n;
static long long received;
static double *lat;   /* ms per receipt */
static size_t nlat, caplat;
static volatile int inserts_done;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

typedef struct conn_state {
    int joined;
    int sent_join;
} conn_state;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    conn_state *cs = user;
    if (getenv("RT_LOAD_TRACE"))
        fprintf(stderr, "cb reason %d len %zu\n", (int)reason, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        opened++;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!cs->sent_join) {
            unsigned char b[LWS_PRE + 2048];
            int n = snprintf((char *)b + LWS_PRE, 2048,
                             "[\"1\",\"1\",\"realtime:bench\",\"phx_join\",{\"config\":{\"broadcast\":{\"ack\":false,\"self\":false},"
                             "\"presence\":{\"key\":\"\",\"enabled\":false},\"postgres_changes\":[{\"event\":\"INSERT\","
                             "\"schema\":\"public\",\"table\":\"bench\"}],\"private\":false},\"access_token\":\"%s\"}]",
                             key);
            if (lws_write(wsi, b + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
                return -1;
            cs->sent_join = 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        const char *s = in;
        if (!cs->joined && len > 20 && memmem(s, len, "phx_reply", 9) && memmem(s, len, "\"ok\"", 4)) {
            cs->joined = 1;
            joined++;
        } else if (memmem(s, len, "\"postgres_changes\",{\"ids\"", 25)) {
            const char *t = memmem(s, len, "\"t\":", 4);
            if (t) {
                long long sent = atoll(t + 4);
                double ms = (double)(now_us() - sent) / 1000.0;
                if (nlat == caplat) {
                    caplat = caplat ? caplat * 2 : 1 << 16;
                    lat = realloc(lat, caplat * sizeof *lat);
                }
                if (lat)
                    lat[nlat++] = ms;
            }
            received++;
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        failed++;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        closed_n++;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"rt", cb, sizeof(conn_state), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static char iface_names[256][24];

static void connect_one(int i)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    static char path[2048];
    snprintf(path, sizeof path, "/realtime/v1/websocket?apikey=%s&vsn=2.0.0", key);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.local_protocol_name = "rt";
    ci.ietf_version_or_minus_one = -1;
    ci.iface = sources ? iface_names[i % sources] : NULL;
    if (!lws_client_connect_via_info(&ci))
        failed++;
}

/* ---- inserts over plain HTTP (its own thread, blocking sockets) ---- */

static int post_doc(int fd, int64_t t)
{
    char body[64], req[2048 + 512];
    int bl = snprintf(body, sizeof body, "{\"t\":%lld}", (long long)t);
    int n = snprintf(req, sizeof req,
                     "POST /rest/v1/bench HTTP/1.1\r\nHost: 127.0.0.1\r\napikey: %s\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     key, key, bl, body);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    char resp[4096];
    ssize_t r = read(fd, resp, sizeof resp - 1); /* 201 with an empty body: one read */
    if (r <= 0)
        return -1;
    resp[r] = 0;
    return strncmp(resp, "HTTP/1.1 201", 12) == 0 ? 0 : -1;
}

static void *insert_main(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect http");
        inserts_done = 1;
        return NULL;
    }
    for (int i = 0; i < inserts; i++) {
        if (post_doc(fd, now_us()) != 0)
            fprintf(stderr, "insert %d failed\n", i);
        usleep((useconds_t)(1e6 / rate));
    }
    close(fd);
    inserts_done = 1;
    return NULL;
}

/* lws_service() waits for the next event; this wakes it every 100 ms so
 * the loops above can check their deadlines (lws_cancel_service is the
 * one lws call that is safe from another thread). */
static void *ticker_main(void *arg)
{
    (void)arg;
    for (;;) {
        usleep(100000);
        lws_cancel_service(ctx);
    }
    return NULL;
}

/* One loop iteration: blocks until something is ready (the ticker wakes it). */
static void service(void)
{
    ev_run(loop, EVRUN_ONCE);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) port = atoi(v);
        else if (!strcmp(k, "--http-port")) http_port = atoi(v);
        else if (!strcmp(k, "--key")) key = v;
        else if (!strcmp(k, "--conns")) conns = atoi(v);
        else if (!strcmp(k, "--pid")) server_pid = atol(v);
        else if (!strcmp(k, "--inserts")) inserts = atoi(v);
        else if (!strcmp(k, "--rate")) rate = atof(v);
        else if (!strcmp(k, "--sources")) sources = atoi(v);
        else if (!strcmp(k, "--ramp")) ramp = atoi(v);
        else if (!strcmp(k, "--timeout")) timeout_s = atoi(v);
        else { fprintf(stderr, "unknown option %s\n", k); return 2; }
    }
    if (!port || !key || sources < 0 || sources > 250) {
        fprintf(stderr, "usage: rt_load --port P --key SERVICE_KEY --conns N [--http-port HP --inserts M --rate R] [--pid PID]\n");
        return 2;
    }
    if (!http_port)
        http_port = port;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    if (rl.rlim_max < (rlim_t)conns + 1024) { /* root may raise the hard limit */
        struct rlimit up = {(rlim_t)conns + 4096, (rlim_t)conns + 4096};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int i = 0; i < sources; i++)
        snprintf(iface_names[i], sizeof iface_names[i], "127.0.0.%d", 2 + i);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    /* no fd_limit_per_thread: lws then sizes its fd->wsi table from the
     * ulimit and looks fds up by index; with an explicit limit lws 4.1
     * falls back to a linear scan per event (58% of the client's time at
     * 15,000 connections). */
    loop = ev_loop_new(EVFLAG_AUTO);
    if (!loop) {
        fprintf(stderr, "ev_loop_new failed\n");
        return 1;
    }
    void *foreign[1] = {loop};
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign;
    lws_set_log_level(getenv("RT_LOAD_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT : LLL_ERR, NULL);
    ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_create_context failed\n");
        return 1;
    }
    pthread_t tick;
    pthread_create(&tick, NULL, ticker_main, NULL);
    pthread_detach(tick);
    long rss0 = server_pid ? rss_kb(server_pid) : -1;
    time_t t0 = time(NULL);
    int started = 0;
    while (joined + failed < conns && time(NULL) - t0 < timeout_s) {
        /* ramp: keep at most `ramp` handshakes in flight */
        while (started < conns && started - joined - failed < ramp)
            connect_one(started++);
        service();
        static time_t last;
        if (time(NULL) != last) {
            last = time(NULL);
            fprintf(stderr, "\r%d started, %d open, %d joined, %d failed   ", started, opened, joined, failed);
        }
    }
    fprintf(stderr, "\n");
    double t_join = difftime(time(NULL), t0);
    time_t settle = time(NULL);
    while (time(NULL) - settle < 2)
        service(); /* the ticker thread wakes this every 100 ms */
    long rss1 = server_pid ? rss_kb(server_pid) : -1;
    printf("connections: %d joined, %d failed, %d closed in %.0f s\n", joined, failed, closed_n, t_join);
    if (server_pid && rss0 > 0 && rss1 > 0 && joined)
        printf("server RSS: %ld kB -> %ld kB, %.2f kB per idle subscribed connection\n", rss0, rss1,
               (double)(rss1 - rss0) / joined);
    if (inserts > 0 && joined) {
        pthread_t th;
        pthread_create(&th, NULL, insert_main, NULL);
        long long want = (long long)inserts * joined;
        time_t t1 = time(NULL);
        while ((!inserts_done || received < want) && time(NULL) - t1 < timeout_s)
            service();
        pthread_join(th, NULL);
        qsort(lat, nlat, sizeof *lat, cmp_d);
        if (nlat)
            printf("delivery latency over %zu receipts (%d subscribers x %d inserts at %.0f/s): p50 %.1f ms, p99 %.1f ms, "
                   "max %.1f ms; missing %lld\n",
                   nlat, joined, inserts, rate, lat[nlat / 2], lat[(size_t)(nlat * 0.99)], lat[nlat - 1], want - received);
        else
            printf("no deliveries received\n");
    }
    fflush(stdout);
    _exit(0); /* the ticker still runs: skip the context teardown */
}
