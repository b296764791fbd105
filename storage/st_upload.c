/* st_upload.c - streaming uploads: POST (upload), PUT (update) and PUT to a
 * signed upload URL, with raw or multipart/form-data bodies (spec §4.3,
 * traps 9-10).
 *
 * The body is read with http_read in ST_CHUNK pieces into a temp file,
 * hashing as it goes (the ETag is the first 128 bits of the SHA-256 of the
 * bytes, in hex and quoted: SHA-256 runs at twice MD5's speed on CPUs with
 * SHA extensions, and MD5 was the bottleneck of large uploads), so memory stays bounded
 * whatever the object size.  Size limits (bucket file_size_limit and
 * --storage-max-file) are enforced while streaming: the first byte over
 * the limit ends the upload with 413 and "Connection: close" (civetweb then
 * drops the connection instead of reading the rest).  The MIME type is
 * checked before any byte is stored: from the Content-Type header for raw
 * bodies, from the file part's header for multipart ones (415).
 *
 * Then: fsync + rename into the blob path, and (st_object_commit, which
 * st_api.c's st_object_write shares) one db_write that re-checks
 * the bucket, the key's existence (409 without upsert) and the rules, writes
 * the row and its change-log entry.  The replaced blob (an overwrite) is
 * removed after that commit; the new blob is removed if the commit failed.
 * Rules are also checked before reading the body when they can already
 * refuse (no rule for the operation, or a raw body of known length), so a
 * refused upload is not streamed to disk first.
 */
#include "storage/st_int.h"
#include "storage/st_multipart.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_FIELD 65536

typedef struct upload {
    st_ctx *c;
    st_bucket *b;
    const char *bucket, *key, *owner;
    st_upload_how how;
    bool upsert;
    int64_t limit;
    st_tmp tmp;
    EVP_MD_CTX *md;
    int64_t size;
    /* multipart */
    bool in_file, file_seen;
    int field;             /* 1 cacheControl, 2 metadata, 0 ignored */
    buf fbuf;
    /* what gets stored */
    const char *content_type;
    const char *cache_control;
    const char *metadata;  /* JSON text or NULL */
    /* the first refusal found on the way, answered at the end */
    bool refused;
    st_error err;
    char msg[400];
    bool body_read;        /* all of the body was read (no "Connection: close") */
} upload;

/* Keep the refusal to answer at the end (msg NULL: e's default message);
 * returns BS_EDENIED. */
static int refuse(upload *u, st_error e, const char *msg)
{
    if (!u->refused) {
        u->refused = true;
        u->err = e;
        snprintf(u->msg, sizeof u->msg, "%s", msg ? msg : st_error_message(e));
    }
    return BS_EDENIED;
}

static bool mime_allowed(const st_bucket *b, const char *type)
{
    if (!b->mimes)
        return true;
    size_t i;
    json_t *p;
    json_array_foreach(b->mimes, i, p) {
        if (st_mime_match(json_string_value(p), type))
            return true;
    }
    return false;
}

static int check_mime(upload *u, const char *type)
{
    if (!st_mime_valid(type) || !mime_allowed(u->b, type)) {
        char m[330];
        snprintf(m, sizeof m, "mime type %.300s is not supported", type);
        return refuse(u, ST_ERR_MIME, m);
    }
    return BS_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return BS_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return BS_OK;
}

static int file_bytes(upload *u, const char *p, size_t n)
{
    if (u->size + (int64_t)n > u->limit)
        return refuse(u, ST_ERR_OBJECT_TOO_LARGE, NULL);
    u->size += (int64_t)n;
    EVP_DigestUpdate(u->md, p, n);
    if (write_all(u->tmp.fd, p, n) != BS_OK) {
        log_error("storage: write %s: %s", u->tmp.path, strerror(errno));
        return refuse(u, ST_ERR_INTERNAL, "Internal server error (cannot write the object)");
    }
    return BS_OK;
}

