/* migrate.c - see migrate.h. */
#include "db/migrate.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int db_migrate_list(db_conn *w, const char *scope, const db_migration *list, size_t n, buf *msg)
{
    int rc = BS_OK;
    for (size_t i = 0; i < n && rc == BS_OK; i++) {
        char sum[65];
        sha256_hex(list[i].sql, list[i].len, sum);
        const char *q = "SELECT checksum FROM _basalt_migrations WHERE scope=? AND name=?";
        sqlite3_stmt *st = db_stmt(w, q, strlen(q), msg);
        if (!st)
            return BS_EDB;
        sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, list[i].name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const char *have = (const char *)sqlite3_column_text(st, 0);
            if (!have || strcmp(have, sum) != 0) {
                buf_printf(msg,
                           "%s migration %s was changed after it was applied (recorded sha256 %.12s…, file "
                           "now %.12s…); restore the file or add a new migration instead",
                           scope, list[i].name, have ? have : "?", sum);
                rc = BS_ECHANGED;
            }
            db_stmt_done(st);
            continue;
        }
        db_stmt_done(st);
        if (step != SQLITE_DONE)
            return BS_EDB;
        if (db_exec(w, "BEGIN IMMEDIATE", msg))
            return BS_EDB;
        char *sql = malloc(list[i].len + 1);
        if (!sql) {
            db_exec(w, "ROLLBACK", NULL);
            return BS_ENOMEM;
        }
        memcpy(sql, list[i].sql, list[i].len);
        sql[list[i].len] = '\0';
        buf err = BUF_INIT;
        rc = db_exec(w, sql, &err);
        free(sql);
        if (rc) {
            buf_printf(msg, "%s migration %s failed: %s", scope, list[i].name, buf_cstr(&err));
            buf_free(&err);
            db_exec(w, "ROLLBACK", NULL);
            return BS_EDB;
        }
        buf_free(&err);
        char now[32];
        time_iso_now(now);
        const char *ins = "INSERT INTO _basalt_migrations(scope,name,checksum,applied_at) VALUES(?,?,?,?)";
        st = db_stmt(w, ins, strlen(ins), msg);
        if (!st) {
            db_exec(w, "ROLLBACK", NULL);
            return BS_EDB;
        }
        sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, list[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sum, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        db_stmt_done(st);
        if (step != SQLITE_DONE || db_exec(w, "COMMIT", msg)) {
            db_exec(w, "ROLLBACK", NULL);
            return BS_EDB;
        }
        log_info("applied %s migration %s", scope, list[i].name);
    }
    return rc;
}

static int cmp_mig(const void *a, const void *b)
{
    return strcmp(((const db_migration *)a)->name, ((const db_migration *)b)->name);
}

static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return BS_EIO;
    buf b = BUF_INIT;
    char tmp[8192];
    size_t n;
    int rc = BS_OK;
    while (rc == BS_OK && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = buf_append(&b, tmp, n);
    if (ferror(f))
        rc = BS_EIO;
    fclose(f);
    if (rc) {
        buf_free(&b);
        return rc;
    }
    if (!b.data && buf_reserve(&b, 0) != BS_OK)
        return BS_ENOMEM;
    *data = buf_steal(&b, len);
    return BS_OK;
}

static int migrate_dir(db_conn *w, const char *dir, buf *msg)
{
    DIR *d = opendir(dir);
    if (!d) {
        buf_printf(msg, "cannot open migrations directory %s", dir);
        return BS_EIO;
    }
    db_migration *list = NULL;
    size_t n = 0, cap = 0;
    int rc = BS_OK;
    struct dirent *e;
    while (rc == BS_OK && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".sql") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            db_migration *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = BS_ENOMEM;
                break;
            }
            list = nl;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *data = NULL;
        size_t len = 0;
        if (read_file(path, &data, &len) != BS_OK) {
            buf_printf(msg, "cannot read migration %s", path);
            rc = BS_EIO;
            break;
        }
        list[n].name = strdup(e->d_name);
        list[n].sql = data;
        list[n].len = len;
        n++;
        if (!list[n - 1].name)
            rc = BS_ENOMEM;
    }
    closedir(d);
    if (rc == BS_OK) {
        qsort(list, n, sizeof *list, cmp_mig);
        rc = db_migrate_list(w, "app", list, n, msg);
    }
    for (size_t i = 0; i < n; i++) {
        free((char *)list[i].name);
        free((char *)list[i].sql);
    }
    free(list);
    return rc;
}

int db_migrate(db_conn *w, const char *app_dir, const db_sqlfns *fns, size_t nfns, buf *msg)
{
    if (db_exec(w,
                "CREATE TABLE IF NOT EXISTS _basalt_migrations(scope TEXT NOT NULL, name TEXT NOT NULL, "
                "checksum TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY(scope, name))",
                msg))
        return BS_EDB;
    size_t n = 0;
    while (db_system_migrations[n].name)
        n++;
    int rc = db_migrate_list(w, "system", db_system_migrations, n, msg);
    if (rc == BS_OK && app_dir) {
        for (size_t i = 0; i < nfns && rc == BS_OK; i++)
            if (fns[i].for_migrations)
                rc = fns[i].for_migrations(w);
        if (rc == BS_OK)
            rc = migrate_dir(w, app_dir, msg);
    }
    return rc;
}

void db_migrate_fn_result(sqlite3_context *ctx, const char *fname, int rc, const char *msg)
{
    if (rc == BS_OK) {
        sqlite3_result_int(ctx, 1);
        return;
    }
    buf full = BUF_INIT;
    if (buf_printf(&full, "%s: %s", fname, msg && *msg ? msg : basalt_strerror(rc)) == BS_OK)
        sqlite3_result_error(ctx, buf_cstr(&full), -1);
    else
        sqlite3_result_error_nomem(ctx);
    buf_free(&full);
}

json_t *db_migrate_fn_json(sqlite3_value *v)
{
    const char *text = (const char *)sqlite3_value_text(v);
    json_t *j = NULL;
    if (text)
        jsonin_parses(text, JSONIN_ANY_SIZE, 0, &j, NULL, 0);
    return j;
}
