/* st_http.c - the /storage/v1 routes: dispatch, and the request helpers the
 * endpoints share (JSON bodies, bucket and key paths).
 *
 * Keys are checked by the gate, once, before any handler here runs:
 * st_module.c gives each route its access level.  Three kinds of request
 * carry no key and are authorised otherwise, so their routes are
 * HTTP_PUBLIC; everything else under /storage/v1/ is HTTP_APIKEY_OR_USER
 * and its handlers take the verified caller from http_claims().  A signed
 * URL's token is storage's own kind of token, not a project key: st_sign.c
 * verifies it (core/jwt.h, the shared verifier).
 *
 *   public routes (no key)
 *   object/public/B/K              GET HEAD   public buckets only
 *   object/sign/B/K?token=         GET HEAD   the token names B/K
 *   object/upload/sign/B/K?token=  PUT        the token names B/K
 *
 *   apikey or user (st_handle)
 *   bucket[/ID[/empty]]                       st_bucket.c
 *   object/sign/B/K          POST             sign one   (select rule)
 *   object/sign/B            POST             sign many  (select rule)
 *   object/upload/sign/B/K   POST             signed upload URL (insert rule)
 *   object/authenticated/B/K GET HEAD         download
 *   object/info/B/K          GET HEAD         info
 *   object/list/B            POST             list
 *   object/move, object/copy POST
 *   object/B/K               GET HEAD POST PUT DELETE
 *   object/B                 DELETE           remove {"prefixes":[...]}
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- request helpers ---- */

int st_parse_object(const char *body, size_t len, json_t **out, char *msg, size_t msgsz)
{
    *out = NULL;
    if (!len) {
        *out = json_object();
        return *out ? BS_OK : BS_ENOMEM;
    }
    char why[JSONIN_MSG_MAX];
    /* the caller read body under --max-body */
    int rc = jsonin_parse(body, len, JSONIN_ANY_SIZE, 0, out, why, sizeof why);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc) {
        snprintf(msg, msgsz, "The request body is not valid JSON: %s", why);
        return rc;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(msg, msgsz, "The request body must be a JSON object");
        return BS_EJSON;
    }
    return BS_OK;
}

