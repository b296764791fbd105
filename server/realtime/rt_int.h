/* rt_int.h - structures shared by the files of the realtime engine
 * (rt_engine.c, rt_proto.c, rt_dispatch.c).  Nothing else includes it.
 *
 * Locking: e->lock guards the registry: topics, collection indexes,
 * channels (all their fields), presence and each connection's channel
 * list.  c->mu guards a connection's send queue and close state.  Lock
 * order: e->lock, then c->mu; e->wake_mu is a leaf (commit hook and
 * dispatcher wake-ups).
 */
#ifndef BS_RT_INT_H
#define BS_RT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/jwt.h"
#include "app/app.h"
#include "http/ws.h"
#include "realtime/rt_engine.h"
#include "realtime/rt_filter.h"
#include "realtime/rt_frame.h"
#include "realtime/rt_map.h"
#include "rules/rules.h"

typedef struct rt_chan rt_chan;
typedef struct rt_lws rt_lws;

/* The engine's counters (relaxed atomics, any thread), rendered by
 * rt_metrics_render: X(field, Prometheus name, type, help). */
#define RT_COUNTERS(X)                                                                                       \
    X(connections, "connections", "gauge", "open realtime WebSocket connections")                            \
    X(channels, "channels", "gauge", "joined realtime channels")                                             \
    X(rejected, "rejected_connections_total", "counter", "connections refused (bad apikey, limits)")         \
    X(messages, "messages_sent_total", "counter", "frames handed to transports")                             \
    X(bytes, "bytes_sent_total", "counter", "bytes handed to transports")                                    \
    X(slow, "slow_consumer_disconnects_total", "counter", "connections closed: send queue full")             \
    X(changes, "changes_dispatched_total", "counter", "change-log entries dispatched")                       \
    X(deliveries, "change_deliveries_total", "counter", "postgres_changes frames queued")                    \
    X(joins, "joins_total", "counter", "successful channel joins")                                           \
    X(join_errors, "join_errors_total", "counter", "refused channel joins")                                  \
    X(broadcasts, "broadcasts_total", "counter", "broadcast messages fanned out")                             \
    X(replays, "resumes_total", "counter", "joins that replayed the change log")                             \
    X(token_closes, "token_closes_total", "counter", "channels closed for an expired or refused token")

typedef struct rt_counters {
#define RT_COUNTER_FIELD(field, name, type, help) long long field;
    RT_COUNTERS(RT_COUNTER_FIELD)
#undef RT_COUNTER_FIELD
} rt_counters;
#define RT_COUNT(e, field, n) __atomic_add_fetch(&(e)->stats.field, (n), __ATOMIC_RELAXED)

typedef struct rt_topic {
    char *name;
    bool priv;      /* in e->ptopics: private and public topics of one name are apart */
    rt_vec chans;   /* rt_chan*, chan->t_idx is the position */
    rt_vec pres;    /* rt_pres* */
} rt_topic;

typedef struct rt_pres {
    rt_chan *ch;
    char *key;
    char ref[32];   /* phx_ref */
    json_t *meta;   /* tracked fields + phx_ref */
} rt_pres;

typedef struct rt_bind {
    rt_chan *ch;
    long long id;
    char op;        /* 'I' 'U' 'D' or '*' */
    char *table;    /* NULL: every collection */
    rt_filter *f;
    rt_vec *vec;    /* the index list holding it */
    size_t idx;
    char *eqkey;    /* "field\x1f<canon>" when in an eq index */
    size_t eqlen;
} rt_bind;

typedef struct rt_coll {
    rt_map eq;      /* eqkey -> rt_vec* of rt_bind* */
    rt_vec rest;    /* bindings without an eq condition */
    rt_map fields;  /* eq field -> (uintptr_t) count */
    size_t n;
} rt_coll;

struct rt_chan {
    rt_conn *conn;
    char *topic;
    char join_ref[RT_REF_MAX + 1];
    auth_claims *claims;
    int64_t exp;
    bool self, ack, presence;
    bool priv;              /* config.private: authorized by rt_auth.c */
    bool read_bcast, read_pres; /* what the select rule lets it receive (always true if !priv) */
    char *pres_key;
    rt_topic *t;
    size_t t_idx;
    rt_pres *pres;
    rt_bind **binds;
    size_t nbinds;
    bool replay;            /* pending resume: (resume_from, replay_to] */
    int64_t resume_from, replay_to;
    int64_t mark;           /* dispatch scratch: seq last matched */
    long long *ids;
    size_t nids, ids_cap;
    rt_chan *prev, *next;   /* e->chans list */
};

struct rt_conn {
    rt_engine *e;
    int refs;               /* atomic */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* send queue (mu) */
    rt_msg **q;
    size_t qhead, qn, qcap, qbytes;
    bool close_req, close_sent, detached, wake_pending;
    int close_code;
    char close_reason[RT_CLOSE_REASON_MAX];
    const rt_transport *tp;
    void *tctx;
    /* protocol state (transport thread; chans under e->lock) */
    bool v2, counted;
    auth_claims *key_claims;
    rt_chan **chans;
    size_t nchans, chans_cap;
    double join_tokens;
    int64_t join_last_ms;
};

