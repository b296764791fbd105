/* rt_rest.c - see rt_rest.h. */
#include "realtime/rt_rest.h"
#include "app/app.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/jsonin.h"
#include "realtime/rt_engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGES 100

static int unavailable(http_req *r)
{
    return http_error(r, 503, "realtime_unavailable", "realtime is not running", NULL, NULL);
}

/* One message; answers errors itself.  A private message the caller may
 * not send: BS_EDENIED, unanswered (the batch endpoint drops it, as
 * Supabase does; the single endpoint answers 403). */
static int send_one(http_req *r, rt_engine *e, const char *topic, const char *event, const char *payload,
                    size_t plen, bool priv)
{
    char full[300];
    if (!*topic || strlen(topic) > 255 - 9 || !*event || strlen(event) > 255)
        return http_error(r, 400, "invalid_message", "topic and event must be non-empty (topic up to 246 bytes, event up to 255)",
                          NULL, NULL);
    snprintf(full, sizeof full, "realtime:%s", topic);
    int rc = rt_broadcast_rest(e, full, event, payload, plen, priv, http_claims(r));
    if (rc == BS_ETOOBIG)
        return http_error(r, 413, "payload_too_large", "broadcast payload too large (limit 256 KiB)", NULL, NULL);
    return rc;
}

int rt_rest_parse_broadcast(const char *body, size_t len, json_t **out, const char **code, char *msg, size_t msgsz)
{
    *out = NULL;
    *code = "invalid_body";
    json_t *j = NULL;
    char why[JSONIN_MSG_MAX];
    /* http_body read it under --max-body */
    int rc = jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, &j, why, sizeof why);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc) {
        snprintf(msg, msgsz, "the body is not valid JSON: %s", why);
        return rc;
    }
    json_t *msgs = json_object_get(j, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) > MAX_MESSAGES) {
        json_decref(j);
        snprintf(msg, msgsz, "body must be {\"messages\":[{\"topic\",\"event\",\"payload\"}]} with at most %d messages",
                 MAX_MESSAGES);
        return BS_EJSON;
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (!json_is_string(json_object_get(m, "topic")) || !json_is_string(json_object_get(m, "event"))) {
            json_decref(j);
            *code = "invalid_message";
            snprintf(msg, msgsz, "each message needs string topic and event");
            return BS_EJSON;
        }
    }
    *out = j;
    return BS_OK;
}

