/* jsondoc.c - libFuzzer target for server/db/jsondoc.c.
 *
 * Any input must canonicalise or fail cleanly.  What canonicalises must be
 * JSON that SQLite accepts, must be its own canonical form (no key left to
 * respell), and, when it is an object, every top-level key SQLite decodes
 * must be found again through db_jdoc_path_step, and merging its members
 * with themselves must give canonical JSON with no top-level key twice.  A broken property is a
 * bug, so it aborts.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "db/jsondoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *db;

static void check_paths(const buf *doc)
{
    sqlite3_stmt *keys, *find;
    if (sqlite3_prepare_v2(db, "SELECT key FROM json_each(?1)", -1, &keys, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT json_type(?1, ?2) IS NOT NULL", -1, &find, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(keys, 1, doc->data, (int)doc->len, SQLITE_STATIC);
    buf path = BUF_INIT;
    while (sqlite3_step(keys) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(keys, 0);
        size_t kn = (size_t)sqlite3_column_bytes(keys, 0);
        /* SQLite 3.40 cuts a decoded key at \u0000: such a key is not
         * reachable through its own decoding, only through ours */
        if (strstr(doc->data, "\\u0000"))
            break;
        buf_reset(&path);
        if (buf_putc(&path, '$') != BS_OK || db_jdoc_path_step(&path, k ? k : "", kn) != BS_OK)
            abort();
        sqlite3_reset(find);
        sqlite3_bind_text(find, 1, doc->data, (int)doc->len, SQLITE_STATIC);
        sqlite3_bind_text(find, 2, path.data, (int)path.len, SQLITE_STATIC);
        if (sqlite3_step(find) != SQLITE_ROW || sqlite3_column_int(find, 0) != 1)
            abort();
    }
    buf_free(&path);
    sqlite3_finalize(keys);
    sqlite3_finalize(find);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!db && sqlite3_open(":memory:", &db) != SQLITE_OK)
        abort();
    buf out = BUF_INIT, again = BUF_INIT, merged = BUF_INIT;
    db_jdoc_info info;
    if (db_jdoc_canon(&out, (const char *)data, size, &info) != BS_OK)
        goto done;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT json_valid(?1)", -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(st, 1, out.data, (int)out.len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
        abort();
    sqlite3_finalize(st);
    if (db_jdoc_canon(&again, out.data, out.len, &info) != BS_OK || info.respelled_keys != 0 ||
        again.len != out.len || memcmp(again.data, out.data, out.len) != 0)
        abort();
    if (out.data[0] == '{') {
        arena a = ARENA_INIT;
        db_jmember *m;
        size_t n, dropped;
        if (db_jdoc_members(&a, out.data, out.len, &m, &n) != BS_OK)
            abort();
        if (db_jdoc_merge(&a, &merged, m, n, m, n, &dropped) != BS_OK)
            abort();
        buf_reset(&again);
        if (db_jdoc_canon(&again, merged.data, merged.len, &info) != BS_OK || info.respelled_keys != 0)
            abort();
        /* no top-level key twice after a merge */
        db_jmember *mm;
        size_t nm;
        db_jindex ix;
        if (db_jdoc_members(&a, merged.data, merged.len, &mm, &nm) != BS_OK ||
            db_jdoc_index(&a, mm, nm, &ix) != BS_OK)
            abort();
        for (size_t i = 0; i < nm; i++)
            if (db_jdoc_find(&ix, mm[i].key.p, mm[i].key.n) != &mm[i])
                abort();
        check_paths(&out);
        arena_free(&a);
    }
done:
    buf_free(&out);
    buf_free(&again);
    buf_free(&merged);
    return 0;
}
