/* st_http.c - /storage/v1 dispatch, key checks and storage-api errors.
 *
 * The route is HTTP_PUBLIC because two kinds of request carry no key:
 * GET /object/public/BUCKET/KEY (public buckets) and signed URLs
 * (/object/sign/... and /object/upload/sign/... with ?token=), which are
 * authorised by their token alone.  Every other path needs a valid apikey
 * (or Bearer token); Authorization: Bearer sets the caller's role and sub.
 *
 *   bucket[/ID[/empty]]                     st_bucket.c
 *   object/public/B/K        GET HEAD       no key, public buckets only
 *   object/sign/B/K?token=   GET HEAD       no key, the token names B/K
 *   object/upload/sign/B/K?token=  PUT      no key, the token names B/K
 *   object/sign/B/K          POST           sign one   (select rule)
 *   object/sign/B            POST           sign many  (select rule)
 *   object/upload/sign/B/K   POST           signed upload URL (insert rule)
 *   object/authenticated/B/K GET HEAD       download
 *   object/info/B/K          GET            info
 *   object/list/B            POST           list
 *   object/move, object/copy POST
 *   object/B/K               GET HEAD POST PUT DELETE
 *   object/B                 DELETE         remove {"prefixes":[...]}
 */
#include "core/utf8.h"
#include "app/app.h"
#include "storage/st_int.h"
#include "storage/st_bucket.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int st_err(http_req *r, int status, const char *error, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return http_error(r, status, error, msg, NULL, NULL);
}

int st_err_db(http_req *r, int rc)
{
    if (rc == BS_ESHUTDOWN)
        return st_err(r, 503, "InternalError", "the server is shutting down");
    if (rc == BS_ENOMEM)
        return st_err(r, 500, "InternalError", "out of memory");
    return st_err(r, 500, "InternalError", "Internal server error (%s)", basalt_strerror(rc));
}

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

