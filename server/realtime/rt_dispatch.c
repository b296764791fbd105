/* rt_dispatch.c - the change dispatcher: follows _basalt_changes and fans
 * each change out to the postgres_changes subscribers entitled to it.
 *
 * One thread, woken by the store's commit hook (never by a timer), reads
 * the log with seq > dispatched_seq through its own read connection in
 * batches, then, under e->lock, matches each change:
 *   candidates = bindings of the collection without an eq condition
 *              + for each eq-indexed field F of the collection, the
 *                bindings keyed by F = canonical(doc.F)
 *              + bindings on every collection ("*")
 * so the work per change is proportional to the subscribers it may reach,
 * not to all subscribers.  Each candidate's event and filter are checked,
 * matches are grouped per channel (the ids of all its matching bindings),
 * the channel's select rule is checked for its token, and one frame is
 * serialised per distinct (vsn, topic, ids) and queued by reference to
 * every connection in that group.
 *
 * Guarantees: one thread queues every change in seq order, so order per
 * connection (hence per document) is the commit order.  A join registers
 * under e->lock, so every change with seq > dispatched_seq at that moment
 * is delivered live; a join with resume_from N gets (N, dispatched_seq]
 * replayed here, before the dispatcher handles any later change, so there
 * is no gap and no duplicate.  Change-log entries of "auth.*" and
 * "storage.*" (names with a '.') are never delivered.  A rule that denies
 * or fails for one subscriber only skips that subscriber.
 *
 * The thread also closes channels whose token expired (it sleeps until the
 * earliest exp when no change is pending).
 */
#include "realtime/rt_int.h"
#include "rules/cache.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 256

#define CHANGE_TEXTS 5 /* the text columns, in the order of the query */

typedef struct change {
    int64_t seq, ms;
    union {
        struct {
            char *coll, *op, *doc_id, *old_txt, *new_txt;
        };
        char *text[CHANGE_TEXTS];
    };
    json_t *old, *new_;
    char opc;
    buf data;        /* the "data" object, built on first use */
    bool built;
} change;

typedef struct dctx {
    rt_engine *e;
    db_conn *rd;
    rt_vec matched;  /* rt_chan* matched by the current change */
    rt_map groups;   /* frame key -> rt_msg* for the current change */
    buf key, canon;
} dctx;

static void change_free(change *c)
{
    for (int i = 0; i < CHANGE_TEXTS; i++)
        free(c->text[i]);
    json_decref(c->old);
    json_decref(c->new_);
    buf_free(&c->data);
    memset(c, 0, sizeof *c);
}

static int change_load(sqlite3_stmt *st, change *c)
{
    memset(c, 0, sizeof *c);
    c->seq = sqlite3_column_int64(st, 0);
    for (int i = 0; i < CHANGE_TEXTS; i++) { /* columns 1..5: collection, op, doc_id, old, new */
        const char *t = (const char *)sqlite3_column_text(st, i + 1);
        if (t && !(c->text[i] = strdup(t)))
            return BS_ENOMEM;
    }
    c->ms = sqlite3_column_int64(st, 6);
    if (!c->coll || !c->op || !c->doc_id)
        return BS_ENOMEM;
    c->opc = c->op[0] == 'I' ? 'I' : c->op[0] == 'U' ? 'U' : 'D';
    /* auth.* / storage.* entries are never parsed or delivered.  Plain
     * jansson: documents the server wrote from admitted input (REST bodies,
     * plugin payloads: at most JSONIN_MAX_DEPTH deep; PATCH sets top-level
     * keys, so no deeper), parsed on the dispatcher's own full-size stack. */
    if (!strchr(c->coll, '.')) {
        if (c->old_txt)
            c->old = json_loads(c->old_txt, 0, NULL);
        if (c->new_txt)
            c->new_ = json_loads(c->new_txt, 0, NULL);
    }
    return BS_OK;
}

