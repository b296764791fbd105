/* config.c - see config.h.  One table describes every option: its flag,
 * its environment variable, its type and where it lands, so the usage text,
 * the env parsing and the flag parsing cannot disagree. */
#include "app/config.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/netaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OPT_INT, OPT_I64, OPT_SIZE, OPT_STR, OPT_DURABILITY, OPT_LOGLEVEL, OPT_BOOL };

typedef struct opt {
    const char *flag, *env, *help;
    enum opt_type type;
    size_t off;
    int64_t min, max;
    bool secret;
} opt;

#define OFF(f) offsetof(bs_config, f)
static const opt opts[] = {
    {"--port", "BASALT_PORT", "TCP port of the HTTP/WebSocket listener", OPT_INT, OFF(port), 0, 65535, false},
    {"--listen", "BASALT_LISTEN", "address to listen on", OPT_STR, OFF(listen_addr), 0, 0, false},
    {"--data", "BASALT_DATA", "data directory (database, secret, objects)", OPT_STR, OFF(data_dir), 0, 0, false},
    {"--migrations-dir", "BASALT_MIGRATIONS_DIR", "directory of the app's .sql migrations", OPT_STR, OFF(migrations_dir), 0, 0, false},
    {"--jwt-secret", "BASALT_JWT_SECRET", "JWT signing secret (default: DATA/jwt_secret)", OPT_STR, OFF(jwt_secret), 0, 0, true},
    {"--durability", "BASALT_DURABILITY", "full (fsync every commit) or normal (may lose the last commits on power loss)", OPT_DURABILITY, OFF(durability_full), 0, 0, false},
    {"--max-body", "BASALT_MAX_BODY", "largest request body in bytes", OPT_SIZE, OFF(max_body), 1024, (int64_t)1 << 40, false},
    {"--max-rows", "BASALT_MAX_ROWS", "most rows one read returns", OPT_I64, OFF(max_rows), 1, INT64_C(1) << 40, false},
    {"--threads", "BASALT_THREADS", "HTTP worker threads: one per open connection, idle or not (512)", OPT_INT, OFF(threads), 4, 65536, false},
    {"--main-websockets", "BASALT_MAIN_WEBSOCKETS", "most WebSockets on the main port, each holding a worker (default: half of --threads; more: --realtime-port)", OPT_INT, OFF(main_websockets), 0, 65536, false},
    {"--max-connections-per-ip", "BASALT_MAX_CONNECTIONS_PER_IP", "open connections one client address may hold (64; 0: no cap; trusted proxies are exempt)", OPT_INT, OFF(max_conns_per_ip), 0, 1000000, false},
    {"--trusted-proxies", "BASALT_TRUSTED_PROXIES", "reverse proxies (CIDR,...) whose X-Forwarded-For names the client", OPT_STR, OFF(trusted_proxies), 0, 0, false},
    {"--request-timeout", "BASALT_REQUEST_TIMEOUT", "seconds to send a request's headers, and the longest silence inside a body or response (10)", OPT_INT, OFF(request_timeout_s), 1, 3600, false},
    {"--keep-alive-timeout", "BASALT_KEEP_ALIVE_TIMEOUT", "seconds an idle keep-alive connection is kept (5)", OPT_INT, OFF(keep_alive_timeout_s), 1, 3600, false},
    {"--doc-check", "BASALT_DOC_CHECK", "at start, scan every document in the background for duplicated keys and log them: on or off", OPT_BOOL, OFF(doc_check), 0, 0, false},
    {"--shutdown-timeout", "BASALT_SHUTDOWN_TIMEOUT", "seconds to drain on SIGTERM before exiting anyway (30)", OPT_INT, OFF(shutdown_timeout_s), 1, 86400, false},
    {"--writer-batch", "BASALT_WRITER_BATCH", "most write requests in one transaction", OPT_INT, OFF(writer_batch), 1, 100000, false},
    {"--change-retention", "BASALT_CHANGE_RETENTION", "seconds the change log is kept", OPT_I64, OFF(change_retention_s), 60, INT64_C(1) << 40, false},
    {"--log-level", "BASALT_LOG_LEVEL", "error, warn, info or debug", OPT_LOGLEVEL, OFF(log_level), 0, 0, false},
    {"--jwt-expiry", "BASALT_JWT_EXPIRY", "access token lifetime in seconds", OPT_I64, OFF(jwt_expiry_s), 30, INT64_C(1) << 31, false},
    {"--refresh-token-reuse-interval", "BASALT_REFRESH_TOKEN_REUSE_INTERVAL", "seconds a rotated refresh token still works", OPT_I64, OFF(refresh_reuse_interval_s), 0, 86400, false},
    {"--password-min-length", "BASALT_PASSWORD_MIN_LENGTH", "shortest password accepted", OPT_INT, OFF(password_min_length), 6, 72, false},
    {"--rate-signin", "BASALT_RATE_SIGNIN", "sign-in and sign-up attempts per client IP per 5 minutes", OPT_INT, OFF(rate_signin), 1, 1000000, false},
    {"--rate-refresh", "BASALT_RATE_REFRESH", "token refreshes per client IP per 5 minutes", OPT_INT, OFF(rate_refresh), 1, 1000000, false},
    {"--rate-recover", "BASALT_RATE_RECOVER", "recovery requests per client IP per 5 minutes", OPT_INT, OFF(rate_recover), 1, 1000000, false},
    {"--site-url", "BASALT_SITE_URL", "public base URL (token issuer, links)", OPT_STR, OFF(site_url), 0, 0, false},
    {"--anonymous-signins", "BASALT_ANONYMOUS_SIGNINS", "allow anonymous sign-ups: on or off", OPT_BOOL, OFF(anonymous_signins), 0, 0, false},
    {"--disable-signup", "BASALT_DISABLE_SIGNUP", "refuse sign-ups (email and anonymous; admins still create users): on or off", OPT_BOOL, OFF(disable_signup), 0, 0, false},
    {"--jwt-signing-key", "BASALT_JWT_SIGNING_KEY", "PEM private key (RSA >= 2048 or EC P-256) signing user access tokens (default: HS256 with the secret)", OPT_STR, OFF(jwt_signing_key), 0, 0, false},
    {"--realtime-port", "BASALT_REALTIME_PORT", "port of the libwebsockets realtime listener (0: off)", OPT_INT, OFF(realtime_port), 0, 65535, false},
    {"--realtime-threads", "BASALT_REALTIME_THREADS", "event-loop threads of the libwebsockets listener (0: one per CPU, at most 8)", OPT_INT, OFF(realtime_threads), 0, 64, false},
    {"--realtime-max-connections", "BASALT_REALTIME_MAX_CONNECTIONS", "most realtime connections", OPT_INT, OFF(realtime_max_connections), 1, 10000000, false},
    {"--realtime-max-channels", "BASALT_REALTIME_MAX_CHANNELS", "most channels per realtime connection", OPT_INT, OFF(realtime_max_channels), 1, 100000, false},
    {"--realtime-queue-bytes", "BASALT_REALTIME_QUEUE_BYTES", "send queue bound per realtime connection", OPT_SIZE, OFF(realtime_queue_bytes), 4096, (int64_t)1 << 34, false},
    {"--storage-dir", "BASALT_STORAGE_DIR", "where object bytes live (default DATA/storage)", OPT_STR, OFF(storage_dir), 0, 0, false},
    {"--storage-max-file", "BASALT_STORAGE_MAX_FILE", "largest object in bytes", OPT_SIZE, OFF(storage_max_file), 1, (int64_t)1 << 50, false},
    {"--functions-dir", "BASALT_FUNCTIONS_DIR", "directory of function plugins (default DATA/functions)", OPT_STR, OFF(functions_dir), 0, 0, false},
    {"--function-workers", "BASALT_FUNCTION_WORKERS", "threads running async function jobs", OPT_INT, OFF(function_workers), 1, 1024, false},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static int set_opt(bs_config *c, const opt *o, const char *val)
{
    char *p = (char *)c + o->off;
    char *end;
    switch (o->type) {
    case OPT_STR: {
        char *s = strdup(val);
        if (!s)
            return BS_ENOMEM;
        free(*(char **)p);
        *(char **)p = s;
        return BS_OK;
    }
    case OPT_INT:
    case OPT_I64:
    case OPT_SIZE: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end || v < o->min || v > o->max) {
            fprintf(stderr, "basalt: %s: invalid value '%s' (want an integer from %lld to %lld)\n",
                    o->flag, val, (long long)o->min, (long long)o->max);
            return BS_EINVAL;
        }
        if (o->type == OPT_INT)
            *(int *)p = (int)v;
        else if (o->type == OPT_I64)
            *(int64_t *)p = v;
        else
            *(size_t *)p = (size_t)v;
        return BS_OK;
    }
    case OPT_DURABILITY:
        if (strcmp(val, "full") == 0 || strcmp(val, "normal") == 0) {
            *(bool *)p = val[0] == 'f';
            return BS_OK;
        }
        fprintf(stderr, "basalt: %s: want 'full' or 'normal', got '%s'\n", o->flag, val);
        return BS_EINVAL;
    case OPT_BOOL:
        if (strcmp(val, "on") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0) {
            *(bool *)p = true;
            return BS_OK;
        }
        if (strcmp(val, "off") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0) {
            *(bool *)p = false;
            return BS_OK;
        }
        fprintf(stderr, "basalt: %s: want on or off, got '%s'\n", o->flag, val);
        return BS_EINVAL;
    case OPT_LOGLEVEL: {
        int l = log_parse_level(val);
        if (l < 0) {
            fprintf(stderr, "basalt: %s: want error, warn, info or debug, got '%s'\n", o->flag, val);
            return BS_EINVAL;
        }
        *(int *)p = l;
        return BS_OK;
    }
    }
    return BS_EINVAL;
}

