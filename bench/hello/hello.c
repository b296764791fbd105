/* hello.c - the ceiling for benchmarks: civetweb answering a fixed JSON
 * body with the same listener options Basalt uses, and nothing else.
 * usage: bench_hello PORT [THREADS]
 * Also serves GET /static/<bytes> as a static file when started with a
 * third argument naming a file (storage download ceiling). */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hello(struct mg_connection *c, void *cb)
{
    (void)cb;
    static const char body[] = "{\"hello\":\"world\"}";
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Access-Control-Allow-Origin: *\r\n\r\n",
              sizeof body - 1);
    mg_write(c, body, sizeof body - 1);
    return 200;
}

static const char *g_file;

static int file(struct mg_connection *c, void *cb)
{
    (void)cb;
    mg_send_file(c, g_file);
    return 200;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS] [FILE]\n", argv[0]);
        return 2;
    }
    char ports[64];
    snprintf(ports, sizeof ports, "127.0.0.1:%s", argv[1]);
    const char *threads = argc > 2 ? argv[2] : "64";
    const char *opts[] = {"listening_ports", ports, "num_threads", threads, "enable_keep_alive", "yes",
                          "keep_alive_timeout_ms", "30000", "request_timeout_ms", "60000",
                          "listen_backlog", "1024", "connection_queue", "1024", "tcp_nodelay", "1", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_context *ctx = mg_start(&cb, NULL, opts);
    if (!ctx) {
        fprintf(stderr, "cannot listen on %s\n", ports);
        return 1;
    }
    mg_set_request_handler(ctx, "/hello", hello, NULL);
    if (argc > 3) {
        g_file = argv[3];
        mg_set_request_handler(ctx, "/static", file, NULL);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    mg_stop(ctx);
    return 0;
}
