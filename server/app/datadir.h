/* datadir.h - the data directory: creating it, owning it, keeping it private.
 *
 * The data directory holds the database (password hashes, sessions), the
 * JWT secret and the object bytes, so everything in it is the server's
 * alone: main() sets umask 077 before anything is created (files 0600,
 * directories 0700), and datadir_secure tightens the sensitive files of a
 * directory made by an older version or by hand.
 *
 * One server per directory: datadir_lock takes an exclusive flock on
 * DIR/basalt.lock for the life of the process, so a second `serve` on the
 * same directory stops with a message naming the holder's pid instead of
 * running two writers over one database (their caches would diverge).
 * flock is released by the kernel when the holder dies, so a crash never
 * leaves a stale lock.  Other commands (migrate, keys, admin) do not take
 * the lock: they may run beside a server, which notices their changes.
 *
 * Threads: main thread, at start and exit.
 */
#ifndef BS_DATADIR_H
#define BS_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

/* mkdir DIR 0700 unless it exists; BS_EIO (message on stderr) otherwise. */
int datadir_ensure(const char *dir);
/* Lock DIR for this process and record its pid; *fd stays open until
 * datadir_unlock.  BS_EBUSY (message on stderr naming the holder) when
 * another process holds it, BS_EIO when the lock file cannot be made. */
int datadir_lock(const char *dir, int *fd);
void datadir_unlock(int fd);
/* chmod 0600 the database files and secrets in DIR that group or others
 * could read, logging each; warn when DIR itself is open to others. */
void datadir_secure(const char *dir);

/* Small private files (secrets, keys). */
/* Read up to cap-1 bytes and NUL-terminate.  BS_ENOTFOUND, BS_EIO. */
int datadir_read_small(const char *path, char *out, size_t cap, size_t *len);
/* Write and fsync a 0600 file; exclusive: fail with BS_EEXISTS if it
 * exists, else replace its contents.  BS_EIO on other errors. */
int datadir_write_private(const char *path, const char *data, size_t len, bool exclusive);

#endif
