/* datadir.c - see datadir.h. */
#include "app/datadir.h"
#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_FILE "basalt.lock"

int datadir_ensure(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return BS_OK;
    fprintf(stderr, "basalt: cannot create data directory %s: %s\n", dir, strerror(errno));
    return BS_EIO;
}

int datadir_lock(const char *dir, int *out)
{
    *out = -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/" LOCK_FILE, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "basalt: cannot open %s: %s\n", path, strerror(errno));
        return BS_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\r\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK) {
            fprintf(stderr,
                    "basalt: the data directory %s is in use by another basalt server (pid %s): stop it first, "
                    "or give this one its own --data\n",
                    dir, *pid ? pid : "unknown");
            return BS_EBUSY;
        }
        fprintf(stderr, "basalt: cannot lock %s: %s\n", path, strerror(e));
        return BS_EIO;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("cannot record the pid in %s: %s", path, strerror(errno));
    *out = fd;
    return BS_OK;
}

void datadir_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

void datadir_secure(const char *dir)
{
    static const char *const private_files[] = {"basalt.db", "basalt.db-wal", "basalt.db-shm", "jwt_secret",
                                                "api_keys.json", LOCK_FILE};
    char path[4096];
    struct stat st;
    for (size_t i = 0; i < sizeof private_files / sizeof private_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, private_files[i]);
        if (stat(path, &st) != 0 || !(st.st_mode & 077))
            continue;
        if (chmod(path, st.st_mode & 0700) == 0)
            log_warn("%s was readable by others (mode %03o): now %03o", path, (unsigned)(st.st_mode & 0777),
                     (unsigned)(st.st_mode & 0700));
        else
            log_warn("%s is readable by others (mode %03o) and cannot be changed: %s", path,
                     (unsigned)(st.st_mode & 0777), strerror(errno));
    }
    if (stat(dir, &st) == 0 && (st.st_mode & 077))
        log_warn("the data directory %s is open to others (mode %03o): it holds the database and the JWT "
                 "secret; chmod 700 it",
                 dir, (unsigned)(st.st_mode & 0777));
}

int datadir_read_small(const char *path, char *out, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? BS_ENOTFOUND : BS_EIO;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0)
        return BS_EIO;
    out[n] = '\0';
    *len = (size_t)n;
    return BS_OK;
}

int datadir_write_private(const char *path, const char *data, size_t len, bool exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0600);
    if (fd < 0)
        return errno == EEXIST ? BS_EEXISTS : BS_EIO;
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return BS_EIO;
    }
    ssize_t w = write(fd, data, len);
    int rc = (w == (ssize_t)len && fsync(fd) == 0) ? BS_OK : BS_EIO;
    close(fd);
    return rc;
}
