/* store_module.c - the store as a module: opens the database with every
 * module's SQL functions (app->sqlfns, gathered by main.c), and runs the
 * maintenance thread that trims the change log past --change-retention.
 * It starts first and stops last. */
#include "app/store_module.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/changelog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIM_EVERY_S 30
#define TRIM_BATCH 5000

typedef struct store_maint {
    bs_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
} store_maint;

typedef struct trim_arg {
    int64_t cutoff;
    int deleted;
} trim_arg;

static int trim_fn(db_conn *w, void *arg)
{
    trim_arg *t = arg;
    return db_changelog_trim(w, t->cutoff, TRIM_BATCH, &t->deleted);
}

static void *maint_main(void *arg)
{
    store_maint *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += TRIM_EVERY_S;
        pthread_cond_timedwait(&m->cond, &m->mu, &ts);
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->mu);
        trim_arg t = {time_now_ms() - m->app->cfg->change_retention_s * 1000, 0};
        do {
            t.deleted = 0;
            if (db_write(m->app->store, trim_fn, &t) != BS_OK)
                break;
        } while (t.deleted == TRIM_BATCH);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int store_open(const bs_config *cfg, const db_sqlfns *fns, size_t nfns, db_store **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/basalt.db", cfg->data_dir);
    db_options o = {.path = path,
                    .app_migrations = cfg->migrations_dir,
                    .durability_full = cfg->durability_full,
                    .writer_batch = cfg->writer_batch,
                    .sqlfns = fns,
                    .nsqlfns = nfns};
    buf msg = BUF_INIT;
    int rc = db_open(&o, out, &msg);
    if (rc)
        fprintf(stderr, "basalt: cannot open the store: %s\n", msg.len ? buf_cstr(&msg) : basalt_strerror(rc));
    buf_free(&msg);
    return rc;
}

static int start(bs_app *app)
{
    int rc = store_open(app->cfg, app->sqlfns, app->nsqlfns, &app->store);
    if (rc)
        return rc;
    store_maint *m = calloc(1, sizeof *m);
    if (!m)
        return BS_ENOMEM;
    m->app = app;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cond, NULL);
    if (pthread_create(&m->thread, NULL, maint_main, m) != 0) {
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cond);
        free(m);
        fprintf(stderr, "basalt: cannot start the maintenance thread\n");
        return BS_ENOMEM;
    }
    app->store_maint = m;
    return BS_OK;
}

static void stop(bs_app *app)
{
    store_maint *m = app->store_maint;
    if (m) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        pthread_cond_signal(&m->cond);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cond);
        free(m);
        app->store_maint = NULL;
    }
    db_close(app->store);
    app->store = NULL;
}

const bs_module store_module = {.name = "store", .start = start, .stop = stop};
