/* rt_proto.c - the Phoenix channel protocol (wire spec §6): heartbeats,
 * phx_join / phx_leave, access_token, broadcast (text and binary kind 3),
 * presence.  Runs on the transport thread of the connection; registry
 * changes take e->lock, and every reply is queued under that lock too, so
 * a join reply always precedes the first change delivered to the channel.
 *
 * A frame that is not a Phoenix frame closes the connection (1008 with the
 * parse error as the reason), as Phoenix itself does; errors inside a
 * valid frame are answered in the protocol (phx_reply error, system).
 */
#include "realtime/rt_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static rt_chan *find_chan(rt_conn *c, const char *topic)
{
    for (size_t i = 0; i < c->nchans; i++)
        if (strcmp(c->chans[i]->topic, topic) == 0)
            return c->chans[i];
    return NULL;
}


static void reply(rt_conn *c, const char *jr, const char *ref, const char *topic, bool ok, const char *response)
{
    buf p = BUF_INIT;
    int rc = buf_printf(&p, "{\"status\":\"%s\",\"response\":%s}", ok ? "ok" : "error", response ? response : "{}");
    if (!rc)
        rt_conn_send_frame(c, jr, ref, topic, "phx_reply", p.data, p.len);
    buf_free(&p);
}

static void reply_error(rt_conn *c, const char *jr, const char *ref, const char *topic, const char *reason)
{
    buf r = BUF_INIT;
    if (!buf_puts(&r, "{\"reason\":") && !buf_json_str(&r, reason, strlen(reason)) && !buf_putc(&r, '}'))
        reply(c, jr, ref, topic, false, r.data);
    buf_free(&r);
}

void rt_send_system(rt_conn *c, const char *jr, const char *topic, const char *extension, bool ok,
                    const char *message)
{
    buf p = BUF_INIT;
    const char *name = rt_chan_name(topic);
    int rc = buf_printf(&p, "{\"extension\":\"%s\",\"status\":\"%s\",\"message\":", extension, ok ? "ok" : "error");
    if (!rc) rc = buf_json_str(&p, message, strlen(message));
    if (!rc) rc = buf_puts(&p, ",\"channel\":");
    if (!rc) rc = buf_json_str(&p, name, strlen(name));
    if (!rc) rc = buf_putc(&p, '}');
    if (!rc)
        rt_conn_send_frame(c, jr, NULL, topic, "system", p.data, p.len);
    buf_free(&p);
}

/* ---- broadcast ---- */

static rt_msg *bcast_msg(const char *topic, const char *event, const char *payload, size_t plen, bool json,
                         int kind)
{
    /* kind 2: v2 text, 1: v1 text, 4: binary kind 4 */
    buf b = BUF_INIT, p = BUF_INIT;
    int rc;
    if (kind == 4) {
        rc = rt_frame_encode_broadcast(&b, topic, event, payload, plen, json);
    } else {
        rc = buf_puts(&p, "{\"type\":\"broadcast\",\"event\":");
        if (!rc) rc = buf_json_str(&p, event, strlen(event));
        if (!rc) rc = buf_puts(&p, ",\"payload\":");
        if (!rc) rc = buf_append(&p, payload, plen);
        if (!rc) rc = buf_putc(&p, '}');
        if (!rc) rc = rt_frame_encode(&b, kind == 2, NULL, NULL, topic, "broadcast", p.data, p.len);
    }
    rt_msg *m = rc ? NULL : rt_msg_new(b.data, b.len, kind == 4);
    buf_free(&b);
    buf_free(&p);
    return m;
}

/* e->lock held.  json: payload is JSON text; else raw bytes (kind 4 only,
 * not deliverable to vsn 1.0.0 connections). */