/* Defaults that depend on other options, and checks across options. */
static int finish(bs_config *c)
{
    /* half the workers may hold WebSockets: the other half keeps HTTP
     * answering however many realtime clients connect */
    if (c->main_websockets < 0)
        c->main_websockets = c->threads / 2;
    if (c->main_websockets >= c->threads) {
        fprintf(stderr, "basalt: --main-websockets (%d) must be below --threads (%d): each WebSocket on the "
                        "main port holds a worker, and HTTP needs some (use --realtime-port for many WebSockets)\n",
                c->main_websockets, c->threads);
        return BS_EINVAL;
    }
    net_cidr_list l;
    char err[160];
    int rc = net_cidr_list_parse(c->trusted_proxies, &l, err, sizeof err);
    if (rc == BS_EINVAL)
        fprintf(stderr, "basalt: --trusted-proxies: %s\n", err);
    net_cidr_list_free(&l);
    return rc;
}

static bool bool_word(const char *s)
{
    static const char *const w[] = {"on", "off", "true", "false", "1", "0"};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strcmp(s, w[i]) == 0)
            return true;
    return false;
}

void cfg_usage(const char *cmd)
{
    fprintf(stderr, "usage: basalt %s [options]\n\noptions (each also read from its environment variable; flags win):\n", cmd);
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(stderr, "  %-32s %s (%s)\n", opts[i].flag, opts[i].help, opts[i].env);
}

