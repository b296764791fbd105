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
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    int64_t now = time_now_ms();
    sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, function, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, kind);
    sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
    if (order_key)
        sqlite3_bind_text(st, 5, order_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, run_at ? run_at : now);
    sqlite3_bind_int64(st, 7, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc && uid_out)
        memcpy(uid_out, uid, sizeof uid);
    return rc;
}

static int put_raw(buf *b, const char *json)
{
    return buf_puts(b, json ? json : "null");
}

static int put_str(buf *b, const char *s)
{
    return s ? buf_json_str(b, s, strlen(s)) : buf_puts(b, "null");
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

int fn_queue_observe(db_conn *w, const db_change *ch, void *arg)
{
    fn_registry *reg = arg;
    int rc = BS_OK;
    bool is_storage = strcmp(ch->collection, "storage.objects") == 0;
    bool is_users = strcmp(ch->collection, "auth.users") == 0;
    bool is_events = strcmp(ch->collection, "auth.events") == 0;
    json_t *obj = NULL; /* parsed storage object / auth entry, lazily */
    buf ev = BUF_INIT, key = BUF_INIT;
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = 0; i < reg->ntrigs && !rc; i++) {
        const fn_trig *t = &reg->trigs[i];
        if (!atomic_load_explicit(&t->e->eff_enabled, memory_order_relaxed))
            continue;
        buf_reset(&ev);
        buf_reset(&key);
        int kind = 0;
        if (t->kind == BASALT_TRIGGER_DOCUMENT) {
            if (is_storage || is_users || is_events || strcasecmp(t->source, ch->collection) != 0)
                continue;
            unsigned bit = ch->op[0] == 'I' ? BASALT_INSERT : ch->op[0] == 'U' ? BASALT_UPDATE : BASALT_REMOVE;
            if (t->flags && !(t->flags & bit))
                continue;
            if (t->filter && !fn_filter_match(t->filter, ch->new_doc ? ch->new_doc : ch->old_doc))
                continue;
            kind = BASALT_EVENT_DOCUMENT;
            rc = buf_puts(&ev, "{\"collection\":");
            if (!rc) rc = put_str(&ev, ch->collection);
            if (!rc) rc = buf_puts(&ev, ",\"op\":");
            if (!rc) rc = put_str(&ev, ch->op);
            if (!rc) rc = buf_puts(&ev, ",\"doc_id\":");
            if (!rc) rc = put_str(&ev, ch->doc_id);
            if (!rc) rc = buf_puts(&ev, ",\"old\":");
            if (!rc) rc = put_raw(&ev, ch->old_doc);
            if (!rc) rc = buf_puts(&ev, ",\"new\":");
            if (!rc) rc = put_raw(&ev, ch->new_doc);
            if (!rc) rc = buf_printf(&ev, ",\"seq\":%lld,\"committed_ms\":%lld}", (long long)ch->seq,
                                     (long long)ch->committed_ms);
            if (!rc) rc = buf_printf(&key, "%s\x1f%s", ch->collection, ch->doc_id);
        } else if (t->kind == BASALT_TRIGGER_STORAGE) {
            if (!is_storage || ch->op[0] == 'U')
                continue;
            bool created = ch->op[0] == 'I';
            if (t->flags && !(t->flags & (created ? BASALT_CREATED : BASALT_DELETED)))
                continue;
            if (!obj) {
                json_error_t je;
                /* the object row the server wrote (st_object_change_json;
                 * its metadata was admitted at most JSONIN_MAX_DEPTH deep) */
                obj = json_loads(created ? ch->new_doc : ch->old_doc, 0, &je);
            }
            const char *bucket = json_string_value(json_object_get(obj, "bucket"));
            const char *name = json_string_value(json_object_get(obj, "name"));
            if (!bucket || !name || strcmp(bucket, t->source) != 0)
                continue;
            if ((t->prefix && strncmp(name, t->prefix, strlen(t->prefix)) != 0) || (t->suffix && !ends_with(name, t->suffix)))
                continue;
            json_t *size = json_object_get(obj, "size");
            const char *ctype = json_string_value(json_object_get(obj, "content_type"));
            kind = BASALT_EVENT_STORAGE;
            rc = buf_printf(&ev, "{\"op\":\"%s\",\"bucket\":", created ? "created" : "deleted");
            if (!rc) rc = put_str(&ev, bucket);
            if (!rc) rc = buf_puts(&ev, ",\"name\":");
            if (!rc) rc = put_str(&ev, name);
            if (!rc) rc = buf_printf(&ev, ",\"size\":%lld,\"content_type\":", json_is_integer(size) ? (long long)json_integer_value(size) : -1LL);
            if (!rc) rc = put_str(&ev, ctype ? ctype : "");
            if (!rc) rc = buf_puts(&ev, ",\"object\":");
            if (!rc) rc = put_raw(&ev, created ? ch->new_doc : ch->old_doc);
            if (!rc) rc = buf_printf(&ev, ",\"seq\":%lld}", (long long)ch->seq);
            if (!rc) rc = buf_printf(&key, "storage\x1f%s/%s", bucket, name);
        } else if (t->kind == BASALT_TRIGGER_AUTH) {
            const char *event = NULL;
            unsigned bit = 0;
            const char *user_json = NULL;
            if (is_users && ch->op[0] == 'I') {
                event = "user.created";
                bit = BASALT_USER_CREATED;
                user_json = ch->new_doc;
            } else if (is_users && ch->op[0] == 'D') {
                event = "user.deleted";
                bit = BASALT_USER_DELETED;
                user_json = ch->old_doc;
            } else if (is_events && ch->op[0] == 'I') {
                if (!obj) {
                    json_error_t je;
                    /* an auth event row the server wrote */
                    obj = json_loads(ch->new_doc ? ch->new_doc : "null", JSON_DECODE_ANY, &je);
                }
                const char *e = json_string_value(json_object_get(obj, "event"));
                if (!e || strcmp(e, "recovery_requested") != 0)
                    continue;
                event = "recovery_requested";
                bit = BASALT_RECOVERY;
            } else {
                continue;
            }
            if (t->flags && !(t->flags & bit))
                continue;
            kind = BASALT_EVENT_AUTH;
            rc = buf_printf(&ev, "{\"event\":\"%s\",\"user_id\":", event);
            if (!rc) rc = put_str(&ev, ch->doc_id);
            if (!rc && user_json) {
                rc = buf_puts(&ev, ",\"user\":");
                if (!rc) rc = put_raw(&ev, user_json);
            }
            if (!rc) rc = buf_puts(&ev, ",\"data\":");
            if (!rc) rc = put_raw(&ev, ch->new_doc ? ch->new_doc : ch->old_doc);
            if (!rc) rc = buf_printf(&ev, ",\"seq\":%lld}", (long long)ch->seq);
        } else {
            continue;
        }
        if (!rc)
            rc = fn_job_insert(w, t->e->name, kind, ev.data, key.len ? key.data : NULL, 0, NULL);
    }
    pthread_rwlock_unlock(&reg->lock);
    json_decref(obj);
    buf_free(&ev);
    buf_free(&key);
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
    int rc = buf_puts(&ev, "{\"payload\":");
    if (!rc)
        rc = buf_puts(&ev, payload && *payload ? payload : "null");
    if (!rc)
        rc = buf_puts(&ev, ",\"caller\":");
    if (!rc)
        rc = put_str(&ev, caller ? caller : "");
    if (!rc)
        rc = buf_putc(&ev, '}');
    if (!rc)
        rc = fn_job_enqueue(reg, function, BASALT_EVENT_INVOKE, ev.data, uid);
    buf_free(&ev);
    if (!rc)
        fn_queue_kick(reg);
    return rc;
}