static int build_data(change *c)
{
    if (c->built)
        return BS_OK;
    char ts[32];
    time_iso_ms(c->ms, ts);
    buf *b = &c->data;
    int rc = buf_puts(b, "{\"schema\":\"public\",\"table\":");
    if (!rc) rc = buf_json_str(b, c->coll, strlen(c->coll));
    if (!rc) rc = buf_printf(b, ",\"commit_timestamp\":\"%s\",\"type\":\"%s\",\"columns\":[]", ts, c->op);
    if (!rc && c->opc != 'D')
        rc = buf_printf(b, ",\"record\":%s", c->new_txt ? c->new_txt : "{}");
    if (!rc && c->opc != 'I') {
        /* only the key, as Supabase sends without REPLICA IDENTITY FULL */
        json_t *id = json_object_get(c->old ? c->old : c->new_, "id");
        char *idtxt = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        rc = buf_puts(b, ",\"old_record\":{\"id\":");
        if (!rc) rc = idtxt ? buf_puts(b, idtxt) : buf_json_str(b, c->doc_id, strlen(c->doc_id));
        if (!rc) rc = buf_putc(b, '}');
        free(idtxt);
    }
    if (!rc) rc = buf_printf(b, ",\"errors\":null,\"seq\":%lld}", (long long)c->seq);
    c->built = rc == BS_OK;
    return rc;
}

static bool allowed(dctx *d, const char *coll, const auth_claims *cl, json_t *doc)
{
    if (strcmp(cl->role, "service_role") == 0)
        return true;
    if (!d->e->app->rules)
        return false; /* closed until a rule opens it */
    return rules_allows_select(d->e->app->rules, d->rd, coll, cl, doc);
}

