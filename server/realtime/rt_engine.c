/* rt_engine.c - engine lifecycle, connections and their send queues, token
 * checks, counters.  See rt_engine.h for the contract and rt_int.h for the
 * locking rules.
 *
 * Send queue: a ring of message pointers per connection, grown by doubling
 * (an idle connection has none).  Bounded by --realtime-queue-bytes and
 * RT_QUEUE_MAX_MSGS; on overflow the queue is dropped at once (memory is
 * freed immediately, not when the socket finally drains) and a close
 * "send queue full" is requested, so one slow consumer can never hold the
 * dispatcher or grow memory without bound.
 */
#include "realtime/rt_int.h"
#include "app/app.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* ---- lifecycle ---- */

int rt_engine_start(bs_app *app, rt_engine **out)
{
    *out = NULL;
    rt_engine *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    e->app = app;
    e->next_expiry = INT64_MAX;
    /* every WebSocket is a descriptor: allow as many as the hard limit */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->wake_mu, NULL);
    pthread_cond_init(&e->wake_cond, NULL);
    pthread_mutex_init(&e->rules_mu, NULL);
    int rc = rt_auth_load(e);
    if (rc)
        fprintf(stderr, "basalt: cannot read the realtime rules (_basalt_realtime_rules)\n");
    if (!rc)
        rc = rt_dispatch_start(e);
    if (!rc && app->cfg->realtime_port) {
        rc = rt_lws_start(e, &e->lws);
        if (rc)
            fprintf(stderr, "basalt: cannot listen for realtime on port %d (is the port in use?)\n",
                    app->cfg->realtime_port);
    }
    if (rc) {
        rt_engine_stop(e);
        return rc;
    }
    *out = e;
    return BS_OK;
}

static void free_topics(rt_map *topics)
{
    size_t i;
    for (rt_map_ent *m = rt_map_first(topics, &i); m; m = rt_map_next(topics, m, &i))
        rt_topic_free(m->val);
    rt_map_free(topics);
}

void rt_engine_stop(rt_engine *e)
{
    if (!e)
        return;
    rt_lws_stop(e->lws);
    e->lws = NULL;
    rt_dispatch_stop(e);
    /* Every transport closed its connections before this point, so the
     * registry is empty; free what is left defensively. */
    pthread_mutex_lock(&e->lock);
    while (e->chans)
        rt_chan_remove(e, e->chans, false);
    free_topics(&e->topics);
    free_topics(&e->ptopics);
    size_t i;
    for (rt_map_ent *m = rt_map_first(&e->colls, &i); m; m = rt_map_next(&e->colls, m, &i))
        rt_coll_free(m->val);
    rt_map_free(&e->colls);
    rt_vec_free(&e->all_tables);
    rt_vec_free(&e->replays);
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->wake_mu);
    pthread_cond_destroy(&e->wake_cond);
    rt_auth_free(e);
    pthread_mutex_destroy(&e->rules_mu);
    free(e);
}

void rt_dispatch_wake(rt_engine *e)
{
    pthread_mutex_lock(&e->wake_mu);
    e->wake = true;
    pthread_cond_signal(&e->wake_cond);
    pthread_mutex_unlock(&e->wake_mu);
}

/* ---- tokens ---- */

int rt_token_shape(const char *tok)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strlen(tok) > AUTH_JWT_MAX_LEN)
        return BS_EPARSE;
    size_t n = (size_t)(d2 - d1 - 1);
    while (n && d1[n] == '=') /* padding says nothing about the claims */
        n--;
    size_t cap = n * 3 / 4 + 1;
    uint8_t *raw = malloc(cap);
    long len = raw ? auth_b64_decode(d1 + 1, n, raw, cap, true) : -1;
    /* a refused token is outside JSON: through jsonin */
    json_t *j = NULL;
    if (len > 0)
        jsonin_parse((const char *)raw, (size_t)len, AUTH_JWT_MAX_LEN, 0, &j, NULL, 0);
    bool shape = json_is_object(j) && json_is_string(json_object_get(j, "role")) &&
                 json_is_integer(json_object_get(j, "exp"));
    json_decref(j);
    free(raw);
    return shape ? BS_OK : BS_EAUTH;
}

