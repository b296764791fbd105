/* lat_probe - bench-only plugin for bench/functions/latency.sh (not an
 * example, not installed).  A document trigger on collection "lat"
 * (INSERT): the first thing the handler does is read CLOCK_REALTIME and
 * pwrite it (int64 ns) into slot doc_id of the file named by the server's
 * environment variable BASALT_LAT_FILE.  Document ids are "0".."N-1".
 * Build: cc -O2 -shared -fPIC -fvisibility=hidden -I functions/include */
#define _POSIX_C_SOURCE 200809L
#include <basalt/function.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int init(basalt_ctx *ctx, void **state)
{
    const char *path = getenv("BASALT_LAT_FILE");
    int fd = path ? open(path, O_WRONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        ctx->host->log(ctx, BASALT_LOG_ERROR, "BASALT_LAT_FILE is not set or cannot be opened");
        return BASALT_ERROR;
    }
    *state = (void *)(intptr_t)(fd + 1);
    return BASALT_OK;
}

static void fini(void *state)
{
    if (state)
        close((int)(intptr_t)state - 1);
}

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    (void)res;
    if (ev->kind != BASALT_EVENT_DOCUMENT || !ctx->state)
        return BASALT_OK;
    char *end;
    long i = strtol(ev->document->doc_id, &end, 10);
    if (*end || i < 0 || i > 10000000)
        return BASALT_OK;
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (pwrite((int)(intptr_t)ctx->state - 1, &ns, sizeof ns, (off_t)i * 8) != sizeof ns)
        return BASALT_ERROR;
    return BASALT_OK;
}

static const basalt_trigger triggers[] = {BASALT_ON_DOCUMENT("lat", BASALT_INSERT, NULL)};

BASALT_FUNCTION(.name = "lat_probe", .description = "commit -> handler start latency probe", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 1000, .concurrency = 4, .init = init,
                .fini = fini, .handle = handle);