static void fanout(rt_engine *e, rt_topic *t, rt_chan *from, const char *event, const char *payload, size_t plen,
                   bool json)
{
    rt_msg *m[5] = {NULL};
    RT_COUNT(e, broadcasts, 1);
    for (size_t i = 0; i < t->chans.n; i++) {
        rt_chan *ch = t->chans.v[i];
        if ((ch == from && !from->self) || !ch->read_bcast)
            continue;
        int kind = !json ? 4 : ch->conn->v2 ? 2 : 1;
        if (!json && !ch->conn->v2)
            continue;
        if (!m[kind] && !(m[kind] = bcast_msg(t->name, event, payload, plen, json, kind)))
            continue;
        rt_conn_send(ch->conn, m[kind]);
    }
    for (int k = 0; k < 5; k++)
        rt_msg_release(m[k]);
}

static rt_map *topics_of(rt_engine *e, bool priv) { return priv ? &e->ptopics : &e->topics; }

int rt_broadcast_rest(rt_engine *e, const char *topic, const char *event, const char *payload, size_t plen,
                      bool priv, const auth_claims *caller)
{
    if (plen > RT_MAX_BROADCAST)
        return BS_ETOOBIG;
    if (priv && rt_auth_write(e, caller, topic, "broadcast", NULL) != RT_AUTH_OK)
        return BS_EDENIED;
    pthread_mutex_lock(&e->lock);
    rt_topic *t = rt_map_get(topics_of(e, priv), topic, strlen(topic));
    if (t)
        fanout(e, t, NULL, event, payload, plen, true);
    pthread_mutex_unlock(&e->lock);
    return BS_OK;
}

/* ---- channels ---- */

static void set_expiry(rt_engine *e, rt_chan *ch)
{
    ch->exp = ch->claims->exp;
    if (ch->exp < e->next_expiry) {
        e->next_expiry = ch->exp;
        rt_dispatch_wake(e);
    }
}

void rt_topic_free(rt_topic *t)
{
    rt_vec_free(&t->chans);
    rt_vec_free(&t->pres);
    free(t->name);
    free(t);
}

/* A topic nobody joins or is present on any more leaves its map. */
static void topic_drop_if_empty(rt_engine *e, rt_topic *t)
{
    if (t->chans.n || t->pres.n)
        return;
    rt_map_del(topics_of(e, t->priv), t->name, strlen(t->name));
    rt_topic_free(t);
}

static void bind_free(rt_bind *b)
{
    rt_filter_free(b->f);
    free(b->table);
    free(b->eqkey);
    free(b);
}

/* The parts of a channel that registering did not link anywhere. */
static void chan_free(rt_chan *ch)
{
    for (size_t i = 0; i < ch->nbinds; i++)
        bind_free(ch->binds[i]);
    free(ch->binds);
    auth_claims_release(ch->claims);
    free(ch->topic);
    free(ch->pres_key);
    free(ch->ids);
    free(ch);
}

void rt_chan_remove(rt_engine *e, rt_chan *ch, bool presence_leave)
{
    rt_presence_untrack(ch, presence_leave);
    for (size_t i = 0; i < ch->nbinds; i++)
        if (ch->binds[i]->vec)
            rt_index_remove(e, ch->binds[i]);
    rt_topic *t = ch->t;
    if (t) {
        rt_chan *moved = rt_vec_swap_remove(&t->chans, ch->t_idx);
        if (moved)
            moved->t_idx = ch->t_idx;
        topic_drop_if_empty(e, t);
    }
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        e->chans = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    if (ch->replay)
        for (size_t i = 0; i < e->replays.n; i++)
            if (e->replays.v[i] == ch) {
                rt_vec_swap_remove(&e->replays, i);
                break;
            }
    rt_conn *c = ch->conn;
    for (size_t i = 0; i < c->nchans; i++)
        if (c->chans[i] == ch) {
            c->chans[i] = c->chans[--c->nchans];
            break;
        }
    chan_free(ch);
    RT_COUNT(e, channels, -1);
}