int st_read_json(http_req *r, json_t **out)
{
    const char *body;
    size_t len;
    *out = NULL;
    int rc = http_body(r, &body, &len);
    if (rc == BS_ETOOBIG) {
        st_err(r, 413, "Payload too large", "The request body is too large");
        return rc;
    }
    if (rc) {
        st_err(r, 400, "InvalidRequest", "The request body could not be read");
        return rc;
    }
    char msg[JSONIN_MSG_MAX + 64];
    rc = st_parse_object(body, len, out, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        st_err_db(r, rc);
    else if (rc)
        st_err(r, 400, "InvalidRequest", "%s", msg);
    return rc;
}

const char *st_caller_sub(const st_ctx *c)
{
    return c->caller && c->caller->sub && *c->caller->sub ? c->caller->sub : NULL;
}

/* Storage reads the raw path (http_subpath_raw): bucket and object names
 * are decoded exactly once, here, so a key's literal "%20" (sent as
 * "%2520") stays "%20" and "50% off.txt" works, and %00, a bad escape or
 * invalid UTF-8 is InvalidKey instead of a silently shortened name. */

static char *decode_bucket(st_ctx *c, const char *raw, size_t n)
{
    char *b = http_path_decode(c->a, raw, n);
    return b && st_bucket_name_valid(b, strlen(b)) ? b : NULL;
}

int st_split_path(st_ctx *c, const char *raw, char **bucket, char **key)
{
    const char *slash = strchr(raw, '/');
    *bucket = *key = NULL;
    if (!slash || !slash[1]) {
        st_err(c->r, 400, "InvalidKey", "Invalid key: %s", "");
        return BS_EINVAL;
    }
    *bucket = decode_bucket(c, raw, (size_t)(slash - raw));
    if (!*bucket) {
        st_err(c->r, 404, "Bucket not found", "Bucket not found");
        return BS_ENOTFOUND;
    }
    const char *k = slash + 1;
    size_t kl = strlen(k);
    int rc = st_key_decode(c->a, k, kl, key);
    if (rc) {
        *key = NULL;
        st_err(c->r, 400, "InvalidKey", "Invalid key: %.1024s", kl > ST_KEY_MAX ? "(too long)" : utf8_valid(k, kl) ? k : "(not UTF-8)");
        return BS_EINVAL;
    }
    return BS_OK;
}

int st_load_bucket(st_ctx *c, const char *id, st_bucket *b)
{
    db_conn *db = db_reader(c->app->store);
    int rc = db ? st_bucket_get(db, c->a, id, b) : BS_EDB;
    if (rc == BS_ENOTFOUND)
        st_err(c->r, 404, "Bucket not found", "Bucket not found");
    else if (rc)
        st_err_db(c->r, rc);
    return rc;
}

/* Verify apikey and Bearer as the HTTP front does for HTTP_APIKEY_OR_USER routes,
 * answering in storage-api's shape.  BS_OK with c->caller set. */
static int authenticate(st_ctx *c)
{
    int64_t now = time_now_s();
    const char *key = http_apikey(c->r);
    const char *tok = http_bearer(c->r);
    if (!key && !tok) {
        st_err(c->r, 401, "Unauthorized", "No API key found in request");
        return BS_EAUTH;
    }
    auth_claims *kc = NULL;
    if (key && auth_jwt_verify(c->app->jwt, key, now, &kc) != BS_OK) {
        st_err(c->r, 401, "Unauthorized", "Invalid API key");
        return BS_EAUTH;
    }
    if (tok && !(key && strcmp(tok, key) == 0)) {
        auth_claims *tc = NULL;
        int rc = auth_jwt_verify(c->app->jwt, tok, now, &tc);
        auth_claims_release(kc);
        kc = NULL;
        if (rc) {
            st_err(c->r, 400, "InvalidJWT", "%s", rc == BS_EEXPIRED ? "jwt expired" : "invalid signature");
            return BS_EAUTH;
        }
        kc = tc;
    }
    c->caller = kc;
    c->service = strcmp(kc->role, "service_role") == 0;
    return BS_OK;
}

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
    return st_err(c->r, 405, "InvalidRequest", "Method not allowed");
}

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
    char *id = decode_bucket(c, rest, n);
    if (slash && strcmp(slash, "/empty") == 0) {
        if (m != HTTP_POST)
            return bad_method(c);
        return id ? st_bucket_empty(c, id) : st_err(c->r, 404, "Bucket not found", "Bucket not found");
    }
    if (slash && slash[1])
        return st_err(c->r, 404, "not_found", "Route not found");
    if (!id)
        return st_err(c->r, 404, "Bucket not found", "Bucket not found");
    switch (m) {
    case HTTP_GET: return st_bucket_get_h(c, id);
    case HTTP_PUT:
    case HTTP_PATCH: return st_bucket_update(c, id);
    case HTTP_DELETE: return st_bucket_delete(c, id);
    default: return bad_method(c);
    }
}

/* Paths that need no key. Returns true when it answered. */
static bool route_keyless(st_ctx *c, const char *sub, int *rc)
{
    const char *rest;
    unsigned m = http_method(c->r);
    char *bucket, *key;
    if (is(sub, "object/public", &rest) && (m & (HTTP_GET | HTTP_HEAD))) {
        if (st_split_path(c, rest, &bucket, &key) == BS_OK) {
            st_bucket b;
            if (st_load_bucket(c, bucket, &b) == BS_OK) {
                *rc = b.public_ ? st_download(c, &b, key, false)
                                : st_err(c->r, 404, "not_found", "Object not found");
                st_bucket_clear(&b);
            }
        }
        return true;
    }
    if (is(sub, "object/sign", &rest) && (m & (HTTP_GET | HTTP_HEAD))) {
        if (st_split_path(c, rest, &bucket, &key) == BS_OK)
            *rc = st_sign_download(c, bucket, key);
        return true;
    }
    if (is(sub, "object/upload/sign", &rest) && m == HTTP_PUT) {
        if (st_split_path(c, rest, &bucket, &key) == BS_OK)
            *rc = st_sign_upload_put(c, bucket, key);
        return true;
    }
    return false;
}

