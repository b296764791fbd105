/* basalt/function.h - the ONLY header a Basalt function plugin includes.
 *
 * A plugin is a shared object (.so) that exports one constant manifest,
 * `basalt_function_v1`, normally written with the BASALT_FUNCTION macro:
 *
 *     #include <basalt/function.h>
 *
 *     static int handle(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res)
 *     {
 *         return ctx->host->json(res, 200, "{\"message\":\"hello\"}");
 *     }
 *     static const basalt_trigger triggers[] = { BASALT_ON_HTTP(BASALT_GET | BASALT_POST) };
 *     BASALT_FUNCTION(.name = "hello", .triggers = triggers,
 *                     .ntriggers = BASALT_COUNT(triggers), .handle = handle);
 *
 * Build it with `cc -shared -fPIC -fvisibility=hidden -I<prefix>/include`
 * (or `pkg-config --cflags basalt-function`) and drop the .so into the
 * server's functions directory.
 *
 * Lifecycle.  The host dlopen()s a private copy of the file, reads the
 * manifest and refuses it (with a log line naming the reason) unless
 * `magic` is BASALT_FUNCTION_MAGIC and `abi_version` is one the host
 * speaks.  Then `init` runs once per load (the "cold start"); whatever it
 * stores in *state is handed to every `handle` call as ctx->state (warm
 * invocations reuse it); `fini` runs once when the version is unloaded,
 * after the last in-flight call on it has returned.  A replaced .so gets a
 * fresh load: new calls go to the new version, calls in flight finish on
 * the old one.
 *
 * Threads.  `handle` runs concurrently on several threads (up to the
 * function's reserved concurrency), so state shared between calls must be
 * read-only after init or protected by the plugin.  `init` and `fini` run
 * alone.
 *
 * In-process means trusted.  A handler cannot be killed: a timeout is
 * recorded and reported when the handler returns.  A crash (SIGSEGV, abort)
 * takes the whole server down.  Check ctx->host->remaining_ms(ctx) in long
 * loops.
 *
 * ABI rules (for Basalt maintainers).  This header grows by appending only:
 * new fields go at the end of a struct, before nothing; every struct that
 * can grow starts with `struct_size` (filled by whoever allocates it) so
 * the other side can tell which fields exist; reserved pointers give room
 * in the manifest.  Never reorder, remove or retype a field; bump
 * BASALT_FUNCTION_ABI only for an incompatible change (the host then
 * refuses old plugins with a clear message).
 */
#ifndef BASALT_FUNCTION_H
#define BASALT_FUNCTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BASALT_FUNCTION_MAGIC 0x4653544c41534142ULL /* "BASALTFS" little-endian */
#define BASALT_FUNCTION_ABI 1
#define BASALT_FUNCTION_SYMBOL "basalt_function_v1"

#if defined(__GNUC__)
#define BASALT_EXPORT __attribute__((visibility("default")))
#define BASALT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BASALT_EXPORT
#define BASALT_PRINTF(a, b)
#endif

/* ---- result codes (handler returns, host API returns) ---- */
enum {
    BASALT_OK = 0,
    BASALT_ERROR = -1,      /* generic failure (async: retried) */
    BASALT_ENOTFOUND = -2,  /* no such document / object / function */
    BASALT_EINVAL = -3,     /* bad argument (invalid JSON, bad name) */
    BASALT_ENOMEM = -4,
    BASALT_ETIMEOUT = -5,   /* the deadline passed */
    BASALT_ETHROTTLED = -6, /* the target function is at its concurrency limit */
    BASALT_EUNSUPP = -7,    /* the host does not offer this (e.g. no storage) */
    BASALT_EIO = -8,        /* database or file error */
    BASALT_EEXISTS = -9,    /* duplicate id */
};

/* ---- triggers ---- */
enum {
    BASALT_TRIGGER_HTTP = 1,     /* /functions/v1/NAME; flags = BASALT_GET|... (0: any method) */
    BASALT_TRIGGER_RPC = 2,      /* /rest/v1/rpc/NAME (POST JSON args, GET query args) */
    BASALT_TRIGGER_DOCUMENT = 3, /* source = collection; flags = BASALT_INSERT|...; filter */
    BASALT_TRIGGER_STORAGE = 4,  /* source = bucket; flags = BASALT_CREATED|BASALT_DELETED; prefix, suffix */
    BASALT_TRIGGER_AUTH = 5,     /* flags = BASALT_USER_CREATED|BASALT_USER_DELETED|BASALT_RECOVERY */
    BASALT_TRIGGER_SCHEDULE = 6, /* source = "rate(5 minutes)" or a 5-field cron line (UTC) */
};