static void consider(dctx *d, change *c, json_t *doc, rt_bind *b)
{
    if (b->op != '*' && b->op != c->opc)
        return;
    if (b->f && !rt_filter_match(b->f, doc))
        return;
    rt_chan *ch = b->ch;
    if (ch->mark != c->seq) {
        ch->mark = c->seq;
        ch->nids = 0;
        if (rt_vec_push(&d->matched, ch))
            return;
    }
    for (size_t i = 0; i < ch->nids; i++)
        if (ch->ids[i] == b->id)
            return;
    if (ch->nids == ch->ids_cap) {
        size_t nc = ch->ids_cap ? ch->ids_cap * 2 : 4;
        long long *ni = realloc(ch->ids, nc * sizeof *ni);
        if (!ni)
            return;
        ch->ids = ni;
        ch->ids_cap = nc;
    }
    ch->ids[ch->nids++] = b->id;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* Deliver c to the matched channels (rules, grouping, queueing). */
static void flush(dctx *d, change *c, json_t *doc)
{
    const auth_claims *last = NULL;
    bool last_ok = false;
    for (size_t i = 0; i < d->matched.n; i++) {
        rt_chan *ch = d->matched.v[i];
        bool ok;
        if (ch->claims == last) {
            ok = last_ok;
        } else {
            ok = allowed(d, c->coll, ch->claims, doc);
            last = ch->claims;
            last_ok = ok;
        }
        if (!ok || build_data(c))
            continue;
        qsort(ch->ids, ch->nids, sizeof *ch->ids, cmp_ll);
        buf *k = &d->key;
        buf_reset(k);
        int rc = buf_printf(k, "%c%s", ch->conn->v2 ? '2' : '1', ch->topic);
        for (size_t j = 0; j < ch->nids && !rc; j++)
            rc = buf_printf(k, ",%lld", ch->ids[j]);
        if (rc)
            continue;
        rt_msg *m = rt_map_get(&d->groups, k->data, k->len);
        if (!m) {
            buf p = BUF_INIT, f = BUF_INIT;
            rc = buf_puts(&p, "{\"ids\":[");
            for (size_t j = 0; j < ch->nids && !rc; j++)
                rc = buf_printf(&p, j ? ",%lld" : "%lld", ch->ids[j]);
            if (!rc) rc = buf_puts(&p, "],\"data\":");
            if (!rc) rc = buf_append(&p, c->data.data, c->data.len);
            if (!rc) rc = buf_putc(&p, '}');
            if (!rc)
                rc = rt_frame_encode(&f, ch->conn->v2, NULL, NULL, ch->topic, "postgres_changes", p.data, p.len);
            if (!rc)
                m = rt_msg_new(f.data, f.len, false);
            buf_free(&p);
            buf_free(&f);
            if (!m || rt_map_put(&d->groups, k->data, k->len, m)) {
                rt_msg_release(m);
                continue;
            }
        }
        rt_conn_send(ch->conn, m);
        RT_COUNT(d->e, deliveries, 1);
    }
    size_t it;
    for (rt_map_ent *x = rt_map_first(&d->groups, &it); x; x = rt_map_next(&d->groups, x, &it))
        rt_msg_release(x->val);
    rt_map_free(&d->groups);
    for (size_t i = 0; i < d->matched.n; i++)
        ((rt_chan *)d->matched.v[i])->mark = 0;
    d->matched.n = 0;
}

static json_t *match_doc(change *c)
{
    return c->opc == 'D' ? c->old : c->new_;
}

static void scan_vec(dctx *d, change *c, json_t *doc, rt_vec *v)
{
    for (size_t i = 0; v && i < v->n; i++)
        consider(d, c, doc, v->v[i]);
}

/* e->lock held */
static void dispatch_one(dctx *d, change *c)
{
    rt_engine *e = d->e;
    RT_COUNT(e, changes, 1);
    if (strchr(c->coll, '.'))
        return;
    json_t *doc = match_doc(c);
    rt_coll *col = rt_map_get(&e->colls, c->coll, strlen(c->coll));
    if (col) {
        scan_vec(d, c, doc, &col->rest);
        size_t it;
        for (rt_map_ent *fe = rt_map_first(&col->fields, &it); fe; fe = rt_map_next(&col->fields, fe, &it)) {
            json_t *v = json_is_object(doc) ? json_object_get(doc, fe->key) : NULL;
            if (!v || !rt_filter_canon_json(v, &d->canon))
                continue;
            buf_reset(&d->key);
            if (buf_append(&d->key, fe->key, fe->klen) || buf_putc(&d->key, '\x1f') ||
                buf_append(&d->key, d->canon.data, d->canon.len))
                continue;
            scan_vec(d, c, doc, rt_map_get(&col->eq, d->key.data, d->key.len));
        }
    }
    scan_vec(d, c, doc, &e->all_tables);
    flush(d, c, doc);
}

/* ---- the index ---- */

void rt_index_add(rt_engine *e, rt_bind *b)
{
    rt_vec *v = NULL;
    if (!b->table) {
        v = &e->all_tables;
    } else {
        rt_coll *col = rt_map_get(&e->colls, b->table, strlen(b->table));
        if (!col) {
            col = calloc(1, sizeof *col);
            if (!col || rt_map_put(&e->colls, b->table, strlen(b->table), col)) {
                free(col);
                return;
            }
        }
        if (b->f && b->f->eq >= 0) {
            const rt_cond *q = &b->f->conds[b->f->eq];
            buf k = BUF_INIT;
            if (buf_puts(&k, q->field) || buf_putc(&k, '\x1f') || buf_append(&k, q->canon, q->canon_len)) {
                buf_free(&k);
                return;
            }
            v = rt_map_get(&col->eq, k.data, k.len);
            if (!v) {
                v = calloc(1, sizeof *v);
                if (!v || rt_map_put(&col->eq, k.data, k.len, v)) {
                    free(v);
                    buf_free(&k);
                    return;
                }
            }
            uintptr_t n = (uintptr_t)rt_map_get(&col->fields, q->field, strlen(q->field));
            if (rt_map_put(&col->fields, q->field, strlen(q->field), (void *)(n + 1))) {
                buf_free(&k);
                return;
            }
            b->eqkey = buf_steal(&k, &b->eqlen);
        } else {
            v = &col->rest;
        }
        col->n++;
    }
    if (rt_vec_push(v, b))
        return; /* the binding stays unindexed (b->vec NULL): it will not deliver */
    b->vec = v;
    b->idx = v->n - 1;
}

void rt_index_remove(rt_engine *e, rt_bind *b)
{
    rt_bind *moved = rt_vec_swap_remove(b->vec, b->idx);
    if (moved)
        moved->idx = b->idx;
    if (b->table) {
        rt_coll *col = rt_map_get(&e->colls, b->table, strlen(b->table));
        if (col) {
            if (b->eqkey) {
                if (!b->vec->n) {
                    rt_map_del(&col->eq, b->eqkey, b->eqlen);
                    rt_vec_free(b->vec);
                    free(b->vec);
                }
                const char *field = b->f->conds[b->f->eq].field;
                uintptr_t n = (uintptr_t)rt_map_get(&col->fields, field, strlen(field));
                if (n <= 1)
                    rt_map_del(&col->fields, field, strlen(field));
                else
                    rt_map_put(&col->fields, field, strlen(field), (void *)(n - 1));
            }
            if (--col->n == 0) {
                rt_map_del(&e->colls, b->table, strlen(b->table));
                rt_coll_free(col);
            }
        }
    }
    b->vec = NULL;
}

void rt_coll_free(rt_coll *col)
{
    size_t i;
    for (rt_map_ent *x = rt_map_first(&col->eq, &i); x; x = rt_map_next(&col->eq, x, &i)) {
        rt_vec_free(x->val);
        free(x->val);
    }
    rt_map_free(&col->eq);
    rt_map_free(&col->fields);
    rt_vec_free(&col->rest);
    free(col);
}

/* ---- reading the log ---- */

static int64_t scalar(db_conn *rd, const char *q, int64_t fallback)
{
    sqlite3_stmt *st = db_stmt(rd, q, strlen(q), NULL);
    int64_t v = fallback;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    if (st)
        db_stmt_done(st);
    return v;
}

/* The entries (from, to] in seq order, at most BATCH, into rows: their
 * count (fewer than BATCH: the range is exhausted, or a read failed). */
static int load_batch(db_conn *rd, int64_t from, int64_t to, change *rows)
{
    static const char q[] = "SELECT seq, collection, op, doc_id, old, new, committed_ms FROM _basalt_changes "
                            "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?";
    sqlite3_stmt *st = db_stmt(rd, q, sizeof q - 1, NULL);
    int n = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int(st, 3, BATCH);
    while (n < BATCH && sqlite3_step(st) == SQLITE_ROW) {
        if (change_load(st, &rows[n]) != BS_OK) { /* out of memory: the rest on the next turn */
            change_free(&rows[n]);
            break;
        }
        n++;
    }
    db_stmt_done(st);
    return n;
}

/* ---- resume ---- */

/* e->lock held: replay (resume_from, replay_to] to one channel. */
static void replay_chan(dctx *d, rt_chan *ch)
{
    ch->replay = false;
    if (ch->resume_from >= ch->replay_to)
        return;
    RT_COUNT(d->e, replays, 1);
    if (scalar(d->rd, "SELECT MIN(seq) FROM _basalt_changes", ch->replay_to + 1) > ch->resume_from + 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "resume_from %lld is older than the retained change log; refetch",
                 (long long)ch->resume_from);
        rt_send_system(ch->conn, ch->join_ref, ch->topic, "postgres_changes", false, msg);
        return;
    }
    change rows[BATCH];
    int n = BATCH;
    for (int64_t from = ch->resume_from; n == BATCH;) {
        n = load_batch(d->rd, from, ch->replay_to, rows);
        for (int i = 0; i < n; i++) {
            if (!strchr(rows[i].coll, '.')) {
                json_t *doc = match_doc(&rows[i]);
                for (size_t j = 0; j < ch->nbinds; j++) {
                    rt_bind *b = ch->binds[j];
                    if (!b->table || strcmp(b->table, rows[i].coll) == 0)
                        consider(d, &rows[i], doc, b);
                }
                flush(d, &rows[i], doc);
            }
            from = rows[i].seq;
            change_free(&rows[i]);
        }
    }
}

