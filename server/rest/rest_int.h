/* rest_int.h - what the /rest/v1 files share: rest.c (request flow, reads,
 * access rules) and rest_write.c / rest_upsert.c (POST, PATCH, DELETE).
 * Nothing else includes it.  One rest_ctx lives in the request's arena for
 * the whole request; write callbacks use it on the writer thread while the
 * worker waits in db_write, so it is never touched by two threads at once.
 */
#ifndef BS_REST_REST_INT_H
#define BS_REST_REST_INT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "core/jwt.h"
#include "db/jsondoc.h"
#include "rest/query.h"
#include "rest/rest.h"
#include "db/store.h"
#include "rules/rules.h"

#define REST_MAX_ID_LEN 255
#define REST_MAX_BULK_ROWS 10000

typedef struct rest_prefer {
    enum { RET_DEFAULT, RET_MINIMAL, RET_REPR, RET_HEADERS } ret;
    bool count;
    enum { RES_NONE, RES_MERGE, RES_IGNORE } resolution;
    bool missing_default;
} rest_prefer;

typedef enum { ACC_JSON, ACC_OBJECT, ACC_CSV } rest_accept;

typedef struct rest_ctx {
    http_req *r;
    arena *a;
    const rest_query *q;
    char coll[64];
    rest_prefer pref;
    rest_accept acc;
    int64_t now_ms;
    char now[32];
    /* compiled pieces; each list of binds goes with its text */
    buf where;          /* condition text */
    db_binds binds;     /* its values */
    buf proj;           /* projection expression */
    db_binds pbinds;    /* its values (quoted names) */
    buf order;          /* order items (may be empty) */
    db_binds obinds;    /* their values */
    /* body */
    const char *body;
    size_t body_len;
    json_t *json;       /* jansson's parse: shape, ids */
    buf cbody;          /* the body, canonical (jsondoc.h): documents are built from it */
    db_jspan *objs;     /* its objects: the body, or each element of the array */
    size_t nobjs;
    bool use_columns;   /* columns= given: only colkeys are taken from the body */
    db_jspan *colkeys;  /* their canonical spellings */
    size_t ncolkeys;
    /* results */
    buf out;            /* JSON array of representation rows */
    size_t nrows;
    int err_status;
    const char *err_code;
    char err_msg[512];
    char err_details[512];
    char *location;     /* Location of the first insert (return=headers-only) */
    /* access rules (rules_on: the caller is not service_role) */
    const auth_claims *auth;
    bool rules_on;
    int deny_status;                /* 401 anon, 403 otherwise */
    const rules_expr *rule_where;   /* ANDed into reads / update and delete targets */
    const rules_expr *rule_write;   /* checked in C on written documents */
    const rules_expr *rule_upd;     /* upserts that hit an existing row */
    const rules_expr *rule_sel;     /* rows handed back; upserted rows */
} rest_ctx;

/* rest.c */
void rest_set_err(rest_ctx *c, int status, const char *code, const char *msg, const char *details);
int rest_send_err(rest_ctx *c);
/* Compile where / projection / order (with the access rule) into c. */
int rest_compile(rest_ctx *c);
/* "SELECT <cols> FROM "coll" WHERE <where> [ORDER BY ...]": with_proj
 * uses the projection as cols (its binds come first); bind with
 * rest_bind_select. */
int rest_select_sql(rest_ctx *c, buf *sql, const char *cols, bool with_order);
int rest_bind_select(rest_ctx *c, sqlite3_stmt *st, bool with_proj, bool with_order);

/* rest_write.c: POST / PATCH / DELETE, answering the client. */
int rest_write(rest_ctx *c);

/* Shared by rest_write.c and rest_upsert.c. */
bool rest_want_repr(const rest_ctx *c);
/* 42501 "new row violates row-level security policy [(USING expression)]
 * for table"; returns BS_EDENIED (the callback's error rolls back). */
int rest_deny_row(rest_ctx *c, bool using_expr);
/* Members of body object i that a write takes: all of them, or with
 * columns= exactly those named, in that order (a missing one as null, or
 * left out with Prefer: missing=default). */
int rest_body_members(rest_ctx *c, size_t i, db_jmember **out, size_t *n);
/* A JSON string value of plain ASCII text, from the arena. */
db_jspan rest_json_str(rest_ctx *c, const char *s);
/* Build and store the merge of row id (old_doc) with set; checks the
 * update rule (and select with check_select), appends the change. */
int rest_update_row(rest_ctx *c, db_conn *w, const char *id, const char *old_doc, const db_jmember *set,
                       size_t nset, bool check_select);
/* The members an update takes from body object i: as rest_body_members
 * without id / created_at / updated_at, plus updated_at = now. */
int rest_update_set(rest_ctx *c, size_t i, db_jmember **out, size_t *n);
/* Insert body object i (after an upsert found no conflict, or a plain
 * insert).  The document is built by rest_new_doc. */
int rest_insert_doc(rest_ctx *c, db_conn *w, const char *id, const char *doc, size_t len);
/* The document an insert of body object i would store, and its id. */
int rest_new_doc(rest_ctx *c, size_t i, char id[REST_MAX_ID_LEN + 1], buf *doc);
int rest_append_repr(rest_ctx *c, db_conn *w, const char *id);

/* rest_upsert.c: one object of a POST with Prefer: resolution=...
 * (*written: a row was inserted or merged, id says which). */
int rest_on_conflict_check(rest_ctx *c, db_conn *w);
int rest_upsert_one(rest_ctx *c, db_conn *w, size_t i, bool *written, char id[REST_MAX_ID_LEN + 1]);

#endif
