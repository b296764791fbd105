/* main.c - the basalt command line: serve, keys, migrate, version.
 *
 * `serve` wires the subsystems in order (config → data dir and secret →
 * store and migrations → JWT → HTTP listener), waits for SIGINT/SIGTERM,
 * then unwinds in reverse: stop accepting and finish in-flight requests
 * (civetweb joins its workers), drain the writer queue, checkpoint and
 * close SQLite, exit 0.
 */
#include "app/app.h"
#include "app/config.h"
#include "app/datadir.h"
#include "modules.h"
#include "console/console.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "db/store.h"
#include "functions/fn.h"
#include "http/http.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE "jwt_secret"
#define KEYS_FILE "api_keys.json"

/* The project secret: --jwt-secret, else DATA/jwt_secret (created on first
 * start when `create`: 32 random bytes as 64 hex characters, mode 0600).
 * *source says which, for messages. */
static int load_secret(const bs_config *cfg, bool create, char *out, size_t cap, char *source, size_t srccap)
{
    if (cfg->jwt_secret) {
        if (strlen(cfg->jwt_secret) < 32) {
            fprintf(stderr, "basalt: --jwt-secret must be at least 32 characters\n");
            return BS_EINVAL;
        }
        snprintf(out, cap, "%s", cfg->jwt_secret);
        snprintf(source, srccap, "--jwt-secret / BASALT_JWT_SECRET");
        return BS_OK;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/" SECRET_FILE, cfg->data_dir);
    snprintf(source, srccap, "%s", path);
    size_t len = 0;
    int rc = datadir_read_small(path, out, cap, &len);
    if (rc == BS_ENOTFOUND && !create) {
        fprintf(stderr,
                "basalt: no JWT secret: %s does not exist and neither --jwt-secret nor BASALT_JWT_SECRET is "
                "set (a server creates the file on its first start; if yours runs with BASALT_JWT_SECRET, "
                "pass the same value here)\n",
                path);
        return BS_ENOTFOUND;
    }
    if (rc == BS_ENOTFOUND) {
        unsigned char raw[32];
        if (RAND_bytes(raw, sizeof raw) != 1)
            return BS_EIO;
        for (int i = 0; i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", raw[i]);
        rc = datadir_write_private(path, out, 64, true);
        if (rc == BS_EEXISTS) /* another process won the race: use its secret */
            rc = datadir_read_small(path, out, cap, &len);
        else if (rc == BS_OK)
            log_info("generated a new JWT secret in %s", path);
        len = strlen(out);
    }
    if (rc) {
        fprintf(stderr, "basalt: cannot read or create %s\n", path);
        return rc;
    }
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
        out[--len] = '\0';
    if (len < 32) {
        fprintf(stderr, "basalt: %s holds fewer than 32 characters\n", path);
        return BS_EINVAL;
    }
    return BS_OK;
}

/* API keys are made once and kept in DATA/api_keys.json so they stay the
 * same across restarts; they are re-made when they no longer verify (the
 * secret changed), and written back only when `persist` (the server: a
 * `basalt keys` beside it must never replace what the server uses). */
static int load_keys(bs_app *app, const bs_config *cfg, bool persist)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" KEYS_FILE, cfg->data_dir);
    char text[4096];
    size_t len;
    int64_t now = time_now_s();
    if (datadir_read_small(path, text, sizeof text, &len) == BS_OK) {
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        const char *a = json_string_value(json_object_get(j, "anon"));
        const char *s = json_string_value(json_object_get(j, "service_role"));
        auth_claims *ca = NULL, *cs = NULL;
        bool ok = a && s && strlen(a) < sizeof app->anon_key && strlen(s) < sizeof app->service_key &&
                  auth_jwt_verify(app->jwt, a, now, &ca) == BS_OK && auth_jwt_verify(app->jwt, s, now, &cs) == BS_OK &&
                  strcmp(ca->role, "anon") == 0 && strcmp(cs->role, "service_role") == 0;
        if (ok) {
            snprintf(app->anon_key, sizeof app->anon_key, "%s", a);
            snprintf(app->service_key, sizeof app->service_key, "%s", s);
        }
        auth_claims_release(ca);
        auth_claims_release(cs);
        json_decref(j);
        if (ok)
            return BS_OK;
    }
    char *a = NULL, *s = NULL;
    int rc = auth_jwt_api_key(app->jwt, "anon", now, &a);
    if (!rc)
        rc = auth_jwt_api_key(app->jwt, "service_role", now, &s);
    if (!rc && (strlen(a) >= sizeof app->anon_key || strlen(s) >= sizeof app->service_key))
        rc = BS_ETOOBIG;
    if (!rc) {
        snprintf(app->anon_key, sizeof app->anon_key, "%s", a);
        snprintf(app->service_key, sizeof app->service_key, "%s", s);
        snprintf(text, sizeof text, "{\"anon\":\"%s\",\"service_role\":\"%s\"}\n", a, s);
        if (!persist)
            fprintf(stderr, "note: %s does not hold keys of this secret; these are new keys, valid for it\n", path);
        else if (datadir_write_private(path, text, strlen(text), false) != BS_OK)
            log_warn("cannot write %s: keys will change at the next start", path);
    }
    free(a);
    free(s);
    return rc;
}

/* serve: create the secret and keys files as needed.  keys: read only. */
static int open_jwt(bs_app *app, const bs_config *cfg, bool serve, char *source, size_t srccap)
{
    char secret[512];
    int rc = load_secret(cfg, serve, secret, sizeof secret, source, srccap);
    if (rc)
        return rc;
    rc = auth_jwt_new((const unsigned char *)secret, strlen(secret), &app->jwt);
    memset(secret, 0, sizeof secret);
    if (rc)
        return rc;
    return load_keys(app, cfg, serve);
}

/* The modules the server is made of, in start order (app/module.h). */
static const bs_module *const modules[] = {
    &store_module, &rules_module, &rest_module, &auth_module, &storage_module,
    &functions_module, &realtime_module, &console_module, &admin_module,
};
#define NMODULES BS_COUNT(modules)

/* Every module's SQL functions, for the store's open (malloc'd). */
static int gather_sqlfns(db_sqlfns **out, size_t *n)
{
    *out = calloc(NMODULES, sizeof **out);
    if (!*out)
        return BS_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < NMODULES; i++)
        if (modules[i]->sqlfns)
            (*out)[(*n)++] = *modules[i]->sqlfns;
    return BS_OK;
}