void rt_chan_kick(rt_engine *e, rt_chan *ch, const char *message)
{
    RT_COUNT(e, token_closes, 1);
    rt_send_system(ch->conn, ch->join_ref, ch->topic, "system", false, message);
    rt_conn_send_frame(ch->conn, ch->join_ref, ch->join_ref, ch->topic, "phx_close", "{}", 2);
    rt_chan_remove(e, ch, true);
}

static long long bind_id(const char *ev, const char *schema, const char *table, const char *filter)
{
    buf b = BUF_INIT;
    buf_printf(&b, "%s\x1f%s\x1f%s\x1f%s", ev, schema, table ? table : "", filter ? filter : "");
    uint64_t h = rt_hash(b.data ? b.data : "", b.len);
    buf_free(&b);
    return (long long)(h % 90000000u) + 10000000; /* 8 digits, like Supabase's */
}

/* Validate one postgres_changes entry: BS_OK and a binding (not indexed),
 * or an error message for a system error. */
static int make_bind(json_t *ent, rt_chan *ch, long long *id, rt_bind **out, char *msg, size_t cap)
{
    *out = NULL;
    const char *ev = json_string_value(json_object_get(ent, "event"));
    json_t *js = json_object_get(ent, "schema"), *jt = json_object_get(ent, "table"), *jf = json_object_get(ent, "filter");
    const char *schema = json_is_string(js) ? json_string_value(js) : "public";
    const char *table = json_is_string(jt) ? json_string_value(jt) : NULL;
    const char *filter = json_is_string(jf) ? json_string_value(jf) : NULL;
    *id = bind_id(ev ? ev : "", schema, table, filter);
    if (!json_is_object(ent) || !ev) {
        snprintf(msg, cap, "each postgres_changes entry needs an \"event\": INSERT, UPDATE, DELETE or *");
        return BS_EINVAL;
    }
    char op;
    if (strcmp(ev, "*") == 0) op = '*';
    else if (strcasecmp(ev, "INSERT") == 0) op = 'I';
    else if (strcasecmp(ev, "UPDATE") == 0) op = 'U';
    else if (strcasecmp(ev, "DELETE") == 0) op = 'D';
    else {
        snprintf(msg, cap, "invalid postgres_changes event \"%.40s\": use INSERT, UPDATE, DELETE or *", ev);
        return BS_EINVAL;
    }
    if (strcmp(schema, "public") != 0) {
        snprintf(msg, cap, "schema \"%.60s\" is not available: Basalt collections are in schema public", schema);
        return BS_EINVAL;
    }
    if ((jt && !json_is_string(jt) && !json_is_null(jt)) || (jf && !json_is_string(jf) && !json_is_null(jf))) {
        snprintf(msg, cap, "postgres_changes table and filter must be strings");
        return BS_EINVAL;
    }
    if (table && strcmp(table, "*") != 0 && (!*table || strchr(table, '.'))) {
        snprintf(msg, cap, "invalid table \"%.60s\": use a collection name", table);
        return BS_EINVAL;
    }
    rt_filter *f = NULL;
    if (filter && *filter && rt_filter_parse(filter, &f, msg, cap))
        return BS_EINVAL;
    rt_bind *b = calloc(1, sizeof *b);
    if (!b || (table && strcmp(table, "*") != 0 && !(b->table = strdup(table)))) {
        free(b);
        rt_filter_free(f);
        snprintf(msg, cap, "out of memory");
        return BS_ENOMEM;
    }
    b->ch = ch;
    b->id = *id;
    b->op = op;
    b->f = f;
    *out = b;
    return BS_OK;
}

static bool take_join_token(rt_conn *c)
{
    int64_t now = time_now_ms();
    c->join_tokens += (double)(now - c->join_last_ms) * RT_JOIN_RATE / 1000.0;
    c->join_last_ms = now;
    if (c->join_tokens > 2 * RT_JOIN_RATE)
        c->join_tokens = 2 * RT_JOIN_RATE;
    if (c->join_tokens < 1)
        return false;
    c->join_tokens -= 1;
    return true;
}

