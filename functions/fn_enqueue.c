/* fn_enqueue.c - putting async jobs into _basalt_fn_jobs (see fn_queue.c
 * for how they run).
 *
 * A change observer (fn_queue_observe) runs on the writer thread inside
 * the transaction of every change-log append; for each async trigger that
 * matches it inserts a row, so a job exists exactly when its change
 * committed.  Async invokes and schedule fires insert through db_write
 * (fn_job_enqueue) and wake the workers themselves.
 */
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "db/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fn_job_insert(db_conn *w, const char *function, int kind, const char *event, const char *order_key, int64_t run_at,
                  char uid_out[40])
{
    static const char q[] = "INSERT INTO _basalt_fn_jobs(uid, function, kind, event, order_key, attempt, run_at_ms, "
                            "created_ms) VALUES(?,?,?,?,?,0,?,?)";
    char uid[UUID_STR_LEN + 1];
    if (uuid_v7(uid) != BS_OK)
        return BS_EIO;
    int64_t now = time_now_ms();
    const db_bind v[] = {fn_sql_text(uid),   fn_sql_text(function),  fn_sql_int(kind),
                         fn_sql_text(event), fn_sql_text(order_key), fn_sql_int(run_at ? run_at : now),
                         fn_sql_int(now)};
    int rc = fn_sql_run(w, q, sizeof q - 1, v, FN_COUNT(v), NULL);
    if (!rc && uid_out)
        memcpy(uid_out, uid, sizeof uid);
    return rc;
}

/* Events are built member by member: key (with its leading '{' or ',' and
 * trailing ':') then the value, as raw JSON text or a JSON string (NULL:
 * null).  Nothing is written when rc, an earlier failure, is set. */
static int put_raw(buf *b, int rc, const char *key, const char *json)
{
    if (!rc)
        rc = buf_puts(b, key);
    return rc ? rc : buf_puts(b, json ? json : "null");
}

