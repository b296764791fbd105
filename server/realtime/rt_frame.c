/* rt_frame.c - see rt_frame.h.
 *
 * Text frames are parsed with jsonin_parse (core/jsonin.h: at most
 * JSONIN_MAX_DEPTH deep; JSON_REJECT_DUPLICATES is not used: the client
 * never sends duplicates and Phoenix itself takes the last).
 * Refs may arrive as strings, null or integers (hand-written clients); an
 * integer is rendered to its decimal string so replies echo a string.
 */
#include "realtime/rt_frame.h"
#include "core/error.h"
#include "core/jsonin.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int take_ref(json_t *v, char *dst, const char **out, const char **err)
{
    if (!v || json_is_null(v)) {
        *out = NULL;
        return BS_OK;
    }
    if (json_is_string(v)) {
        if (json_string_length(v) > RT_REF_MAX) {
            *err = "ref too long";
            return BS_EPARSE;
        }
        *out = json_string_value(v);
        return BS_OK;
    }
    if (json_is_integer(v)) {
        snprintf(dst, RT_REF_MAX + 1, "%lld", (long long)json_integer_value(v));
        *out = dst;
        return BS_OK;
    }
    *err = "ref must be a string or null";
    return BS_EPARSE;
}

int rt_frame_parse_text(const char *data, size_t len, bool v2, rt_frame *f, const char **err)
{
    memset(f, 0, sizeof *f);
    json_t *root = NULL;
    int rc = BS_EPARSE;
    /* the transport bounds the frame's size (RT_MAX_FRAME) */
    int jrc = jsonin_parse(data, len, JSONIN_ANY_SIZE, 0, &root, NULL, 0);
    if (jrc != BS_OK) {
        *err = jrc == BS_EDEPTH ? "frame " JSONIN_DEPTH_MSG
               : jrc == BS_ENOMEM ? "out of memory" : "frame is not valid JSON";
        goto out;
    }
    /* v2: [join_ref, ref, topic, event, payload]; v1: an object of those */
    static const char *const names[5] = {"join_ref", "ref", "topic", "event", "payload"};
    if (v2 ? !json_is_array(root) || json_array_size(root) != 5 : !json_is_object(root)) {
        *err = v2 ? "frame must be a JSON array [join_ref, ref, topic, event, payload]"
                  : "frame must be a JSON object {topic, event, payload, ref}";
        goto out;
    }
    json_t *part[5];
    for (int i = 0; i < 5; i++)
        part[i] = v2 ? json_array_get(root, (size_t)i) : json_object_get(root, names[i]);
    json_t *jr = part[0], *ref = part[1], *topic = part[2], *event = part[3], *payload = part[4];
    if (!json_is_string(topic) || !json_string_length(topic) || json_string_length(topic) > 255 ||
        strlen(json_string_value(topic)) != json_string_length(topic)) {
        *err = "topic must be a non-empty string of at most 255 bytes";
        goto out;
    }
    if (!json_is_string(event) || !json_string_length(event) ||
        strlen(json_string_value(event)) != json_string_length(event)) {
        *err = "event must be a non-empty string";
        goto out;
    }
    if (!json_is_object(payload)) {
        *err = "payload must be a JSON object";
        goto out;
    }
    if (take_ref(jr, f->jr_buf, &f->join_ref, err) || take_ref(ref, f->ref_buf, &f->ref, err))
        goto out;
    f->root = root;
    root = NULL;
    f->topic = json_string_value(topic);
    f->event = json_string_value(event);
    f->payload = payload;
    rc = BS_OK;
out:
    json_decref(root);
    if (rc) {
        f->root = NULL;
        f->payload = NULL;
    }
    return rc;
}

void rt_frame_clear(rt_frame *f)
{
    json_decref(f->root);
    f->root = NULL;
    f->payload = NULL;
}

