/* st_int.h - what the files of storage/ share privately.
 *
 *   st_module.c     the module: start/stop, the routes and their access levels
 *   st_service.c    start/stop, the blob files (temp, commit, remove, sweep)
 *   st_db.c         bucket and object rows: reads on the reader, writes on
 *                   the writer, JSON shapes of storage-api
 *   st_rules.c      per-bucket access rules over object.* and auth.*, and
 *                   the SQL functions for app migrations
 *   st_errors.c     the storage-api error catalogue (st_errors.h)
 *   st_http.c       /storage/v1 dispatch and request helpers
 *   st_admin.c      /admin/v1/buckets/NAME/rules
 *   st_bucket.c     bucket endpoints
 *   st_upload.c     streaming uploads (raw and multipart)
 *   st_multipart.c  the multipart/form-data parser (st_multipart.h)
 *   st_download.c   downloads (Range, ETag, 304, HEAD)
 *   st_objops.c     info, list, remove, move, copy
 *   st_sign.c       signed download and upload URLs
 *   st_api.c        the C API for other subsystems (st_object_read/write)
 *   st_path.c       names: keys, bucket ids, sizes, MIME types (st_path.h)
 * Nothing outside storage/ includes this header (but its tests).
 */
#ifndef BS_ST_INT_H
#define BS_ST_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/module.h"
#include "core/jwt.h"
#include "core/arena.h"
#include "core/buf.h"
#include "db/store.h"
#include "http/http.h"
#include "rules/rules.h"
#include "storage/st_bucket.h"
#include "storage/st_errors.h"
#include "storage/st_path.h"
#include "storage/st_service.h"

#define ST_BLOB_ID_LEN 36
#define ST_CHUNK 65536

struct st_service {
    bs_app *app;
    char root[4096];
    char tmp[4200];
};

/* ---- life cycle (st_service.c; the module's start and stop) ---- */

/* BS_OK and *out, or BS_EIO (directory not creatable; said on stderr). */
int st_start(bs_app *app, st_service **out);
/* NULL-safe. */
void st_free(st_service *s);

/* ---- blobs (st_service.c) ---- */

/* An upload in progress: a temp file under tmp/. */
typedef struct st_tmp {
    int fd;
    char path[4400];
} st_tmp;

/* Create a fresh temp file.  BS_OK or BS_EIO. */
int st_tmp_open(st_service *s, st_tmp *t);
/* fsync, close and rename the temp file into its blob path (new random
 * blob id into `blob`).  On failure the temp file is removed. */
int st_tmp_commit(st_service *s, st_tmp *t, char blob[ST_BLOB_ID_LEN + 1]);
/* Close and remove an uncommitted temp file.  NULL-safe for fd < 0. */
void st_tmp_abort(st_tmp *t);
/* Path of a blob file. */
void st_blob_path(const st_service *s, const char *blob, char *out, size_t cap);
/* Remove a blob file (missing is fine). */
void st_blob_remove(st_service *s, const char *blob);
/* A second blob with the same bytes (hard link; blobs are immutable). */
int st_blob_clone(st_service *s, const char *src, char blob[ST_BLOB_ID_LEN + 1]);

/* ---- rows (st_db.c) ---- */

typedef struct st_bucket {
    const char *id;
    const char *owner;           /* may be "" */
    bool public_;
    int64_t size_limit;          /* -1: none */
    json_t *mimes;               /* array of patterns or NULL; owned */
    bool allow_inline;           /* active content inline (sandboxed) */
    json_t *rules;               /* object op -> text; owned */
    const char *created_at, *updated_at;
} st_bucket;

typedef struct st_object {
    const char *id, *bucket, *name, *owner, *blob, *content_type, *cache_control, *etag, *metadata;
    const char *created_at, *updated_at, *last_accessed_at;
    int64_t size;
} st_object;

void st_bucket_clear(st_bucket *b);
/* Read a bucket (strings in the arena).  BS_ENOTFOUND, BS_EDB. */
int st_bucket_get(db_conn *c, arena *a, const char *id, st_bucket *out);
int st_bucket_json(const st_bucket *b, buf *out);
/* Read an object row.  BS_ENOTFOUND, BS_EDB. */
int st_object_get(db_conn *c, arena *a, const char *bucket, const char *name, st_object *out);
/* {id,bucket,name,size,content_type,owner,metadata} for the change log. */
int st_object_change_json(const st_object *o, buf *out);
/* The row as storage-api's objects table shows it (remove, list). */
int st_object_row_json(const st_object *o, buf *out);
/* The list item metadata object {eTag,size,mimetype,...}. */
int st_object_meta_json(const st_object *o, buf *out);
/* Fill o from the current row of a statement selecting ST_OBJ_COLS. */
#define ST_OBJ_COLS                                                                                     \
    "id,bucket_id,name,owner,blob,size,content_type,cache_control,etag,metadata,created_at,updated_at," \
    "last_accessed_at"
