/* st_sign.c - signed download and upload URLs.
 *
 * A signed URL carries an HS256 JWT made with the project secret
 * (auth_jwt_sign): {"url":"BUCKET/KEY","st":"download"|"upload","iat","exp",
 * "role":"anon"} (+ "upsert" and "owner" for uploads).  The token alone
 * authorises the request; it is checked to name exactly the bucket and key
 * of the URL and the right kind, and to be unexpired.  The "role":"anon"
 * claim is there because the project's verifier requires a role; it makes
 * the token worth no more than the public anon key anywhere else.
 *
 * Creating a download URL needs the select rule on an existing object;
 * creating an upload URL needs the insert rule (update when the key exists
 * and upsert is asked for).  URLs are returned unencoded (trap 9): the
 * client encodeURI()s the whole URL itself.
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UPLOAD_URL_TTL 7200
#define MAX_EXPIRES (10LL * 365 * 86400)

char *st_full_key(arena *a, const char *bucket, const char *key)
{
    size_t n = strlen(bucket) + strlen(key) + 2;
    char *s = arena_alloc(a, n);
    if (s)
        snprintf(s, n, "%s/%s", bucket, key);
    return s;
}

static char *make_token(st_ctx *c, const char *url, const char *kind, int64_t ttl, bool upsert, const char *owner)
{
    int64_t now = time_now_s();
    json_t *cl = json_pack("{s:s, s:s, s:I, s:I, s:s}", "url", url, "st", kind, "iat", (json_int_t)now, "exp",
                           (json_int_t)(now + ttl), "role", "anon");
    if (!cl)
        return NULL;
    if (strcmp(kind, "upload") == 0) {
        json_object_set_new(cl, "upsert", json_boolean(upsert));
        json_object_set_new(cl, "owner", owner ? json_string(owner) : json_null());
    }
    char *tok = NULL;
    if (auth_jwt_sign(c->app->jwt, cl, &tok) != BS_OK)
        tok = NULL;
    json_decref(cl);
    char *t = tok ? arena_strdup(c->a, tok) : NULL;
    free(tok);
    return t;
}

/* Verify a URL's token for bucket/key and kind; answers itself on failure
 * and returns NULL, else the claims (release them). */
static auth_claims *check_token_or_reply(st_ctx *c, const char *bucket, const char *key, const char *kind)
{
    const char *tok = http_param(c->r, "token");
    if (!tok || !*tok) {
        st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "Missing token query parameter");
        return NULL;
    }
    auth_claims *cl = NULL;
    int rc = auth_jwt_verify(c->app->jwt, tok, time_now_s(), &cl);
    if (rc) {
        st_reply_error(c->r, rc == BS_EEXPIRED ? ST_ERR_EXPIRED_JWT : ST_ERR_INVALID_JWT);
        return NULL;
    }
    const char *url = json_string_value(json_object_get(cl->json, "url"));
    const char *st = json_string_value(json_object_get(cl->json, "st"));
    char *want = st_full_key(c->a, bucket, key);
    if (!url || !st || !want || strcmp(url, want) != 0 || strcmp(st, kind) != 0) {
        auth_claims_release(cl);
        st_reply_error(c->r, ST_ERR_INVALID_SIGNATURE);
        return NULL;
    }
    return cl;
}

static int64_t expires_in(json_t *body, bool *ok)
{
    json_t *v = json_object_get(body, "expiresIn");
    int64_t e = json_is_integer(v) ? json_integer_value(v) : json_is_real(v) ? (int64_t)json_real_value(v) : -1;
    *ok = e >= 1 && e <= MAX_EXPIRES;
    return e;
}

/* "/object/sign/B/K?token=T" appended to out as a JSON string. */
static int signed_url_json(st_ctx *c, buf *out, const char *bucket, const char *key, int64_t ttl)
{
    char *full = st_full_key(c->a, bucket, key);
    char *tok = full ? make_token(c, full, "download", ttl, false, NULL) : NULL;
    if (!tok)
        return BS_ENOMEM;
    buf u = BUF_INIT;
    int rc = buf_printf(&u, "/object/sign/%s?token=%s", full, tok);
    if (!rc)
        rc = buf_json_str(out, u.data, u.len);
    buf_free(&u);
    return rc;
}

int st_sign_one(st_ctx *c, const char *bucket, const char *key)
{
    json_t *body;
    if (st_read_json_or_reply(c->r, &body))
        return BS_OK;
    bool ok;
    int64_t ttl = expires_in(body, &ok);
    json_decref(body);
    if (!ok)
        return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "expiresIn must be a number of seconds (at least 1)");
    st_object o;
    if (st_load_readable_or_reply(c, bucket, key, &o))
        return BS_OK;
    buf out = BUF_INIT;
    int rc = buf_puts(&out, "{\"signedURL\":");
    if (!rc) rc = signed_url_json(c, &out, bucket, key, ttl);
    if (!rc) rc = buf_putc(&out, '}');
    rc = rc ? st_reply_failure(c->r, rc) : http_send_json(c->r, 200, out.data, out.len);
    buf_free(&out);
    return rc;
}

