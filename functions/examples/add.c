/* add - RPC trigger: POST /rest/v1/rpc/add {"a":1,"b":2} → 3
 * (supabase-js: await client.rpc('add', {a: 1, b: 2})).  Also GET ?a=1&b=2.
 * Non-numbers → 400 with a typed error. */
#include <basalt/function.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after "key": in a flat JSON object; 0 when missing/not a number. */
static int number(const char *json, const char *key, double *out)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k = strstr(json, pat);
    if (!k)
        return 0;
    const char *p = k + strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p == '"')
        p++; /* tolerate numeric strings */
    char *end;
    *out = strtod(p, &end);
    return end != p;
}

static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
{
    const char *args = ev->kind == BASALT_EVENT_RPC ? ev->rpc->args
                       : ev->kind == BASALT_EVENT_INVOKE ? ev->invoke->payload : "{}";
    double a, b;
    if (!number(args, "a", &a) || !number(args, "b", &b)) {
        ctx->host->error(res, 400, "InvalidArguments", "add needs numeric arguments a and b");
        return BASALT_ERROR;
    }
    char out[64];
    double s = a + b;
    if (s == (double)(long long)s && s > -9e15 && s < 9e15)
        snprintf(out, sizeof out, "%lld", (long long)s);
    else
        snprintf(out, sizeof out, "%.17g", s);
    return ctx->host->json(res, 200, out);
}

static const basalt_trigger triggers[] = {BASALT_ON_RPC()};

BASALT_FUNCTION(.name = "add", .description = "adds a and b", .triggers = triggers,
                .ntriggers = BASALT_COUNT(triggers), .handle = handle);
