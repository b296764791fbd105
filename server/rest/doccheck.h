/* doccheck.h - finding stored documents that readers would disagree about.
 *
 * Before jsondoc.h, a PATCH, an upsert or columns= with a key spelled
 * with an escape stored that key twice, so SQL (json_extract: the first
 * copy) and C (jansson: the last copy; rules, realtime, functions) read
 * different values; and a key stored spelled with an escape
 * ("caf\u00e9") is not found by SQL paths at all.  The check finds both,
 * and documents that are not JSON objects.  It repairs nothing: the next
 * write of such a key settles it (rest_write.c).
 *
 *   rest_doccheck_scan   one bounded page of one collection, in id order
 *                      (GET /admin/v1/collections/NAME/check)
 *   rest_doccheck_start  at start: every collection, on a background thread
 *                      that logs a warning per document found, so a big
 *                      database does not delay start-up
 */
#ifndef BS_REST_DOCCHECK_H
#define BS_REST_DOCCHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "db/jsondoc.h"
#include "db/store.h"

/* Called for each document found; info is NULL when the text is not a
 * JSON object.  Pointers are valid during the call.  A return other than
 * BS_OK stops the scan with that code. */
typedef int (*rest_doccheck_fn)(void *arg, const char *id, const db_jdoc_info *info);

typedef struct rest_doccheck_page {
    size_t scanned;      /* documents read */
    size_t found;        /* documents handed to fn */
    bool complete;       /* nothing after last_id */
    char last_id[256];   /* the last document read ("" when none) */
} rest_doccheck_page;

/* Read up to limit documents of collection `name` with id > after (NULL or
 * "": from the first), in id order, and call fn for each one with a
 * duplicated or escaped key or that is not a JSON object.  stop (may be
 * NULL) is polled per document.  BS_ENOTFOUND for an unknown collection,
 * BS_EDB, BS_ENOMEM, or fn's code.  Any connection. */
int rest_doccheck_scan(db_conn *c, const char *name, const char *after, size_t limit, const atomic_bool *stop,
                     rest_doccheck_fn fn, void *arg, rest_doccheck_page *page);

/* The start-up check: a thread that scans every collection in pages of
 * REST_DOCCHECK_PAGE on its own read connection (one short read transaction
 * per page, so writers and WAL checkpoints are not held up) and logs what
 * it finds (at most REST_DOCCHECK_LOG_MAX lines per collection, then a
 * count).  rest_doccheck_stop asks it to stop, waits for it, and is
 * NULL-safe; call it before the store closes.  Main thread. */
#define REST_DOCCHECK_PAGE 1000
#define REST_DOCCHECK_LOG_MAX 20
typedef struct rest_doccheck_bg rest_doccheck_bg;
/* db_open starts it when db_options.doc_check is set (the server; not the
 * short-lived tools). */
int rest_doccheck_start(db_store *s, rest_doccheck_bg **out);
void rest_doccheck_stop(rest_doccheck_bg *bg);

#endif
