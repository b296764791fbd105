/* cache.h - compiled access rules per collection, shared by every thread.
 *
 * The rules of a collection are parsed once, on first use, from
 * _basalt_collections.rules and kept until rules_cache_invalidate (which the
 * admin path calls after committing a change).  A reader holds a reference
 * to the rule it got, so an invalidation while a request is running frees
 * nothing under its feet (the request keeps its rule until
 * rules_cache_put).  A generation counter keeps a load that raced with an
 * invalidation from being cached.
 *
 * Threads: every function may be called from any thread; the table is
 * guarded by one mutex held only for lookups and swaps, never for SQLite.
 * rules_cache_new/free on the main thread (free after the listener and
 * every other user stopped).
 */
#ifndef BS_RULES_CACHE_H
#define BS_RULES_CACHE_H

#include <jansson.h>
#include <stdbool.h>

#include "rules/rules.h"

struct db_store;
struct db_conn;
struct auth_claims;

typedef struct rules_cache rules_cache;

/* BS_OK and *out, or BS_ENOMEM. */
int rules_cache_new(rules_cache **out);
void rules_cache_free(rules_cache *c);

/* The rule for op on collection, retained (release with rules_cache_put),
 * or *out = NULL when the op has no rule (closed).  BS_ENOTFOUND if the
 * collection does not exist, BS_EDB on a read error, BS_EPARSE when a
 * stored rule no longer parses (closed; logged).  conn = the caller's
 * db_reader (or the writer connection on the writer thread).  collection
 * is matched case-insensitively, like collection names. */
int rules_cache_get(rules_cache *c, struct db_conn *conn, const char *collection, rules_op op,
                    const rules_expr **out);
void rules_cache_put(const rules_expr *e);
/* Does the collection exist?  BS_OK with its stored spelling in canon, or
 * BS_ENOTFOUND; answered from memory once the collection is cached (the
 * admin path invalidates on create, change and drop), so the request path
 * needs no read transaction for it. */
int rules_cache_collection(rules_cache *c, struct db_conn *conn, const char *collection, char canon[64]);

/* Forget a collection's rules (NULL: all); the next get reloads. */
void rules_cache_invalidate(rules_cache *c, const char *collection);

/* May this caller see this document of the collection (realtime events)?
 * service_role → true; no select rule, unknown collection or an error →
 * false.  doc is borrowed. */
bool rules_allows_select(rules_cache *c, struct db_conn *conn, const char *collection,
                         const struct auth_claims *auth, json_t *doc);

#endif
