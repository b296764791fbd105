/* rt_presence.c - presence (wire spec 6.8): the tracked metas of a topic,
 * presence_state after a join and presence_diff on every track, untrack
 * and leave.  Called by rt_proto.c with e->lock held.  A channel that may
 * not read presence (a private channel whose select rule refuses
 * extension 'presence') gets neither state nor diffs.
 */
#include "realtime/rt_int.h"
#include "core/error.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void send_diff(rt_topic *t, const char *key, json_t *join_meta, json_t *leave_meta)
{
    json_t *d = json_pack("{s:o,s:o}", "joins", json_object(), "leaves", json_object());
    if (!d)
        return;
    if (join_meta)
        json_object_set_new(json_object_get(d, "joins"), key, json_pack("{s:[O]}", "metas", join_meta));
    if (leave_meta)
        json_object_set_new(json_object_get(d, "leaves"), key, json_pack("{s:[O]}", "metas", leave_meta));
    char *txt = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    if (!txt)
        return;
    rt_msg *m[3] = {NULL};
    for (size_t i = 0; i < t->chans.n; i++) {
        rt_chan *ch = t->chans.v[i];
        if (!ch->presence || !ch->read_pres)
            continue;
        int k = ch->conn->v2 ? 2 : 1;
        if (!m[k]) {
            buf b = BUF_INIT;
            if (!rt_frame_encode(&b, k == 2, NULL, NULL, t->name, "presence_diff", txt, strlen(txt)))
                m[k] = rt_msg_new(b.data, b.len, false);
            buf_free(&b);
            if (!m[k])
                continue;
        }
        rt_conn_send(ch->conn, m[k]);
    }
    rt_msg_release(m[1]);
    rt_msg_release(m[2]);
    free(txt);
}

static void pres_free(rt_pres *p)
{
    json_decref(p->meta);
    free(p->key);
    free(p);
}

void rt_presence_untrack(rt_chan *ch, bool announce)
{
    rt_pres *p = ch->pres;
    if (!p)
        return;
    rt_topic *t = ch->t;
    for (size_t i = 0; i < t->pres.n; i++)
        if (t->pres.v[i] == p) {
            /* keep order: presence_state lists metas in join order */
            memmove(&t->pres.v[i], &t->pres.v[i + 1], (t->pres.n - i - 1) * sizeof(void *));
            t->pres.n--;
            break;
        }
    ch->pres = NULL;
    if (announce)
        send_diff(t, p->key, NULL, p->meta);
    pres_free(p);
}

int rt_presence_track(rt_chan *ch, json_t *payload)
{
    rt_pres *p = calloc(1, sizeof *p);
    if (!p || !(p->key = strdup(ch->pres_key))) {
        free(p);
        return BS_ENOMEM;
    }
    snprintf(p->ref, sizeof p->ref, "F%llx%llx", (long long)time_now_ms(), ++ch->conn->e->pres_seq);
    p->ch = ch;
    p->meta = json_is_object(payload) ? json_deep_copy(payload) : json_object();
    if (!p->meta) {
        pres_free(p);
        return BS_ENOMEM;
    }
    json_object_set_new(p->meta, "phx_ref", json_string(p->ref));
    rt_pres *old = ch->pres;
    rt_topic *t = ch->t;
    if (old) {
        json_object_set_new(p->meta, "phx_ref_prev", json_string(old->ref));
        for (size_t i = 0; i < t->pres.n; i++)
            if (t->pres.v[i] == old)
                t->pres.v[i] = p;
    } else if (rt_vec_push(&t->pres, p)) {
        pres_free(p);
        return BS_ENOMEM;
    }
    ch->pres = p;
    send_diff(t, p->key, p->meta, old ? old->meta : NULL);
    if (old)
        pres_free(old);
    return BS_OK;
}

void rt_presence_state(rt_chan *ch)
{
    if (!ch->read_pres)
        return;
    json_t *st = json_object();
    rt_topic *t = ch->t;
    for (size_t i = 0; st && i < t->pres.n; i++) {
        rt_pres *p = t->pres.v[i];
        json_t *k = json_object_get(st, p->key);
        if (!k) {
            k = json_pack("{s:[]}", "metas");
            json_object_set_new(st, p->key, k);
        }
        json_array_append(json_object_get(k, "metas"), p->meta);
    }
    char *txt = st ? json_dumps(st, JSON_COMPACT) : NULL;
    if (txt)
        rt_conn_send_frame(ch->conn, ch->join_ref, NULL, ch->topic, "presence_state", txt, strlen(txt));
    free(txt);
    json_decref(st);
}

