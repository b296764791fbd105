/* bench/functions/latency.c - commit -> async handler start latency.
 *
 *   bench_fn_latency PORT SERVICE_KEY LAT_FILE FIRST_ID COUNT [WARMUP]
 *
 * Run by bench/functions/latency.sh, which starts the server with the
 * lat_probe plugin (bench/functions/probe/lat_probe.c): a document trigger
 * on collection "lat" whose handler's first act is to pwrite its
 * CLOCK_REALTIME start time into slot doc_id of LAT_FILE.
 *
 * Method.  The change log's committed_ms has millisecond resolution, too
 * coarse for a 1 ms target, and the commit instant is not visible outside
 * the server.  What is known: the commit happens after this client sends
 * the insert (t_send) and before the server answers it (201 is sent only
 * after db_write returned, i.e. after the durable commit; t_resp is taken
 * when the whole response has been read).  So for each insert
 *     start - t_resp  <=  start - commit  <=  start - t_send
 * and both bounds are reported (the lower one is often negative: the
 * handler started before the response reached the client).  The bracket
 * is as wide as the request's round trip, whose p50 is printed too.
 * Inserts are sequential over one keep-alive connection, and the client
 * waits until the handler has started before sending the next insert, so
 * each sample is an idle-queue latency (no queueing behind earlier jobs).
 * One process, one machine, one clock (CLOCK_REALTIME on both sides).
 *
 * Output: one line per measure with p50, p99 and max in microseconds;
 * samples whose handler did not start within 2 s count as lost.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(int64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one HTTP response; returns its status or -1. */
static int read_response(int fd)
{
    char b[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= sizeof b)
            return -1;
        ssize_t n = read(fd, b + len, sizeof b - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        b[len] = '\0';
        end = strstr(b, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(b, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    long clen = 0;
    for (char *p = b; p < end; p++) {
        if ((p == b || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
    }
    size_t have = len - (size_t)(end + 4 - b);
    while ((long)have < clen) {
        ssize_t n = read(fd, b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT SERVICE_KEY LAT_FILE FIRST_ID COUNT [WARMUP]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    const char *key = argv[2];
    long first = atol(argv[4]), count = atol(argv[5]), warm = argc > 6 ? atol(argv[6]) : 50;
    int lf = open(argv[3], O_RDONLY | O_CLOEXEC);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (lf < 0 || fd < 0 || count < 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("setup");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int64_t *lo = calloc((size_t)count, sizeof *lo), *hi = calloc((size_t)count, sizeof *hi),
            *rtt = calloc((size_t)count, sizeof *rtt);
    if (!lo || !hi || !rtt)
        return 1;
    size_t n = 0;
    long lost = 0;
    char req[4096];
    for (long k = -warm; k < count; k++) {
        long id = first + warm + k; /* warm-up ids come first */
        char body[64];
        int bl = snprintf(body, sizeof body, "{\"id\":\"%ld\",\"k\":%ld}", id, k);
        int rl = snprintf(req, sizeof req,
                          "POST /rest/v1/lat HTTP/1.1\r\nHost: 127.0.0.1\r\napikey: %s\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Prefer: return=minimal\r\nContent-Length: %d\r\n\r\n%s",
                          key, key, bl, body);
        int64_t t_send = now_ns();
        if (write_all(fd, req, (size_t)rl) != 0) {
            perror("write");
            return 1;
        }
        int st = read_response(fd);
        int64_t t_resp = now_ns();
        if (st != 201) {
            fprintf(stderr, "insert %ld: status %d\n", id, st);
            return 1;
        }
        int64_t start = 0, deadline = t_resp + 2000000000;
        for (;;) {
            if (pread(lf, &start, sizeof start, (off_t)id * 8) == sizeof start && start)
                break;
            if (now_ns() > deadline)
                break;
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        if (k < 0)
            continue;
        if (!start) {
            lost++;
            continue;
        }
        lo[n] = start - t_resp;
        hi[n] = start - t_send;
        rtt[n] = t_resp - t_send;
        n++;
    }
    if (!n) {
        fprintf(stderr, "no handler start was recorded\n");
        return 1;
    }
    qsort(lo, n, sizeof *lo, cmp64);
    qsort(hi, n, sizeof *hi, cmp64);
    qsort(rtt, n, sizeof *rtt, cmp64);
    printf("samples %zu lost %ld\n", n, lost);
    printf("start-response_received_us p50 %.1f p99 %.1f max %.1f\n", pct_us(lo, n, 50), pct_us(lo, n, 99),
           pct_us(lo, n, 100));
    printf("start-request_sent_us p50 %.1f p99 %.1f max %.1f\n", pct_us(hi, n, 50), pct_us(hi, n, 99),
           pct_us(hi, n, 100));
    printf("insert_round_trip_us p50 %.1f p99 %.1f max %.1f\n", pct_us(rtt, n, 50), pct_us(rtt, n, 99),
           pct_us(rtt, n, 100));
    free(lo);
    free(hi);
    free(rtt);
    close(fd);
    close(lf);
    return lost ? 3 : 0;
}