/* Every module's routes, in one table (malloc'd). */
static int gather_routes(http_route **out, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < NMODULES; i++)
        total += modules[i]->nroutes;
    *out = calloc(total ? total : 1, sizeof **out);
    if (!*out)
        return BS_ENOMEM;
    *n = 0;
    for (size_t i = 0; i < NMODULES; i++)
        for (size_t j = 0; j < modules[i]->nroutes; j++)
            (*out)[(*n)++] = modules[i]->routes[j];
    return BS_OK;
}

static int hooks_add(bs_app *app, const bs_module *m)
{
    int rc = BS_OK;
    if (m->observe)
        rc = db_add_change_observer(app->store, m->observe, app);
    if (!rc && m->on_commit)
        rc = db_add_commit_hook(app->store, m->on_commit, app);
    if (!rc && m->on_external)
        rc = db_add_external_hook(app->store, m->on_external, app);
    return rc;
}

static void hooks_remove(bs_app *app, const bs_module *m)
{
    if (!app->store)
        return;
    if (m->observe)
        db_remove_change_observer(app->store, m->observe, app);
    if (m->on_commit)
        db_remove_commit_hook(app->store, m->on_commit, app);
    if (m->on_external)
        db_remove_external_hook(app->store, m->on_external, app);
}

/* Start the modules in order; *started counts those whose start was
 * attempted (each is stopped by modules_stop, partial or not). */
static int modules_start(bs_app *app, size_t *started)
{
    int rc = BS_OK;
    for (*started = 0; *started < NMODULES && !rc; (*started)++) {
        const bs_module *m = modules[*started];
        rc = m->start ? m->start(app) : BS_OK;
        if (!rc)
            rc = hooks_add(app, m);
        if (rc)
            fprintf(stderr, "basalt: the %s module did not start: %s\n", m->name, basalt_strerror(rc));
    }
    return rc;
}

static int modules_serving(bs_app *app)
{
    int rc = BS_OK;
    for (size_t i = 0; i < NMODULES && !rc; i++)
        if (modules[i]->serving)
            rc = modules[i]->serving(app);
    return rc;
}

static void modules_stop(bs_app *app, size_t started)
{
    while (started--) {
        if (modules[started]->drain)
            modules[started]->drain(app);
        hooks_remove(app, modules[started]);
        if (modules[started]->stop)
            modules[started]->stop(app);
    }
}

/* After SIGTERM the process exits within --shutdown-timeout plus this
 * grace whatever is stuck: http_stop bounds the HTTP drain itself, this
 * covers the rest (an async function job that never returns, say). */
#define SHUTDOWN_GRACE_S 10

static void *watchdog_main(void *arg)
{
    int secs = (int)(intptr_t)arg;
    struct timespec ts = {secs, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    log_error("shutdown did not finish within %d s (a function job that never returns?): exiting", secs);
    _exit(1);
    return NULL;
}

static void start_watchdog(int secs)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog_main, (void *)(intptr_t)secs) == 0)
        pthread_detach(t);
}