static int route_object(st_ctx *c, const char *sub)
{
    const char *rest;
    unsigned m = http_method(c->r);
    char *bucket, *key;
    if (is(sub, "authenticated", &rest)) {
        if (!(m & (HTTP_GET | HTTP_HEAD)))
            return bad_method(c);
        goto download;
    }
    if (is(sub, "info", &rest)) {
        if (m != HTTP_GET && m != HTTP_HEAD)
            return bad_method(c);
        const char *r2;
        if (is(rest, "public", &r2) || is(rest, "authenticated", &r2))
            rest = r2;
        if (st_split_path(c, rest, &bucket, &key))
            return BS_OK;
        return st_obj_info(c, bucket, key);
    }
    if (is(sub, "list", &rest)) {
        if (m != HTTP_POST)
            return bad_method(c);
        char *b = decode_bucket(c, rest, strlen(rest));
        return b ? st_obj_list(c, b) : st_err(c->r, 404, "Bucket not found", "Bucket not found");
    }
    if (strcmp(sub, "move") == 0 || strcmp(sub, "copy") == 0) {
        if (m != HTTP_POST)
            return bad_method(c);
        return st_obj_move_copy(c, sub[0] == 'c');
    }
    if (is(sub, "upload/sign", &rest)) {
        if (m != HTTP_POST)
            return bad_method(c);
        if (st_split_path(c, rest, &bucket, &key))
            return BS_OK;
        return st_sign_upload_create(c, bucket, key);
    }
    if (is(sub, "sign", &rest)) {
        if (m != HTTP_POST)
            return bad_method(c);
        if (!strchr(rest, '/')) {
            char *b = decode_bucket(c, rest, strlen(rest));
            return b ? st_sign_many(c, b) : st_err(c->r, 404, "Bucket not found", "Bucket not found");
        }
        if (st_split_path(c, rest, &bucket, &key))
            return BS_OK;
        return st_sign_one(c, bucket, key);
    }
    if (is(sub, "public", &rest))
        return bad_method(c);
    rest = sub;
    if (!strchr(rest, '/') || m == HTTP_DELETE) {
        /* DELETE /object/B {"prefixes":[...]} or DELETE /object/B/K */
        if (m != HTTP_DELETE)
            return st_err(c->r, 400, "InvalidKey", "Invalid key: %s", "");
        const char *slash = strchr(rest, '/');
        char *b = decode_bucket(c, rest, slash ? (size_t)(slash - rest) : strlen(rest));
        if (!b)
            return st_err(c->r, 404, "Bucket not found", "Bucket not found");
        if (slash) {
            if (st_split_path(c, rest, &bucket, &key))
                return BS_OK;
            json_t *one = json_pack("[s]", key);
            int rc = st_obj_remove(c, b, one);
            json_decref(one);
            return rc;
        }
        json_t *body;
        if (st_read_json(c->r, &body))
            return BS_OK;
        int rc = st_obj_remove(c, b, json_object_get(body, "prefixes"));
        json_decref(body);
        return rc;
    }
    if (m == HTTP_POST || m == HTTP_PUT) {
        if (st_split_path(c, rest, &bucket, &key))
            return BS_OK;
        const char *ups = http_header(c->r, "x-upsert");
        bool upsert = ups && strcasecmp(ups, "true") == 0;
        return st_upload(c, bucket, key, m == HTTP_PUT ? 1 : 0, upsert, st_caller_sub(c));
    }
    if (!(m & (HTTP_GET | HTTP_HEAD)))
        return bad_method(c);
download:
    if (st_split_path(c, rest, &bucket, &key))
        return BS_OK;
    st_bucket b;
    if (st_load_bucket(c, bucket, &b))
        return BS_OK;
    int rc = st_download(c, &b, key, true);
    st_bucket_clear(&b);
    return rc;
}