/* "3600" -> "max-age=3600"; anything else is kept as sent. */
static const char *cache_control_of(arena *a, const char *v)
{
    if (!v || !*v)
        return "no-cache";
    if (strspn(v, "0123456789") == strlen(v)) {
        size_t n = strlen(v) + 9;
        char *s = arena_alloc(a, n);
        if (s)
            snprintf(s, n, "max-age=%s", v);
        return s ? s : "no-cache";
    }
    return arena_strdup(a, v);
}

int st_parse_metadata(const char *text, size_t len, char **out, char *msg, size_t msgsz)
{
    *out = NULL;
    json_t *j = NULL;
    char why[JSONIN_MSG_MAX];
    int rc = jsonin_parse(text, len, MAX_FIELD, 0, &j, why, sizeof why);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc == BS_OK && !json_is_object(j))
        rc = BS_EJSON, snprintf(why, sizeof why, "not an object");
    if (rc) {
        json_decref(j);
        snprintf(msg, msgsz, "metadata must be a JSON object (%s)", why);
        return rc;
    }
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return *out ? BS_OK : BS_ENOMEM;
}

static int set_metadata(upload *u, const char *text, size_t len)
{
    char *s, msg[JSONIN_MSG_MAX + 64];
    int rc = st_parse_metadata(text, len, &s, msg, sizeof msg);
    if (rc == BS_ENOMEM)
        return rc;
    if (rc)
        return refuse(u, ST_ERR_BAD_REQUEST, msg);
    u->metadata = arena_strdup(u->c->a, s);
    free(s);
    return u->metadata ? BS_OK : BS_ENOMEM;
}

/* ---- multipart callbacks ---- */

static int on_part(void *arg, const st_mp_part *p)
{
    upload *u = arg;
    u->in_file = false;
    u->field = 0;
    buf_reset(&u->fbuf);
    if (p->filename && !u->file_seen) {
        u->file_seen = true;
        u->in_file = true;
        const char *ct = p->content_type && *p->content_type ? p->content_type : "application/octet-stream";
        u->content_type = arena_strdup(u->c->a, ct);
        if (!u->content_type)
            return BS_ENOMEM;
        return check_mime(u, u->content_type);
    }
    if (!p->filename && strcmp(p->name, "cacheControl") == 0)
        u->field = 1;
    else if (!p->filename && strcmp(p->name, "metadata") == 0)
        u->field = 2;
    return BS_OK;
}

static int on_data(void *arg, const char *p, size_t n)
{
    upload *u = arg;
    if (u->in_file)
        return file_bytes(u, p, n);
    if (!u->field)
        return BS_OK;
    if (u->fbuf.len + n > MAX_FIELD)
        return refuse(u, ST_ERR_BAD_REQUEST, "a form field is too large");
    return buf_append(&u->fbuf, p, n);
}

static int on_end(void *arg)
{
    upload *u = arg;
    int rc = BS_OK;
    if (u->field == 1)
        u->cache_control = cache_control_of(u->c->a, buf_cstr(&u->fbuf));
    else if (u->field == 2)
        rc = set_metadata(u, u->fbuf.data ? u->fbuf.data : "", u->fbuf.len);
    u->in_file = false;
    u->field = 0;
    return rc;
}

/* ---- headers of a raw body ---- */

static int raw_headers(upload *u)
{
    http_req *r = u->c->r;
    const char *ct = http_header(r, "Content-Type");
    u->content_type = ct && *ct ? ct : "application/octet-stream";
    u->cache_control = cache_control_of(u->c->a, http_header(r, "Cache-Control"));
    const char *xm = http_header(r, "x-metadata");
    if (xm && *xm) {
        size_t n = strlen(xm);
        if (n > 4 * MAX_FIELD / 3)
            return refuse(u, ST_ERR_BAD_REQUEST, "x-metadata is too large");
        unsigned char *dec = arena_alloc(u->c->a, n + 4);
        int dl = dec ? EVP_DecodeBlock(dec, (const unsigned char *)xm, (int)n) : -1;
        if (dl < 0 || n % 4)
            return refuse(u, ST_ERR_BAD_REQUEST, "x-metadata must be base64 of a JSON object");
        while (n && xm[n - 1] == '=' && dl > 0)
            n--, dl--;
        int rc = set_metadata(u, (const char *)dec, (size_t)dl);
        if (rc)
            return rc;
    }
    return check_mime(u, u->content_type);
}