static int cmd_serve(int argc, char **argv)
{
    bs_config cfg;
    bool help;
    int rc = cfg_load(&cfg, argc, argv, 2, &help);
    if (rc) {
        if (help)
            cfg_usage("serve");
        cfg_free(&cfg);
        return help ? 0 : 2;
    }
    log_set_level(cfg.log_level);
    /* Signals are taken synchronously by this thread; every thread started
     * from here inherits the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    bs_app app;
    memset(&app, 0, sizeof app);
    app.cfg = &cfg;
    app.started_ms = time_now_ms();
    http_server *http = NULL;
    int lock_fd = -1;
    size_t started = 0;
    db_sqlfns *fns = NULL;
    http_route *routes = NULL;
    size_t nroutes = 0;
    char secret_source[4200];
    rc = datadir_ensure(cfg.data_dir);
    if (!rc)
        rc = datadir_lock(cfg.data_dir, &lock_fd);
    if (!rc) {
        datadir_secure(cfg.data_dir);
        rc = open_jwt(&app, &cfg, true, secret_source, sizeof secret_source);
    }
    if (!rc)
        rc = gather_sqlfns(&fns, &app.nsqlfns);
    app.sqlfns = fns;
    if (!rc)
        rc = modules_start(&app, &started);
    if (!rc)
        rc = gather_routes(&routes, &nroutes);
    if (!rc) {
        http_options ho = {.listen_addr = cfg.listen_addr,
                           .port = cfg.port,
                           .threads = cfg.threads,
                           .max_body = cfg.max_body,
                           .request_timeout_s = cfg.request_timeout_s,
                           .keep_alive_timeout_s = cfg.keep_alive_timeout_s,
                           .max_conns_per_ip = cfg.max_conns_per_ip,
                           .trusted_proxies = cfg.trusted_proxies,
                           .main_websockets = cfg.main_websockets,
                           .jwt = app.jwt,
                           .routes = routes,
                           .nroutes = nroutes,
                           .work_done = db_reader_release,
                           .app = &app};
        rc = http_start(&ho, &http);
        app.http = http;
        if (rc)
            fprintf(stderr, "basalt: cannot listen on %s:%d (is the port in use?)\n", cfg.listen_addr, cfg.port);
    }
    if (!rc)
        rc = modules_serving(&app);
    if (!rc) {
        const char *host = strcmp(cfg.listen_addr, "0.0.0.0") == 0 ? "127.0.0.1" : cfg.listen_addr;
        printf("Basalt %s is serving\n"
               "  URL:               http://%s:%d\n"
               "  anon key:          %s\n"
               "  service_role key:  %s\n"
               "  data:              %s (durability %s)\n",
               BASALT_VERSION, host, cfg.port, app.anon_key, app.service_key, cfg.data_dir,
               cfg.durability_full ? "full" : "normal");
        fflush(stdout);
        int sig = 0;
        sigwait(&set, &sig);
        log_info("received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        start_watchdog(cfg.shutdown_timeout_s + SHUTDOWN_GRACE_S);
    }
    if (!http_stop(http, cfg.shutdown_timeout_s)) {
        /* a handler is still running (an endless loop in a plugin, say):
         * tearing down what it may be using would be worse than leaving.
         * Every write acknowledged to a client is already durable, and
         * nothing unacknowledged was promised. */
        log_error("exiting without a clean shutdown");
        _exit(1);
    }
    app.http = NULL;
    modules_stop(&app, started);
    free(routes);
    free(fns);
    auth_jwt_free(app.jwt);
    datadir_unlock(lock_fd);
    if (!rc)
        log_info("stopped cleanly");
    cfg_free(&cfg);
    return rc ? 1 : 0;
}

static int cmd_keys(int argc, char **argv)
{
    bool json = false;
    /* take --json out, hand the rest to the config parser */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return 1;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i >= 2 && strcmp(argv[i], "--json") == 0)
            json = true;
        else
            rest[n++] = argv[i];
    }
    bs_config cfg;
    bool help;
    int rc = cfg_load(&cfg, n, rest, 2, &help);
    free(rest);
    if (rc) {
        if (help)
            fprintf(stderr, "usage: basalt keys --data DIR [--json] [--jwt-secret S]\n"
                            "Prints the anon and service_role API keys of the project in DIR.\n");
        cfg_free(&cfg);
        return help ? 0 : 2;
    }
    bs_app app;
    memset(&app, 0, sizeof app);
    app.cfg = &cfg;
    /* read only: never make a secret or rewrite api_keys.json (a server may
     * be running on this directory with another secret from its env) */
    char source[4200];
    rc = open_jwt(&app, &cfg, false, source, sizeof source);
    if (!rc) {
        fprintf(stderr, "secret: %s\n", source);
        if (json)
            printf("{\"anon\":\"%s\",\"service_role\":\"%s\"}\n", app.anon_key, app.service_key);
        else
            printf("anon:         %s\nservice_role: %s\n", app.anon_key, app.service_key);
    }
    auth_jwt_free(app.jwt);
    cfg_free(&cfg);
    return rc ? 1 : 0;
}

