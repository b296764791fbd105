/* fn_loader.c - loading plugins and watching the functions directory.
 *
 * A load copies the .so to a private temp path first, so the file in the
 * functions directory can be replaced or deleted while the old copy is
 * mapped (dlopen of the same path twice would also return the cached
 * handle instead of the new code).  The copy is opened with
 * RTLD_NOW|RTLD_LOCAL: unresolved symbols fail the load up front and two
 * plugins never see each other's symbols.  Nothing of the plugin is called
 * before its manifest passed fn_manifest_check (magic, ABI version, sizes,
 * name, triggers); only its ELF constructors, which dlopen runs, can run
 * earlier.
 *
 * The watcher thread reads inotify events (close-after-write, moves in and
 * out, deletes) for *.so files, waits 50 ms for a burst of events on the
 * same file to settle, then reloads or unloads.  An init failure leaves the
 * previous version live and records the reason on the entry.
 */
#include "fn_int.h"
#include "fn_manifest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && name[0] != '.' && strcmp(name + n - 3, ".so") == 0;
}

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return BS_ENOTFOUND;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (out < 0) {
        close(in);
        return BS_EIO;
    }
    char b[65536];
    int rc = BS_OK;
    for (;;) {
        ssize_t n = read(in, b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = BS_EIO;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, b + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = BS_EIO;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (close(out) != 0)
        rc = BS_EIO;
    return rc;
}

static int refuse(char *why, size_t wl, const char *path, const char *fmt, const char *detail)
{
    char m[600];
    snprintf(m, sizeof m, fmt, detail);
    log_error("functions: refusing %s: %s", path, m);
    if (why && wl)
        snprintf(why, wl, "%s", m);
    return BS_EINVAL;
}

/* Copy path to the private load directory (tmp) and dlopen the copy:
 * *dl and its checked manifest *m, else a refusal (logged, in why). */
static int open_plugin(const char *path, const char *tmp, void **dl, const basalt_function **m, char *why, size_t wl)
{
    if (copy_file(path, tmp) != BS_OK)
        return refuse(why, wl, path, "cannot copy it to the private load directory (%s)", strerror(errno));
    *dl = dlopen(tmp, RTLD_NOW | RTLD_LOCAL);
    if (!*dl)
        return refuse(why, wl, path, "dlopen failed: %s", dlerror());
    *m = dlsym(*dl, BASALT_FUNCTION_SYMBOL);
    if (!*m)
        return refuse(why, wl, path, "no exported symbol %s: not a Basalt function plugin", BASALT_FUNCTION_SYMBOL);
    size_t size = sizeof **m;
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1(*m, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size)
        size = sym->st_size;
    char reason[400];
    if (fn_manifest_check(*m, size, reason, sizeof reason) != BS_OK)
        return refuse(why, wl, path, "%s", reason);
    return BS_OK;
}

static fn_version *version_new(const char *path, const char *tmp, const basalt_function *m, uint32_t gen, fn_entry *e)
{
    fn_version *v = calloc(1, sizeof *v);
    if (!v || !(v->source = strdup(path)) || !(v->tmp_path = strdup(tmp))) {
        if (v)
            free(v->source);
        free(v);
        return NULL;
    }
    atomic_init(&v->refs, 1);
    v->m = m;
    v->generation = gen;
    v->entry = e;
    v->loaded_ms = time_now_ms();
    return v;
}

/* Run the plugin's init (if any) into v->state; a failure is logged and
 * recorded on the entry (the previous version stays live). */
static int version_init(fn_registry *reg, fn_version *v, const char *path, char *why, size_t wl)
{
    const basalt_function *m = v->m;
    if (!m->init)
        return BS_OK;
    fn_callpriv priv = {reg, v->entry, ARENA_INIT, 0};
    basalt_ctx ctx = {
        .struct_size = sizeof ctx,
        .host = &fn_host_api,
        .function = m->name,
        .request_id = "init",
        .job_id = "",
        .attempt = 1,
        .version = v->generation,
        .deadline_ms = time_now_ms() + fn_manifest_timeout(m),
        .host_private = &priv,
    };
    uint64_t t0 = time_mono_ns();
    int irc = m->init(&ctx, &v->state);
    v->init_ns = time_mono_ns() - t0;
    arena_free(&priv.a);
    if (irc == BASALT_OK)
        return BS_OK;
    char msg[300];
    snprintf(msg, sizeof msg, "init of version %u from %s failed with %d%s", v->generation, path, irc,
             v->entry->current ? ": the previous version stays live" : "");
    log_error("functions: %s: %s", m->name, msg);
    fn_entry_set_error(v->entry, msg);
    if (why && wl)
        snprintf(why, wl, "%s", msg);
    return BS_EINVAL;
}

/* Make v (holding dl) its entry's current version. */
static void version_install(fn_version *v, void *dl)
{
    fn_entry *e = v->entry;
    v->dl = dl;
    atomic_fetch_add(&e->cold_starts, 1);
    atomic_fetch_add(&e->init_ns_total, v->init_ns);
    atomic_store(&e->init_ns_last, v->init_ns);
    log_info("functions: loaded %s version %u from %s (init %.3f ms)", v->m->name, v->generation, v->source,
             (double)v->init_ns / 1e6);
    fn_entry_install(e, v);
}

int fn_load_file(fn_registry *reg, const char *path, char *why, size_t wl)
{
    if (why && wl)
        why[0] = '\0';
    pthread_mutex_lock(&reg->load_lock);
    uint32_t gen = atomic_fetch_add(&reg->generation, 1) + 1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char tmp[1400];
    snprintf(tmp, sizeof tmp, "%s/%u-%.200s", reg->tmpdir, gen, base);
    void *dl = NULL;
    const basalt_function *m = NULL;
    fn_version *v = NULL;
    int rc = open_plugin(path, tmp, &dl, &m, why, wl);
    fn_entry *e = rc ? NULL : fn_entry_get(reg, m->name);
    if (!rc && !(e && (v = version_new(path, tmp, m, gen, e))))
        rc = BS_ENOMEM;
    if (!rc)
        rc = version_init(reg, v, path, why, wl);
    if (!rc) {
        version_install(v, dl); /* v and dl belong to the entry now */
        v = NULL;
        dl = NULL;
    }
    if (v) {
        free(v->source);
        free(v->tmp_path);
        free(v);
    }
    if (rc)
        unlink(tmp);
    if (dl)
        dlclose(dl);
    pthread_mutex_unlock(&reg->load_lock);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void scan_dir(fn_registry *reg)
{
    DIR *d = opendir(reg->dir);
    if (!d) {
        log_warn("functions: cannot read %s: %s", reg->dir, strerror(errno));
        return;
    }
    char *names[1024];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 1024)
        if (is_so(de->d_name))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", reg->dir, names[i]);
        fn_load_file(reg, path, NULL, 0);
        free(names[i]);
    }
}

