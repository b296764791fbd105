/* fn_scheduler.c - the thread that fires schedule triggers.
 *
 * It sleeps until the next rate/cron fire (fn_sched.c computes it) of any
 * loaded schedule trigger and inserts a job for it (fn_job_enqueue), which
 * the workers (fn_queue.c) run like any other.  Missed fires while the
 * server was down are not replayed; a fire it fell behind on is skipped.
 * A reload keeps a schedule's phase (same function, same expression).
 *
 * Locks: s->lock guards the list and the flags; it is never held while
 * the registry's lock is taken or a job is inserted.
 */
#include "fn_int.h"
#include "fn_sched.h"
#include "core/error.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sched_item {
    fn_entry *e;
    char expr[208];
    fn_sched s;
    int64_t next_ms;
} sched_item;

struct fn_scheduler {
    fn_registry *reg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    bool dirty; /* the trigger snapshot changed */
    sched_item *items;
    size_t n;
    pthread_t thread;
    bool running;
};

/* The schedules of the trigger snapshot (a new array, *n items; NULL when
 * there are none or on ENOMEM). */
static sched_item *snapshot(fn_registry *reg, size_t *n)
{
    *n = 0;
    pthread_rwlock_rdlock(&reg->lock);
    size_t cap = 0;
    for (size_t i = 0; i < reg->ntrigs; i++)
        cap += reg->trigs[i].kind == BASALT_TRIGGER_SCHEDULE;
    sched_item *v = cap ? calloc(cap, sizeof *v) : NULL;
    for (size_t i = 0; i < reg->ntrigs && v; i++) {
        const fn_trig *t = &reg->trigs[i];
        if (t->kind != BASALT_TRIGGER_SCHEDULE || !t->source)
            continue;
        sched_item *it = &v[*n];
        it->e = t->e;
        snprintf(it->expr, sizeof it->expr, "%s", t->source);
        if (fn_sched_parse(it->expr, &it->s, NULL, 0) == BS_OK)
            (*n)++;
    }
    pthread_rwlock_unlock(&reg->lock);
    return v;
}

/* Take the new snapshot (s->lock held, released while reading it). */
static void rebuild(fn_scheduler *s)
{
    s->dirty = false;
    pthread_mutex_unlock(&s->lock);
    size_t n;
    sched_item *v = snapshot(s->reg, &n);
    int64_t now = time_now_ms();
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        v[i].next_ms = fn_sched_next(&v[i].s, now);
        for (size_t o = 0; o < s->n; o++) /* keep the phase across reloads */
            if (s->items[o].e == v[i].e && strcmp(s->items[o].expr, v[i].expr) == 0)
                v[i].next_ms = s->items[o].next_ms;
    }
    free(s->items);
    s->items = v;
    s->n = n;
}

/* Insert the job of a due item and move it to its next fire (s->lock
 * held, released while inserting). */
static void fire(fn_scheduler *s, sched_item *it, int64_t now)
{
    char ev[400], name[64];
    buf e = BUF_INIT;
    buf_puts(&e, "{\"expr\":");
    buf_json_str(&e, it->expr, strlen(it->expr));
    buf_printf(&e, ",\"scheduled_ms\":%lld}", (long long)it->next_ms);
    snprintf(ev, sizeof ev, "%s", buf_cstr(&e));
    buf_free(&e);
    snprintf(name, sizeof name, "%s", it->e->name);
    int64_t due = it->next_ms;
    it->next_ms = fn_sched_next(&it->s, due);
    if (it->next_ms >= 0 && it->next_ms <= now) /* fell behind: skip missed fires */
        it->next_ms = fn_sched_next(&it->s, now);
    bool enabled = atomic_load(&it->e->eff_enabled);
    pthread_mutex_unlock(&s->lock);
    if (enabled && fn_job_enqueue(s->reg, name, BASALT_EVENT_SCHEDULE, ev, NULL) == BS_OK)
        fn_queue_kick(s->reg);
    pthread_mutex_lock(&s->lock);
}

/* Fire every due item; the earliest next fire (-1: none).  Returns early
 * (with 0) when the list was rebuilt or a stop asked for meanwhile. */
static int64_t fire_due(fn_scheduler *s)
{
    int64_t now = time_now_ms(), next = -1;
    for (size_t i = 0; i < s->n; i++) {
        sched_item *it = &s->items[i];
        if (it->next_ms < 0)
            continue;
        if (it->next_ms <= now) {
            fire(s, it, now);
            if (s->dirty || s->stopping)
                return 0;
            now = time_now_ms();
            i = (size_t)-1; /* rescan from the start */
            next = -1;
            continue;
        }
        if (next < 0 || it->next_ms < next)
            next = it->next_ms;
    }
    return next;
}

static void *sched_main(void *arg)
{
    fn_scheduler *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        if (s->dirty) {
            rebuild(s);
            continue;
        }
        int64_t next = fire_due(s);
        if (s->stopping || s->dirty)
            continue;
        if (next < 0) {
            pthread_cond_wait(&s->cond, &s->lock);
        } else {
            struct timespec ts = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

void fn_scheduler_changed(fn_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
    if (reg->sched)
        fn_signal(&reg->sched->lock, &reg->sched->cond, &reg->sched->dirty);
    pthread_rwlock_unlock(&reg->lock);
}

fn_scheduler *fn_scheduler_new(fn_registry *reg)
{
    fn_scheduler *s = malloc(sizeof *s);
    if (s)
        *s = (fn_scheduler){
            .reg = reg, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .dirty = true};
    return s;
}

int fn_scheduler_run(fn_scheduler *s)
{
    s->running = pthread_create(&s->thread, NULL, sched_main, s) == 0;
    return s->running ? BS_OK : BS_ENOMEM;
}

void fn_scheduler_stop(fn_scheduler *s)
{
    if (!s)
        return;
    fn_signal(&s->lock, &s->cond, &s->stopping);
    if (s->running)
        pthread_join(s->thread, NULL);
    free(s->items);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
