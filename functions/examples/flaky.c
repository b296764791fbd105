/* flaky - fails on purpose, for retry and dead-letter tests.
 *
 * Invoke payload {"fail": N, "key": "k"} fails the first N attempts of the
 * job (by ctx->attempt), then succeeds and writes {"id": key, "attempts":
 * attempt, "job_id": ...} into collection "flaky_done".  {"sleep_ms": M}
 * sleeps first (timeouts, crash tests); {"fail": -1} always fails.
 * Also an HTTP trigger (POST /functions/v1/flaky with the same JSON) so
 * tests can exercise 429/504 on the sync path. */
#include <basalt/function.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long field(const char *json, const char *key, long dflt)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = json ? strstr(json, pat) : NULL;
    if (!k)
        return dflt;
    const char *p = k + strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    return strtol(p, NULL, 10);
}

static void str_field(const char *json, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = json ? strstr(json, pat) : NULL;
    out[0] = '\0';
    if (!k)
        return;
    const char *p = strchr(k + strlen(pat), '"');
    if (!p)
        return;
    p++;
    size_t n = 0;
    while (p[n] && p[n] != '"' && p[n] != '\\' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    const char *in = ev->kind == BASALT_EVENT_INVOKE ? ev->invoke->payload
                     : ev->kind == BASALT_EVENT_HTTP ? (const char *)ev->http->body : "{}";
    long fail = field(in, "fail", 0), sleep_ms = field(in, "sleep_ms", 0);
    const char *heal = ctx->host->config(ctx, "succeed"); /* admin switch for re-drive tests */
    if (heal && strcmp(heal, "true") == 0)
        fail = 0;
    if (sleep_ms > 0) {
        struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fail < 0 || (long)ctx->attempt <= fail) {
        char m[96];
        snprintf(m, sizeof m, "failing attempt %u on purpose", ctx->attempt);
        basalt_log(ctx, "%s", m);
        ctx->host->error(res, 500, "FlakyFailure", m);
        return BASALT_ERROR;
    }
    char key[128];
    str_field(in, "key", key, sizeof key);
    if (key[0]) {
        char doc[512];
        snprintf(doc, sizeof doc, "{\"id\":\"%s\",\"attempts\":%u,\"job_id\":\"%s\"}", key, ctx->attempt, ctx->job_id);
        int rc = ctx->host->doc_insert(ctx, "flaky_done", doc, NULL);
        if (rc != BASALT_OK && rc != BASALT_EEXISTS) {
            ctx->host->error(res, 500, "WriteFailed", "could not record success");
            return BASALT_ERROR;
        }
    }
    char out[96];
    snprintf(out, sizeof out, "{\"ok\":true,\"attempt\":%u}", ctx->attempt);
    return ctx->host->json(res, 200, out);
}

static const basalt_trigger triggers[] = {BASALT_ON_HTTP(BASALT_POST)};

BASALT_FUNCTION(.name = "flaky", .description = "fails N times, then succeeds", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 1000, .concurrency = 4, .retries = 2,
                .handle = handle);
