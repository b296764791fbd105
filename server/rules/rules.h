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
#include "db/query.h"

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

/* What a rule may look at.  Any of doc/new_doc/object may be NULL (reads
 * as null); auth may be NULL (anonymous, role "anon"). */
typedef struct rules_env {
    const struct auth_claims *auth;
    json_t *doc;
    json_t *new_doc;
    json_t *object;
} rules_env;

/* True only when the rule holds. */
bool rules_eval(const rules_expr *e, const rules_env *env);

/* Append an SQL condition equivalent to the rule over the current row of a
 * collection table (doc.<path> → the same expressions as ident.h), with
 * auth.* values bound as parameters.  The same rule must give the same
 * answer here as rules_eval with env.doc = the row. */
int rules_to_sql(const rules_expr *e, const struct auth_claims *auth, arena *a, buf *sql, db_binds *binds);

#endif