int st_handle(http_req *r)
{
    bs_app *app = http_app(r);
    st_ctx c = {r, app, app->storage, http_arena(r), NULL, false};
    const char *sub = http_subpath_raw(r), *rest;
    int rc = BS_OK;
    if (!c.s)
        return st_err(r, 503, "InternalError", "storage is not running");
    if (route_keyless(&c, sub, &rc))
        return rc;
    if (authenticate(&c))
        return BS_OK;
    if (is(sub, "bucket", &rest))
        rc = route_bucket(&c, rest);
    else if (is(sub, "object", &rest))
        rc = route_object(&c, rest);
    else
        rc = st_err(r, 404, "not_found", "Route %s %s not found", http_method_name(r), http_path(r));
    auth_claims_release(c.caller);
    return rc;
}

/* ---- /admin/v1/buckets/NAME/rules ---- */

typedef struct rules_op_arg {
    const char *id;
    const char *text;
} rules_op_arg;

static int run_set_rules(db_conn *w, void *arg)
{
    rules_op_arg *o = arg;
    return st_bucket_set_rules(w, o->id, o->text);
}

int st_admin_buckets(http_req *r)
{
    bs_app *app = http_app(r);
    st_ctx c = {r, app, app->storage, http_arena(r), NULL, true};
    const char *sub = http_subpath_raw(r);
    const char *slash = strchr(sub, '/');
    if (!slash || strcmp(slash, "/rules") != 0)
        return http_error(r, 404, "PGRST125", "Invalid path specified in request URL", NULL, NULL);
    char *id = decode_bucket(&c, sub, (size_t)(slash - sub));
    st_bucket b;
    db_conn *db = db_reader(app->store);
    int rc = !id ? BS_ENOTFOUND : db ? st_bucket_get(db, c.a, id, &b) : BS_EDB;
    if (rc == BS_ENOTFOUND)
        return http_error(r, 404, "PGRST205", "bucket not found", NULL, NULL);
    if (rc)
        return http_error(r, 500, "PGRST000", basalt_strerror(rc), NULL, NULL);
    unsigned m = http_method(r);
    json_t *body = NULL, *merged = NULL;
    buf msg = BUF_INIT;
    char *text = NULL;
    if (m == HTTP_GET) {
        text = json_dumps(b.rules, JSON_COMPACT);
        rc = text ? http_send_json(r, 200, text, strlen(text)) : BS_ENOMEM;
        goto out;
    }
    if (m != HTTP_POST && m != HTTP_PATCH && m != HTTP_PUT) {
        rc = http_error(r, 405, "PGRST117", "Unsupported HTTP method", NULL, NULL);
        goto out;
    }
    const char *data;
    size_t len;
    char why[JSONIN_MSG_MAX];
    /* not json_is_object(body = ...): the jansson macro evaluates its
     * argument twice, which parsed the body twice and leaked one tree */
    if (http_body(r, &data, &len) == BS_OK &&
        jsonin_parse(data, len, JSONIN_ANY_SIZE, 0, &body, why, sizeof why) != BS_OK) {
        rc = http_error(r, 400, "PGRST102", "the request body is not valid JSON", why, NULL);
        goto out;
    }
    if (!json_is_object(body)) {
        rc = http_error(r, 400, "PGRST102", "the request body must be a JSON object", NULL, NULL);
        goto out;
    }
    /* POST/PUT replace the whole set, PATCH changes the named operations */
    if (st_rules_merge(m == HTTP_PATCH ? b.rules : NULL, body, &merged, &msg) != BS_OK) {
        rc = http_error(r, 400, "PGRST100", buf_cstr(&msg), NULL, NULL);
        goto out;
    }
    text = json_dumps(merged, JSON_COMPACT);
    rules_op_arg o = {id, text};
    rc = text ? db_write(app->store, run_set_rules, &o) : BS_ENOMEM;
    if (rc == BS_OK)
        rc = http_send_json(r, 200, text, strlen(text));
    else if (rc == BS_ENOTFOUND)
        rc = http_error(r, 404, "PGRST205", "bucket not found", NULL, NULL);
    else
        rc = http_error(r, 500, "PGRST000", basalt_strerror(rc), NULL, NULL);
out:
    free(text);
    json_decref(body);
    json_decref(merged);
    buf_free(&msg);
    st_bucket_clear(&b);
    return rc;
}