/* A phx_join as read from its frame. */
typedef struct join_req {
    const char *jr, *ref, *topic;
    json_t *pg, *bc, *pr, *resume; /* config.postgres_changes, broadcast, presence, resume_from */
    bool priv;                     /* config.private */
    auth_claims *claims;           /* the channel's token (owned until the channel takes it) */
    char msg[300];                 /* room for a refusal's words */
} join_req;

static void join_refuse(rt_conn *c, const join_req *j, const char *why)
{
    RT_COUNT(c->e, join_errors, 1);
    reply_error(c, j->jr, j->ref, j->topic, why);
}

/* Read the join and its token: NULL, or why it is refused (before the
 * registry is touched). */
static const char *join_read(rt_conn *c, rt_frame *f, join_req *j)
{
    json_t *cfg = json_object_get(f->payload, "config");
    json_t *at = json_object_get(f->payload, "access_token");
    j->jr = f->join_ref ? f->join_ref : f->ref;
    j->ref = f->ref;
    j->topic = f->topic;
    j->pg = json_object_get(cfg, "postgres_changes");
    j->bc = json_object_get(cfg, "broadcast");
    j->pr = json_object_get(cfg, "presence");
    j->resume = json_object_get(cfg, "resume_from");
    j->priv = json_is_true(json_object_get(cfg, "private"));
    if (!j->jr)
        return "phx_join needs a ref";
    if (!take_join_token(c))
        return "too many joins per second on this connection; slow down";
    if (j->pg && !json_is_array(j->pg))
        return "config.postgres_changes must be an array";
    if (j->resume && (!json_is_integer(j->resume) || json_integer_value(j->resume) < 0))
        return "config.resume_from must be a non-negative integer (a change-log seq)";
    if (json_is_string(at) && json_string_length(at))
        return rt_verify_token(c->e, json_string_value(at), &j->claims, j->msg, sizeof j->msg) ? j->msg : NULL;
    if (at && !json_is_null(at) && !json_is_string(at))
        return "access_token must be a string";
    j->claims = auth_claims_retain(c->key_claims);
    return NULL;
}

/* e->lock held: what the token may receive on the topic (both, for a public
 * channel), and whether the connection may hold one more channel.  NULL,
 * or why the join is refused. */
static const char *join_authorize(rt_engine *e, rt_conn *c, join_req *j, bool *bcast, bool *pres)
{
    *bcast = *pres = true;
    if (j->priv) /* under e->lock: a rules change re-checks registered channels after this */
        rt_auth_read(e, j->claims, j->topic, bcast, pres);
    if (!*bcast && !*pres) {
        snprintf(j->msg, sizeof j->msg,
                 "Unauthorized: You do not have permissions to read from this Channel topic: %.200s",
                 rt_chan_name(j->topic));
        return j->msg;
    }
    if (c->nchans >= (size_t)e->app->cfg->realtime_max_channels) {
        snprintf(j->msg, sizeof j->msg, "too many channels on this connection (limit %d, --realtime-max-channels)",
                 e->app->cfg->realtime_max_channels);
        return j->msg;
    }
    return NULL;
}

/* A new channel for the join (taking its claims), not registered; NULL
 * when out of memory. */