int cfg_load(bs_config *c, int argc, char **argv, int first, bool *help)
{
    memset(c, 0, sizeof *c);
    *help = false;
    c->port = 8080;
    c->listen_addr = strdup("0.0.0.0");
    c->data_dir = strdup("./data");
    c->durability_full = true;
    c->max_body = 10u << 20;
    c->max_rows = 1000;
    c->threads = 512;
    c->main_websockets = -1;
    c->max_conns_per_ip = 64;
    c->request_timeout_s = 10;
    c->keep_alive_timeout_s = 5;
    c->shutdown_timeout_s = 30;
    c->doc_check = true;
    c->writer_batch = 512;
    c->change_retention_s = 86400;
    c->log_level = LOG_INFO;
    c->jwt_expiry_s = 3600;
    c->refresh_reuse_interval_s = 10;
    c->password_min_length = 8;
    c->rate_signin = 30;
    c->rate_refresh = 150;
    c->rate_recover = 6;
    c->anonymous_signins = true;
    c->realtime_max_connections = 10000;
    c->realtime_max_channels = 100;
    c->realtime_queue_bytes = 4u << 20;
    c->storage_max_file = (size_t)50 << 30;
    c->function_workers = 4;
    if (!c->listen_addr || !c->data_dir)
        return BS_ENOMEM;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v) {
            int rc = set_opt(c, &opts[i], v);
            if (rc)
                return rc;
        }
    }
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = true;
            return BS_EINVAL;
        }
        const opt *o = NULL;
        const char *val = NULL;
        for (size_t i = 0; i < NOPTS && !o; i++) {
            size_t fl = strlen(opts[i].flag);
            if (strncmp(arg, opts[i].flag, fl) == 0 && (arg[fl] == '\0' || arg[fl] == '=')) {
                o = &opts[i];
                if (arg[fl] == '=')
                    val = arg + fl + 1;
            }
        }
        if (!o) {
            fprintf(stderr, "basalt: unknown option '%s' (see --help)\n", arg);
            return BS_EINVAL;
        }
        if (!val && o->type == OPT_BOOL && (a + 1 >= argc || !bool_word(argv[a + 1])))
            val = "on"; /* a bare on/off flag */
        if (!val) {
            if (a + 1 >= argc) {
                fprintf(stderr, "basalt: %s needs a value\n", o->flag);
                return BS_EINVAL;
            }
            val = argv[++a];
        }
        int rc = set_opt(c, o, val);
        if (rc)
            return rc;
    }
    return finish(c);
}

