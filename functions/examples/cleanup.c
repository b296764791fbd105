/* cleanup - schedule trigger: every minute, delete documents of collection
 * "sessions" whose numeric field expires_ms is in the past.  The collection
 * can be changed with the config value "collection"
 * (PATCH /admin/v1/functions/cleanup {"config":{"collection":"x"}}).
 * Also runs on an invoke (admin "invoke now"). */
#include <basalt/function.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    const char *coll = ctx->host->config(ctx, "collection");
    if (!coll)
        coll = "sessions";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char q[128];
    snprintf(q, sizeof q, "select=id&expires_ms=lt.%lld&limit=500", now);
    char *rows = NULL;
    int rc = ctx->host->doc_query(ctx, coll, q, &rows);
    if (rc == BASALT_ENOTFOUND)
        return ctx->host->json(res, 200, "{\"deleted\":0}");
    if (rc != BASALT_OK) {
        ctx->host->error(res, 500, "QueryFailed", "could not list expired documents");
        return BASALT_ERROR;
    }
    int deleted = 0;
    /* rows: [{"id":"..."},...] - ids as strings */
    for (const char *p = strstr(rows, "\"id\":"); p && basalt_remaining_ms(ctx) > 100; p = strstr(p, "\"id\":")) {
        p += 5;
        char id[256];
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (p[n] && p[n] != '"' && n + 1 < sizeof id)
                n++;
        } else {
            while (p[n] && p[n] != '}' && p[n] != ',' && n + 1 < sizeof id)
                n++;
        }
        memcpy(id, p, n);
        id[n] = '\0';
        if (ctx->host->doc_delete(ctx, coll, id) == BASALT_OK)
            deleted++;
        p += n;
    }
    ctx->host->free(rows);
    basalt_log(ctx, "deleted %d expired documents from %s (%s)", deleted, coll,
               ev->kind == BASALT_EVENT_SCHEDULE ? "schedule" : "invoke");
    char out[64];
    snprintf(out, sizeof out, "{\"deleted\":%d}", deleted);
    return ctx->host->json(res, 200, out);
}

static const basalt_trigger triggers[] = {BASALT_ON_SCHEDULE("*/1 * * * *")};

BASALT_FUNCTION(.name = "cleanup", .description = "deletes expired documents every minute", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .concurrency = 1, .handle = handle);
