/* rt_rest.c - see rt_rest.h. */
#include "realtime/rt_rest.h"
#include "app/app.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/jsonin.h"
#include "http/pgrst.h"
#include "realtime/rt_engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGES 100

/* The broadcast endpoints' refusals: PostgREST's body shape (the routes'
 * error style) with realtime's own codes. */
typedef struct rest_error {
    const char *code;
    int status;
} rest_error;

static const rest_error RTR_UNAVAILABLE = {"realtime_unavailable", 503};
static const rest_error RTR_METHOD = {"method_not_allowed", 405};
static const rest_error RTR_TOO_BIG = {"payload_too_large", 413};
static const rest_error RTR_INVALID_BODY = {"invalid_body", 400};
static const rest_error RTR_INVALID_MESSAGE = {"invalid_message", 400};
static const rest_error RTR_INVALID_JSON = {"invalid_json", 400};
static const rest_error RTR_NO_PATH = {"not_found", 404};
static const rest_error RTR_INVALID_PATH = {"invalid_path", 400};
static const rest_error RTR_MEDIA_TYPE = {"unsupported_media_type", 415};
static const rest_error RTR_FORBIDDEN = {"forbidden", 403};

static int rest_reply(http_req *r, const rest_error *e, const char *message)
{
    return http_error(r, e->status, e->code, message, NULL, NULL);
}

/* The engine for a POST; NULL when answered in *rc (realtime is not
 * running, another method). */
static rt_engine *post_engine(http_req *r, int *rc)
{
    rt_engine *e = http_app(r)->rt;
    if (!e) {
        *rc = rest_reply(r, &RTR_UNAVAILABLE, "realtime is not running");
        return NULL;
    }
    if (!(http_method(r) & HTTP_POST)) {
        *rc = rest_reply(r, &RTR_METHOD, "use POST");
        return NULL;
    }
    return e;
}

/* The request body: BS_OK, answered (413), or an error. */
static int read_body(http_req *r, const char **body, size_t *len)
{
    int rc = http_body(r, body, len);
    return rc == BS_ETOOBIG ? rest_reply(r, &RTR_TOO_BIG, "request body too large") : rc;
}

/* One message; answers errors itself.  A private message the caller may
 * not send: BS_EDENIED, unanswered (the batch endpoint drops it, as
 * Supabase does; the single endpoint answers 403). */
static int send_one(http_req *r, rt_engine *e, const char *topic, const char *event, const char *payload,
                    size_t plen, bool priv)
{
    char full[300];
    if (!*topic || strlen(topic) > 255 - 9 || !*event || strlen(event) > 255)
        return rest_reply(r, &RTR_INVALID_MESSAGE,
                          "topic and event must be non-empty (topic up to 246 bytes, event up to 255)");
    snprintf(full, sizeof full, "realtime:%s", topic);
    int rc = rt_broadcast_rest(e, full, event, payload, plen, priv, http_claims(r));
    if (rc == BS_ETOOBIG)
        return rest_reply(r, &RTR_TOO_BIG, RT_BCAST_TOO_BIG_REASON);
    return rc;
}

static int parse_broadcast(const char *body, size_t len, json_t **out, const rest_error **why, char *msg, size_t msgsz)
{
    *out = NULL;
    *why = &RTR_INVALID_BODY;
    json_t *j = NULL;
    char err[JSONIN_MSG_MAX];
    /* http_body read it under --max-body */
    int rc = jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, &j, err, sizeof err);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc) {
        snprintf(msg, msgsz, "the body is not valid JSON: %s", err);
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
            *why = &RTR_INVALID_MESSAGE;
            snprintf(msg, msgsz, "each message needs string topic and event");
            return BS_EJSON;
        }
    }
    *out = j;
    return BS_OK;
}

int rt_rest_parse_broadcast(const char *body, size_t len, json_t **out, const char **code, char *msg, size_t msgsz)
{
    const rest_error *why;
    int rc = parse_broadcast(body, len, out, &why, msg, msgsz);
    *code = why->code;
    return rc;
}

/* Fan out each message of a parsed batch: BS_OK, or answered / an error. */
static int send_batch(http_req *r, rt_engine *e, json_t *msgs)
{
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        json_t *pl = json_object_get(m, "payload");
        /* admitted by jsonin_parse, so no deeper than JSONIN_MAX_DEPTH */
        char *txt = pl ? json_dumps(pl, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
        if (!txt)
            return BS_ENOMEM;
        int rc = send_one(r, e, json_string_value(json_object_get(m, "topic")),
                          json_string_value(json_object_get(m, "event")), txt, strlen(txt),
                          json_is_true(json_object_get(m, "private")));
        free(txt);
        if (rc == BS_EDENIED) /* dropped, the others still go: Supabase answers 202 */
            continue;
        if (rc || http_responded(r))
            return rc;
    }
    return BS_OK;
}