/* Pending file events, settled for 50 ms before acting. */
typedef struct pending {
    char name[256];
    int64_t due_ms;
} pending;

static void *watch_main(void *arg)
{
    fn_registry *reg = arg;
    pending pend[64];
    size_t np = 0;
    char evbuf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        int64_t now = time_now_ms();
        int timeout = -1;
        for (size_t i = 0; i < np; i++) {
            int64_t left = pend[i].due_ms - now;
            int t = left < 0 ? 0 : (int)left;
            if (timeout < 0 || t < timeout)
                timeout = t;
        }
        struct pollfd fds[2] = {{reg->inotify_fd, POLLIN, 0}, {reg->stop_pipe[0], POLLIN, 0}};
        int pr = poll(fds, 2, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (pr > 0 && (fds[0].revents & POLLIN)) {
            ssize_t len = read(reg->inotify_fd, evbuf, sizeof evbuf);
            for (ssize_t off = 0; len > 0 && off < len;) {
                const struct inotify_event *ev = (const struct inotify_event *)(evbuf + off);
                off += (ssize_t)(sizeof *ev + ev->len);
                if (!ev->len || !is_so(ev->name) || strlen(ev->name) >= 256)
                    continue;
                if (!(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)))
                    continue;
                size_t i = 0;
                while (i < np && strcmp(pend[i].name, ev->name) != 0)
                    i++;
                if (i == np && np < 64)
                    snprintf(pend[np++].name, sizeof pend[0].name, "%s", ev->name);
                if (i < np)
                    pend[i].due_ms = time_now_ms() + 50;
            }
        }
        now = time_now_ms();
        for (size_t i = 0; i < np;) {
            if (pend[i].due_ms > now) {
                i++;
                continue;
            }
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", reg->dir, pend[i].name);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                fn_load_file(reg, path, NULL, 0);
            else
                fn_registry_remove_source(reg, path);
            pend[i] = pend[--np];
        }
    }
    return NULL;
}

int fn_loader_start(fn_registry *reg)
{
    if (mkdir(reg->dir, 0755) != 0 && errno != EEXIST)
        log_warn("functions: cannot create %s: %s", reg->dir, strerror(errno));
    reg->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (reg->inotify_fd >= 0 &&
        inotify_add_watch(reg->inotify_fd, reg->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) < 0) {
        log_warn("functions: cannot watch %s (%s): hot reload is off", reg->dir, strerror(errno));
        close(reg->inotify_fd);
        reg->inotify_fd = -1;
    }
    scan_dir(reg);
    if (reg->inotify_fd < 0)
        return BS_OK;
    if (pipe2(reg->stop_pipe, O_CLOEXEC) != 0)
        return BS_EIO;
    if (pthread_create(&reg->watch, NULL, watch_main, reg) != 0)
        return BS_ENOMEM;
    reg->watching = true;
    return BS_OK;
}

void fn_loader_stop(fn_registry *reg)
{
    if (reg->watching) {
        ssize_t w = write(reg->stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(reg->watch, NULL);
        reg->watching = false;
        close(reg->stop_pipe[0]);
        close(reg->stop_pipe[1]);
    }
    if (reg->inotify_fd >= 0)
        close(reg->inotify_fd);
    reg->inotify_fd = -1;
}
