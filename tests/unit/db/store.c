/* Tests of server/db/store.c (writer, group commit), migrate.c and
 * collections.c against a real database file in a temp directory. */
#include "../test.h"
#include "core/arena.h"
#include "core/error.h"
#include "db/changelog.h"
#include "rest/collections.h"
#include "db/ident.h"
#include "db/migrate.h"
#include "rest/query.h"
#include "rest/doccheck.h"
#include "db/store.h"

#include <pthread.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

static char g_dir[256];

/* what the server registers: the query compiler's JSON functions, and
 * basalt_create_collection for app migrations */
static const db_sqlfns rest_fns[] = {{rest_query_register_functions, rest_coll_register_functions}};

static db_store *open_store(const char *name, const char *app_dir, int batch)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    db_options o = {.path = path, .app_migrations = app_dir, .durability_full = true, .writer_batch = batch,
                    .sqlfns = rest_fns, .nsqlfns = 1};
    db_store *s = NULL;
    buf msg = BUF_INIT;
    int rc = db_open(&o, &s, &msg);
    if (rc)
        fprintf(stderr, "db_open: %s\n", buf_cstr(&msg));
    buf_free(&msg);
    return s;
}

typedef struct ins_arg {
    int n;
    bool fail;
} ins_arg;

static int insert_fn(db_conn *w, void *arg)
{
    ins_arg *a = arg;
    char id[32], doc[64];
    snprintf(id, sizeof id, "d%d", a->n);
    snprintf(doc, sizeof doc, "{\"id\":\"%s\",\"n\":%d}", id, a->n);
    const char *q = "INSERT INTO \"things\"(id, data, created_at, updated_at) VALUES(?, ?, 'x', 'x')";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, doc, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (!rc)
        rc = db_changelog_append(w, "things", "INSERT", id, NULL, doc, 1);
    /* a failing request fails after writing: its SAVEPOINT must undo it */
    return a->fail ? BS_ECONSTRAINT : rc;
}

static int create_fn(db_conn *w, void *arg)
{
    buf msg = BUF_INIT;
    int rc = rest_coll_create(w, (const char *)arg, NULL, &msg);
    buf_free(&msg);
    return rc;
}

typedef struct thr {
    db_store *s;
    int base, count, fail_every;
    int ok, failed;
} thr;

static void *writer_thread(void *p)
{
    thr *t = p;
    for (int i = 0; i < t->count; i++) {
        ins_arg a = {t->base + i, t->fail_every && (t->base + i) % t->fail_every == 0};
        int rc = db_write(t->s, insert_fn, &a);
        if (rc == BS_OK)
            t->ok++;
        else if (rc == BS_ECONSTRAINT)
            t->failed++;
    }
    return NULL;
}

static int64_t count_rows(db_store *s, const char *sql)
{
    db_conn *r = db_reader(s);
    sqlite3_stmt *st = db_stmt(r, sql, strlen(sql), NULL);
    int64_t n = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    db_stmt_done(st);
    return n;
}

TEST(writer_batches_and_isolates_failures)
{
    db_store *s = open_store("w.db", NULL, 64);
    ASSERT(s);
    ASSERT_EQ_INT(db_write(s, create_fn, "things"), BS_OK);
    enum { NT = 16, PER = 200 };
    pthread_t th[NT];
    thr t[NT];
    for (int i = 0; i < NT; i++) {
        t[i] = (thr){s, i * PER, PER, 7, 0, 0};
        pthread_create(&th[i], NULL, writer_thread, &t[i]);
    }
    int ok = 0, failed = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
        failed += t[i].failed;
    }
    /* every 7th request failed alone; its neighbours in the batch kept theirs */
    int want_failed = 0;
    for (int n = 0; n < NT * PER; n++)
        want_failed += n % 7 == 0;
    ASSERT_EQ_INT(failed, want_failed);
    ASSERT_EQ_INT(ok, NT * PER - want_failed);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM things"), ok);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM _basalt_changes WHERE collection='things'"), ok);
    /* no failed request left a row behind */
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM things WHERE json_extract(data,'$.n') % 7 = 0"), 0);
    db_close(s);
}