static rt_chan *chan_new(rt_conn *c, join_req *j, bool bcast, bool pres)
{
    size_t nb = j->pg ? json_array_size(j->pg) : 0;
    rt_chan *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->claims = j->claims;
    j->claims = NULL;
    if (!(ch->topic = strdup(j->topic)) || (nb && !(ch->binds = calloc(nb, sizeof *ch->binds)))) {
        chan_free(ch);
        return NULL;
    }
    snprintf(ch->join_ref, sizeof ch->join_ref, "%s", j->jr);
    ch->conn = c;
    ch->self = json_is_true(json_object_get(j->bc, "self"));
    ch->ack = json_is_true(json_object_get(j->bc, "ack"));
    ch->presence = json_is_true(json_object_get(j->pr, "enabled"));
    ch->priv = j->priv;
    ch->read_bcast = bcast;
    ch->read_pres = pres;
    const char *pk = json_string_value(json_object_get(j->pr, "key"));
    char u[UUID_STR_LEN + 1];
    if (!(pk && *pk)) {
        if (ch->priv && ch->claims && ch->claims->sub[0]) { /* a signed-in user's presence is its uid */
            pk = ch->claims->sub;
        } else {
            uuid_v4(u);
            pk = u;
        }
    }
    if (!(ch->pres_key = strdup(pk))) {
        chan_free(ch);
        return NULL;
    }
    return ch;
}

/* The channel's postgres_changes bindings (not indexed yet): each entry is
 * echoed with its id into echo; the refused ones' messages go into errs
 * (room for every entry).  BS_OK, or BS_ENOMEM. */
static int chan_binds(rt_chan *ch, json_t *pg, json_t *echo, char **errs, size_t *nerr)
{
    char msg[300];
    for (size_t i = 0; i < json_array_size(pg); i++) {
        json_t *ent = json_array_get(pg, i);
        long long id;
        rt_bind *b;
        int rc = make_bind(ent, ch, &id, &b, msg, sizeof msg);
        if (rc == BS_ENOMEM)
            return rc;
        if (rc)
            errs[(*nerr)++] = strdup(msg);
        else
            ch->binds[ch->nbinds++] = b;
        json_t *cp = json_is_object(ent) ? json_deep_copy(ent) : json_incref(ent);
        if (json_is_object(cp))
            json_object_set_new(cp, "id", json_integer(id));
        json_array_append_new(echo, cp);
    }
    return BS_OK;
}

/* e->lock held: the topic of that name, made when it is new; NULL when out
 * of memory. */
static rt_topic *topic_get(rt_engine *e, const char *name, bool priv)
{
    rt_map *topics = topics_of(e, priv);
    rt_topic *t = rt_map_get(topics, name, strlen(name));
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->priv = priv;
    if (!(t->name = strdup(name)) || rt_map_put(topics, t->name, strlen(t->name), t)) {
        free(t->name);
        free(t);
        return NULL;
    }
    return t;
}

/* e->lock held: link ch into its topic, its connection and e->chans.
 * BS_OK, or BS_ENOMEM with nothing linked. */
static int chan_register(rt_engine *e, rt_conn *c, rt_chan *ch)
{
    rt_topic *t = topic_get(e, ch->topic, ch->priv);
    if (!t)
        return BS_ENOMEM;
    if (c->nchans == c->chans_cap) {
        size_t ncap = c->chans_cap ? c->chans_cap * 2 : 2;
        rt_chan **nc = realloc(c->chans, ncap * sizeof *nc);
        if (!nc) {
            topic_drop_if_empty(e, t);
            return BS_ENOMEM;
        }
        c->chans = nc;
        c->chans_cap = ncap;
    }
    if (rt_vec_push(&t->chans, ch)) {
        topic_drop_if_empty(e, t);
        return BS_ENOMEM;
    }
    ch->t = t;
    ch->t_idx = t->chans.n - 1;
    c->chans[c->nchans++] = ch;
    ch->next = e->chans;
    if (e->chans)
        e->chans->prev = ch;
    e->chans = ch;
    RT_COUNT(e, channels, 1);
    RT_COUNT(e, joins, 1);
    return BS_OK;
}

/* e->lock held, ch registered: the join's reply (before anything the index
 * can deliver), then the bindings go live, presence_state, the
 * postgres_changes system messages and a pending resume. */
