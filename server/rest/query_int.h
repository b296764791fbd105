/* query_int.h - the parsed PostgREST query tree, shared by the parser
 * (query.c) and the SQL emitter (query_sql.c).  Nothing else includes it.
 * The tree lives in the caller's arena and is immutable once
 * rest_query_parse returns; both files are pure functions over it. */
#ifndef BS_REST_QUERY_INT_H
#define BS_REST_QUERY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "rest/query.h"

#define PAIRS_PER_CALL 63 /* json_object / json_set pairs per call */

/* ------------------------------------------------------------------ */
/* Tree                                                                */

typedef enum {
    OP_EQ, OP_NEQ, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_LIKE, OP_ILIKE,
    OP_IS, OP_IN, OP_CS, OP_CD, OP_OV, OP_ISDISTINCT,
} op_kind;

typedef enum { Q_ONE, Q_ANY, Q_ALL } quant;
typedef enum { IS_NULL, IS_TRUE, IS_FALSE } is_kind;
typedef enum { V_TEXT, V_INT, V_REAL, V_BOOL } val_kind;
typedef enum { CAST_NONE, CAST_TEXT, CAST_INT, CAST_REAL } cast_kind;

/* One filter value: its text and, when it reads as one, its number. */
typedef struct tval {
    val_kind k;
    const char *s;
    size_t n;
    int64_t i; /* V_INT, V_BOOL (1/0) */
    double r;  /* V_REAL */
} tval;

typedef struct fnode fnode;
struct fnode {
    enum { N_LEAF, N_AND, N_OR } kind;
    bool neg;
    /* leaf */
    db_path path;
    op_kind op;
    quant q;
    is_kind is;
    tval *vals; /* like/ilike: translated pattern; cs/cd/ov: JSON text */
    size_t nvals;
    /* group */
    fnode **kids;
    size_t nkids;
};

typedef struct sel_item {
    const char *name; /* output key, a valid field name */
    db_path path;
    cast_kind cast;
} sel_item;

typedef struct ord_item {
    db_path path;
    bool desc;
    int nulls; /* 0 default, 1 first, 2 last */
} ord_item;

struct rest_query {
    fnode **filters;
    size_t nfilters;
    size_t nodes, values;
    bool has_select, star;
    sel_item *sel;
    size_t nsel;
    ord_item *ord;
    size_t nord;
    int64_t limit, offset;
    const char **columns;
    size_t ncolumns;
    const char *columns_raw; /* columns= as given (NULL: absent) */
    bool columns_bad;        /* it did not parse: columns_err says why */
    rest_qerr columns_err;
    const char **conflict;
    size_t nconflict;
};

/* ------------------------------------------------------------------ */
/* Parser state and the helpers its files share (query_scan.c)         */

typedef struct pctx {
    arena *a;
    rest_qerr *err;
    rest_query *q;
} pctx;

#define ECHO_CAP 72

/* What a column may be, for error details. */
extern const char DB_QP_PATH_DETAILS[];
/* User text for an error message: printable ASCII only ('?' for the
 * rest), cut with "..." to fit cap. */
const char *db_qp_echo(char *dst, size_t cap, const char *s, size_t n);
/* 400 with a formatted message and fixed details/hint; BS_EPARSE. */
int db_qp_perr(pctx *c, const char *code, const char *details, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
bool db_qp_slice_eq(const char *s, size_t n, const char *lit);
bool db_qp_slice_ieq(const char *s, size_t n, const char *lit);
bool db_qp_starts_with(const char *s, size_t n, const char *lit);
bool db_qp_is_space(char ch);
void db_qp_trim(const char **s, size_t *n);
/* "..." wholly enclosing s[0..n)?  Backslash escapes the next byte. */
bool db_qp_fully_quoted(const char *s, size_t n);
/* The inside of a quoted string, \x resolved, into the arena. */
char *db_qp_unquote(arena *a, const char *s, size_t n, size_t *outn);
/* Index of the first ch outside double-quoted names, or n; *ok false when
 * a quote is left open. */
size_t db_qp_scan_to(const char *s, size_t n, char ch, bool *ok);
bool db_qp_has_unquoted(const char *s, size_t n, char ch);
/* The next top-level item of a comma list (see query_scan.c). */
bool db_qp_next_item(const char *s, size_t n, size_t *pos, const char **item, size_t *len);

/* query_select.c */
int db_qp_parse_select(pctx *c, const char *v);
int db_qp_parse_order(pctx *c, const char *v);
int db_qp_parse_count(pctx *c, const char *key, const char *v, int64_t *out);
int db_qp_parse_names(pctx *c, const char *key, const char *v, const char ***out, size_t *count);

/* The store's own columns (id, created_at, updated_at) are text. */
bool rest_query_path_is_text(const db_path *p);
/* 500 PGRST000 "out of memory" into err; returns BS_ENOMEM. */
int rest_qerr_oom(rest_qerr *err);

#endif