struct rt_engine {
    bs_app *app;
    http_ws_handler civet;  /* the main port's WebSockets (rt_civet.c) */
    pthread_mutex_t lock;
    rt_map topics;          /* name -> rt_topic* (public channels) */
    rt_map ptopics;         /* name -> rt_topic* (private channels) */
    rt_map colls;           /* collection -> rt_coll* */
    rt_vec all_tables;      /* bindings without a table */
    rt_chan *chans;         /* every channel, for token expiry */
    rt_vec replays;         /* rt_chan* with a pending resume */
    int64_t dispatched_seq; /* every change <= this was dispatched (lock) */
    int64_t next_expiry;    /* earliest channel token exp, INT64_MAX none (lock) */
    /* dispatcher wake-ups */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cond;
    int64_t hint_seq;
    bool wake, stop, ready;
    bool rules_changed;          /* another process changed the channel rules (wake_mu) */
    pthread_t disp;
    bool disp_started;
    rt_lws *lws;
    /* private channel rules (rt_auth.c): [0] select, [1] insert (rules_mu, a leaf) */
    pthread_mutex_t rules_mu;
    const rules_expr *rules[2];
    int64_t rules_ver;
    int64_t rules_next_ver;      /* versions handed to loaded sets (writer thread only) */
    long long pres_seq;          /* presence phx_ref numbers (lock) */
    rt_counters stats;
};

/* Phoenix reasons said in more than one place. */
#define RT_REASON_EXPIRED "Token has expired"
#define RT_REASON_UNMATCHED "unmatched topic"
#define RT_REASON_NOMEM "out of memory"

/* rt_engine.c */
/* Queue m on c (retains it); enforces the bounds (overflow: close). */
void rt_conn_send(rt_conn *c, rt_msg *m);
/* Serialise one frame and queue it on c. */
int rt_conn_send_frame(rt_conn *c, const char *jr, const char *ref, const char *topic, const char *event,
                       const char *payload, size_t plen);
/* Verify a JWT for a channel with the shared verifier (auth_jwt_verify):
 * BS_OK with *out, else msg filled with the refusal's wording. */
int rt_verify_token(rt_engine *e, const char *token, auth_claims **out, char *msg, size_t cap);
/* How rt_verify_token words a refusal: a look at the refused token's
 * payload (pure, any thread; the fuzz target calls it; it decides nothing,
 * the verifier did).  BS_EPARSE when it is not three dot-separated parts
 * of at most AUTH_JWT_MAX_LEN bytes, BS_EAUTH when the payload (base64url
 * through core/crypto.h, then jsonin_parse) is not an object with a string
 * role and an integer exp, else BS_OK. */
int rt_token_shape(const char *token);
/* Wake the dispatcher (after a join with resume or an earlier expiry). */
void rt_dispatch_wake(rt_engine *e);

/* The channel name of a topic ("realtime:room" -> "room"). */
static inline const char *rt_chan_name(const char *topic)
{
    return strncmp(topic, "realtime:", 9) == 0 ? topic + 9 : topic;
}

/* rt_proto.c */
/* Queue a "system" message {extension, status, message, channel}. */
void rt_send_system(rt_conn *c, const char *jr, const char *topic, const char *extension, bool ok,
                    const char *message);
/* e->lock held from here */
void rt_chan_remove(rt_engine *e, rt_chan *ch, bool presence_leave);
/* Free a topic that is out of its map (its vectors, not their elements). */
void rt_topic_free(rt_topic *t);
/* system error then phx_close, then remove (token expired / refused). */
void rt_chan_kick(rt_engine *e, rt_chan *ch, const char *message);
void rt_proto_recv(rt_conn *c, bool binary, const void *data, size_t len);

/* rt_dispatch.c */
int rt_dispatch_start(rt_engine *e);
void rt_dispatch_stop(rt_engine *e);
void rt_index_add(rt_engine *e, rt_bind *b);
void rt_index_remove(rt_engine *e, rt_bind *b);
/* Free a collection index that is out of e->colls (its eq vectors too). */
void rt_coll_free(rt_coll *col);

/* rt_presence.c (e->lock held) */
/* Track payload's fields under ch->pres_key (replaces an earlier track of
 * the channel); a diff goes to the topic.  BS_ENOMEM. */
int rt_presence_track(rt_chan *ch, json_t *payload);
/* Drop ch's presence; announce: send the leave diff. */
void rt_presence_untrack(rt_chan *ch, bool announce);
/* presence_state to ch (nothing when it may not read presence). */
void rt_presence_state(rt_chan *ch);

/* rt_auth.c */
/* Load the stored rules (start, main thread). */
int rt_auth_load(rt_engine *e);
/* Take the stored rules again after another process committed (writer
 * thread, w the writer connection, read only). */
struct db_conn;
void rt_auth_reload(rt_engine *e, struct db_conn *w);
void rt_auth_free(rt_engine *e); /* drops the compiled rules */
/* What who may receive on topic ("realtime:name"): select for broadcast
 * and for presence.  service_role: both. */
void rt_auth_read(rt_engine *e, const auth_claims *who, const char *topic, bool *bcast, bool *pres);
/* May who send (extension "broadcast", presence_key NULL) or track
 * ("presence", the key) on topic?  RT_AUTH_OK; RT_AUTH_DENIED by the insert
 * rule; RT_AUTH_KEY when the rule allows but a signed-in caller's key is
 * not its uid (and the rule does not read realtime.presence_key). */
enum { RT_AUTH_OK, RT_AUTH_DENIED, RT_AUTH_KEY };
int rt_auth_write(rt_engine *e, const auth_claims *who, const char *topic, const char *extension,
                  const char *presence_key);

/* rt_proto.c: after a rules change, re-decide every joined private
 * channel (takes e->lock). */
void rt_auth_recheck_all(rt_engine *e);

/* rt_lws.c */
int rt_lws_start(rt_engine *e, rt_lws **out);
void rt_lws_stop(rt_lws *l);

#endif
