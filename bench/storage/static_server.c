/* static_server.c - the "ceiling" for the storage benchmark: civetweb with
 * nothing in front of it.
 *
 *   bench_static_civetweb PORT DIR
 *   GET /files/NAME   served by civetweb's own static file handler (DIR is
 *                     the document root, files under DIR/files)
 *   PUT /upload/NAME  body read with mg_read in 64 KiB chunks into
 *                     DIR/upload.tmp, fsynced and renamed to DIR/NAME: the
 *                     same disk work a Basalt upload does, minus HTTP
 *                     routing, auth, hashing and metadata
 * Runs until SIGINT/SIGTERM.  Loopback only. */
#include <civetweb.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *g_dir;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int on_upload(struct mg_connection *c, void *u)
{
    (void)u;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *name = strrchr(ri->local_uri, '/') + 1;
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/upload.tmp", g_dir);
    snprintf(dst, sizeof dst, "%s/%s", g_dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *buf = malloc(65536);
    long long total = 0;
    int n;
    while (fd >= 0 && buf && (n = mg_read(c, buf, 65536)) > 0) {
        if (write(fd, buf, (size_t)n) != n)
            break;
        total += n;
    }
    if (fd >= 0) {
        fsync(fd);
        close(fd);
        rename(tmp, dst);
    }
    free(buf);
    char body[64];
    int bl = snprintf(body, sizeof body, "{\"size\":%lld}", total);
    mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
    return 200;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[2];
    char ports[64];
    snprintf(ports, sizeof ports, "127.0.0.1:%s", argv[1]);
    const char *opts[] = {"listening_ports", ports, "document_root", g_dir, "num_threads", "8",
                          "enable_keep_alive", "yes", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_context *ctx = mg_start(&cb, NULL, opts);
    if (!ctx) {
        fprintf(stderr, "cannot listen on %s\n", ports);
        return 1;
    }
    mg_set_request_handler(ctx, "/upload/", on_upload, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("static civetweb on http://%s (root %s)\n", ports, g_dir);
    fflush(stdout);
    while (!g_stop)
        pause();
    mg_stop(ctx);
    return 0;
}