TEST(writes_survive_reopen)
{
    db_store *s = open_store("r.db", NULL, 8);
    ASSERT(s);
    ASSERT_EQ_INT(db_write(s, create_fn, "things"), BS_OK);
    for (int i = 0; i < 50; i++) {
        ins_arg a = {i, false};
        ASSERT_EQ_INT(db_write(s, insert_fn, &a), BS_OK);
    }
    db_close(s);
    s = open_store("r.db", NULL, 8);
    ASSERT(s);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM things"), 50);
    db_close(s);
}

/* The writer's synchronous setting as seen inside a write callback. */
static int sync_fn(db_conn *w, void *arg)
{
    sqlite3_stmt *st = db_stmt(w, "PRAGMA synchronous", 18, NULL);
    if (!st)
        return BS_EDB;
    *(int *)arg = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    db_stmt_done(st);
    return BS_OK;
}

typedef struct mix_arg {
    db_store *s;
    bool nosync;
    int bad; /* regular writes that ran unsynced */
} mix_arg;

static void *mix_thread(void *p)
{
    mix_arg *m = p;
    for (int i = 0; i < 200; i++) {
        int v = -1;
        int rc = m->nosync ? db_write_nosync(m->s, sync_fn, &v) : db_write(m->s, sync_fn, &v);
        if (rc != BS_OK || (!m->nosync && v != 2) || (m->nosync && v != 1 && v != 2))
            m->bad++;
    }
    return NULL;
}