int st_read_json_or_reply(http_req *r, json_t **out)
{
    const char *body;
    size_t len;
    char msg[JSONIN_MSG_MAX + 64];
    *out = NULL;
    int rc = http_body(r, &body, &len);
    if (rc) {
        if (rc == BS_ETOOBIG)
            st_reply_error(r, ST_ERR_BODY_TOO_LARGE);
        else
            st_reply_errorf(r, ST_ERR_BAD_REQUEST, "The request body could not be read");
        return rc;
    }
    rc = st_parse_object(body, len, out, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        st_reply_failure(r, rc);
    else if (rc)
        st_reply_errorf(r, ST_ERR_BAD_REQUEST, "%s", msg);
    return rc;
}

const char *st_caller_sub(const st_ctx *c)
{
    return c->caller && c->caller->sub && *c->caller->sub ? c->caller->sub : NULL;
}

bool st_upsert_asked(const st_ctx *c)
{
    const char *ups = http_header(c->r, "x-upsert");
    return ups && strcasecmp(ups, "true") == 0;
}

/* Storage reads the raw path (http_subpath_raw): bucket and object names
 * are decoded exactly once, here, so a key's literal "%20" (sent as
 * "%2520") stays "%20" and "50% off.txt" works, and %00, a bad escape or
 * invalid UTF-8 is InvalidKey instead of a silently shortened name. */

char *st_bucket_decode(arena *a, const char *raw, size_t n)
{
    char *b = http_path_decode(a, raw, n);
    return b && st_bucket_name_valid(b, strlen(b)) ? b : NULL;
}

int st_split_path_or_reply(st_ctx *c, const char *raw, char **bucket, char **key)
{
    const char *slash = strchr(raw, '/');
    *bucket = *key = NULL;
    if (!slash || !slash[1]) {
        st_reply_error(c->r, ST_ERR_INVALID_KEY);
        return BS_EINVAL;
    }
    *bucket = st_bucket_decode(c->a, raw, (size_t)(slash - raw));
    if (!*bucket) {
        st_reply_error(c->r, ST_ERR_NO_BUCKET);
        return BS_ENOTFOUND;
    }
    const char *k = slash + 1;
    size_t kl = strlen(k);
    int rc = st_key_decode(c->a, k, kl, key);
    if (rc) {
        *key = NULL;
        st_reply_errorf(c->r, ST_ERR_INVALID_KEY, "Invalid key: %.1024s",
                        kl > ST_KEY_MAX ? "(too long)" : utf8_valid(k, kl) ? k : "(not UTF-8)");
        return BS_EINVAL;
    }
    return BS_OK;
}

int st_load_bucket_or_reply(st_ctx *c, const char *id, st_bucket *b)
{
    db_conn *db = db_reader(c->app->store);
    int rc = db ? st_bucket_get(db, c->a, id, b) : BS_EDB;
    if (rc == BS_ENOTFOUND)
        st_reply_error(c->r, ST_ERR_NO_BUCKET);
    else if (rc)
        st_reply_failure(c->r, rc);
    return rc;
}

/* ---- dispatch helpers ---- */

typedef int (*object_fn)(st_ctx *c, const char *bucket, const char *key);
typedef int (*bucket_fn)(st_ctx *c, const char *bucket);

/* The request's context with the caller the gate verified (NULL on the
 * public routes).  false when storage is not running (answered 503). */
static bool ctx_open_or_reply(http_req *r, st_ctx *c)
{
    bs_app *app = http_app(r);
    auth_claims *caller = http_claims(r);
    *c = (st_ctx){r, app, app->storage, http_arena(r), caller,
                  caller && strcmp(caller->role, "service_role") == 0};
    if (c->s)
        return true;
    st_reply_errorf(r, ST_ERR_UNAVAILABLE, "storage is not running");
    return false;
}

/* Does s start with the path segment(s) `word`?  *rest: what follows its
 * '/', or "" when s is exactly word. */
static bool is(const char *s, const char *word, const char **rest)
{
    size_t n = strlen(word);
    if (strncmp(s, word, n) != 0)
        return false;
    if (s[n] == '\0' || s[n] == '/') {
        *rest = s[n] ? s + n + 1 : s + n;
        return true;
    }
    return false;
}

static int bad_method(st_ctx *c)
{
    return st_reply_error(c->r, ST_ERR_METHOD);
}

/* "B/K" (raw) into a bucket and a key, then fn; answers 400/404 itself. */
static int with_object(st_ctx *c, const char *raw, object_fn fn)
{
    char *bucket, *key;
    if (st_split_path_or_reply(c, raw, &bucket, &key))
        return BS_OK;
    return fn(c, bucket, key);
}

/* raw[0..n) as a bucket id, then fn; 404 when it cannot be one. */
static int with_bucket(st_ctx *c, const char *raw, size_t n, bucket_fn fn)
{
    char *id = st_bucket_decode(c->a, raw, n);
    return id ? fn(c, id) : st_reply_error(c->r, ST_ERR_NO_BUCKET);
}

/* ---- the public routes ---- */

static int public_download(st_ctx *c, const char *bucket, const char *key)
{
    return st_download_from(c, bucket, key, ST_DL_PUBLIC);
}

/* One of the public routes: "B/K" after the prefix, then fn. */
static int public_object(http_req *r, object_fn fn)
{
    st_ctx c;
    if (!ctx_open_or_reply(r, &c))
        return BS_OK;
    return with_object(&c, http_subpath_raw(r), fn);
}

int st_public_get(http_req *r) { return public_object(r, public_download); }

int st_signed_get(http_req *r) { return public_object(r, st_sign_download); }

int st_signed_put(http_req *r) { return public_object(r, st_sign_upload_put); }

/* ---- bucket/... ---- */

static int route_bucket(st_ctx *c, const char *rest)
{
    unsigned m = http_method(c->r);
    if (!*rest) {
        if (m == HTTP_GET)
            return st_bucket_list(c);
        if (m == HTTP_POST)
            return st_bucket_create(c);
        return bad_method(c);
    }
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (slash && strcmp(slash, "/empty") == 0)
        return m == HTTP_POST ? with_bucket(c, rest, n, st_bucket_empty) : bad_method(c);
    if (slash && slash[1])
        return st_reply_error(c->r, ST_ERR_NO_ROUTE);
    char *id = st_bucket_decode(c->a, rest, n);
    if (!id)
        return st_reply_error(c->r, ST_ERR_NO_BUCKET);
    switch (m) {
    case HTTP_GET: return st_bucket_get_h(c, id);
    case HTTP_PUT:
    case HTTP_PATCH: return st_bucket_update(c, id);
    case HTTP_DELETE: return st_bucket_delete(c, id);
    default: return bad_method(c);
    }
}

/* ---- object/... ---- */

static int obj_download(st_ctx *c, const char *bucket, const char *key)
{
    return st_download_from(c, bucket, key, ST_DL_RULES);
}

/* POST object/B/K (create; x-upsert) or PUT (update). */
static int obj_upload(st_ctx *c, const char *bucket, const char *key)
{
    st_upload_how how = http_method(c->r) == HTTP_PUT ? ST_UPLOAD_UPDATE : ST_UPLOAD_CREATE;
    return st_upload(c, bucket, key, how, st_upsert_asked(c), st_caller_sub(c));
}

static int obj_remove_one(st_ctx *c, const char *bucket, const char *key)
{
    json_t *one = json_pack("[s]", key);
    int rc = one ? st_obj_remove(c, bucket, one) : st_reply_failure(c->r, BS_ENOMEM);
    json_decref(one);
    return rc;
}

static int obj_remove_body(st_ctx *c, const char *bucket)
{
    json_t *body;
    if (st_read_json_or_reply(c->r, &body))
        return BS_OK;
    int rc = st_obj_remove(c, bucket, json_object_get(body, "prefixes"));
    json_decref(body);
    return rc;
}

/* DELETE object/B/K, or DELETE object/B {"prefixes":[...]} */
static int obj_delete(st_ctx *c, const char *sub)
{
    const char *slash = strchr(sub, '/');
    if (!slash)
        return with_bucket(c, sub, strlen(sub), obj_remove_body);
    if (!st_bucket_decode(c->a, sub, (size_t)(slash - sub)))
        return st_reply_error(c->r, ST_ERR_NO_BUCKET);
    return with_object(c, sub, obj_remove_one);
}

/* object/B[/K]: no word of the table above, so B is a bucket. */
static int route_object_name(st_ctx *c, const char *sub)
{
    unsigned m = http_method(c->r);
    if (m == HTTP_DELETE)
        return obj_delete(c, sub);
    if (!strchr(sub, '/'))
        return st_reply_error(c->r, ST_ERR_INVALID_KEY);
    if (m == HTTP_POST || m == HTTP_PUT)
        return with_object(c, sub, obj_upload);
    if (m & (HTTP_GET | HTTP_HEAD))
        return with_object(c, sub, obj_download);
    return bad_method(c);
}

static int obj_authenticated(st_ctx *c, const char *rest) { return with_object(c, rest, obj_download); }

/* object/info/[public/|authenticated/]B/K */
static int obj_info(st_ctx *c, const char *rest)
{
    const char *r2;
    if (is(rest, "public", &r2) || is(rest, "authenticated", &r2))
        rest = r2;
    return with_object(c, rest, st_obj_info);
}

static int obj_list(st_ctx *c, const char *rest) { return with_bucket(c, rest, strlen(rest), st_obj_list); }

static int obj_move(st_ctx *c, const char *rest)
{
    (void)rest;
    return st_obj_move_copy(c, false);
}

static int obj_copy(st_ctx *c, const char *rest)
{
    (void)rest;
    return st_obj_move_copy(c, true);
}

static int obj_sign_upload(st_ctx *c, const char *rest) { return with_object(c, rest, st_sign_upload_create); }

/* object/sign/B (many) or object/sign/B/K (one) */
static int obj_sign(st_ctx *c, const char *rest)
{
    if (!strchr(rest, '/'))
        return with_bucket(c, rest, strlen(rest), st_sign_many);
    return with_object(c, rest, st_sign_one);
}

/* The words after object/ (matched in this order), the methods each takes
 * here, and its handler.  GET/HEAD of public and sign, and PUT of
 * upload/sign, are the public routes: they never reach this table. */
static const struct {
    const char *word;
    bool exact;          /* the whole rest of the path, not a prefix */
    unsigned methods;
    int (*fn)(st_ctx *c, const char *rest);
} object_words[] = {
    {"authenticated", false, HTTP_GET | HTTP_HEAD, obj_authenticated},
    {"info", false, HTTP_GET | HTTP_HEAD, obj_info},
    {"list", false, HTTP_POST, obj_list},
    {"move", true, HTTP_POST, obj_move},
    {"copy", true, HTTP_POST, obj_copy},
    {"upload/sign", false, HTTP_POST, obj_sign_upload},
    {"sign", false, HTTP_POST, obj_sign},
    {"public", false, 0, NULL},
};

static int route_object(st_ctx *c, const char *sub)
{
    unsigned m = http_method(c->r);
    for (size_t i = 0; i < BS_COUNT(object_words); i++) {
        const char *rest;
        bool hit = object_words[i].exact ? strcmp(sub, object_words[i].word) == 0
                                         : is(sub, object_words[i].word, &rest);
        if (!hit)
            continue;
        if (!(m & object_words[i].methods))
            return bad_method(c);
        return object_words[i].fn(c, object_words[i].exact ? "" : rest);
    }
    return route_object_name(c, sub);
}

int st_handle(http_req *r)
{
    st_ctx c;
    const char *sub = http_subpath_raw(r), *rest;
    if (!ctx_open_or_reply(r, &c))
        return BS_OK;
    if (is(sub, "bucket", &rest))
        return route_bucket(&c, rest);
    if (is(sub, "object", &rest))
        return route_object(&c, rest);
    return st_reply_errorf(r, ST_ERR_NO_ROUTE, "Route %s %s not found", http_method_name(r), http_path(r));
}
