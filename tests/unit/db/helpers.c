/* Tests of the one-parameter statement helpers of server/db/store.c
 * (db_exists, db_exec_arg) and the migration SQL function helpers of
 * server/db/migrate.c (db_migrate_fn_json, db_migrate_fn_result), on a
 * store in a temp directory. */
#include "../test.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256];
static char g_path[300];

/* f(x): 1 when x is a JSON object, else the error "f: not an object"; g(x):
 * the error of a failure with no message (its code's text). */
static void fn_f(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    json_t *j = db_migrate_fn_json(argv[0]);
    db_migrate_fn_result(ctx, "f", json_is_object(j) ? BS_OK : BS_EINVAL, "not an object");
    json_decref(j);
}

static void fn_g(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    db_migrate_fn_result(ctx, "g", BS_ENOTFOUND, "");
}

static int register_fns(db_conn *w)
{
    sqlite3 *db = db_conn_handle(w);
    int rc = sqlite3_create_function(db, "f", 1, SQLITE_UTF8, NULL, fn_f, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "g", 1, SQLITE_UTF8, NULL, fn_g, NULL, NULL);
    return rc == SQLITE_OK ? BS_OK : BS_EDB;
}

/* Open the store, run fn in one write, close it: fn's code, or the
 * open's. */
static int on_writer(db_write_fn fn, void *arg)
{
    db_options o = {.path = g_path, .durability_full = true};
    db_store *s = NULL;
    buf msg = BUF_INIT;
    int rc = db_open(&o, &s, &msg);
    if (rc)
        fprintf(stderr, "db_open: %s\n", buf_cstr(&msg));
    buf_free(&msg);
    if (rc == BS_OK)
        rc = db_write(s, fn, arg);
    db_close(s);
    return rc;
}

/* What the writer saw; checked on the test's thread (ASSERT returns
 * void, so it cannot run inside a db_write callback). */
typedef struct seen {
    int create, ins_a, ins_null;
    int ex_a, ex_b, ex_null;
    bool found_a, found_b, found_null;
    int del, del_changes, ex_gone;
    bool found_gone;
    int ex_bad, exec_bad, exec_rows;
    bool found_bad;
} seen;

static int exec_and_exists(db_conn *w, void *arg)
{
    seen *v = arg;
    v->create = db_exec(w, "CREATE TABLE t(k TEXT)", NULL);
    v->ins_a = db_exec_arg(w, "INSERT INTO t(k) VALUES(?)", "a");
    v->ins_null = db_exec_arg(w, "INSERT INTO t(k) VALUES(?)", NULL);
    v->ex_a = db_exists(w, "SELECT 1 FROM t WHERE k=?", "a", &v->found_a);
    v->ex_b = db_exists(w, "SELECT 1 FROM t WHERE k=?", "b", &v->found_b);
    v->ex_null = db_exists(w, "SELECT 1 FROM t WHERE k IS ?", NULL, &v->found_null);
    v->del = db_exec_arg(w, "DELETE FROM t WHERE k=?", "a");
    v->del_changes = sqlite3_changes(db_conn_handle(w));
    v->ex_gone = db_exists(w, "SELECT 1 FROM t WHERE k=?", "a", &v->found_gone);
    v->found_bad = true;
    v->ex_bad = db_exists(w, "SELECT 1 FROM nowhere WHERE k=?", "a", &v->found_bad);
    v->exec_bad = db_exec_arg(w, "INSERT INTO nowhere VALUES(?)", "a");
    v->exec_rows = db_exec_arg(w, "SELECT k FROM t WHERE k IS ?", NULL);
    return BS_OK;
}

/* The text of SELECT sql's first column, or its error message. */
static void select_text(db_conn *w, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = db_stmt(w, sql, strlen(sql), NULL);
    int step = st ? sqlite3_step(st) : SQLITE_ERROR;
    const char *t = step == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db_conn_handle(w));
    snprintf(out, cap, "%s", t ? t : "(null)");
    db_stmt_done(st);
}

typedef struct results {
    char object[200], array[200], bad[200], null[200], code[200];
} results;

static int fn_results(db_conn *w, void *arg)
{
    results *v = arg;
    if (register_fns(w))
        return BS_EDB;
    select_text(w, "SELECT f('{\"a\":1}')", v->object, sizeof v->object);
    select_text(w, "SELECT f('[1]')", v->array, sizeof v->array);
    select_text(w, "SELECT f('{bad')", v->bad, sizeof v->bad);
    select_text(w, "SELECT f(NULL)", v->null, sizeof v->null);
    select_text(w, "SELECT g(1)", v->code, sizeof v->code);
    return BS_OK;
}

TEST(exists_and_exec_arg)
{
    seen v = {0};
    ASSERT_EQ_INT(on_writer(exec_and_exists, &v), BS_OK);
    ASSERT_EQ_INT(v.create, BS_OK);
    ASSERT_EQ_INT(v.ins_a, BS_OK);
    ASSERT_EQ_INT(v.ins_null, BS_OK);
    ASSERT_EQ_INT(v.ex_a, BS_OK);
    ASSERT(v.found_a);
    ASSERT_EQ_INT(v.ex_b, BS_OK);
    ASSERT(!v.found_b);
    ASSERT_EQ_INT(v.ex_null, BS_OK);
    ASSERT(v.found_null);
    ASSERT_EQ_INT(v.del, BS_OK);
    ASSERT_EQ_INT(v.del_changes, 1);
    ASSERT_EQ_INT(v.ex_gone, BS_OK);
    ASSERT(!v.found_gone);
    /* a statement that does not prepare */
    ASSERT_EQ_INT(v.ex_bad, BS_EDB);
    ASSERT(!v.found_bad);
    ASSERT_EQ_INT(v.exec_bad, BS_EDB);
    /* a statement that returns rows is not one for db_exec_arg */
    ASSERT_EQ_INT(v.exec_rows, BS_EDB);
}

TEST(migration_function_results)
{
    results v = {0};
    ASSERT_EQ_INT(on_writer(fn_results, &v), BS_OK);
    ASSERT_EQ_STR(v.object, "1");
    ASSERT_EQ_STR(v.array, "f: not an object");
    ASSERT_EQ_STR(v.bad, "f: not an object");
    ASSERT_EQ_STR(v.null, "f: not an object");
    char want[200];
    snprintf(want, sizeof want, "g: %s", basalt_strerror(BS_ENOTFOUND));
    ASSERT_EQ_STR(v.code, want);
}

TEST(setup_dir)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/basalt-db-helpers-XXXXXX");
    ASSERT(mkdtemp(g_dir) != NULL);
    snprintf(g_path, sizeof g_path, "%s/h.db", g_dir);
}

TEST(teardown_dir)
{
    const char *sfx[] = {"", "-wal", "-shm"};
    char p[320];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", g_path, sfx[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

TEST_MAIN(T(setup_dir), T(exists_and_exec_arg), T(migration_function_results), T(teardown_dir))
