/* rt_filter.h - postgres_changes filters (wire spec §6.6, Supabase's
 * realtime_filter_parser): `col=op.value`, several ANDed by commas.
 *
 * Operators: eq neq lt lte gt gte in is (is.null, is.true, is.false) and
 * not.is.null.  `\,` escapes a comma; commas inside (...) do not split.
 * `in.(a,b,"c,d")` takes a list with optional double quotes.  Columns are
 * top-level document fields ([A-Za-z0-9_], at most 63 bytes).  Anything
 * else is refused with a message naming the problem.
 *
 * Comparison of a document value with a filter value (documents are
 * schemaless JSON, filter values are text): both sides are put in a
 * canonical form - a string or number that reads entirely as a finite
 * number is that number, true/false are the strings "true"/"false", any
 * other string is itself, null/objects/arrays have no form and never
 * compare (SQL-like: a null never equals anything).  eq/neq/in compare
 * canonical forms; lt/lte/gt/gte compare numerically when both are numbers,
 * else byte-wise.  The eq index of the engine keys bindings by the same
 * canonical form (rt_filter_canon_*), so an index hit and rt_filter_match
 * always agree.
 *
 * Ownership: rt_filter_parse allocates, rt_filter_free releases (NULL-safe).
 * Immutable afterwards; any thread may match.
 */
#ifndef BS_RT_FILTER_H
#define BS_RT_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define RT_FILTER_MAX_CONDS 16
#define RT_FILTER_MAX_LIST 100

typedef enum {
    RT_F_EQ, RT_F_NEQ, RT_F_LT, RT_F_LTE, RT_F_GT, RT_F_GTE, RT_F_IN,
    RT_F_IS_NULL, RT_F_NOT_NULL, RT_F_IS_TRUE, RT_F_IS_FALSE
} rt_filter_op;

typedef struct rt_cond {
    char *field;
    rt_filter_op op;
    char *value;      /* eq..gte: the raw value text */
    char *canon;      /* eq/neq: canonical form of value */
    size_t canon_len;
    char **list;      /* in: canonical forms */
    size_t *list_len;
    size_t nlist;
} rt_cond;

typedef struct rt_filter {
    rt_cond conds[RT_FILTER_MAX_CONDS];
    size_t n;
    int eq;           /* index of the first eq condition (for the index), -1 if none */
} rt_filter;

/* BS_OK and *out, or BS_EPARSE with a message in err (cap bytes). */
int rt_filter_parse(const char *text, rt_filter **out, char *err, size_t cap);
void rt_filter_free(rt_filter *f);
/* True when every condition holds for the document (a JSON object). */
bool rt_filter_match(const rt_filter *f, json_t *doc);

/* Canonical form of filter text / of a JSON value into out (replaced).
 * canon_json returns false when the value has no form (null, object...). */
int rt_filter_canon_text(const char *s, buf *out);
bool rt_filter_canon_json(json_t *v, buf *out);

#endif