/* ---- reading the body ---- */

static int stream_body(upload *u, st_mp *mp)
{
    char *chunk = malloc(ST_CHUNK);
    if (!chunk)
        return BS_ENOMEM;
    int rc = BS_OK;
    for (;;) {
        long n = http_read(u->c->r, chunk, ST_CHUNK);
        if (n < 0) {
            rc = refuse(u, ST_ERR_BAD_REQUEST, "the connection failed while reading the body");
            break;
        }
        if (n == 0)
            break;
        rc = mp ? st_mp_feed(mp, chunk, (size_t)n) : file_bytes(u, chunk, (size_t)n);
        if (rc)
            break;
    }
    free(chunk);
    if (rc == BS_OK && mp && !st_mp_done(mp))
        rc = refuse(u, ST_ERR_BAD_REQUEST, "the multipart body ended early");
    if (rc == BS_OK && mp && !u->file_seen)
        rc = refuse(u, ST_ERR_BAD_REQUEST, "No file found in the request (send it as a form part with a filename)");
    if (rc == BS_EPARSE || rc == BS_ETOOBIG)
        rc = refuse(u, ST_ERR_BAD_REQUEST, "malformed multipart/form-data body");
    return rc;
}

/* ---- commit (shared with st_api.c) ---- */

bool st_bucket_mime_ok(const st_bucket *b, const char *type)
{
    return st_mime_valid(type) && mime_allowed(b, type);
}

int st_write_all(int fd, const void *p, size_t n)
{
    return write_all(fd, p, n);
}

void st_etag_hex(const unsigned char *md, unsigned int mdlen, char out[ST_ETAG_LEN + 1])
{
    mdlen = mdlen > 16 ? 16 : mdlen;
    out[0] = '"';
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < mdlen; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 15];
    }
    out[1 + 2 * mdlen] = '"';
    out[2 + 2 * mdlen] = '\0';
}

typedef struct commit_arg {
    st_put *p;
    arena *a;
    st_object obj;      /* the new row (id/created_at filled in by the writer) */
    char id[UUID_STR_LEN + 1];
    char old_blob[ST_BLOB_ID_LEN + 1];
} commit_arg;

static int run_commit(db_conn *w, void *arg)
{
    commit_arg *ca = arg;
    st_put *p = ca->p;
    ca->old_blob[0] = '\0';
    st_bucket b;
    int rc = st_bucket_get(w, ca->a, p->bucket, &b);
    if (rc)
        return rc;
    st_object old;
    rc = st_object_get(w, ca->a, p->bucket, p->key, &old);
    bool exists = rc == BS_OK;
    if (rc && rc != BS_ENOTFOUND)
        goto out;
    rc = BS_OK;
    if (exists && !p->upsert) {
        rc = BS_EEXISTS;
        goto out;
    }
    ca->obj.id = exists ? old.id : ca->id;
    ca->obj.created_at = exists ? old.created_at : ca->obj.updated_at;
    if (p->check_rules) {
        bool ok = exists ? st_allowed(&b, p->caller, RULES_UPDATE, &old) &&
                               st_allowed(&b, p->caller, RULES_UPDATE, &ca->obj)
                         : st_allowed(&b, p->caller, RULES_INSERT, &ca->obj);
        if (!ok) {
            rc = BS_EDENIED;
            goto out;
        }
    }
    rc = st_object_put_row(w, &ca->obj, exists ? &old : NULL, time_now_ms());
    if (rc == BS_OK && exists)
        snprintf(ca->old_blob, sizeof ca->old_blob, "%s", old.blob);
out:
    st_bucket_clear(&b);
    return rc;
}

