/* changelog.h - the change log (outbox) of document writes.
 *
 * Every insert, update and delete appends one row to _basalt_changes in the
 * same transaction as the write, so a committed change always has its log
 * entry and a rolled-back one never does.  Realtime and triggers read it by
 * seq.  Rows older than the retention window are trimmed by
 * db_changelog_trim (run periodically through the writer).
 *
 * Threads: append and trim run on the writer thread only.
 */
#ifndef BS_DB_CHANGELOG_H
#define BS_DB_CHANGELOG_H

#include <stdint.h>

#include "db/store.h"

/* op: "INSERT", "UPDATE" or "DELETE".  old/new: document JSON or NULL.
 * Runs the store's change observers (store.h) on the new entry; their
 * failure fails the append. */
int db_changelog_append(db_conn *w, const char *collection, const char *op, const char *doc_id,
                        const char *old_doc, const char *new_doc, int64_t now_ms);
/* Like db_changelog_append, but the row stores new_doc while the change
 * observers (trigger jobs, inside this transaction) see observed_doc: for
 * an entry carrying a secret that a trigger must deliver (a one-time
 * token) and that the log, kept for the retention window and copied by
 * every backup, must not hold. */
int db_changelog_append_private(db_conn *w, const char *collection, const char *op, const char *doc_id,
                                const char *new_doc, const char *observed_doc, int64_t now_ms);
/* Delete entries committed before cutoff_ms (at most `limit` per call);
 * *deleted receives the count. */
int db_changelog_trim(db_conn *w, int64_t cutoff_ms, int limit, int *deleted);

#endif