int rt_rest_broadcast(http_req *r)
{
    rt_engine *e = http_app(r)->rt;
    if (!e)
        return unavailable(r);
    if (!(http_method(r) & HTTP_POST))
        return http_error(r, 405, "method_not_allowed", "use POST", NULL, NULL);
    const char *body;
    size_t len;
    int rc = http_body(r, &body, &len);
    if (rc == BS_ETOOBIG)
        return http_error(r, 413, "payload_too_large", "request body too large", NULL, NULL);
    if (rc)
        return rc;
    json_t *j;
    const char *code;
    char msg[JSONIN_MSG_MAX + 64];
    rc = rt_rest_parse_broadcast(body, len, &j, &code, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return http_error(r, 400, code, msg, NULL, NULL);
    size_t i;
    json_t *m;
    json_t *msgs = json_object_get(j, "messages");
    json_array_foreach(msgs, i, m) {
        json_t *pl = json_object_get(m, "payload");
        /* admitted by jsonin_parse, so no deeper than JSONIN_MAX_DEPTH */
        char *txt = pl ? json_dumps(pl, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
        if (!txt) {
            json_decref(j);
            return BS_ENOMEM;
        }
        rc = send_one(r, e, json_string_value(json_object_get(m, "topic")),
                      json_string_value(json_object_get(m, "event")), txt, strlen(txt),
                      json_is_true(json_object_get(m, "private")));
        free(txt);
        if (rc == BS_EDENIED) /* dropped, the others still go: Supabase answers 202 */
            continue;
        if (rc || http_responded(r)) {
            json_decref(j);
            return rc;
        }
    }
    json_decref(j);
    return http_send(r, 202, NULL, NULL, 0);
}

int rt_rest_parse_payload(const char *body, size_t len, char **out, char *msg, size_t msgsz)
{
    *out = NULL;
    json_t *j = NULL;
    char why[JSONIN_MSG_MAX];
    int rc = len ? jsonin_parse(body, len, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &j, why, sizeof why)
                 : (j = json_object()) ? BS_OK : BS_ENOMEM;
    if (rc == BS_ENOMEM)
        return rc;
    if (rc) {
        snprintf(msg, msgsz, "the body must be JSON: %s", why);
        return rc;
    }
    *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return *out ? BS_OK : BS_ENOMEM;
}

int rt_rest_broadcast_event(http_req *r)
{
    rt_engine *e = http_app(r)->rt;
    if (!e)
        return unavailable(r);
    if (!(http_method(r) & HTTP_POST))
        return http_error(r, 405, "method_not_allowed", "use POST", NULL, NULL);
    /* subpath: {topic}/events/{event} (raw; decode both) */
    const char *sub = http_subpath_raw(r);
    const char *mid = strstr(sub, "/events/");
    if (!mid || mid == sub || !mid[8] || strchr(mid + 8, '/'))
        return http_error(r, 404, "not_found", "use /realtime/v1/api/broadcast/{topic}/events/{event}", NULL, NULL);
    char *topic = http_url_decode(http_arena(r), sub, (size_t)(mid - sub), false);
    char *event = http_url_decode(http_arena(r), mid + 8, strlen(mid + 8), false);
    if (!topic || !event)
        return http_error(r, 400, "invalid_path", "topic or event is not valid percent-encoded UTF-8", NULL, NULL);
    const char *body;
    size_t len;
    int rc = http_body(r, &body, &len);
    if (rc == BS_ETOOBIG)
        return http_error(r, 413, "payload_too_large", "request body too large", NULL, NULL);
    if (rc)
        return rc;
    const char *ct = http_header(r, "Content-Type");
    if (ct && strncmp(ct, "application/octet-stream", 24) == 0)
        return http_error(r, 415, "unsupported_media_type", "binary broadcast payloads are only accepted over the WebSocket",
                          NULL, NULL);
    char *txt;
    char msg[JSONIN_MSG_MAX + 64];
    rc = rt_rest_parse_payload(body, len, &txt, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return http_error(r, 400, "invalid_json", msg, NULL, NULL);
    const char *pv = http_param(r, "private");
    rc = send_one(r, e, topic, event, txt, strlen(txt), pv && strcmp(pv, "true") == 0);
    free(txt);
    if (rc == BS_EDENIED) {
        char m[400];
        snprintf(m, sizeof m, "Unauthorized: You do not have permissions to write to this Channel topic: %.200s", topic);
        return http_error(r, 403, "forbidden", m, NULL, NULL);
    }
    if (rc || http_responded(r))
        return rc;
    return http_send(r, 202, NULL, NULL, 0);
}

/* ---- /admin/v1/realtime/rules ---- */

int rt_rules_admin(http_req *r)
{
    rt_engine *e = http_app(r)->rt;
    if (!e)
        return unavailable(r);
    unsigned m = http_method(r);
    json_t *body = NULL, *set = NULL;
    buf msg = BUF_INIT, details = BUF_INIT;
    char err[256];
    int rc;
    if (m & (HTTP_GET | HTTP_HEAD)) {
        rc = rt_rules_get(e, &set);
    } else if (m & (HTTP_PUT | HTTP_POST | HTTP_PATCH)) {
        rc = http_body_json(r, 0, &body, err, sizeof err);
        if (rc == BS_ETOOBIG) {
            rc = http_error(r, 413, "PGRST413", "Payload Too Large", NULL, NULL);
            goto out;
        }
        if (rc) {
            rc = http_error(r, 400, "PGRST102", "Empty or invalid json", err, NULL);
            goto out;
        }
        /* PUT and POST replace the set, PATCH changes the named operations */
        rc = rt_rules_set(e, body, !(m & HTTP_PATCH), &set, &msg, &details);
        if (rc == BS_EINVAL) {
            rc = http_error(r, 400, "PGRST100", buf_cstr(&msg), details.len ? buf_cstr(&details) : NULL, NULL);
            goto out;
        }
    } else {
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
        goto out;
    }
    if (rc) {
        rc = http_error(r, rc == BS_ESHUTDOWN ? 503 : 500, "PGRST000", basalt_strerror(rc), NULL, NULL);
        goto out;
    }
    char *text = json_dumps(set, JSON_COMPACT);
    rc = text ? http_send_json(r, 200, text, strlen(text)) : BS_ENOMEM;
    free(text);
out:
    json_decref(body);
    json_decref(set);
    buf_free(&msg);
    buf_free(&details);
    return rc;
}