static int cmd_migrate(int argc, char **argv)
{
    bs_config cfg;
    bool help;
    int rc = cfg_load(&cfg, argc, argv, 2, &help);
    if (rc) {
        if (help)
            fprintf(stderr, "usage: basalt migrate --data DIR [--migrations-dir DIR]\n"
                            "Applies pending system and app migrations, then exits.\n");
        cfg_free(&cfg);
        return help ? 0 : 2;
    }
    log_set_level(cfg.log_level);
    db_sqlfns *fns = NULL;
    size_t nfns = 0;
    bs_app app;
    memset(&app, 0, sizeof app);
    rc = datadir_ensure(cfg.data_dir);
    if (!rc)
        rc = gather_sqlfns(&fns, &nfns);
    if (!rc)
        rc = store_open(&cfg, fns, nfns, &app.store);
    db_close(app.store);
    free(fns);
    if (!rc)
        printf("migrations are up to date\n");
    cfg_free(&cfg);
    return rc ? 1 : 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const http_route *)a)->path, ((const http_route *)b)->path);
}

/* `basalt routes`: the route table the server runs with, with each route's
 * access level, so who may call what is audited from the binary itself. */
static int cmd_routes(int argc, char **argv)
{
    bool json = argc > 2 && strcmp(argv[2], "--json") == 0;
    if (argc > 2 + json) {
        fprintf(stderr, "usage: basalt routes [--json]\n"
                        "Prints every route: methods, path (a trailing / is a prefix), access, error shape.\n");
        return 2;
    }
    http_route *routes = NULL;
    size_t nroutes = 0;
    buf out = BUF_INIT;
    int rc = gather_routes(&routes, &nroutes);
    if (!rc)
        qsort(routes, nroutes, sizeof *routes, by_path);
    if (!rc && json)
        rc = buf_putc(&out, '[');
    for (size_t i = 0; i < nroutes && !rc; i++) {
        const http_route *r = &routes[i];
        buf m = BUF_INIT;
        rc = http_methods_names(r->methods, &m);
        if (!rc && json)
            rc = buf_printf(&out, "%s{\"methods\":\"%s\",\"path\":\"%s\",\"access\":\"%s\",\"errors\":\"%s\"}",
                            i ? "," : "", buf_cstr(&m), r->path, http_access_name(r->access),
                            http_style_name(r->style));
        else if (!rc)
            rc = buf_printf(&out, "%-32s %-36s %-13s %s\n", buf_cstr(&m), r->path, http_access_name(r->access),
                            http_style_name(r->style));
        buf_free(&m);
    }
    if (!rc && json)
        rc = buf_puts(&out, "]\n");
    if (!rc)
        fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    free(routes);
    return rc ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: basalt <command> [options]\n\n"
                    "commands:\n"
                    "  serve     run the server (basalt serve --help)\n"
                    "  keys      print the API keys (basalt keys --help)\n"
                    "  migrate   apply pending migrations and exit (basalt migrate --help)\n"
                    "  routes    print every route with who may call it ([--json])\n"
                    "  admin     console accounts (basalt admin --help)\n"
                    "  fn        scaffold a function plugin (basalt fn --help)\n"
                    "  version   print the version\n");
}

int main(int argc, char **argv)
{
    db_global_init();
    /* Dozens of worker threads each get a malloc arena; letting those heaps
     * shrink after every request costs an munmap/mprotect and a TLB
     * shootdown across cores each time.  Keep freed memory for reuse. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    /* the data directory holds password hashes and the JWT secret: every
     * file made from here is the server's alone (0600, directories 0700).
     * `fn new` writes a plugin's sources into the user's project instead. */
    if (strcmp(cmd, "fn") != 0)
        umask(077);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "keys") == 0)
        return cmd_keys(argc, argv);
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc, argv);
    if (strcmp(cmd, "routes") == 0)
        return cmd_routes(argc, argv);
    if (strcmp(cmd, "fn") == 0)
        return fn_cli_main(argc, argv);
    if (strcmp(cmd, "admin") == 0)
        return console_admin_main(argc, argv);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("basalt %s\n", BASALT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage();
        return 0;
    }
    fprintf(stderr, "basalt: unknown command '%s'\n", cmd);
    usage();
    return 2;
}
