/* st_service.c - the storage service's life cycle and its blob files.
 *
 * Layout of the storage directory:
 *   tmp/<uuid>.part   uploads in progress (emptied at start)
 *   ab/cd/<blob-id>   object bytes; blob-id is a random UUIDv4, ab and cd
 *                     its first four hex digits (spreads files over 65536
 *                     directories).  A blob file is never modified once
 *                     renamed into place: an overwrite writes a new blob and
 *                     removes the old one after the commit.
 *
 * Crash safety: bytes go to a temp file, are fsynced, renamed into place
 * and the directory fsynced, and only then is the metadata row committed
 * (st_upload.c).  A crash before the commit leaves a blob no row names; a
 * crash after a commit that replaced or deleted a row leaves the old blob
 * unnamed.  The sweep at start removes both kinds, so no orphan survives a
 * restart and no object is visible without its bytes.
 */
#include "storage/st_int.h"
#include "app/app.h"
#include "core/error.h"
#include "core/log.h"
#include "core/uuid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ensure_dir(const char *p)
{
    if (mkdir(p, 0700) == 0 || errno == EEXIST)
        return BS_OK;
    return BS_EIO;
}

static void fsync_dir(const char *p)
{
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

void st_blob_path(const st_service *s, const char *blob, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%.2s/%.2s/%s", s->root, blob, blob + 2, blob);
}

int st_tmp_open(st_service *s, st_tmp *t)
{
    char id[UUID_STR_LEN + 1];
    t->fd = -1;
    if (uuid_v4(id) != BS_OK)
        return BS_EIO;
    snprintf(t->path, sizeof t->path, "%s/%s.part", s->tmp, id);
    t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (t->fd < 0) {
        log_error("storage: cannot create %s: %s", t->path, strerror(errno));
        return BS_EIO;
    }
    return BS_OK;
}

void st_tmp_abort(st_tmp *t)
{
    if (t->fd >= 0) {
        close(t->fd);
        unlink(t->path);
        t->fd = -1;
    }
}

/* Make the two directory levels of a blob and its final path. */
static int blob_dirs(st_service *s, const char *blob, char *path, size_t cap, char *dir, size_t dcap)
{
    snprintf(dir, dcap, "%s/%.2s", s->root, blob);
    if (ensure_dir(dir))
        return BS_EIO;
    snprintf(dir, dcap, "%s/%.2s/%.2s", s->root, blob, blob + 2);
    if (ensure_dir(dir))
        return BS_EIO;
    st_blob_path(s, blob, path, cap);
    return BS_OK;
}

int st_tmp_commit(st_service *s, st_tmp *t, char blob[ST_BLOB_ID_LEN + 1])
{
    char path[4400], dir[4200];
    int rc = BS_EIO;
    if (fsync(t->fd) != 0) {
        log_error("storage: fsync %s: %s", t->path, strerror(errno));
        goto out;
    }
    if (uuid_v4(blob) != BS_OK || blob_dirs(s, blob, path, sizeof path, dir, sizeof dir))
        goto out;
    if (rename(t->path, path) != 0) {
        log_error("storage: rename %s -> %s: %s", t->path, path, strerror(errno));
        goto out;
    }
    fsync_dir(dir);
    close(t->fd);
    t->fd = -1;
    rc = BS_OK;
out:
    if (rc)
        st_tmp_abort(t);
    return rc;
}

void st_blob_remove(st_service *s, const char *blob)
{
    char path[4400];
    st_blob_path(s, blob, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        log_warn("storage: cannot remove %s: %s", path, strerror(errno));
}

int st_blob_clone(st_service *s, const char *src, char blob[ST_BLOB_ID_LEN + 1])
{
    char from[4400], path[4400], dir[4200];
    st_blob_path(s, src, from, sizeof from);
    if (uuid_v4(blob) != BS_OK || blob_dirs(s, blob, path, sizeof path, dir, sizeof dir))
        return BS_EIO;
    if (link(from, path) != 0) {
        log_error("storage: link %s -> %s: %s", from, path, strerror(errno));
        return errno == ENOENT ? BS_ENOTFOUND : BS_EIO;
    }
    fsync_dir(dir);
    return BS_OK;
}

/* ---- start-up sweep ---- */

static bool is_hex2(const char *n)
{
    return strlen(n) == 2 && strspn(n, "0123456789abcdef") == 2;
}

static bool blob_named(db_conn *c, const char *blob)
{
    bool yes;
    /* when in doubt, keep the file */
    return db_exists(c, "SELECT 1 FROM _basalt_objects WHERE blob=?", blob, &yes) != BS_OK || yes;
}

/* dir + "/" + name into out; false when it does not fit. */
static bool join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

static void empty_dir(const char *dir, int *removed)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (join(p, sizeof p, dir, e->d_name) && unlink(p) == 0)
            (*removed)++;
    }
    closedir(d);
}

static void sweep(st_service *s)
{
    db_conn *c = db_reader(s->app->store);
    int tmp_removed = 0, orphans = 0;
    empty_dir(s->tmp, &tmp_removed);
    if (!c)
        return;
    DIR *d1 = opendir(s->root);
    if (!d1)
        return;
    struct dirent *e1;
    char p1[4200], p2[4300], p3[4400];
    while ((e1 = readdir(d1))) {
        if (!is_hex2(e1->d_name))
            continue;
        DIR *d2 = join(p1, sizeof p1, s->root, e1->d_name) ? opendir(p1) : NULL;
        if (!d2)
            continue;
        struct dirent *e2;
        while ((e2 = readdir(d2))) {
            if (!is_hex2(e2->d_name))
                continue;
            DIR *d3 = join(p2, sizeof p2, p1, e2->d_name) ? opendir(p2) : NULL;
            if (!d3)
                continue;
            struct dirent *e3;
            while ((e3 = readdir(d3))) {
                if (e3->d_name[0] == '.')
                    continue;
                if (blob_named(c, e3->d_name))
                    continue;
                if (join(p3, sizeof p3, p2, e3->d_name) && unlink(p3) == 0)
                    orphans++;
            }
            closedir(d3);
        }
        closedir(d2);
    }
    closedir(d1);
    if (tmp_removed || orphans)
        log_info("storage: removed %d unfinished upload(s) and %d orphaned object file(s)", tmp_removed, orphans);
}

int st_start(bs_app *app, st_service **out)
{
    *out = NULL;
    st_service *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    s->app = app;
    if (app->cfg->storage_dir)
        snprintf(s->root, sizeof s->root, "%s", app->cfg->storage_dir);
    else
        snprintf(s->root, sizeof s->root, "%s/storage", app->cfg->data_dir);
    snprintf(s->tmp, sizeof s->tmp, "%s/tmp", s->root);
    if (ensure_dir(s->root) || ensure_dir(s->tmp)) {
        fprintf(stderr, "basalt: cannot create the storage directory %s: %s\n", s->root, strerror(errno));
        free(s);
        return BS_EIO;
    }
    sweep(s);
    *out = s;
    return BS_OK;
}

void st_free(st_service *s)
{
    free(s);
}