static void chan_start(rt_engine *e, rt_chan *ch, const join_req *j, json_t *echo, char **errs, size_t nerr)
{
    char *ej = json_dumps(echo, JSON_COMPACT);
    buf r = BUF_INIT;
    if (ej && json_array_size(echo))
        buf_printf(&r, "{\"postgres_changes\":%s}", ej);
    else
        buf_puts(&r, "{}");
    reply(ch->conn, j->jr, j->ref, ch->topic, true, buf_cstr(&r));
    buf_free(&r);
    free(ej);
    for (size_t i = 0; i < ch->nbinds; i++)
        rt_index_add(e, ch->binds[i]);
    set_expiry(e, ch);
    if (ch->presence)
        rt_presence_state(ch);
    for (size_t i = 0; i < nerr; i++)
        rt_send_system(ch->conn, j->jr, ch->topic, "postgres_changes", false, errs[i] ? errs[i] : "invalid subscription");
    if (ch->nbinds && !nerr)
        rt_send_system(ch->conn, j->jr, ch->topic, "postgres_changes", true, "Subscribed to PostgreSQL");
    if (j->resume && ch->nbinds) {
        ch->replay = true;
        ch->resume_from = json_integer_value(j->resume);
        ch->replay_to = e->dispatched_seq;
        if (rt_vec_push(&e->replays, ch))
            ch->replay = false;
        else
            rt_dispatch_wake(e);
    }
}

static void do_join(rt_conn *c, rt_frame *f)
{
    rt_engine *e = c->e;
    join_req j = {0};
    const char *refuse = join_read(c, f, &j);
    if (refuse) {
        join_refuse(c, &j, refuse);
        auth_claims_release(j.claims);
        return;
    }
    size_t nb = j.pg ? json_array_size(j.pg) : 0, nerr = 0;
    char **errs = nb ? calloc(nb, sizeof *errs) : NULL;
    json_t *echo = json_array();
    rt_chan *ch = NULL;
    bool bcast, pres;
    pthread_mutex_lock(&e->lock);
    rt_chan *old = find_chan(c, j.topic);
    if (old) /* a duplicate join replaces the channel, as Phoenix does */
        rt_chan_remove(e, old, true);
    if ((refuse = join_authorize(e, c, &j, &bcast, &pres))) {
        join_refuse(c, &j, refuse);
    } else if ((nb && !errs) || !echo || !(ch = chan_new(c, &j, bcast, pres)) ||
               chan_binds(ch, j.pg, echo, errs, &nerr) || chan_register(e, c, ch)) {
        reply_error(c, j.jr, j.ref, j.topic, RT_REASON_NOMEM);
        if (ch)
            chan_free(ch);
    } else {
        chan_start(e, ch, &j, echo, errs, nerr);
    }
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < nerr; i++)
        free(errs[i]);
    free(errs);
    json_decref(echo);
    auth_claims_release(j.claims);
}

/* e->lock held.  Re-decide a private channel for its current token and the
 * current rules: closed (system error, phx_close) when it may read nothing
 * any more, its presence untracked when it may no longer hold it. */
static void chan_recheck(rt_engine *e, rt_chan *ch)
{
    bool b, p;
    rt_auth_read(e, ch->claims, ch->topic, &b, &p);
    if (!b && !p) {
        char m[300];
        snprintf(m, sizeof m, "You no longer have permission to read from this Channel topic: %.200s",
                 rt_chan_name(ch->topic));
        rt_chan_kick(e, ch, m);
        return;
    }
    ch->read_bcast = b;
    ch->read_pres = p;
    if (ch->pres && rt_auth_write(e, ch->claims, ch->topic, "presence", ch->pres_key) != RT_AUTH_OK)
        rt_presence_untrack(ch, true);
}

void rt_auth_recheck_all(rt_engine *e)
{
    pthread_mutex_lock(&e->lock);
    for (rt_chan *ch = e->chans, *next; ch; ch = next) {
        next = ch->next; /* a kick unlinks ch only */
        if (ch->priv)
            chan_recheck(e, ch);
    }
    pthread_mutex_unlock(&e->lock);
}

/* e->lock held.  May ch send (extension broadcast) or track (presence)?
 * Answers the refusal itself (when the push has a ref). */
