/* st_api.c - the storage C API for other subsystems: read and write whole
 * objects from any thread (function workers, HTTP workers).
 *
 * Writes take the same path as an HTTP upload, minus HTTP: the key, bucket
 * name and MIME type are validated, the bucket's limits checked (size:
 * file_size_limit and --storage-max-file; MIME: allowed_mime_types), the
 * bytes go to a temp file (hashed for the ETag), st_tmp_commit fsyncs and
 * renames it into a blob, and st_object_commit (st_upload.c, shared with
 * the HTTP upload) writes the row and its "storage.objects" change-log
 * entry in one db_write, then removes the replaced blob.  Access rules are
 * not evaluated: callers act as service_role.
 *
 * Reads look the row up on the calling thread's reader, open the blob and
 * read it whole with pread.  An overwrite that commits between the row
 * read and the open unlinks the old blob: ENOENT then means "read the row
 * again" (a few times), the same retry st_download.c does.  An open file
 * keeps its bytes readable, so a read never mixes two versions.
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_TRIES 3

static bool names_ok(const char *bucket, const char *name)
{
    return bucket && name && st_bucket_name_valid(bucket, strlen(bucket)) && st_key_valid(name, strlen(name));
}

/* Read fd's size bytes into data.  BS_OK, BS_EIO (short file), BS_ENOMEM. */
static int read_fd(int fd, size_t size, buf *data)
{
    int rc = buf_reserve(data, size + 1);
    if (rc)
        return rc;
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, data->data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return BS_EIO;
        got += (size_t)n;
    }
    data->len = got;
    data->data[got] = '\0';
    return BS_OK;
}

int st_object_read(st_service *s, const char *bucket, const char *name, buf *data, char **content_type)
{
    arena a = ARENA_INIT;
    int fd = -1;
    int rc = BS_EINVAL;
    char *ct = NULL;
    if (content_type)
        *content_type = NULL;
    if (!s || !data)
        return BS_EINVAL;
    buf_reset(data);
    if (!names_ok(bucket, name))
        goto out;
    db_conn *db = db_reader(s->app->store);
    if (!db) {
        rc = BS_EDB;
        goto out;
    }
    st_object o;
    for (int i = 0; i < READ_TRIES; i++) {
        rc = st_object_get(db, &a, bucket, name, &o);
        if (rc)
            goto out;
        if (o.size < 0 || (uint64_t)o.size > ST_OBJECT_READ_MAX) {
            rc = BS_ETOOBIG;
            goto out;
        }
        char path[4400];
        st_blob_path(s, o.blob, path, sizeof path);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            break;
        if (errno != ENOENT) {
            log_error("storage: open %s: %s", path, strerror(errno));
            rc = BS_EIO;
            goto out;
        }
    }
    if (fd < 0) { /* the blob kept vanishing: a missing file, not a race */
        log_error("storage: the file of %s/%s is missing", bucket, name);
        rc = BS_EIO;
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size != o.size) {
        log_error("storage: the file of %s/%s has the wrong size", bucket, name);
        rc = BS_EIO;
        goto out;
    }
    rc = read_fd(fd, (size_t)o.size, data);
    if (rc)
        goto out;
    if (content_type) {
        ct = strdup(o.content_type);
        if (!ct) {
            rc = BS_ENOMEM;
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc == BS_OK && content_type) {
        *content_type = ct;
        ct = NULL;
    }
    if (rc)
        buf_reset(data);
    free(ct);
    arena_free(&a);
    return rc;
}

/* Check the bucket's limits for an object of len bytes and type ctype. */
static int check_bucket(st_service *s, arena *a, const char *bucket, size_t len, const char *ctype)
{
    db_conn *db = db_reader(s->app->store);
    if (!db)
        return BS_EDB;
    st_bucket b;
    int rc = st_bucket_get(db, a, bucket, &b);
    if (rc)
        return rc;
    uint64_t limit = s->app->cfg->storage_max_file;
    if (b.size_limit > 0 && (uint64_t)b.size_limit < limit)
        limit = (uint64_t)b.size_limit;
    if ((uint64_t)len > limit)
        rc = BS_ETOOBIG;
    else if (!st_bucket_mime_ok(&b, ctype))
        rc = BS_EDENIED;
    st_bucket_clear(&b);
    return rc;
}

int st_object_write(st_service *s, const char *bucket, const char *name, const void *data, size_t len,
                    const char *content_type, bool upsert, const char *owner)
{
    arena a = ARENA_INIT;
    st_tmp tmp = {.fd = -1};
    const char *ctype = content_type && *content_type ? content_type : "application/octet-stream";
    int rc = BS_EINVAL;
    if (!s || !names_ok(bucket, name) || (!data && len) || !st_mime_valid(ctype))
        goto out;
    rc = check_bucket(s, &a, bucket, len, ctype);
    if (rc)
        goto out;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        rc = BS_ENOMEM;
        goto out;
    }
    char etag[ST_ETAG_LEN + 1];
    st_etag_hex(md, mdlen, etag);
    rc = st_tmp_open(s, &tmp);
    if (!rc && len)
        rc = st_write_all(tmp.fd, data, len);
    if (rc) {
        log_error("storage: cannot write a temp file for %s/%s", bucket, name);
        goto out;
    }
    st_put put = {.bucket = bucket, .key = name, .owner = owner, .content_type = ctype,
                  .cache_control = "no-cache", .etag = etag, .size = (int64_t)len, .upsert = upsert};
    rc = st_tmp_commit(s, &tmp, put.blob); /* removes the temp file on failure */
    if (rc)
        goto out;
    /* the commit re-checks the bucket's existence inside the transaction;
     * its limits were checked just above (a concurrent bucket update may
     * tighten them in between, as with an HTTP upload in flight) */
    rc = st_object_commit(s, &a, &put);
out:
    st_tmp_abort(&tmp);
    arena_free(&a);
    return rc;
}
