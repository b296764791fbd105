/* rules.h - access rules: a small expression language per collection (and
 * per storage bucket) and operation, compiled to SQL for reads and
 * evaluated in C for writes, realtime events and storage objects.
 *
 * Language (DESIGN.md §6):
 *     auth.uid == doc.owner_id || doc.public == true
 *   roots:    auth.uid, auth.role, auth.email, auth.claims.<path>
 *             doc.<path>     the stored document (reads, update, delete)
 *             new.<path>     the document being written (insert, update)
 *             object.<path>  a storage object (bucket, name, owner, size,
 *                            content_type, metadata.<path>, path[N])
 *             realtime.topic, realtime.extension, realtime.presence_key
 *                            a realtime channel (rules_realtime_* below)
 *   literals: strings '...' or "...", numbers, true, false, null
 *   operators: == != < <= > >= , in [a, b, ...], is null, is not null,
 *              && || ! and parentheses
 * A missing field reads as null.  Comparisons follow SQL-like three-valued
 * logic collapsed to false: a rule that cannot be decided denies.
 * Parse errors report a 1-based character position.  Depth and size are
 * bounded (RULES_MAX_DEPTH, RULES_MAX_LEN).
 *
 * Ownership: a rules_expr is immutable after rules_parse and may be shared
 * by any threads; rules_free(NULL) is a no-op.
 */
#ifndef BS_RULES_H
#define BS_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "db/binds.h"

#define RULES_MAX_DEPTH 32
#define RULES_MAX_LEN 4096

struct auth_claims;

typedef enum { RULES_SELECT, RULES_INSERT, RULES_UPDATE, RULES_DELETE, RULES_NOPS } rules_op;

typedef struct rules_expr rules_expr;

typedef struct rules_error {
    int pos;            /* 1-based character position of the problem */
    char message[200];
} rules_error;

/* BS_OK and *out, or BS_EPARSE with err filled. */
int rules_parse(const char *text, rules_expr **out, rules_error *err);
void rules_free(rules_expr *e);

/* The realtime channel a rule is asked about (realtime.topic,
 * realtime.extension, realtime.presence_key); NULL fields read as null. */
typedef struct rules_realtime {
    const char *topic;          /* the channel name, without "realtime:" */
    const char *extension;      /* "broadcast" or "presence" */
    const char *presence_key;   /* the key a presence track is made under */
} rules_realtime;

/* What a rule may look at.  Any of doc/new_doc/object/realtime may be NULL
 * (reads as null); auth may be NULL (anonymous, role "anon"). */
typedef struct rules_env {
    const struct auth_claims *auth;
    json_t *doc;
    json_t *new_doc;
    json_t *object;
    const rules_realtime *realtime;
} rules_env;

/* True only when the rule holds. */
bool rules_eval(const rules_expr *e, const rules_env *env);

/* Append an SQL condition equivalent to the rule over the current row of a
 * collection table (doc.<path> → the same expressions as ident.h), with
 * auth.* values bound as parameters.  The same rule must give the same
 * answer here as rules_eval with env.doc = the row. */
int rules_to_sql(const rules_expr *e, const struct auth_claims *auth, arena *a, buf *sql, db_binds *binds);


/* ---- Added by the rules module (append-only below this line). ---- */

/* Reference counting: rules_parse returns one reference; rules_retain adds
 * one and rules_free drops one (the tree is freed with the last).  Any
 * thread.  rules_retain(NULL) returns NULL. */
const rules_expr *rules_retain(const rules_expr *e);

/* "select", "insert", "update", "delete" ("?" otherwise). */
const char *rules_op_name(rules_op op);
/* BS_OK and *op for one of those names, else BS_ENOTFOUND. */
int rules_op_parse(const char *name, rules_op *op);

/* rules_parse plus what the operation may reference: new.* is refused in
 * select and delete rules (there is no new document; reads are compiled to
 * SQL), object.* in every collection rule (it is for storage rules).
 * BS_EPARSE with err (position of the offending reference). */
int rules_parse_op(rules_op op, const char *text, rules_expr **out, rules_error *err);
bool rules_uses_new(const rules_expr *e);

/* rules_to_sql with a choice for new.*: when new_as_doc, new.<path> reads
 * the stored row like doc.<path> (an update's target selection, before the
 * row changes); otherwise a rule using new.* gives BS_EINVAL.  object.*
 * always gives BS_EINVAL.  The SQL reads the columns id, data of the row in
 * scope; nothing of the rule text is pasted: names go through ident.h,
 * values are bound.  auth may be NULL (anon). */
int rules_to_sql_ex(const rules_expr *e, const struct auth_claims *auth, bool new_as_doc, arena *a, buf *sql,
                    db_binds *binds);

/* Parse stored document text for rules_eval (integers beyond 64 bits fall
 * back to reals).  NULL on malformed JSON.  The caller json_decrefs. */
json_t *rules_json_load(const char *text, size_t len);

/* Validate a rules change and merge it into the current set.
 *   current: the stored object {"select": "...", ...} (NULL: none)
 *   patch:   an object op → rule text, or null to remove that op's rule
 * BS_OK and *out (a new reference: the merged object with only set ops), or
 * BS_EINVAL with msg ("rule for select: unexpected ';' at position 12") and
 * details (the rule text, a newline and a caret under the position; empty
 * for shape errors). */
int rules_merge(json_t *current, json_t *patch, json_t **out, buf *msg, buf *details);


/* The write checks of /rest/v1, on stored document texts (parsed here with
 * rules_json_load):
 *   insert (old_text NULL):  rule with doc = new = the new document
 *   update:                  rule with doc = stored, new = result, and again
 *                            with doc = new = result (a rule that speaks of
 *                            doc only must hold before and after, like a
 *                            PostgreSQL policy's USING and WITH CHECK)
 *   rule NULL:               no write check (e.g. a delete's returned row)
 * With check_select, the row handed back (new_text, else old_text) must
 * also pass `select` (NULL: closed → false).  False on malformed JSON. */
bool rules_write_allowed(const rules_expr *rule, const struct auth_claims *auth, const char *old_text,
                         const char *new_text, const rules_expr *select, bool check_select);

/* Realtime channel rules: {"select": "...", "insert": "..."} over
 * realtime.* and auth.* only (doc.*, new.*, object.* are parse errors; so
 * are update and delete).  select decides who may join a private channel
 * and receive on it, insert who may send broadcasts and track presence;
 * each is asked once per extension ('broadcast', 'presence').
 * rules_parse_realtime: rules_parse plus those checks, BS_EPARSE with err. */
int rules_parse_realtime(const char *text, rules_expr **out, rules_error *err);
/* Does the rule read realtime.presence_key (then it decides presence keys
 * itself; see docs/REALTIME.md)?  False for NULL. */
bool rules_uses_presence_key(const rules_expr *e);
/* rules_merge for the realtime rule set (ops select and insert). */
int rules_realtime_merge(json_t *current, json_t *patch, json_t **out, buf *msg, buf *details);

#endif
