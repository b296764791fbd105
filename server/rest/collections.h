/* collections.h - creating, listing, changing and dropping collections.
 *
 * A collection is a row in _basalt_collections plus a table of the same
 * name (schema in query.h) plus expression indexes built with exactly the
 * expression the query compiler emits (db_path_value_expr), so SQLite uses
 * them.  Changes run on the writer (functions taking a writer connection)
 * inside its transaction; reads run on any reader connection.
 *
 * Specs are JSON: {"name":"todos","indexes":[{"fields":["owner_id"],
 * "unique":false}],"rules":{...}}.  Errors come back as BS_EINVAL (bad
 * name/spec; msg says what), BS_EEXISTS, BS_ENOTFOUND or BS_EDB.
 */
#ifndef BS_REST_COLLECTIONS_H
#define BS_REST_COLLECTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "db/store.h"

#define DB_COLL_MAX_INDEXES 32

/* Writer thread. spec: {"indexes":[...]} (name given separately). */
int rest_coll_create(db_conn *w, const char *name, json_t *spec, buf *msg);
/* Replace the index set. */
int rest_coll_set_indexes(db_conn *w, const char *name, json_t *indexes, buf *msg);
int rest_coll_drop(db_conn *w, const char *name, buf *msg);

/* Any connection: does it exist?  *canonical (if non-NULL) receives the
 * stored spelling of the name, copied into out_name (64 bytes). */
int rest_coll_lookup(db_conn *c, const char *name, char out_name[64]);
/* JSON of one collection / of all collections, appended to out. */
int rest_coll_get_json(db_conn *c, const char *name, buf *out);
int rest_coll_list_json(db_conn *c, buf *out);

/* Writer thread: apply a rules change to a collection.  rules is an object
 * op → rule text, or op → null to remove that op's rule (closed again);
 * ops not named keep their rule.  Every rule is parsed and checked first
 * (rules_merge): BS_EINVAL with msg ("rule for select: ... at position N")
 * and details (rule text and a caret; may be NULL), BS_ENOTFOUND.  Callers
 * invalidate the rules cache after the commit. */
int rest_coll_set_rules(db_conn *w, const char *name, json_t *rules, buf *msg, buf *details);

/* On-conflict targets: BS_OK when names[0..n) (top-level field names) are
 * exactly the fields of one unique index, as a set, or are all "id" (the
 * primary key); BS_ENOTFOUND otherwise (or n == 0), BS_EDB.  Index fields
 * that are nested paths ("meta->>k") never match.  Any connection. */
int rest_coll_unique_match(db_conn *c, const char *name, const char *const *names, size_t n);

/* Register basalt_create_collection(name, spec_json) and
 * basalt_set_rules(name, rules_json) for app migrations. */
int rest_coll_register_functions(db_conn *w);

#endif