int rt_frame_parse_push(const unsigned char *d, size_t len, rt_push *p, const char **err)
{
    memset(p, 0, sizeof *p);
    if (len < 7) {
        *err = "binary frame shorter than its header";
        return BS_EPARSE;
    }
    if (d[0] != 3) {
        *err = "unsupported binary frame kind (only 3, user broadcast push, is accepted)";
        return BS_EPARSE;
    }
    size_t lens[5] = {d[1], d[2], d[3], d[4], d[5]};
    if (d[6] > 1) {
        *err = "binary frame encoding must be 0 (raw) or 1 (JSON)";
        return BS_EPARSE;
    }
    size_t off = 7, need = off;
    for (int i = 0; i < 5; i++)
        need += lens[i];
    if (need > len) {
        *err = "binary frame lengths run past its end";
        return BS_EPARSE;
    }
    if (!lens[2] || !lens[3]) {
        *err = "binary frame needs a topic and an event";
        return BS_EPARSE;
    }
    const char *s = (const char *)d;
    p->join_ref = s + off, p->join_ref_len = lens[0], off += lens[0];
    p->ref = s + off, p->ref_len = lens[1], off += lens[1];
    p->topic = s + off, p->topic_len = lens[2], off += lens[2];
    p->event = s + off, p->event_len = lens[3], off += lens[3];
    p->meta = s + off, p->meta_len = lens[4], off += lens[4];
    p->payload = s + off, p->payload_len = len - off;
    p->json = d[6] == 1;
    if (memchr(p->topic, 0, p->topic_len) || memchr(p->event, 0, p->event_len) ||
        memchr(p->ref, 0, p->ref_len) || memchr(p->join_ref, 0, p->join_ref_len)) {
        *err = "binary frame strings must not contain NUL";
        return BS_EPARSE;
    }
    return BS_OK;
}

/* One member of an encoded frame: lead, then a JSON string (null for
 * NULL) or, when raw, n bytes of JSON text as they are. */
typedef struct part {
    const char *lead, *s;
    size_t n;
    bool raw;
} part;

static int put_parts(buf *b, const part *p, size_t n, const char *end)
{
    int rc = BS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = buf_puts(b, p[i].lead);
        if (!rc && p[i].raw)
            rc = buf_append(b, p[i].s, p[i].n);
        else if (!rc)
            rc = p[i].s ? buf_json_str(b, p[i].s, strlen(p[i].s)) : buf_puts(b, "null");
    }
    return rc ? rc : buf_puts(b, end);
}

int rt_frame_encode(buf *b, bool v2, const char *jr, const char *ref, const char *topic, const char *event,
                    const char *payload, size_t plen)
{
    if (v2) {
        const part p[] = {{"[", jr, 0, false}, {",", ref, 0, false}, {",", topic, 0, false},
                          {",", event, 0, false}, {",", payload, plen, true}};
        return put_parts(b, p, sizeof p / sizeof p[0], "]");
    }
    const part p[] = {{"{\"topic\":", topic, 0, false}, {",\"event\":", event, 0, false},
                      {",\"payload\":", payload, plen, true}, {",\"ref\":", ref, 0, false},
                      {",\"join_ref\":", jr, 0, false}};
    return put_parts(b, p, sizeof p / sizeof p[0], "}");
}

int rt_frame_encode_broadcast(buf *b, const char *topic, const char *event, const void *payload, size_t plen,
                              bool json)
{
    size_t tl = strlen(topic), el = strlen(event);
    if (tl > 255 || el > 255)
        return BS_ETOOBIG;
    unsigned char h[5] = {4, (unsigned char)tl, (unsigned char)el, 0, json ? 1 : 0};
    int rc = buf_append(b, h, sizeof h);
    if (!rc) rc = buf_append(b, topic, tl);
    if (!rc) rc = buf_append(b, event, el);
    if (!rc) rc = buf_append(b, payload, plen);
    return rc;
}

int rt_frame_check_push(const rt_push *p, const char **err)
{
    if (!p->json)
        return BS_OK;
    json_t *j = NULL;
    /* the caller bounds the payload (RT_MAX_BROADCAST) */
    int rc = jsonin_parse(p->payload, p->payload_len, JSONIN_ANY_SIZE, JSON_DECODE_ANY, &j, NULL, 0);
    json_decref(j);
    if (rc)
        *err = rc == BS_EDEPTH ? "broadcast payload " JSONIN_DEPTH_MSG
               : rc == BS_ENOMEM ? "out of memory" : "broadcast payload is not valid JSON";
    return rc;
}