int st_object_commit(st_service *s, arena *a, st_put *p)
{
    char now[32];
    time_iso_now(now);
    commit_arg ca = {.p = p, .a = a};
    int rc = uuid_v7(ca.id) != BS_OK ? BS_EIO : BS_OK;
    if (rc)
        goto out;
    ca.obj = (st_object){.bucket = p->bucket, .name = p->key, .owner = p->owner ? p->owner : "", .blob = p->blob,
                         .content_type = p->content_type, .cache_control = p->cache_control, .etag = p->etag,
                         .metadata = p->metadata, .updated_at = now, .last_accessed_at = now, .size = p->size};
    rc = db_write(s->app->store, run_commit, &ca);
    if (rc == BS_OK) {
        if (ca.old_blob[0])
            st_blob_remove(s, ca.old_blob);
        p->blob[0] = '\0'; /* now owned by the row */
        p->id = arena_strdup(a, ca.obj.id);
        if (!p->id)
            p->id = ""; /* committed all the same; only the answer lacks it */
    }
out:
    if (p->blob[0]) {
        st_blob_remove(s, p->blob);
        p->blob[0] = '\0';
    }
    return rc;
}

static int answer(upload *u, const char *id)
{
    buf out = BUF_INIT;
    int rc = BS_OK;
    if (u->how != ST_UPLOAD_SIGNED) {
        rc = buf_puts(&out, "{\"Id\":");
        if (!rc) rc = buf_json_str(&out, id, strlen(id));
        if (!rc) rc = buf_putc(&out, ',');
    } else {
        rc = buf_putc(&out, '{');
    }
    if (!rc) rc = buf_puts(&out, "\"Key\":");
    if (!rc) {
        char *full = st_full_key(u->c->a, u->bucket, u->key);
        rc = full ? buf_json_str(&out, full, strlen(full)) : BS_ENOMEM;
    }
    if (!rc) rc = buf_putc(&out, '}');
    rc = rc ? st_reply_failure(u->c->r, rc) : http_send_json(u->c->r, 200, out.data, out.len);
    buf_free(&out);
    return rc;
}

static int send_refusal(upload *u)
{
    if (!u->body_read)
        http_add_header(u->c->r, "Connection", "close");
    return st_reply_errorf(u->c->r, u->err, "%s", u->msg);
}

/* The early rule check, before reading the body: refuses when there is no
 * rule for the operation, or when the rule refuses the object as far as it
 * is known (size only for raw bodies with a Content-Length). */
static bool early_allowed(upload *u, const st_object *old, bool size_known)
{
    if (u->how == ST_UPLOAD_SIGNED || u->c->service)
        return true;
    rules_op op = old ? RULES_UPDATE : RULES_INSERT;
    if (!json_object_get(u->b->rules, op == RULES_UPDATE ? "update" : "insert"))
        return false;
    if (!size_known)
        return true;
    st_object o = {.bucket = u->bucket, .name = u->key, .owner = u->owner ? u->owner : "",
                   .content_type = u->content_type, .metadata = u->metadata, .size = u->size};
    return (!old || st_allowed(u->b, u->c->caller, op, old)) && st_allowed(u->b, u->c->caller, op, &o);
}

/* ---- the steps of an upload ----
 * Each returns BS_OK to go on; otherwise it has answered, or kept a
 * refusal (refuse) that st_upload answers. */

/* Is the key there already (*old)?  409 without upsert, before reading
 * anything. */
static int check_existing(upload *u, st_object *old, bool *exists)
{
    db_conn *db = db_reader(u->c->app->store);
    int rc = db ? st_object_get(db, u->c->a, u->bucket, u->key, old) : BS_EDB;
    *exists = rc == BS_OK;
    if (rc != BS_OK && rc != BS_ENOTFOUND) {
        st_reply_failure(u->c->r, rc);
        return rc;
    }
    return *exists && !u->upsert ? refuse(u, ST_ERR_DUPLICATE, NULL) : BS_OK;
}

/* A multipart body gets its parser (*mp); a raw one is described by the
 * request's headers, and refused now when its Content-Length is over the
 * limit.  *size_known: u->size is the raw body's length. */
static int body_setup(upload *u, st_mp **mp, bool *size_known)
{
    http_req *r = u->c->r;
    const char *ct = http_header(r, "Content-Type");
    *size_known = false;
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        char boundary[ST_MP_MAX_BOUNDARY + 1];
        st_mp_callbacks cb = {on_part, on_data, on_end};
        if (st_mp_boundary(ct, boundary, sizeof boundary) != BS_OK || st_mp_new(boundary, &cb, u, mp) != BS_OK)
            return refuse(u, ST_ERR_BAD_REQUEST, "multipart/form-data without a valid boundary");
        u->cache_control = "no-cache";
        return BS_OK;
    }
    int rc = raw_headers(u);
    if (rc)
        return rc;
    int64_t clen = http_content_length(r);
    if (clen > u->limit)
        return refuse(u, ST_ERR_OBJECT_TOO_LARGE, NULL);
    u->size = clen;
    *size_known = clen >= 0;
    return BS_OK;
}