static bool may_write(rt_conn *c, rt_chan *ch, const char *ref, const char *extension)
{
    if (!ch->priv)
        return true;
    bool pres = strcmp(extension, "presence") == 0;
    int a = rt_auth_write(c->e, ch->claims, ch->topic, extension, pres ? ch->pres_key : NULL);
    if (a == RT_AUTH_OK)
        return true;
    char m[400];
    if (a == RT_AUTH_KEY)
        snprintf(m, sizeof m, "Unauthorized: presence key \"%.64s\" is not your user id; on a private channel a "
                 "signed-in user tracks under auth.uid unless the insert rule reads realtime.presence_key",
                 ch->pres_key);
    else
        snprintf(m, sizeof m, "Unauthorized: You do not have permissions to %s this Channel topic: %.200s",
                 pres ? "track presence on" : "write to", rt_chan_name(ch->topic));
    if (ref && *ref)
        reply_error(c, ch->join_ref, ref, ch->topic, m);
    return false;
}

static void do_access_token(rt_engine *e, rt_chan *ch, json_t *payload)
{
    const char *tok = json_string_value(json_object_get(payload, "access_token"));
    char msg[200];
    auth_claims *cl = NULL;
    if (!tok) {
        rt_chan_kick(e, ch, "access_token must be a string");
        return;
    }
    if (rt_verify_token(e, tok, &cl, msg, sizeof msg)) {
        rt_chan_kick(e, ch, msg);
        return;
    }
    auth_claims_release(ch->claims);
    ch->claims = cl;
    set_expiry(e, ch);
    if (ch->priv) /* the new token may not keep what the old one had */
        chan_recheck(e, ch);
}

static void do_push(rt_conn *c, const unsigned char *d, size_t len)
{
    rt_push p;
    const char *err;
    if (rt_frame_parse_push(d, len, &p, &err)) {
        rt_conn_close_request(c, 1003, err);
        return;
    }
    char topic[256], event[256], ref[256], jr[256];
    snprintf(topic, sizeof topic, "%.*s", (int)p.topic_len, p.topic);
    snprintf(event, sizeof event, "%.*s", (int)p.event_len, p.event);
    snprintf(ref, sizeof ref, "%.*s", (int)p.ref_len, p.ref);
    snprintf(jr, sizeof jr, "%.*s", (int)p.join_ref_len, p.join_ref);
    rt_engine *e = c->e;
    pthread_mutex_lock(&e->lock);
    rt_chan *ch = find_chan(c, topic);
    if (!ch) {
        reply_error(c, jr[0] ? jr : NULL, ref[0] ? ref : NULL, topic, RT_REASON_UNMATCHED);
    } else if (jr[0] && strcmp(jr, ch->join_ref) != 0) {
        /* stale join_ref: dropped, as the client drops ours */
    } else if (p.payload_len > RT_MAX_BROADCAST) {
        reply_error(c, ch->join_ref, ref[0] ? ref : NULL, topic, RT_BCAST_TOO_BIG_REASON);
    } else {
        const char *why = NULL;
        if (rt_frame_check_push(&p, &why)) {
            reply_error(c, ch->join_ref, ref[0] ? ref : NULL, topic, why);
        } else if (may_write(c, ch, ref, "broadcast")) {
            fanout(c->e, ch->t, ch, event, p.payload, p.payload_len, p.json);
            if (ch->ack && ref[0])
                reply(c, ch->join_ref, ref, topic, true, "{}");
        }
    }
    pthread_mutex_unlock(&e->lock);
}

