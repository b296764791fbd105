/* changelog.c - see changelog.h. */
#include "db/changelog.h"
#include "core/error.h"

#include <string.h>

static int append(db_conn *w, const char *collection, const char *op, const char *doc_id, const char *old_doc,
                  const char *new_doc, const char *observed_doc, int64_t now_ms)
{
    static const char q[] = "INSERT INTO _basalt_changes(collection, op, doc_id, old, new, committed_ms) "
                            "VALUES(?,?,?,?,?,?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, doc_id, -1, SQLITE_STATIC);
    if (old_doc)
        sqlite3_bind_text(st, 4, old_doc, -1, SQLITE_STATIC);
    if (new_doc)
        sqlite3_bind_text(st, 5, new_doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    db_stmt_done(st);
    if (rc == BS_OK) {
        db_change ch = {sqlite3_last_insert_rowid(db_conn_handle(w)), collection, op, doc_id, old_doc, observed_doc,
                        now_ms};
        db_conn_set_last_seq(w, ch.seq);
        rc = db_notify_observers(w, &ch);
    }
    return rc;
}

int db_changelog_append(db_conn *w, const char *collection, const char *op, const char *doc_id,
                        const char *old_doc, const char *new_doc, int64_t now_ms)
{
    return append(w, collection, op, doc_id, old_doc, new_doc, new_doc, now_ms);
}

int db_changelog_append_private(db_conn *w, const char *collection, const char *op, const char *doc_id,
                                const char *new_doc, const char *observed_doc, int64_t now_ms)
{
    return append(w, collection, op, doc_id, NULL, new_doc, observed_doc, now_ms);
}

int db_changelog_trim(db_conn *w, int64_t cutoff_ms, int limit, int *deleted)
{
    static const char q[] = "DELETE FROM _basalt_changes WHERE seq IN (SELECT seq FROM _basalt_changes "
                            "WHERE committed_ms < ? ORDER BY seq LIMIT ?)";
    sqlite3_stmt *st = db_stmt(w, q, sizeof q - 1, NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_int64(st, 1, cutoff_ms);
    sqlite3_bind_int(st, 2, limit);
    int rc = sqlite3_step(st) == SQLITE_DONE ? BS_OK : BS_EDB;
    *deleted = rc == BS_OK ? sqlite3_changes(db_conn_handle(w)) : 0;
    db_stmt_done(st);
    return rc;
}