/* HTTP methods (BASALT_TRIGGER_HTTP flags) */
enum { BASALT_GET = 1 << 0, BASALT_HEAD = 1 << 1, BASALT_POST = 1 << 2, BASALT_PUT = 1 << 3,
       BASALT_PATCH = 1 << 4, BASALT_DELETE = 1 << 5 };
/* document operations */
enum { BASALT_INSERT = 1 << 0, BASALT_UPDATE = 1 << 1, BASALT_REMOVE = 1 << 2 };
/* storage operations */
enum { BASALT_CREATED = 1 << 0, BASALT_DELETED = 1 << 1 };
/* auth events */
enum { BASALT_USER_CREATED = 1 << 0, BASALT_USER_DELETED = 1 << 1, BASALT_RECOVERY = 1 << 2 };

typedef struct basalt_trigger {
    uint32_t kind;      /* BASALT_TRIGGER_* */
    uint32_t flags;     /* see above; 0 means "all" for document/storage/auth */
    const char *source; /* collection, bucket or schedule expression */
    const char *prefix; /* storage: object name prefix (NULL: any) */
    const char *suffix; /* storage: object name suffix (NULL: any) */
    const char *filter; /* document: "field=value" equality on the new
                         * document (old one for deletes); value is
                         * compared with the field's JSON text for numbers,
                         * booleans and null, and with the string itself for
                         * strings.  NULL: every document */
    const void *reserved[4];
} basalt_trigger;

#define BASALT_ON_HTTP(methods) {BASALT_TRIGGER_HTTP, (methods), NULL, NULL, NULL, NULL, {0}}
#define BASALT_ON_RPC() {BASALT_TRIGGER_RPC, 0, NULL, NULL, NULL, NULL, {0}}
#define BASALT_ON_DOCUMENT(collection, ops, filter) \
    {BASALT_TRIGGER_DOCUMENT, (ops), (collection), NULL, NULL, (filter), {0}}
#define BASALT_ON_STORAGE(bucket, ops, prefix, suffix) \
    {BASALT_TRIGGER_STORAGE, (ops), (bucket), (prefix), (suffix), NULL, {0}}
#define BASALT_ON_AUTH(events) {BASALT_TRIGGER_AUTH, (events), NULL, NULL, NULL, NULL, {0}}
#define BASALT_ON_SCHEDULE(expr) {BASALT_TRIGGER_SCHEDULE, 0, (expr), NULL, NULL, NULL, {0}}
#define BASALT_COUNT(array) ((uint32_t)(sizeof(array) / sizeof((array)[0])))

/* ---- events ----
 * Every string is NUL-terminated and owned by the host for the duration of
 * the handle call (copy what you keep).  JSON fields hold JSON text. */
enum {
    BASALT_EVENT_HTTP = 1,
    BASALT_EVENT_RPC = 2,
    BASALT_EVENT_DOCUMENT = 3,
    BASALT_EVENT_STORAGE = 4,
    BASALT_EVENT_AUTH = 5,
    BASALT_EVENT_SCHEDULE = 6,
    BASALT_EVENT_INVOKE = 7,
};

typedef struct basalt_event basalt_event;

typedef struct basalt_http_event {
    uint32_t struct_size;
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* the part after /functions/v1/NAME ("" or "/x/y"), decoded */
    const char *query;        /* raw query string without '?' ("" when none) */
    const void *body;         /* binary-safe; NUL-terminated for convenience */
    size_t body_len;
    const char *content_type; /* request Content-Type or "" */
    /* Request header by case-insensitive name, or NULL. */
    const char *(*header)(const basalt_event *ev, const char *name);
} basalt_http_event;

typedef struct basalt_rpc_event {
    uint32_t struct_size;
    const char *args; /* a JSON object: the POST body, or the GET query
                       * parameters as strings */
    size_t args_len;
} basalt_rpc_event;