int st_object_from_stmt(sqlite3_stmt *st, int first, arena *a, st_object *o);
/* Insert or replace (by bucket+name) an object row and append the change
 * log entry (INSERT; old = the replaced row or NULL).  Writer thread. */
int st_object_put_row(db_conn *w, const st_object *o, const st_object *old, int64_t now_ms);
/* Delete a row by id and append the change log entry (DELETE). */
int st_object_delete_row(db_conn *w, const st_object *o, int64_t now_ms);

/* ---- rules (st_rules.c) ---- */

/* May the caller do `op` on object o in bucket b?  service_role always;
 * otherwise the bucket's rule for op, or the default (select on a public
 * bucket: yes; everything else: no). */
bool st_allowed(const st_bucket *b, const auth_claims *caller, rules_op op, const st_object *o);
/* Validate and merge a rules patch into a bucket's rules.  BS_EINVAL with
 * msg ("rule for select: ... at position N"). */
int st_rules_merge(json_t *current, json_t *patch, json_t **out, buf *msg);

/* ---- HTTP helpers (st_http.c) ---- */

typedef struct st_ctx {
    http_req *r;
    bs_app *app;
    st_service *s;
    arena *a;
    auth_claims *caller;         /* as the gate verified it (owned by the request);
                                  * NULL on the public routes */
    bool service;                /* caller is service_role */
} st_ctx;

/* The route handlers st_module.c lists (civetweb workers). */
int st_public_get(http_req *r);   /* GET|HEAD object/public/B/K      (public) */
int st_signed_get(http_req *r);   /* GET|HEAD object/sign/B/K?token= (public) */
int st_signed_put(http_req *r);   /* PUT object/upload/sign/B/K?token= (public) */
int st_handle(http_req *r);       /* everything else under /storage/v1/ (apikey or user) */
int st_admin_buckets(http_req *r); /* /admin/v1/buckets/NAME/rules (service_role) */

/* Read the body as a JSON object (answers 400/413 itself; returns non-OK). */
int st_read_json_or_reply(http_req *r, json_t **out);
/* st_read_json_or_reply's parse, pure (any thread; the fuzz target calls it): an
 * empty body is {}; otherwise jsonin_parse (at most JSONIN_MAX_DEPTH deep)
 * and it must be an object.  BS_OK and *out (caller json_decref's), an
 * error with the 400 InvalidRequest message in msg, or BS_ENOMEM. */
int st_parse_object(const char *body, size_t len, json_t **out, char *msg, size_t msgsz);
/* sub of the caller or NULL. */
const char *st_caller_sub(const st_ctx *c);
/* "x-upsert: true" was sent. */
bool st_upsert_asked(const st_ctx *c);
/* raw[0..n) percent-decoded (once) into a, if it is a valid bucket id;
 * else NULL. */
char *st_bucket_decode(arena *a, const char *raw, size_t n);
/* Split "bucket/key..." (raw) into a bucket id and a decoded, validated
 * key.  Answers 400/404 itself on failure. */
int st_split_path_or_reply(st_ctx *c, const char *raw, char **bucket, char **key);
/* Load the bucket or answer 404. */
int st_load_bucket_or_reply(st_ctx *c, const char *id, st_bucket *b);

/* ---- endpoints ---- */
int st_bucket_list(st_ctx *c);
int st_bucket_get_h(st_ctx *c, const char *id);
int st_bucket_create(st_ctx *c);
int st_bucket_update(st_ctx *c, const char *id);
int st_bucket_empty(st_ctx *c, const char *id);
int st_bucket_delete(st_ctx *c, const char *id);

/* ---- the common write path (st_upload.c; used by uploads and st_api.c) ---- */

#define ST_ETAG_LEN 34 /* '"' + 32 hex digits + '"' */

