/* hello - HTTP trigger answering JSON: GET/POST /functions/v1/hello.
 * POST {"name":"Ada"} → {"message":"Hello, Ada!"}; GET ?name=Ada likewise.
 * Also answers an invoke event (admin API, other functions). */
#include <basalt/function.h>
#include <stdio.h>
#include <string.h>

/* Copy the JSON string value of "name" out of a small object (no escapes
 * handled beyond rejecting them: enough for a greeting). */
static void find_name(const char *s, size_t n, char *out, size_t cap)
{
    const char *k = s ? strstr(s, "\"name\"") : NULL;
    if (!k || (size_t)(k - s) >= n)
        return;
    const char *q = strchr(k + 6, '"');
    if (!q)
        return;
    q++;
    size_t i = 0;
    while (q[i] && q[i] != '"' && q[i] != '\\' && i + 1 < cap && (unsigned char)q[i] >= 0x20) {
        out[i] = q[i];
        i++;
    }
    if (q[i] == '"')
        out[i] = '\0';
    else
        out[0] = '\0';
}

static void query_name(const char *q, char *out, size_t cap)
{
    const char *p = q;
    while (p && *p) {
        if (strncmp(p, "name=", 5) == 0) {
            size_t i = 0;
            p += 5;
            while (p[i] && p[i] != '&' && i + 1 < cap && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                                                         (p[i] >= '0' && p[i] <= '9')))
                out[i] = p[i], i++;
            out[i] = '\0';
            return;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
}

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    char name[64] = "world";
    if (ev->kind == BASALT_EVENT_HTTP) {
        if (ev->http->body_len)
            find_name(ev->http->body, ev->http->body_len, name, sizeof name);
        query_name(ev->http->query, name, sizeof name);
    } else if (ev->kind == BASALT_EVENT_INVOKE) {
        find_name(ev->invoke->payload, ev->invoke->payload_len, name, sizeof name);
    }
    if (!name[0])
        snprintf(name, sizeof name, "world");
    char out[256];
    snprintf(out, sizeof out, "{\"message\":\"Hello, %s!\",\"role\":\"%s\"}", name,
             ctx->auth_role ? ctx->auth_role : "");
    return ctx->host->json(res, 200, out);
}

static const basalt_trigger triggers[] = {BASALT_ON_HTTP(BASALT_GET | BASALT_POST)};

BASALT_FUNCTION(.name = "hello", .description = "says hello over HTTP", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .timeout_ms = 2000, .concurrency = 64, .handle = handle);