typedef struct basalt_document_event {
    uint32_t struct_size;
    const char *collection;
    const char *op;       /* "INSERT", "UPDATE", "DELETE" */
    const char *doc_id;
    const char *old_doc;  /* JSON or NULL (insert) */
    const char *new_doc;  /* JSON or NULL (delete) */
    int64_t seq;          /* change-log sequence number */
    int64_t committed_ms;
} basalt_document_event;

typedef struct basalt_storage_event {
    uint32_t struct_size;
    const char *op;           /* "created" or "deleted" */
    const char *bucket;
    const char *name;         /* object key, e.g. "uploads/cat.jpg" */
    int64_t size;             /* bytes (-1 when unknown) */
    const char *content_type; /* "" when unknown */
    const char *object;       /* the whole object JSON of the change log */
    int64_t seq;
} basalt_storage_event;

typedef struct basalt_auth_event {
    uint32_t struct_size;
    const char *event;   /* "user.created", "user.deleted", "recovery_requested" */
    const char *user_id; /* "" when unknown */
    const char *user;    /* user JSON as GoTrue shows it, or "null" */
    int64_t seq;
    const char *data;    /* the whole change-log entry; for
                          * "recovery_requested" it also carries "token" and
                          * "token_hash" (hex SHA-256), which the change log
                          * itself never stores: deliver them, do not log
                          * them */
} basalt_auth_event;

typedef struct basalt_schedule_event {
    uint32_t struct_size;
    const char *expr;     /* the schedule expression that fired */
    int64_t scheduled_ms; /* the fire time it was due at (epoch ms) */
} basalt_schedule_event;

typedef struct basalt_invoke_event {
    uint32_t struct_size;
    const char *payload; /* JSON text ("null" when none) */
    size_t payload_len;
    const char *caller;  /* the invoking function's name, or "" for the admin API */
} basalt_invoke_event;

struct basalt_event {
    uint32_t struct_size;
    uint32_t kind; /* BASALT_EVENT_*: exactly the matching pointer is set */
    const basalt_http_event *http;
    const basalt_rpc_event *rpc;
    const basalt_document_event *document;
    const basalt_storage_event *storage;
    const basalt_auth_event *auth;
    const basalt_schedule_event *schedule;
    const basalt_invoke_event *invoke;
};

/* ---- context and host API ---- */
typedef struct basalt_ctx basalt_ctx;
typedef struct basalt_response basalt_response; /* opaque: use the host functions */
typedef struct basalt_host basalt_host;

enum { BASALT_LOG_ERROR = 0, BASALT_LOG_WARN = 1, BASALT_LOG_INFO = 2, BASALT_LOG_DEBUG = 3 };

struct basalt_ctx {
    uint32_t struct_size;
    const basalt_host *host;
    void *state;              /* what init stored (NULL during init) */
    const char *function;     /* this function's name */
    const char *request_id;   /* unique per invocation */
    const char *job_id;       /* async: stable across retries and re-drives (use
                               * it for idempotency); "" for sync calls */
    uint32_t attempt;         /* 1 for the first try */
    uint32_t version;         /* load generation of this plugin version */
    /* The caller's verified JWT claims (sync HTTP/RPC only; NULL for async
     * events, init and admin invokes). */
    const char *auth_role;    /* "anon", "authenticated", "service_role" */
    const char *auth_sub;     /* user id or "" */
    const char *auth_claims;  /* all claims as a JSON object */
    int64_t deadline_ms;      /* epoch ms; see remaining_ms */
    void *host_private;       /* do not touch */
};

struct basalt_host {
    uint32_t struct_size;
    uint32_t abi_version;

    /* Milliseconds until the deadline (negative once it has passed). */
    int64_t (*remaining_ms)(const basalt_ctx *ctx);
    /* A line in the server log and the function's log ring (admin API),
     * tagged with the function name and request id. */
    void (*log)(basalt_ctx *ctx, int level, const char *fmt, ...) BASALT_PRINTF(3, 4);
    /* A configuration value set by the admin (PATCH .../functions/NAME
     * {"config":{...}}), or NULL.  Valid until the call returns.  Values
     * are never logged by the host. */
    const char *(*config)(basalt_ctx *ctx, const char *key);
    /* Free memory the host returned (documents, objects, results). */
    void (*free)(void *p);