static int put_str(buf *b, int rc, const char *key, const char *s)
{
    if (!rc)
        rc = buf_puts(b, key);
    if (rc)
        return rc;
    return s ? buf_json_str(b, s, strlen(s)) : buf_puts(b, "null");
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

/* One change as the triggers see it, with what matching it builds: the
 * job's event (ev) and its order key (key, empty: none). */
typedef struct change {
    const db_change *ch;
    bool is_storage, is_users, is_events;
    json_t *obj; /* the storage object or auth event row, parsed once */
    buf ev, key;
} change;

/* The JSON text of the change's row a storage or auth trigger reads,
 * parsed on first use (NULL when it is not JSON). */
static json_t *change_obj(change *c, const char *text, size_t flags)
{
    if (!c->obj) {
        json_error_t je;
        /* a row the server wrote (st_object_change_json, an auth event; a
         * storage object's metadata was admitted at most JSONIN_MAX_DEPTH
         * deep) */
        c->obj = json_loads(text ? text : "null", flags, &je);
    }
    return c->obj;
}

static int document_event(change *c, const fn_trig *t, int *kind)
{
    const db_change *ch = c->ch;
    if (c->is_storage || c->is_users || c->is_events || strcasecmp(t->source, ch->collection) != 0)
        return BS_OK;
    unsigned bit = ch->op[0] == 'I' ? BASALT_INSERT : ch->op[0] == 'U' ? BASALT_UPDATE : BASALT_REMOVE;
    if (t->flags && !(t->flags & bit))
        return BS_OK;
    if (t->filter && !fn_filter_match(t->filter, ch->new_doc ? ch->new_doc : ch->old_doc))
        return BS_OK;
    *kind = BASALT_EVENT_DOCUMENT;
    buf *ev = &c->ev;
    int rc = put_str(ev, BS_OK, "{\"collection\":", ch->collection);
    rc = put_str(ev, rc, ",\"op\":", ch->op);
    rc = put_str(ev, rc, ",\"doc_id\":", ch->doc_id);
    rc = put_raw(ev, rc, ",\"old\":", ch->old_doc);
    rc = put_raw(ev, rc, ",\"new\":", ch->new_doc);
    if (!rc)
        rc = buf_printf(ev, ",\"seq\":%lld,\"committed_ms\":%lld}", (long long)ch->seq, (long long)ch->committed_ms);
    if (!rc)
        rc = buf_printf(&c->key, "%s\x1f%s", ch->collection, ch->doc_id);
    return rc;
}

static int storage_event(change *c, const fn_trig *t, int *kind)
{
    const db_change *ch = c->ch;
    if (!c->is_storage || ch->op[0] == 'U')
        return BS_OK;
    bool created = ch->op[0] == 'I';
    if (t->flags && !(t->flags & (created ? BASALT_CREATED : BASALT_DELETED)))
        return BS_OK;
    const char *row = created ? ch->new_doc : ch->old_doc;
    json_t *obj = change_obj(c, row, 0);
    const char *bucket = json_string_value(json_object_get(obj, "bucket"));
    const char *name = json_string_value(json_object_get(obj, "name"));
    if (!bucket || !name || strcmp(bucket, t->source) != 0)
        return BS_OK;
    if ((t->prefix && strncmp(name, t->prefix, strlen(t->prefix)) != 0) || (t->suffix && !ends_with(name, t->suffix)))
        return BS_OK;
    json_t *size = json_object_get(obj, "size");
    const char *ctype = json_string_value(json_object_get(obj, "content_type"));
    *kind = BASALT_EVENT_STORAGE;
    buf *ev = &c->ev;
    int rc = buf_printf(ev, "{\"op\":\"%s\"", created ? "created" : "deleted");
    rc = put_str(ev, rc, ",\"bucket\":", bucket);
    rc = put_str(ev, rc, ",\"name\":", name);
    if (!rc)
        rc = buf_printf(ev, ",\"size\":%lld", json_is_integer(size) ? (long long)json_integer_value(size) : -1LL);
    rc = put_str(ev, rc, ",\"content_type\":", ctype ? ctype : "");
    rc = put_raw(ev, rc, ",\"object\":", row);
    if (!rc)
        rc = buf_printf(ev, ",\"seq\":%lld}", (long long)ch->seq);
    if (!rc)
        rc = buf_printf(&c->key, "storage\x1f%s/%s", bucket, name);
    return rc;
}

/* Which auth event the change is (*bit), with the user row it carries
 * (may be NULL); NULL when it is none. */
static const char *auth_event_of(change *c, unsigned *bit, const char **user_json)
{
    const db_change *ch = c->ch;
    *user_json = NULL;
    if (c->is_users && ch->op[0] == 'I') {
        *bit = BASALT_USER_CREATED;
        *user_json = ch->new_doc;
        return "user.created";
    }
    if (c->is_users && ch->op[0] == 'D') {
        *bit = BASALT_USER_DELETED;
        *user_json = ch->old_doc;
        return "user.deleted";
    }
    if (!c->is_events || ch->op[0] != 'I')
        return NULL;
    const char *e = json_string_value(json_object_get(change_obj(c, ch->new_doc, JSON_DECODE_ANY), "event"));
    if (!e || strcmp(e, "recovery_requested") != 0)
        return NULL;
    *bit = BASALT_RECOVERY;
    return "recovery_requested";
}

static int auth_event(change *c, const fn_trig *t, int *kind)
{
    const db_change *ch = c->ch;
    unsigned bit = 0;
    const char *user_json;
    const char *event = auth_event_of(c, &bit, &user_json);
    if (!event || (t->flags && !(t->flags & bit)))
        return BS_OK;
    *kind = BASALT_EVENT_AUTH;
    buf *ev = &c->ev;
    int rc = buf_printf(ev, "{\"event\":\"%s\"", event);
    rc = put_str(ev, rc, ",\"user_id\":", ch->doc_id);
    if (user_json)
        rc = put_raw(ev, rc, ",\"user\":", user_json);
    rc = put_raw(ev, rc, ",\"data\":", ch->new_doc ? ch->new_doc : ch->old_doc);
    if (!rc)
        rc = buf_printf(ev, ",\"seq\":%lld}", (long long)ch->seq);
    return rc;
}

/* Match t against the change: *kind 0 when it does not match, else the
 * job's kind with c->ev and c->key built. */
static int trigger_event(change *c, const fn_trig *t, int *kind)
{
    *kind = 0;
    buf_reset(&c->ev);
    buf_reset(&c->key);
    switch (t->kind) {
    case BASALT_TRIGGER_DOCUMENT: return document_event(c, t, kind);
    case BASALT_TRIGGER_STORAGE: return storage_event(c, t, kind);
    case BASALT_TRIGGER_AUTH: return auth_event(c, t, kind);
    default: return BS_OK;
    }
}

int fn_queue_observe(db_conn *w, const db_change *ch, fn_registry *reg)
{
    change c = {ch,
                strcmp(ch->collection, "storage.objects") == 0,
                strcmp(ch->collection, "auth.users") == 0,
                strcmp(ch->collection, "auth.events") == 0,
                NULL,
                BUF_INIT,
                BUF_INIT};
    int rc = BS_OK;
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = 0; i < reg->ntrigs && !rc; i++) {
        const fn_trig *t = &reg->trigs[i];
        if (!atomic_load_explicit(&t->e->eff_enabled, memory_order_relaxed))
            continue;
        int kind;
        rc = trigger_event(&c, t, &kind);
        if (!rc && kind)
            rc = fn_job_insert(w, t->e->name, kind, c.ev.data, c.key.len ? c.key.data : NULL, 0, NULL);
    }
    pthread_rwlock_unlock(&reg->lock);
    json_decref(c.obj);
    buf_free(&c.ev);
    buf_free(&c.key);
    if (rc)
        log_error("functions: could not queue a job for %s %s %s: %s", ch->collection, ch->op, ch->doc_id,
                  basalt_strerror(rc));
    return rc;
}

typedef struct ins_arg {
    const char *function;
    int kind;
    const char *event;
    char uid[40];
} ins_arg;

static int w_insert(db_conn *w, void *arg)
{
    ins_arg *a = arg;
    return fn_job_insert(w, a->function, a->kind, a->event, NULL, 0, a->uid);
}

int fn_job_enqueue(fn_registry *reg, const char *function, int kind, const char *event, char uid[40])
{
    ins_arg a = {function, kind, event, ""};
    int rc = db_write(reg->app->store, w_insert, &a);
    if (!rc && uid)
        memcpy(uid, a.uid, 40);
    return rc;
}

int fn_queue_invoke(fn_registry *reg, const char *function, const char *payload, const char *caller, char uid[40])
{
    buf ev = BUF_INIT;
    int rc = put_raw(&ev, BS_OK, "{\"payload\":", payload && *payload ? payload : "null");
    rc = put_str(&ev, rc, ",\"caller\":", caller ? caller : "");
    if (!rc)
        rc = buf_putc(&ev, '}');
    if (!rc)
        rc = fn_job_enqueue(reg, function, BASALT_EVENT_INVOKE, ev.data, uid);
    buf_free(&ev);
    if (!rc)
        fn_queue_kick(reg);
    return rc;
}
