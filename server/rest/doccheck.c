/* doccheck.c - see doccheck.h.  Each document is rewritten canonically
 * into a scratch buffer (db_jdoc_canon), which counts duplicate and
 * respelled keys at every depth; nothing is written back. */
#include "rest/doccheck.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "rest/collections.h"
#include "db/ident.h"

int rest_doccheck_scan(db_conn *c, const char *name, const char *after, size_t limit, const atomic_bool *stop,
                     rest_doccheck_fn fn, void *arg, rest_doccheck_page *page)
{
    memset(page, 0, sizeof *page);
    char canon[64];
    if (rest_coll_lookup(c, name, canon) != BS_OK)
        return BS_ENOTFOUND;
    buf sql = BUF_INIT, scratch = BUF_INIT;
    int rc = buf_puts(&sql, "SELECT id, data FROM ");
    if (!rc)
        rc = db_ident_quote(&sql, canon);
    if (!rc)
        rc = buf_puts(&sql, " WHERE id > ? ORDER BY id LIMIT ?");
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, sql.data, sql.len, NULL);
    buf_free(&sql);
    if (!st)
        return rc ? rc : BS_EDB;
    sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    int step = SQLITE_DONE;
    while (!rc && (!stop || !atomic_load(stop)) && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *data = (const char *)sqlite3_column_text(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        db_jdoc_info info;
        page->scanned++;
        snprintf(page->last_id, sizeof page->last_id, "%s", id ? id : "");
        buf_reset(&scratch);
        int crc = data ? db_jdoc_canon(&scratch, data, len, &info) : BS_EJSON;
        if (crc == BS_ENOMEM) {
            rc = crc;
            break;
        }
        bool object = crc == BS_OK && scratch.len && scratch.data[0] == '{';
        if (!object || info.dup_keys || info.respelled_keys) {
            page->found++;
            rc = fn(arg, id ? id : "", object ? &info : NULL);
        }
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = BS_EDB;
    /* a short page is the end; a full one may be followed by more */
    page->complete = !rc && page->scanned < limit && (!stop || !atomic_load(stop));
    db_stmt_done(st);
    buf_free(&scratch);
    return rc;
}

/* ---- the start-up check ---- */

struct rest_doccheck_bg {
    db_store *s;
    pthread_t thread;
    atomic_bool stop;
};

typedef struct bg_coll {
    const char *name;
    size_t found;
} bg_coll;

static int log_found(void *arg, const char *id, const db_jdoc_info *info)
{
    bg_coll *bc = arg;
    if (++bc->found > REST_DOCCHECK_LOG_MAX)
        return BS_OK;
    if (!info)
        log_warn("db check: collection \"%s\" document \"%s\" is not a JSON object", bc->name, id);
    if (info && info->dup_keys)
        log_warn("db check: collection \"%s\" document \"%s\" holds %zu duplicate key(s), first \"%s\": SQL "
                 "filters and select= read the first copy, access rules, realtime and functions the last; "
                 "writing the key leaves one copy",
                 bc->name, id, info->dup_keys, info->dup_names[0]);
    if (info && info->respelled_keys)
        log_warn("db check: collection \"%s\" document \"%s\" spells %zu key(s) with escapes, first \"%s\": "
                 "filters and select= do not find them until the document is written again",
                 bc->name, id, info->respelled_keys, info->respelled_names[0]);
    return BS_OK;
}

/* The collection names, as a NULL-terminated array (free each, then it). */
static char **list_collections(db_conn *c)
{
    const char *q = "SELECT name FROM _basalt_collections ORDER BY name";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return NULL;
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    while (v && sqlite3_step(st) == SQLITE_ROW) {
        if (n + 1 == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && (v[n] = strdup(name)) != NULL)
            n++;
    }
    if (v)
        v[n] = NULL;
    db_stmt_done(st);
    return v;
}

static void *bg_main(void *arg)
{
    rest_doccheck_bg *bg = arg;
    db_conn *c = db_reader(bg->s);
    char **names = c ? list_collections(c) : NULL;
    if (!names) {
        db_reader_release();
        return NULL;
    }
    int64_t t0 = time_now_ms();
    size_t docs = 0, found = 0, colls = 0;
    for (char **n = names; *n && !atomic_load(&bg->stop); n++) {
        bg_coll bc = {*n, 0};
        char after[256] = "";
        rest_doccheck_page page;
        do {
            if (rest_doccheck_scan(c, *n, after, REST_DOCCHECK_PAGE, &bg->stop, log_found, &bc, &page) != BS_OK)
                break;
            docs += page.scanned;
            memcpy(after, page.last_id, sizeof after);
        } while (!page.complete && page.scanned && !atomic_load(&bg->stop));
        if (bc.found > REST_DOCCHECK_LOG_MAX)
            log_warn("db check: collection \"%s\": %zu more documents like these; GET /admin/v1/collections/%s/check "
                     "lists them",
                     *n, bc.found - REST_DOCCHECK_LOG_MAX, *n);
        found += bc.found;
        colls += bc.found != 0;
    }
    if (found)
        log_warn("db check: %zu document(s) in %zu collection(s) need attention (see above); %zu documents checked "
                 "in %lld ms",
                 found, colls, docs, (long long)(time_now_ms() - t0));
    else
        log_debug("db check: %zu documents checked in %lld ms%s", docs, (long long)(time_now_ms() - t0),
                  atomic_load(&bg->stop) ? " (stopped)" : "");
    for (char **n = names; *n; n++)
        free(*n);
    free(names);
    db_reader_release(); /* back to the pool: this thread ends here */
    return NULL;
}

int rest_doccheck_start(db_store *s, rest_doccheck_bg **out)
{
    *out = NULL;
    rest_doccheck_bg *bg = calloc(1, sizeof *bg);
    if (!bg)
        return BS_ENOMEM;
    bg->s = s;
    atomic_init(&bg->stop, false);
    if (pthread_create(&bg->thread, NULL, bg_main, bg) != 0) {
        free(bg);
        return BS_ENOMEM;
    }
    *out = bg;
    return BS_OK;
}

void rest_doccheck_stop(rest_doccheck_bg *bg)
{
    if (!bg)
        return;
    atomic_store(&bg->stop, true);
    pthread_join(bg->thread, NULL);
    free(bg);
}