/* One object write after its bytes are in a blob file (st_tmp_commit). */
typedef struct st_put {
    const char *bucket, *key, *owner;     /* owner NULL or "": none */
    const char *content_type, *cache_control, *etag, *metadata; /* metadata: JSON text or NULL */
    int64_t size;
    bool upsert;                          /* false: BS_EEXISTS when the key exists */
    bool check_rules;                     /* false: service_role / signed upload */
    const auth_claims *caller;            /* for the rules when check_rules */
    char blob[ST_BLOB_ID_LEN + 1];        /* in: the new blob; always consumed */
    const char *id;                       /* out (BS_OK): the object id, in the arena */
} st_put;

/* One db_write that re-reads the bucket (BS_ENOTFOUND) and the key
 * (BS_EEXISTS without upsert), checks the rules (BS_EDENIED), writes the row
 * and its "storage.objects" INSERT change-log entry.  After a commit the
 * replaced blob is removed; after a failure the new one is.  p->blob is
 * emptied either way.  Any thread except the writer. */
int st_object_commit(st_service *s, arena *a, st_put *p);
/* The metadata of an upload (x-metadata decoded, or the multipart field)
 * through jsonin_parse (at most 64 KiB and JSONIN_MAX_DEPTH deep), which
 * must be an object; *out is its compact text (caller frees).  BS_OK, or an
 * error with the 400 InvalidRequest message in msg; BS_ENOMEM.  Pure: any
 * thread (the fuzz target calls it). */
int st_parse_metadata(const char *text, size_t len, char **out, char *msg, size_t msgsz);
/* Valid MIME type that the bucket's allowed_mime_types admits. */
bool st_bucket_mime_ok(const st_bucket *b, const char *type);
/* write(2) all of p (EINTR-safe).  BS_OK or BS_EIO. */
int st_write_all(int fd, const void *p, size_t n);
/* The quoted ETag of a SHA-256 digest (its first 128 bits in hex). */
void st_etag_hex(const unsigned char *md, unsigned int mdlen, char out[ST_ETAG_LEN + 1]);

typedef enum {
    ST_UPLOAD_CREATE, /* POST: x-upsert decides whether an existing key is replaced */
    ST_UPLOAD_UPDATE, /* PUT: replaces (or creates) the key */
    ST_UPLOAD_SIGNED, /* PUT to a signed upload URL: upsert and owner from its token, no rules */
} st_upload_how;

/* Upload the request body into bucket/key and answer. */
int st_upload(st_ctx *c, const char *bucket, const char *key, st_upload_how how, bool upsert, const char *owner);

/* ---- downloads (st_download.c) ---- */

typedef enum {
    ST_DL_RULES,      /* the bucket's select rule decides */
    ST_DL_PUBLIC,     /* public buckets only (404 otherwise), no rules */
    ST_DL_SIGNED,     /* a signed URL's token allowed it: no rules */
} st_dl_access;

/* Load bucket and answer a download of key from it (404 when the bucket
 * or the object is missing or not readable). */
int st_download_from(st_ctx *c, const char *bucket, const char *key, st_dl_access access);

/* ---- objects (st_objops.c, st_sign.c) ---- */

/* Read bucket b's row of key into *o if the caller may select it:
 * BS_OK, BS_ENOTFOUND (missing or not readable), BS_EDB. */
int st_obj_readable(st_ctx *c, const st_bucket *b, const char *key, st_object *o);
/* Load bucket, then key as st_obj_readable does; BS_OK and *o, or an
 * answer (404 for a missing bucket or object, 500) and its code. */
int st_load_readable_or_reply(st_ctx *c, const char *bucket, const char *key, st_object *o);
int st_obj_info(st_ctx *c, const char *bucket, const char *key);
int st_obj_list(st_ctx *c, const char *bucket);
int st_obj_remove(st_ctx *c, const char *bucket, json_t *names);
int st_obj_move_copy(st_ctx *c, bool copy);
int st_sign_one(st_ctx *c, const char *bucket, const char *key);
int st_sign_many(st_ctx *c, const char *bucket);
int st_sign_download(st_ctx *c, const char *bucket, const char *key);
int st_sign_upload_create(st_ctx *c, const char *bucket, const char *key);
int st_sign_upload_put(st_ctx *c, const char *bucket, const char *key);

/* "bucket/key" in the arena (the Key of storage-api answers); NULL on OOM. */
char *st_full_key(arena *a, const char *bucket, const char *key);

#endif