/* Stream the body into a temp file, hashing it. */
static int receive(upload *u, st_mp *mp)
{
    u->md = EVP_MD_CTX_new();
    if (!u->md || EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
        st_reply_failure(u->c->r, BS_ENOMEM);
        return BS_ENOMEM;
    }
    if (st_tmp_open(u->c->s, &u->tmp)) {
        st_reply_errorf(u->c->r, ST_ERR_INTERNAL, "Internal server error (cannot create a temp file)");
        return BS_EIO;
    }
    int rc = stream_body(u, mp);
    if (rc)
        return refuse(u, ST_ERR_INTERNAL, NULL); /* keeps the first refusal, if any */
    u->body_read = true;
    return BS_OK;
}

/* The bytes are in: make them a blob, commit its row (st_object_commit
 * owns the blob from there on) and answer. */
static int store(upload *u)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(u->md, md, &mdlen);
    char etag[ST_ETAG_LEN + 1];
    st_etag_hex(md, mdlen, etag);
    st_put put = {.bucket = u->bucket, .key = u->key, .owner = u->owner, .content_type = u->content_type,
                  .cache_control = u->cache_control, .etag = etag, .metadata = u->metadata, .size = u->size,
                  .upsert = u->upsert, .check_rules = u->how != ST_UPLOAD_SIGNED, .caller = u->c->caller};
    if (st_tmp_commit(u->c->s, &u->tmp, put.blob)) {
        st_reply_errorf(u->c->r, ST_ERR_INTERNAL, "Internal server error (cannot store the object)");
        return BS_EIO;
    }
    int rc = st_object_commit(u->c->s, u->c->a, &put);
    switch (rc) {
    case BS_OK: return answer(u, put.id);
    case BS_EEXISTS: return refuse(u, ST_ERR_DUPLICATE, NULL);
    case BS_ENOTFOUND: return refuse(u, ST_ERR_NO_BUCKET, NULL);
    case BS_EDENIED: return refuse(u, ST_ERR_DENIED, NULL);
    default: st_reply_failure(u->c->r, rc); return rc;
    }
}

int st_upload(st_ctx *c, const char *bucket, const char *key, st_upload_how how, bool upsert, const char *owner)
{
    upload u = {.c = c, .bucket = bucket, .key = key, .owner = owner, .how = how,
                .upsert = upsert || how == ST_UPLOAD_UPDATE, .tmp = {.fd = -1}, .fbuf = BUF_INIT};
    st_bucket b;
    st_mp *mp = NULL;
    st_object old;
    bool exists = false, size_known = false;
    if (st_load_bucket_or_reply(c, bucket, &b))
        return BS_OK;
    u.b = &b;
    u.limit = (int64_t)c->app->cfg->storage_max_file;
    if (b.size_limit > 0 && b.size_limit < u.limit)
        u.limit = b.size_limit;

    int rc = check_existing(&u, &old, &exists);
    if (!rc)
        rc = body_setup(&u, &mp, &size_known);
    if (!rc && !early_allowed(&u, exists ? &old : NULL, size_known))
        rc = refuse(&u, ST_ERR_DENIED, NULL);
    u.size = 0;
    if (!rc)
        rc = receive(&u, mp);
    if (!rc)
        rc = store(&u);
    if (u.refused)
        rc = send_refusal(&u);
    else if (rc && !http_responded(c->r))
        rc = st_reply_failure(c->r, rc);
    st_tmp_abort(&u.tmp);
    EVP_MD_CTX_free(u.md);
    st_mp_free(mp);
    buf_free(&u.fbuf);
    st_bucket_clear(&b);
    return http_responded(c->r) ? BS_OK : rc;
}
