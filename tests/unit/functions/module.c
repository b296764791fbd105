/* Tests of functions/fn_module.c: the module's lifetime in one process.
 * The registry is made by start and freed by stop (app->fn), the store
 * hooks are the descriptor's (arg: the app), and start / serve / drain /
 * stop runs twice with a document trigger (the audit example plugin, built
 * beside this test in functions/examples/) working each time: a change's
 * job is queued by the observer, the workers are woken by the commit hook
 * and the plugin writes through the host API. */
#include "../test.h"
#include "app/config.h"
#include "app/store_module.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/changelog.h"
#include "functions/fn.h"
#include "modules.h"
#include "rest/collections.h"
#include "rest/query.h"

#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];
static bs_config g_cfg;
static bs_app g_app;

static const db_sqlfns rest_fns[] = {{rest_query_register_functions, rest_coll_register_functions}};

/* functions/examples/audit.so beside this test's binary */
static int plugin_path(char *out, size_t n)
{
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    snprintf(out, n, "%s/functions/examples/audit.so", dirname(exe));
    return access(out, R_OK);
}

static int copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char b[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (!rc && (n = fread(b, 1, sizeof b, in)) > 0)
        rc = fwrite(b, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

TEST(setup)
{
    log_set_level(LOG_WARN);
    snprintf(g_dir, sizeof g_dir, "/tmp/basalt-fnmod-test-XXXXXX");
    ASSERT(mkdtemp(g_dir));
    char fdir[300], so[1100], dst[400];
    snprintf(fdir, sizeof fdir, "%s/functions", g_dir);
    ASSERT_EQ_INT(mkdir(fdir, 0755), 0);
    ASSERT_EQ_INT(plugin_path(so, sizeof so), 0);
    snprintf(dst, sizeof dst, "%s/audit.so", fdir);
    ASSERT_EQ_INT(copy(so, dst), 0);
    char *argv[] = {"basalt", "--data", g_dir, "--function-workers", "2"};
    bool help = false;
    ASSERT_EQ_INT(cfg_load(&g_cfg, (int)(sizeof argv / sizeof argv[0]), argv, 1, &help), BS_OK);
    g_app.cfg = &g_cfg;
    g_app.started_ms = time_now_ms();
    g_app.sqlfns = rest_fns;
    g_app.nsqlfns = 1;
    ASSERT_EQ_INT(store_module.start(&g_app), BS_OK);
}

typedef struct todo {
    int n;
} todo;

/* A document of todos, written the way /rest/v1 writes one: the row and
 * its change in one transaction. */
static int w_todo(db_conn *w, void *arg)
{
    todo *t = arg;
    buf msg = BUF_INIT;
    char canon[64];
    int rc = rest_coll_lookup(w, "todos", canon) == BS_OK ? BS_OK : rest_coll_create(w, "todos", NULL, &msg);
    buf_free(&msg);
    char id[32], doc[64];
    snprintf(id, sizeof id, "t%d", t->n);
    snprintf(doc, sizeof doc, "{\"id\":\"%s\",\"n\":%d}", id, t->n);
    static const char q[] = "INSERT INTO \"todos\"(id, data, created_at, updated_at) VALUES(?, ?, 'x', 'x')";
    sqlite3_stmt *st = rc ? NULL : db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return rc ? rc : BS_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, doc, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    return rc ? rc : db_changelog_append(w, "todos", "INSERT", id, NULL, doc, time_now_ms());
}

/* How many audit documents name todo id (the plugin's writes). */
static int audits_of(const char *id)
{
    db_conn *c = db_reader(g_app.store);
    static const char q[] = "SELECT count(*) FROM \"audit\" WHERE json_extract(data, '$.doc_id') = ?";
    sqlite3_stmt *st = c ? db_stmt(c, q, sizeof q - 1, NULL) : NULL;
    if (!st)
        return 0; /* no audit collection yet */
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    db_stmt_done(st);
    return n;
}

static int wait_audit(const char *id)
{
    for (int i = 0; i < 1000 && audits_of(id) == 0; i++)
        usleep(10000);
    return audits_of(id);
}

/* main.c's order: start, hooks, serving ... drain, unhook, stop. */
static void one_cycle(int n)
{
    const bs_module *m = &functions_module;
    ASSERT(m->observe && m->on_commit && m->drain);
    ASSERT(g_app.fn == NULL);
    ASSERT_EQ_INT(m->start(&g_app), BS_OK);
    ASSERT(g_app.fn != NULL);
    ASSERT_EQ_INT(db_add_change_observer(g_app.store, m->observe, &g_app), BS_OK);
    ASSERT_EQ_INT(db_add_commit_hook(g_app.store, m->on_commit, &g_app), BS_OK);
    ASSERT_EQ_INT(m->serving(&g_app), BS_OK);

    todo t = {n};
    ASSERT_EQ_INT(db_write(g_app.store, w_todo, &t), BS_OK);
    char id[32];
    snprintf(id, sizeof id, "t%d", n);
    ASSERT_EQ_INT(wait_audit(id), 1);
    buf out = BUF_INIT;
    ASSERT_EQ_INT(fn_metrics_render(g_app.fn, &out), BS_OK);
    /* counters belong to this start's registry */
    ASSERT_CONTAINS(buf_cstr(&out), "basalt_function_invocations_total{function=\"audit\"} 1\n");
    buf_free(&out);

    m->drain(&g_app);
    db_remove_change_observer(g_app.store, m->observe, &g_app);
    db_remove_commit_hook(g_app.store, m->on_commit, &g_app);
    m->stop(&g_app);
    ASSERT(g_app.fn == NULL);
    ASSERT_EQ_INT(fn_metrics_render(NULL, &out), BS_OK);
    ASSERT_EQ_INT(out.len, 0);
}

TEST(start_serve_stop) { one_cycle(1); }

/* a second start in the same process makes a fresh registry and hooks
 * that reach it, not the freed one */
TEST(stop_then_start_again) { one_cycle(2); }

/* with the module stopped, a change queues nothing and fails nothing */
TEST(changes_while_stopped)
{
    todo t = {3};
    ASSERT_EQ_INT(db_write(g_app.store, w_todo, &t), BS_OK);
    usleep(100000);
    ASSERT_EQ_INT(audits_of("t3"), 0);
}

/* a start that fails (no private load directory) leaves nothing to stop */
TEST(failed_start_leaves_nothing)
{
    bs_app app = g_app;
    app.fn = NULL;
    const char *tmp = getenv("TMPDIR");
    char saved[512] = "";
    if (tmp)
        snprintf(saved, sizeof saved, "%s", tmp);
    setenv("TMPDIR", "/proc/self/no-such-dir", 1);
    int rc = functions_module.start(&app);
    if (tmp)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    ASSERT_EQ_INT(rc, BS_EIO);
    ASSERT(app.fn == NULL);
    functions_module.drain(&app);
    functions_module.stop(&app);
    ASSERT(app.fn == NULL);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

TEST(teardown)
{
    if (store_module.stop)
        store_module.stop(&g_app);
    cfg_free(&g_cfg);
    if (nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_dir);
}

TEST_MAIN(T(setup), T(start_serve_stop), T(stop_then_start_again), T(changes_while_stopped),
          T(failed_start_leaves_nothing), T(teardown))