int st_sign_many(st_ctx *c, const char *bucket)
{
    json_t *body;
    if (st_read_json_or_reply(c->r, &body))
        return BS_OK;
    bool ok;
    int64_t ttl = expires_in(body, &ok);
    json_t *paths = json_object_get(body, "paths");
    st_bucket b;
    int rc = BS_OK;
    if (!ok || !json_is_array(paths) || json_array_size(paths) > 1000) {
        rc = st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "body must have expiresIn (seconds) and paths (at most 1000)");
        json_decref(body);
        return rc;
    }
    if (st_load_bucket_or_reply(c, bucket, &b)) {
        json_decref(body);
        return BS_OK;
    }
    buf out = BUF_INIT;
    rc = buf_putc(&out, '[');
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) {
        const char *key = json_string_value(p);
        if (rc)
            break;
        if (i)
            rc = buf_putc(&out, ',');
        const char *k = key;
        while (k && *k == '/')
            k++;
        st_object o;
        int r2 = k && st_key_valid(k, strlen(k)) ? st_obj_readable(c, &b, k, &o) : BS_ENOTFOUND;
        if (r2 && r2 != BS_ENOTFOUND) {
            rc = r2;
            break;
        }
        if (!rc)
            rc = buf_puts(&out, "{\"error\":");
        if (!rc)
            rc = r2 ? buf_puts(&out, "\"Either the object does not exist or you do not have access to it\"")
                    : buf_puts(&out, "null");
        if (!rc) rc = buf_puts(&out, ",\"path\":");
        if (!rc) rc = key ? buf_json_str(&out, key, strlen(key)) : buf_puts(&out, "null");
        if (!rc) rc = buf_puts(&out, ",\"signedURL\":");
        if (!rc) rc = r2 ? buf_puts(&out, "null") : signed_url_json(c, &out, bucket, k, ttl);
        if (!rc) rc = buf_putc(&out, '}');
    }
    if (!rc)
        rc = buf_putc(&out, ']');
    rc = rc ? st_reply_failure(c->r, rc) : http_send_json(c->r, 200, out.data, out.len);
    buf_free(&out);
    st_bucket_clear(&b);
    json_decref(body);
    return rc;
}

int st_sign_download(st_ctx *c, const char *bucket, const char *key)
{
    auth_claims *cl = check_token_or_reply(c, bucket, key, "download");
    if (!cl)
        return BS_OK;
    auth_claims_release(cl);
    return st_download_from(c, bucket, key, ST_DL_SIGNED);
}

int st_sign_upload_create(st_ctx *c, const char *bucket, const char *key)
{
    st_bucket b;
    if (st_load_bucket_or_reply(c, bucket, &b))
        return BS_OK;
    bool upsert = st_upsert_asked(c);
    st_object old;
    db_conn *db = db_reader(c->app->store);
    int g = db ? st_object_get(db, c->a, bucket, key, &old) : BS_EDB;
    int rc = BS_OK;
    if (g && g != BS_ENOTFOUND) {
        rc = st_reply_failure(c->r, g);
        goto out;
    }
    if (g == BS_OK && !upsert) {
        rc = st_reply_error(c->r, ST_ERR_DUPLICATE);
        goto out;
    }
    const char *owner = st_caller_sub(c);
    st_object n = {.bucket = bucket, .name = key, .owner = owner ? owner : "", .size = 0};
    bool ok = g == BS_OK ? st_allowed(&b, c->caller, RULES_UPDATE, &old) && st_allowed(&b, c->caller, RULES_UPDATE, &n)
                         : st_allowed(&b, c->caller, RULES_INSERT, &n);
    if (!ok) {
        rc = st_reply_error(c->r, ST_ERR_DENIED);
        goto out;
    }
    char *full = st_full_key(c->a, bucket, key);
    char *tok = full ? make_token(c, full, "upload", UPLOAD_URL_TTL, upsert, owner) : NULL;
    if (!tok) {
        rc = st_reply_failure(c->r, BS_ENOMEM);
        goto out;
    }
    buf u = BUF_INIT, out = BUF_INIT;
    int brc = buf_printf(&u, "/object/upload/sign/%s?token=%s", full, tok);
    if (!brc) brc = buf_puts(&out, "{\"url\":");
    if (!brc) brc = buf_json_str(&out, u.data, u.len);
    if (!brc) brc = buf_puts(&out, ",\"token\":");
    if (!brc) brc = buf_json_str(&out, tok, strlen(tok));
    if (!brc) brc = buf_putc(&out, '}');
    rc = brc ? st_reply_failure(c->r, brc) : http_send_json(c->r, 200, out.data, out.len);
    buf_free(&u);
    buf_free(&out);
out:
    st_bucket_clear(&b);
    return rc;
}

int st_sign_upload_put(st_ctx *c, const char *bucket, const char *key)
{
    auth_claims *cl = check_token_or_reply(c, bucket, key, "upload");
    if (!cl)
        return BS_OK;
    bool upsert = json_is_true(json_object_get(cl->json, "upsert"));
    const char *owner = json_string_value(json_object_get(cl->json, "owner"));
    char *own = owner ? arena_strdup(c->a, owner) : NULL;
    auth_claims_release(cl);
    return st_upload(c, bucket, key, ST_UPLOAD_SIGNED, upsert, own);
}