/* e->lock held: a text broadcast on ch. */
static void do_broadcast(rt_conn *c, rt_chan *ch, rt_frame *f)
{
    const char *ev = json_string_value(json_object_get(f->payload, "event"));
    json_t *pl = json_object_get(f->payload, "payload");
    char *txt = pl ? json_dumps(pl, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
    if (!ev || !txt) {
        reply_error(c, ch->join_ref, f->ref, f->topic, "broadcast needs a string event");
    } else if (strlen(txt) > RT_MAX_BROADCAST) {
        reply_error(c, ch->join_ref, f->ref, f->topic, RT_BCAST_TOO_BIG_REASON);
    } else if (may_write(c, ch, f->ref, "broadcast")) {
        fanout(c->e, ch->t, ch, ev, txt, strlen(txt), true);
        if (ch->ack && f->ref)
            reply(c, ch->join_ref, f->ref, f->topic, true, "{}");
    }
    free(txt);
}

/* e->lock held: presence track / untrack on ch. */
static void do_presence(rt_conn *c, rt_chan *ch, rt_frame *f)
{
    const char *ev = json_string_value(json_object_get(f->payload, "event"));
    if (ev && strcmp(ev, "track") == 0) {
        char *txt = json_dumps(json_object_get(f->payload, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
        if (txt && strlen(txt) > RT_MAX_BROADCAST)
            reply_error(c, ch->join_ref, f->ref, f->topic, "presence payload too large (limit 256 KiB)");
        else if (may_write(c, ch, f->ref, "presence")) { /* else refused, answered */
            if (rt_presence_track(ch, json_object_get(f->payload, "payload")))
                reply_error(c, ch->join_ref, f->ref, f->topic, RT_REASON_NOMEM);
            else
                reply(c, ch->join_ref, f->ref, f->topic, true, "{}");
        }
        free(txt);
    } else if (ev && strcmp(ev, "untrack") == 0) {
        rt_presence_untrack(ch, true);
        reply(c, ch->join_ref, f->ref, f->topic, true, "{}");
    } else {
        reply_error(c, ch->join_ref, f->ref, f->topic, "presence event must be track or untrack");
    }
}

/* e->lock held: an event on a joined (or unknown) topic. */
static void do_event(rt_conn *c, rt_frame *f)
{
    rt_engine *e = c->e;
    rt_chan *ch = find_chan(c, f->topic);
    if (!ch) {
        if (strcmp(f->event, "phx_leave") == 0)
            reply(c, f->join_ref, f->ref, f->topic, true, "{}");
        else if (f->ref)
            reply_error(c, f->join_ref, f->ref, f->topic, RT_REASON_UNMATCHED);
    } else if (f->join_ref && strcmp(f->join_ref, ch->join_ref) != 0) {
        /* stale: a push for an earlier join of this topic */
    } else if (strcmp(f->event, "phx_leave") == 0) {
        reply(c, ch->join_ref, f->ref, f->topic, true, "{}");
        rt_chan_remove(e, ch, true);
    } else if (strcmp(f->event, "access_token") == 0) {
        do_access_token(e, ch, f->payload);
    } else if (strcmp(f->event, "broadcast") == 0) {
        do_broadcast(c, ch, f);
    } else if (strcmp(f->event, "presence") == 0) {
        do_presence(c, ch, f);
    } else if (f->ref) {
        reply_error(c, ch->join_ref, f->ref, f->topic, "unknown event");
    }
}

void rt_proto_recv(rt_conn *c, bool binary, const void *data, size_t len)
{
    if (binary) {
        do_push(c, data, len);
        return;
    }
    rt_frame f;
    const char *err;
    if (rt_frame_parse_text(data, len, c->v2, &f, &err)) {
        rt_conn_close_request(c, 1003, err);
        return;
    }
    if (strcmp(f.topic, "phoenix") == 0) {
        if (strcmp(f.event, "heartbeat") == 0)
            reply(c, NULL, f.ref, "phoenix", true, "{}");
    } else if (strcmp(f.event, "phx_join") == 0) {
        do_join(c, &f);
    } else {
        pthread_mutex_lock(&c->e->lock);
        do_event(c, &f);
        pthread_mutex_unlock(&c->e->lock);
    }
    rt_frame_clear(&f);
}