int rt_verify_token(rt_engine *e, const char *tok, auth_claims **out, char *msg, size_t cap)
{
    int rc = auth_jwt_verify(e->app->jwt, tok, time_now_s(), out);
    if (rc == BS_OK)
        return BS_OK;
    /* Supabase's words: a token without role/exp is told what is missing,
     * whatever else is wrong with it */
    int shape = rt_token_shape(tok);
    const char *why = shape == BS_EPARSE  ? "Invalid JWT: the token is malformed"
                      : shape             ? "Fields `role` and `exp` are required in JWT"
                      : rc == BS_EEXPIRED ? RT_REASON_EXPIRED
                                          : "Invalid JWT: the signature or claims could not be verified";
    snprintf(msg, cap, "%s", why);
    return rc;
}

/* ---- connections ---- */

static char *param(const char *q, const char *name)
{
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            const char *v = q + nl + 1;
            size_t vl = len - nl - 1;
            char *out = malloc(vl + 1);
            if (!out)
                return NULL;
            size_t o = 0;
            for (size_t i = 0; i < vl; i++) {
                unsigned h, l;
                if (v[i] == '%' && i + 2 < vl && sscanf(v + i + 1, "%1x%1x", &h, &l) == 2 && (h | l) != 0) {
                    out[o++] = (char)(h << 4 | l);
                    i += 2;
                } else {
                    out[o++] = v[i] == '+' ? ' ' : v[i];
                }
            }
            out[o] = 0;
            return out;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

rt_conn *rt_conn_open(rt_engine *e, const char *query, const rt_transport *tp, void *tctx)
{
    rt_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->e = e;
    c->refs = 1;
    c->tp = tp;
    c->tctx = tctx;
    c->v2 = true;
    c->join_tokens = 2 * RT_JOIN_RATE;
    c->join_last_ms = time_now_ms();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    char *vsn = param(query, "vsn");
    char *key = param(query, "apikey");
    if (vsn && strcmp(vsn, "1.0.0") == 0)
        c->v2 = false;
    const char *why = NULL;
    char msg[160];
    if (vsn && strcmp(vsn, "1.0.0") != 0 && strcmp(vsn, "2.0.0") != 0) {
        why = "unsupported vsn: use 1.0.0 or 2.0.0";
    } else if (!key || !*key) {
        why = "apikey query parameter is required";
    } else {
        int rc = auth_jwt_verify(e->app->jwt, key, time_now_s(), &c->key_claims);
        if (rc) {
            snprintf(msg, sizeof msg, "invalid apikey: %s",
                     rc == BS_EEXPIRED ? "the key has expired" : "it is not a key of this project");
            why = msg;
        }
    }
    if (!why) {
        long long n = RT_COUNT(e, connections, 1);
        c->counted = true;
        if (n > e->app->cfg->realtime_max_connections)
            why = "too many connections (--realtime-max-connections)";
    }
    free(vsn);
    free(key);
    if (why) {
        RT_COUNT(e, rejected, 1);
        log_debug("realtime: refusing a %s connection: %s", tp->name, why);
        rt_conn_close_request(c, strncmp(why, "too many", 8) == 0 ? 1013 : 1008, why);
    }
    return c;
}

rt_conn *rt_conn_retain(rt_conn *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

static void drop_queue(rt_conn *c)
{
    for (size_t i = 0; i < c->qn; i++)
        rt_msg_release(c->q[(c->qhead + i) % c->qcap]);
    free(c->q);
    c->q = NULL;
    c->qhead = c->qn = c->qcap = c->qbytes = 0;
}

void rt_conn_release(rt_conn *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    drop_queue(c);
    if (c->counted)
        RT_COUNT(c->e, connections, -1);
    auth_claims_release(c->key_claims);
    free(c->chans);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

void *rt_conn_tctx(rt_conn *c)
{
    pthread_mutex_lock(&c->mu);
    void *t = c->detached ? NULL : c->tctx;
    pthread_mutex_unlock(&c->mu);
    return t;
}

void *rt_conn_wake_done(rt_conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->wake_pending = false;
    void *t = c->detached ? NULL : c->tctx;
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* c->mu held */
static void wake(rt_conn *c)
{
    pthread_cond_signal(&c->cond);
    if (c->tp->wake && !c->wake_pending && !c->detached) {
        c->wake_pending = true;
        c->tp->wake(c->tctx, c);
    }
}

/* c->mu held */
static void close_locked(rt_conn *c, int code, const char *reason)
{
    if (c->close_req || c->detached)
        return;
    drop_queue(c);
    c->close_req = true;
    c->close_code = code;
    size_t n = strlen(reason);
    if (n >= sizeof c->close_reason) /* a close frame carries at most 123 bytes of reason */
        n = sizeof c->close_reason - 1;
    memcpy(c->close_reason, reason, n);
    c->close_reason[n] = 0;
    wake(c);
}

void rt_conn_close_request(rt_conn *c, int code, const char *reason)
{
    pthread_mutex_lock(&c->mu);
    close_locked(c, code, reason);
    pthread_mutex_unlock(&c->mu);
}

void rt_conn_send(rt_conn *c, rt_msg *m)
{
    pthread_mutex_lock(&c->mu);
    if (c->close_req || c->detached)
        goto out;
    if (c->qn + 1 > RT_QUEUE_MAX_MSGS || c->qbytes + m->len > c->e->app->cfg->realtime_queue_bytes) {
        RT_COUNT(c->e, slow, 1);
        log_info("realtime: closing a slow %s connection: send queue full (%zu messages, %zu bytes)",
                 c->tp->name, c->qn, c->qbytes);
        close_locked(c, 1008, "send queue full");
        goto out;
    }
    if (c->qn == c->qcap) {
        size_t nc = c->qcap ? c->qcap * 2 : 8;
        rt_msg **nq = malloc(nc * sizeof *nq);
        if (!nq) {
            close_locked(c, 1011, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < c->qn; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qcap = nc;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qn) % c->qcap] = rt_msg_retain(m);
    c->qn++;
    c->qbytes += m->len;
    wake(c);
out:
    pthread_mutex_unlock(&c->mu);
}

int rt_conn_send_frame(rt_conn *c, const char *jr, const char *ref, const char *topic, const char *event,
                       const char *payload, size_t plen)
{
    buf b = BUF_INIT;
    int rc = rt_frame_encode(&b, c->v2, jr, ref, topic, event, payload, plen);
    rt_msg *m = rc ? NULL : rt_msg_new(b.data, b.len, false);
    buf_free(&b);
    if (!m)
        return BS_ENOMEM;
    rt_conn_send(c, m);
    rt_msg_release(m);
    return BS_OK;
}

int rt_conn_pop(rt_conn *c, bool wait, rt_msg **m, int *code, char reason[RT_CLOSE_REASON_MAX])
{
    *m = NULL;
    int r = RT_POP_NONE;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->detached) {
            r = RT_POP_DETACHED;
        } else if (c->qn) {
            *m = c->q[c->qhead];
            c->qhead = (c->qhead + 1) % c->qcap;
            c->qn--;
            c->qbytes -= (*m)->len;
            if (!c->qn && c->qcap > 64) { /* give a burst's memory back */
                free(c->q);
                c->q = NULL;
                c->qcap = c->qhead = 0;
            }
            r = RT_POP_MSG;
        } else if (c->close_req && !c->close_sent) {
            c->close_sent = true;
            *code = c->close_code;
            memcpy(reason, c->close_reason, RT_CLOSE_REASON_MAX);
            r = RT_POP_CLOSE;
        }
        if (r != RT_POP_NONE || !wait)
            break;
        pthread_cond_wait(&c->cond, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    if (r == RT_POP_MSG) {
        RT_COUNT(c->e, messages, 1);
        RT_COUNT(c->e, bytes, (long long)(*m)->len);
    }
    return r;
}

void rt_conn_recv(rt_conn *c, bool binary, const void *data, size_t len)
{
    pthread_mutex_lock(&c->mu);
    bool closing = c->close_req || c->detached;
    pthread_mutex_unlock(&c->mu);
    if (!closing)
        rt_proto_recv(c, binary, data, len);
}

void rt_conn_closed(rt_conn *c)
{
    rt_engine *e = c->e;
    pthread_mutex_lock(&e->lock);
    while (c->nchans)
        rt_chan_remove(e, c->chans[c->nchans - 1], true);
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_lock(&c->mu);
    c->detached = true;
    drop_queue(c);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

/* ---- metrics ---- */

int rt_metrics_render(const rt_engine *e, buf *out)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
#define RT_COUNTER_ROW(field, name, type, help) {"basalt_realtime_" name, type, help, offsetof(rt_counters, field)},
        RT_COUNTERS(RT_COUNTER_ROW)
#undef RT_COUNTER_ROW
    };
    int rc = BS_OK;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && !rc; i++) {
        long long v = e ? __atomic_load_n((const long long *)((const char *)&e->stats + rows[i].off), __ATOMIC_RELAXED)
                        : 0;
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", rows[i].name, rows[i].help, rows[i].name,
                        rows[i].type, rows[i].name, v);
    }
    return rc;
}