TEST(nosync_writes_skip_only_their_own_fsync)
{
    db_store *s = open_store("n.db", NULL, 64);
    ASSERT(s);
    int v = -1;
    ASSERT_EQ_INT(db_write(s, sync_fn, &v), BS_OK);
    ASSERT_EQ_INT(v, 2); /* FULL */
    ASSERT_EQ_INT(db_write_nosync(s, sync_fn, &v), BS_OK);
    ASSERT_EQ_INT(v, 1); /* NORMAL for a batch of nosync requests only */
    ASSERT_EQ_INT(db_write(s, sync_fn, &v), BS_OK);
    ASSERT_EQ_INT(v, 2); /* restored */
    ASSERT_EQ_INT(db_write_nosync(s, create_fn, "things"), BS_OK);
    ins_arg a = {1, false};
    ASSERT_EQ_INT(db_write_nosync(s, insert_fn, &a), BS_OK);
    /* mixed traffic: a regular write never commits unsynced */
    pthread_t t[4];
    mix_arg m[4];
    for (int i = 0; i < 4; i++) {
        m[i] = (mix_arg){s, i % 2 == 0, 0};
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, mix_thread, &m[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ASSERT_EQ_INT(m[i].bad, 0);
    }
    db_close(s);
    s = open_store("n.db", NULL, 64);
    ASSERT(s);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM things"), 1);
    db_close(s);
}

TEST(write_after_close_is_refused)
{
    db_store *s = open_store("c.db", NULL, 8);
    ASSERT(s);
    db_close(s);
    db_close(NULL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

TEST(app_migrations_apply_once_and_detect_changes)
{
    char mdir[300];
    snprintf(mdir, sizeof mdir, "%s/mig", g_dir);
    mkdir(mdir, 0700);
    write_file(mdir, "0001_todos.sql",
               "SELECT basalt_create_collection('todos', '{\"indexes\":[{\"fields\":[\"owner_id\"]}]}');\n");
    write_file(mdir, "0002_extra.sql", "CREATE TABLE app_extra(x INTEGER);\n");
    db_store *s = open_store("m.db", mdir, 8);
    ASSERT(s);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM _basalt_collections WHERE name='todos'"), 1);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM _basalt_migrations WHERE scope='app'"), 2);
    ASSERT(count_rows(s, "SELECT count(*) FROM _basalt_migrations WHERE scope='system'") >= 1);
    db_close(s);
    /* reopening applies nothing twice */
    s = open_store("m.db", mdir, 8);
    ASSERT(s);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM _basalt_migrations WHERE scope='app'"), 2);
    db_close(s);
    /* an applied migration that changed stops the start with a clear message */
    write_file(mdir, "0002_extra.sql", "CREATE TABLE app_extra(x INTEGER, y TEXT);\n");
    char path[512];
    snprintf(path, sizeof path, "%s/m.db", g_dir);
    db_options o = {.path = path, .app_migrations = mdir, .durability_full = true, .writer_batch = 8};
    buf msg = BUF_INIT;
    s = NULL;
    ASSERT_EQ_INT(db_open(&o, &s, &msg), BS_ECHANGED);
    ASSERT(s == NULL);
    ASSERT_CONTAINS(buf_cstr(&msg), "0002_extra.sql");
    ASSERT_CONTAINS(buf_cstr(&msg), "changed");
    buf_free(&msg);
}

TEST(failing_migration_applies_nothing)
{
    char mdir[300];
    snprintf(mdir, sizeof mdir, "%s/bad", g_dir);
    mkdir(mdir, 0700);
    write_file(mdir, "0001_bad.sql", "CREATE TABLE half(x INTEGER);\nTHIS IS NOT SQL;\n");
    char path[512];
    snprintf(path, sizeof path, "%s/b.db", g_dir);
    db_options o = {.path = path, .app_migrations = mdir, .durability_full = true, .writer_batch = 8};
    buf msg = BUF_INIT;
    db_store *s = NULL;
    ASSERT_EQ_INT(db_open(&o, &s, &msg), BS_EDB);
    ASSERT_CONTAINS(buf_cstr(&msg), "0001_bad.sql");
    buf_free(&msg);
    /* the half-applied table must not exist */
    write_file(mdir, "0001_bad.sql", "SELECT 1;\n");
    s = open_store("b.db", mdir, 8);
    ASSERT(s);
    ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM sqlite_master WHERE name='half'"), 0);
    db_close(s);
}

struct patch {
    const char *name;
    json_t *ix;
    buf *msg;
};
static int patch_fn(db_conn *w, void *arg);

/* The index built for a collection must be the one a filter uses. */
TEST(collection_index_is_used_by_filters)
{
    db_store *s = open_store("ix.db", NULL, 8);
    ASSERT(s);
    ASSERT_EQ_INT(db_write(s, create_fn, "todos"), BS_OK);
    json_error_t je;
    json_t *ix = json_loads("[{\"fields\":[\"owner_id\"]},{\"fields\":[\"meta->>kind\",\"rank\"],\"unique\":true}]", 0, &je);
    ASSERT(ix);
    /* No reader may be open yet: EXPLAIN has no transaction step, so a
     * connection that cached the old schema would print the old plan
     * (real queries re-prepare on the schema change and are not affected). */
    buf msg = BUF_INIT;
    struct patch p = {"todos", ix, &msg};
    ASSERT_EQ_INT(db_write(s, patch_fn, &p), BS_OK);
    buf_free(&msg);
    json_decref(ix);

    arena ar = ARENA_INIT;
    http_qparam params[] = {{"owner_id", "eq.u1"}};
    rest_query *q = NULL;
    rest_qerr e;
    memset(&e, 0, sizeof e);
    ASSERT_EQ_INT(rest_query_parse(&ar, params, 1, &q, &e), BS_OK);
    buf where = BUF_INIT, sql = BUF_INIT;
    db_binds binds = {0};
    ASSERT_EQ_INT(rest_query_where(q, &ar, &where, &binds, &e), BS_OK);
    buf_printf(&sql, "EXPLAIN QUERY PLAN SELECT data FROM \"todos\" WHERE %s", buf_cstr(&where));
    sqlite3 *db = db_conn_handle(db_reader(s));
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL), SQLITE_OK);
    for (size_t i = 0; i < binds.n; i++) {
        if (binds.v[i].type == DB_BIND_INT)
            sqlite3_bind_int64(st, (int)i + 1, binds.v[i].i);
        else if (binds.v[i].type == DB_BIND_TEXT)
            sqlite3_bind_text(st, (int)i + 1, binds.v[i].s, (int)binds.v[i].n, SQLITE_STATIC);
    }
    buf plan = BUF_INIT;
    while (sqlite3_step(st) == SQLITE_ROW)
        buf_printf(&plan, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    if (!strstr(buf_cstr(&plan), "_basalt_ix_todos_0"))
        fprintf(stderr, "sql: %s\n", buf_cstr(&sql));
    ASSERT_CONTAINS(buf_cstr(&plan), "_basalt_ix_todos_0");
    buf_free(&plan);
    buf_free(&where);
    buf_free(&sql);
    arena_free(&ar);
    db_close(s);
}