static void run_replays(dctx *d)
{
    rt_engine *e = d->e;
    while (e->replays.n) {
        rt_chan *ch = e->replays.v[e->replays.n - 1];
        e->replays.n--;
        replay_chan(d, ch);
    }
}

/* ---- token expiry ---- */

static void expire(rt_engine *e)
{
    int64_t now = time_now_s(), next = INT64_MAX;
    rt_chan *ch = e->chans;
    while (ch) {
        rt_chan *nx = ch->next;
        if (ch->exp <= now)
            rt_chan_kick(e, ch, RT_REASON_EXPIRED);
        else if (ch->exp < next)
            next = ch->exp;
        ch = nx;
    }
    e->next_expiry = next;
}

/* ---- the thread ---- */

void rt_dispatch_committed(rt_engine *e, int64_t last_seq)
{
    pthread_mutex_lock(&e->wake_mu);
    if (last_seq > e->hint_seq)
        e->hint_seq = last_seq;
    e->wake = true;
    pthread_cond_signal(&e->wake_cond);
    pthread_mutex_unlock(&e->wake_mu);
}

/* The highest seq ever logged (the log may have been trimmed to empty). */
static int64_t start_seq(db_conn *rd)
{
    int64_t a = scalar(rd, "SELECT COALESCE(MAX(seq), 0) FROM _basalt_changes", 0);
    int64_t b = scalar(rd, "SELECT seq FROM sqlite_sequence WHERE name = '_basalt_changes'", 0);
    return a > b ? a : b;
}

/* Sleep until a commit, a stop, a rules change or the earliest token
 * expiry; more: the last batch was full, do not sleep.  Takes the wake-up
 * (*hint: the last seq committed, *recheck: the rules changed) and returns
 * whether to stop. */
