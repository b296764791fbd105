/* rules_int.h - private structures shared by the files of the rules module
 * (rules_lex.c, rules_parse.c, rules_sets.c, rules_eval.c, rules_sql.c).  Nothing outside
 * server/rules/ includes this.
 *
 * A parsed rule is a small tree of rnode allocated from the expression's own
 * arena; it is immutable after rules_parse and freed as a whole when the last
 * reference is dropped.
 *
 * Values (the semantics every evaluator must agree on):
 *   class   null | bool | number | string | container (object or array)
 *   A missing field, JSON null and a path through a non-object read as null.
 *   Comparisons (==, !=, <, <=, >, >=) are three-valued:
 *     either side null                 → unknown
 *     classes differ                   → false   (also for !=)
 *     either side a container          → false
 *     bool: false < true; number: numeric; string: bytewise (SQLite BINARY)
 *   x in [a, b]  ≡  x == a || x == b   (empty list → false)
 *   x is null / is not null            → never unknown
 *   && || ! are Kleene's; the rule allows only when the result is true.
 *   A bare path in a condition position means `path == true`.
 *   doc.id reads as a string (an integer id is the decimal text), as the id
 *   column stores it.
 */
#ifndef BS_RULES_INT_H
#define BS_RULES_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "db/ident.h"
#include "rules/rules.h"

#define RULES_MAX_LIST 256

typedef enum { TRI_F = 0, TRI_T = 1, TRI_U = 2 } tri;

typedef enum { VC_NULL, VC_BOOL, VC_NUM, VC_STR, VC_CONT } vclass;

/* A value during evaluation.  s may point into tmp (id rendering): never
 * copy a val after it was filled. */
typedef struct val {
    vclass c;
    bool b;
    bool is_int;
    int64_t i;
    double d;
    const char *s;
    size_t n;
    char tmp[24];
} val;

typedef enum { OR_LIT, OR_AUTH, OR_DOC, OR_NEW, OR_OBJECT, OR_REALTIME } opnd_root;
typedef enum { AF_UID, AF_ROLE, AF_EMAIL, AF_CLAIMS } auth_field;
typedef enum { RTF_TOPIC, RTF_EXTENSION, RTF_PRESENCE_KEY } rt_field;
typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op;

typedef struct operand {
    opnd_root root;
    int pos;           /* 1-based character position in the rule text */
    auth_field af;     /* OR_AUTH */
    rt_field rf;       /* OR_REALTIME */
    db_path path;      /* OR_DOC/OR_NEW/OR_OBJECT, AF_CLAIMS (segments in the arena) */
    val lit;           /* OR_LIT (never uses tmp) */
} operand;

typedef enum { N_OR, N_AND, N_NOT, N_CMP, N_IN, N_ISNULL, N_TRUTH } node_kind;

typedef struct rnode {
    node_kind k;
    int pos;
    struct rnode *a, *b;   /* N_OR, N_AND: a, b; N_NOT: a */
    cmp_op op;             /* N_CMP */
    operand l, r;          /* N_CMP: l op r; N_IN, N_ISNULL, N_TRUTH: l */
    operand *list;         /* N_IN */
    size_t nlist;
    bool neg;              /* N_ISNULL: is not null */
} rnode;

#define RF_DOC 1u
#define RF_NEW 2u
#define RF_OBJECT 4u
#define RF_AUTH 8u
#define RF_REALTIME 16u
#define RF_PRESENCE_KEY 32u   /* realtime.presence_key */

struct rules_expr {
    atomic_int refs;
    arena a;
    rnode *root;
    unsigned flags;
    int new_pos, object_pos;   /* first use of new.* / object.* (0: none) */
    int doc_pos, realtime_pos; /* first use of doc.* / realtime.* (0: none) */
};

/* rules_sets.c: rules_merge for collections (realtime false) or for the
 * realtime channel rules (select and insert over realtime.*). */
int rules__merge(json_t *current, json_t *patch, bool realtime, json_t **out, buf *msg, buf *details);

/* rules_eval.c */
void rules__operand_val(const operand *o, const rules_env *env, val *out);
tri rules__cmp(const val *a, cmp_op op, const val *b);
tri rules__node(const rnode *n, const rules_env *env);
bool rules__node_has_row(const rnode *n);

#endif