    /* ---- response (sync triggers; for events only the error matters) ---- */
    /* Set status, Content-Type and body (copied; binary-safe). */
    int (*respond)(basalt_response *res, int status, const char *content_type, const void *body, size_t len);
    /* respond() with application/json and a NUL-terminated JSON text. */
    int (*json)(basalt_response *res, int status, const char *json);
    int (*header)(basalt_response *res, const char *name, const char *value);
    /* A typed error: the handler should then return BASALT_ERROR.
     * Sync callers get `status` (4xx/5xx) and {"error":type,"message":...};
     * async events record "type: message" as the job's last error. */
    int (*error)(basalt_response *res, int status, const char *type, const char *message);

    /* ---- documents, as service_role; writes appear in the change log ----
     * *out receives malloc'd JSON (free with host->free). */
    int (*doc_get)(basalt_ctx *ctx, const char *collection, const char *id, char **out);
    /* query: a PostgREST query string ("status=eq.done&order=created_at&limit=10");
     * *out is a JSON array. */
    int (*doc_query)(basalt_ctx *ctx, const char *collection, const char *query, char **out);
    /* Insert a JSON object (an "id" key is kept, else a UUIDv7 is made);
     * creates the collection when missing.  *out (may be NULL) gets the
     * stored document. */
    int (*doc_insert)(basalt_ctx *ctx, const char *collection, const char *json, char **out);
    /* Merge the top-level keys of a JSON object into document id (JSON
     * merge patch: null removes a key). */
    int (*doc_update)(basalt_ctx *ctx, const char *collection, const char *id, const char *patch, char **out);
    int (*doc_delete)(basalt_ctx *ctx, const char *collection, const char *id);

    /* ---- storage objects ---- */
    int (*object_read)(basalt_ctx *ctx, const char *bucket, const char *name, void **data, size_t *len,
                       char **content_type);
    int (*object_write)(basalt_ctx *ctx, const char *bucket, const char *name, const void *data, size_t len,
                        const char *content_type);

    /* ---- other functions ---- */
    /* Call NAME now on this thread with an invoke event; *result gets the
     * response body (malloc'd, may be NULL).  BASALT_ETHROTTLED when NAME is
     * at its concurrency limit. */
    int (*invoke)(basalt_ctx *ctx, const char *name, const char *payload_json, char **result);
    /* Queue an async invoke (durable, retried); job_id (37 bytes, may be
     * NULL) receives its id. */
    int (*invoke_async)(basalt_ctx *ctx, const char *name, const char *payload_json, char job_id[40]);
    /* Add new entries here only. */
};

/* ---- the manifest ---- */
typedef struct basalt_function {
    uint64_t magic;          /* BASALT_FUNCTION_MAGIC */
    uint32_t abi_version;    /* BASALT_FUNCTION_ABI the plugin was built with */
    uint32_t struct_size;    /* sizeof(basalt_function) the plugin was built with */
    const char *name;        /* [a-z0-9_-]{1,63}, starting with a letter */
    const char *description; /* may be NULL */
    const basalt_trigger *triggers;
    uint32_t ntriggers;
    uint32_t timeout_ms;     /* 0: default 10000 */
    uint32_t concurrency;    /* reserved concurrency; 0: default 16 */
    int32_t retries;         /* async retries after the first try; 0: default 2, -1: none */
    /* Once per load, before any handle.  ctx has no event, no deadline
     * beyond the init timeout, and no caller.  Non-zero refuses the load
     * (the previous version stays live). */
    int (*init)(basalt_ctx *ctx, void **state);
    /* Once per event.  Return BASALT_OK, or non-zero for a failure (then
     * a sync caller gets the error set with host->error, else 500). */
    int (*handle)(const basalt_event *ev, basalt_ctx *ctx, basalt_response *res);
    /* Once at unload, after the last handle returned.  May be NULL. */
    void (*fini)(void *state);
    const void *reserved[8];
} basalt_function;

#define BASALT_FUNCTION(...)                                                                \
    BASALT_EXPORT const basalt_function basalt_function_v1 = {                              \
        .magic = BASALT_FUNCTION_MAGIC, .abi_version = BASALT_FUNCTION_ABI,                 \
        .struct_size = (uint32_t)sizeof(basalt_function), __VA_ARGS__}

/* Convenience wrappers. */
#define basalt_log(ctx, ...) ((ctx)->host->log((ctx), BASALT_LOG_INFO, __VA_ARGS__))
#define basalt_remaining_ms(ctx) ((ctx)->host->remaining_ms(ctx))

#ifdef __cplusplus
}
#endif

#endif