static bool wait_for_work(rt_engine *e, bool more, int64_t *hint, bool *recheck)
{
    pthread_mutex_lock(&e->lock);
    int64_t due = e->next_expiry;
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_lock(&e->wake_mu);
    while (!e->stop && !e->wake && !more && e->hint_seq <= e->dispatched_seq && due > time_now_s()) {
        if (due == INT64_MAX) {
            pthread_cond_wait(&e->wake_cond, &e->wake_mu);
        } else {
            struct timespec ts = {(time_t)due, 0};
            pthread_cond_timedwait(&e->wake_cond, &e->wake_mu, &ts);
        }
    }
    bool stop = e->stop;
    *recheck = e->rules_changed;
    *hint = e->hint_seq;
    e->wake = false;
    e->rules_changed = false;
    pthread_mutex_unlock(&e->wake_mu);
    return stop;
}

/* e->lock held: the pending resumes, then the n rows read, then expired
 * tokens. */
static void dispatch_batch(dctx *d, change *rows, int n, int64_t hint)
{
    rt_engine *e = d->e;
    run_replays(d); /* joins that came in while reading go first */
    for (int i = 0; i < n; i++) {
        dispatch_one(d, &rows[i]);
        e->dispatched_seq = rows[i].seq;
        change_free(&rows[i]);
    }
    if (n == 0 && hint > e->dispatched_seq)
        e->dispatched_seq = hint; /* nothing there (trimmed): do not spin */
    if (e->next_expiry <= time_now_s())
        expire(e);
}

/* Before the first wait: where the log stands (under e->lock, so joins see
 * it), then tell rt_dispatch_start the thread is ready. */
static void disp_ready(rt_engine *e, db_conn *rd)
{
    pthread_mutex_lock(&e->lock);
    e->dispatched_seq = rd ? start_seq(rd) : 0;
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_lock(&e->wake_mu);
    e->hint_seq = e->dispatched_seq;
    e->ready = true;
    pthread_cond_broadcast(&e->wake_cond);
    pthread_mutex_unlock(&e->wake_mu);
}

static void *disp_main(void *arg)
{
    rt_engine *e = arg;
    dctx d = {e, NULL, RT_VEC_INIT, RT_MAP_INIT, BUF_INIT, BUF_INIT};
    d.rd = db_reader(e->app->store);
    disp_ready(e, d.rd);
    if (!d.rd) {
        log_error("realtime: the dispatcher has no read connection; postgres_changes are off");
        return NULL;
    }
    change *rows = calloc(BATCH, sizeof *rows);
    bool more = false, recheck;
    int64_t hint;
    while (rows && !wait_for_work(e, more, &hint, &recheck)) {
        if (recheck)
            rt_auth_recheck_all(e);
        /* read the next batch without holding the engine lock (only this
         * thread writes dispatched_seq) */
        int n = hint > e->dispatched_seq ? load_batch(d.rd, e->dispatched_seq, INT64_MAX, rows) : 0;
        pthread_mutex_lock(&e->lock);
        dispatch_batch(&d, rows, n, hint);
        pthread_mutex_unlock(&e->lock);
        more = n == BATCH;
    }
    free(rows);
    rt_vec_free(&d.matched);
    buf_free(&d.key);
    buf_free(&d.canon);
    return NULL;
}

void rt_dispatch_external(rt_engine *e, db_conn *w)
{
    rt_auth_reload(e, w);
    pthread_mutex_lock(&e->wake_mu);
    e->rules_changed = true;
    e->wake = true;
    pthread_cond_signal(&e->wake_cond);
    pthread_mutex_unlock(&e->wake_mu);
}

int rt_dispatch_start(rt_engine *e)
{
    if (pthread_create(&e->disp, NULL, disp_main, e) != 0)
        return BS_ENOMEM;
    e->disp_started = true;
    pthread_mutex_lock(&e->wake_mu);
    while (!e->ready)
        pthread_cond_wait(&e->wake_cond, &e->wake_mu);
    pthread_mutex_unlock(&e->wake_mu);
    return BS_OK;
}

void rt_dispatch_stop(rt_engine *e)
{
    if (!e->disp_started)
        return;
    pthread_mutex_lock(&e->wake_mu);
    e->stop = true;
    pthread_cond_signal(&e->wake_cond);
    pthread_mutex_unlock(&e->wake_mu);
    pthread_join(e->disp, NULL);
    e->disp_started = false;
}