static int patch_fn(db_conn *w, void *arg)
{
    struct patch *p = arg;
    int rc = rest_coll_set_indexes(w, p->name, p->ix, p->msg);
    if (rc)
        fprintf(stderr, "set_indexes: %s\n", buf_cstr(p->msg));
    return rc;
}

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/basalt-store-test-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    if (nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_dir);
}

TEST(setup_dir) { setup(); }
static void *reader_in_thread(void *arg)
{
    db_store *s = arg;
    db_conn *c = db_reader(s);
    db_reader_release();
    return c;
}

TEST(readers_are_pooled_and_bounded)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pool.db", g_dir);
    db_options o = {.path = path, .durability_full = true, .writer_batch = 8, .max_idle_readers = 2};
    db_store *s = NULL;
    ASSERT_EQ_INT(db_open(&o, &s, NULL), BS_OK);
    db_conn *a = db_reader(s);
    ASSERT(a != NULL);
    ASSERT(db_reader(s) == a); /* the thread keeps its reader until it gives it back */
    db_reader_release();
    db_reader_release();       /* holding none: a no-op */
    /* another thread is lent the same connection */
    pthread_t t;
    void *got = NULL;
    pthread_create(&t, NULL, reader_in_thread, s);
    pthread_join(t, &got);
    ASSERT(got == a);
    /* and it still works for this thread afterwards */
    db_conn *mine = db_reader(s);
    ASSERT(mine == a);
    sqlite3_stmt *st = db_stmt(mine, "SELECT 1", 8, NULL);
    ASSERT(st && sqlite3_step(st) == SQLITE_ROW);
    db_stmt_done(st);
    db_reader_release();
    db_close(s);
}

static void on_ext(void *arg, db_conn *w)
{
    (void)w;
    (*(int *)arg)++;
}

TEST(other_process_commits_fire_the_external_hook)
{
    db_store *s = open_store("ext.db", NULL, 8);
    ASSERT(s != NULL);
    int fired = 0;
    ASSERT_EQ_INT(db_add_external_hook(s, on_ext, &fired), BS_OK);
    /* our own writes do not count */
    ASSERT_EQ_INT(db_write(s, create_fn, (void *)"ours"), BS_OK);
    usleep(1300 * 1000);
    ASSERT_EQ_INT(fired, 0);
    /* another connection (as another process would) commits */
    char path[512];
    snprintf(path, sizeof path, "%s/ext.db", g_dir);
    sqlite3 *other;
    ASSERT_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 5000);
    ASSERT_EQ_INT(sqlite3_exec(other, "CREATE TABLE t_other(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    for (int i = 0; i < 30 && !fired; i++)
        usleep(100 * 1000);
    ASSERT_EQ_INT(fired, 1);
    db_remove_external_hook(s, on_ext, &fired);
    db_close(s);
}

TEST(teardown_dir) { if (!getenv("KEEP")) teardown(); else printf("kept %s\n", g_dir); }

TEST_MAIN(T(setup_dir), T(writer_batches_and_isolates_failures), T(writes_survive_reopen),
          T(nosync_writes_skip_only_their_own_fsync), T(write_after_close_is_refused), T(app_migrations_apply_once_and_detect_changes),
          T(failing_migration_applies_nothing), T(collection_index_is_used_by_filters), T(readers_are_pooled_and_bounded),
          T(other_process_commits_fire_the_external_hook), T(teardown_dir))
