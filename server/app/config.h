/* config.h - the server's configuration: defaults, then BASALT_* environment
 * variables, then command-line flags (flags win).  An on/off flag given
 * alone (`--disable-signup`) means on.  Parsing only; no
 * behaviour.  The struct is filled once on the main thread before anything
 * starts and is read-only afterwards, so every thread may read it. */
#ifndef BS_CONFIG_H
#define BS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bs_config {
    int port;                    /* --port, BASALT_PORT (8080) */
    char *listen_addr;           /* --listen, BASALT_LISTEN ("0.0.0.0") */
    char *data_dir;              /* --data, BASALT_DATA ("./data") */
    char *migrations_dir;        /* --migrations-dir, BASALT_MIGRATIONS_DIR (NULL) */
    char *jwt_secret;            /* --jwt-secret, BASALT_JWT_SECRET (NULL: data dir file) */
    bool durability_full;        /* --durability full|normal (full) */
    size_t max_body;             /* --max-body BYTES, BASALT_MAX_BODY (10 MiB) */
    int64_t max_rows;            /* --max-rows, BASALT_MAX_ROWS (1000) */
    int threads;                 /* --threads, BASALT_THREADS (512) */
    int main_websockets;         /* --main-websockets: WebSockets on the main port (-1: threads / 2) */
    int max_conns_per_ip;        /* --max-connections-per-ip (64; 0: no cap) */
    char *trusted_proxies;       /* --trusted-proxies CIDR,... (NULL: none) */
    int request_timeout_s;       /* --request-timeout: headers, and silence in a body (10) */
    int keep_alive_timeout_s;    /* --keep-alive-timeout: idle between requests (5) */
    int shutdown_timeout_s;      /* --shutdown-timeout: drain before exiting anyway (30) */
    bool doc_check;              /* --doc-check on|off: scan documents for duplicate keys at start (on) */
    int writer_batch;            /* --writer-batch, BASALT_WRITER_BATCH (512) */
    int64_t change_retention_s;  /* --change-retention SECONDS (86400) */
    int log_level;               /* --log-level error|warn|info|debug (info) */
    /* auth */
    int64_t jwt_expiry_s;             /* --jwt-expiry (3600) */
    int64_t refresh_reuse_interval_s; /* --refresh-token-reuse-interval (10) */
    int password_min_length;          /* --password-min-length (8) */
    int rate_signin;                  /* --rate-signin: sign-in/up attempts per IP per 5 min (30) */
    int rate_refresh;                 /* --rate-refresh: token refreshes per IP per 5 min (150) */
    int rate_recover;                 /* --rate-recover: recovery requests per IP per 5 min (6) */
    char *site_url;                   /* --site-url, for issuer and links (NULL: http://HOST:PORT) */
    bool anonymous_signins;           /* --anonymous-signins on|off (on) */
    bool disable_signup;              /* --disable-signup [on|off]: refuse /signup, admins still create users (off) */
    char *jwt_signing_key;            /* --jwt-signing-key PEM path: RS256/ES256 access tokens (NULL: HS256) */
    /* realtime */
    int realtime_port;                /* --realtime-port: libwebsockets listener (0: off) */
    int realtime_threads;             /* --realtime-threads: lws loops sharing the port (0: per CPU, <= 8) */
    int realtime_max_connections;     /* --realtime-max-connections (10000) */
    int realtime_max_channels;        /* --realtime-max-channels per connection (100) */
    size_t realtime_queue_bytes;      /* --realtime-queue-bytes per connection (4 MiB) */
    /* storage */
    char *storage_dir;                /* --storage-dir (DATA/storage) */
    size_t storage_max_file;          /* --storage-max-file: global object size cap (50 GiB) */
    /* functions */
    char *functions_dir;              /* --functions-dir (DATA/functions) */
    int function_workers;             /* --function-workers: async job workers (4) */
} bs_config;

/* Fill defaults, then env, then argv[first..argc).  On a bad value or an
 * unknown flag, prints a message naming it to stderr and returns
 * BS_EINVAL.  `--help` prints usage and returns BS_EINVAL with *help set. */
int cfg_load(bs_config *c, int argc, char **argv, int first, bool *help);
void cfg_free(bs_config *c);
/* Usage text of `basalt serve`. */
void cfg_usage(const char *cmd);
/* The effective configuration as a JSON object with secrets masked
 * (malloc'd; caller frees). */
char *cfg_to_json(const bs_config *c);

#endif