int rt_rest_broadcast(http_req *r)
{
    int rc;
    rt_engine *e = post_engine(r, &rc);
    if (!e)
        return rc;
    const char *body;
    size_t len;
    rc = read_body(r, &body, &len);
    if (rc || http_responded(r))
        return rc;
    json_t *j;
    const rest_error *why;
    char msg[JSONIN_MSG_MAX + 64];
    rc = parse_broadcast(body, len, &j, &why, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return rest_reply(r, why, msg);
    rc = send_batch(r, e, json_object_get(j, "messages"));
    json_decref(j);
    if (rc || http_responded(r))
        return rc;
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
    int rc;
    rt_engine *e = post_engine(r, &rc);
    if (!e)
        return rc;
    /* subpath: {topic}/events/{event} (raw; decode both) */
    const char *sub = http_subpath_raw(r);
    const char *mid = strstr(sub, "/events/");
    if (!mid || mid == sub || !mid[8] || strchr(mid + 8, '/'))
        return rest_reply(r, &RTR_NO_PATH, "use /realtime/v1/api/broadcast/{topic}/events/{event}");
    char *topic = http_url_decode(http_arena(r), sub, (size_t)(mid - sub), false);
    char *event = http_url_decode(http_arena(r), mid + 8, strlen(mid + 8), false);
    if (!topic || !event)
        return rest_reply(r, &RTR_INVALID_PATH, "topic or event is not valid percent-encoded UTF-8");
    const char *body;
    size_t len;
    rc = read_body(r, &body, &len);
    if (rc || http_responded(r))
        return rc;
    const char *ct = http_header(r, "Content-Type");
    if (ct && strncmp(ct, "application/octet-stream", 24) == 0)
        return rest_reply(r, &RTR_MEDIA_TYPE, "binary broadcast payloads are only accepted over the WebSocket");
    char *txt;
    char msg[JSONIN_MSG_MAX + 64];
    rc = rt_rest_parse_payload(body, len, &txt, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return rest_reply(r, &RTR_INVALID_JSON, msg);
    const char *pv = http_param(r, "private");
    rc = send_one(r, e, topic, event, txt, strlen(txt), pv && strcmp(pv, "true") == 0);
    free(txt);
    if (rc == BS_EDENIED) {
        char m[400];
        snprintf(m, sizeof m, "Unauthorized: You do not have permissions to write to this Channel topic: %.200s", topic);
        return rest_reply(r, &RTR_FORBIDDEN, m);
    }
    if (rc || http_responded(r))
        return rc;
    return http_send(r, 202, NULL, NULL, 0);
}

/* ---- /admin/v1/realtime/rules ---- */

/* Read and apply a PUT / POST / PATCH body: BS_OK with *set, or answered
 * (413, 400 bad JSON, 400 a rule that does not parse) / an error. */
static int rules_write(http_req *r, rt_engine *e, json_t **set)
{
    json_t *body = NULL;
    buf msg = BUF_INIT, details = BUF_INIT;
    char err[256];
    int rc = http_body_json(r, 0, &body, err, sizeof err);
    if (rc == BS_ETOOBIG) {
        rc = pgrst_reply(r, PGRST_TOO_BIG, "Payload Too Large", NULL, NULL);
    } else if (rc) {
        rc = pgrst_reply(r, PGRST_BAD_BODY, "Empty or invalid json", err, NULL);
    } else {
        /* PUT and POST replace the set, PATCH changes the named operations */
        rc = rt_rules_set(e, body, !(http_method(r) & HTTP_PATCH), set, &msg, &details);
        if (rc == BS_EINVAL)
            rc = pgrst_reply(r, PGRST_PARSE, buf_cstr(&msg), details.len ? buf_cstr(&details) : NULL, NULL);
    }
    json_decref(body);
    buf_free(&msg);
    buf_free(&details);
    return rc;
}

int rt_rules_admin(http_req *r)
{
    rt_engine *e = http_app(r)->rt;
    if (!e)
        return rest_reply(r, &RTR_UNAVAILABLE, "realtime is not running");
    unsigned m = http_method(r);
    json_t *set = NULL;
    int rc;
    if (m & (HTTP_GET | HTTP_HEAD))
        rc = rt_rules_get(e, &set);
    else if (m & (HTTP_PUT | HTTP_POST | HTTP_PATCH))
        rc = rules_write(r, e, &set);
    else
        return pgrst_reply(r, PGRST_METHOD, "Unsupported HTTP method", NULL, NULL);
    if (rc || http_responded(r)) {
        json_decref(set);
        if (rc && !http_responded(r))
            rc = pgrst_reply(r, rc == BS_ESHUTDOWN ? PGRST_UNAVAILABLE : PGRST_INTERNAL, basalt_strerror(rc), NULL,
                             NULL);
        return rc;
    }
    char *text = json_dumps(set, JSON_COMPACT);
    rc = text ? http_send_json(r, 200, text, strlen(text)) : BS_ENOMEM;
    free(text);
    json_decref(set);
    return rc;
}