void cfg_free(bs_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].type == OPT_STR) {
            char **p = (char **)((char *)c + opts[i].off);
            free(*p);
            *p = NULL;
        }
}

char *cfg_to_json(const bs_config *c)
{
    static const char *levels[] = {"error", "warn", "info", "debug"};
    buf b = BUF_INIT;
    int rc = buf_putc(&b, '{');
    for (size_t i = 0; i < NOPTS && rc == BS_OK; i++) {
        const opt *o = &opts[i];
        const char *p = (const char *)c + o->off;
        if (i)
            rc = buf_putc(&b, ',');
        if (rc == BS_OK)
            rc = buf_json_str(&b, o->flag + 2, strlen(o->flag + 2));
        if (rc == BS_OK)
            rc = buf_putc(&b, ':');
        if (rc)
            break;
        switch (o->type) {
        case OPT_STR: {
            const char *s = *(char *const *)p;
            if (!s)
                rc = buf_puts(&b, "null");
            else if (o->secret)
                rc = buf_puts(&b, "\"********\"");
            else
                rc = buf_json_str(&b, s, strlen(s));
            break;
        }
        case OPT_INT: rc = buf_printf(&b, "%d", *(const int *)p); break;
        case OPT_I64: rc = buf_printf(&b, "%lld", (long long)*(const int64_t *)p); break;
        case OPT_SIZE: rc = buf_printf(&b, "%zu", *(const size_t *)p); break;
        case OPT_DURABILITY: rc = buf_puts(&b, *(const bool *)p ? "\"full\"" : "\"normal\""); break;
        case OPT_LOGLEVEL: rc = buf_printf(&b, "\"%s\"", levels[*(const int *)p]); break;
        case OPT_BOOL: rc = buf_puts(&b, *(const bool *)p ? "true" : "false"); break;
        }
    }
    if (rc == BS_OK)
        rc = buf_putc(&b, '}');
    if (rc) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}
