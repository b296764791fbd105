/* Stack use of outside JSON at the depth limit, through every entry
 * point's own parse function (core/jsonin.h).
 *
 * Each entry point runs on a thread whose 64 KiB stack we allocate, paint
 * and guard ourselves (a PROT_NONE page below it, so an overflow is a
 * SIGSEGV, not silent corruption):
 *   - at JSONIN_MAX_DEPTH the input must be admitted, and what the handler
 *     then does with the tree (json_dumps, json_decref, the jsonb
 *     containment SQL function) runs on the same stack;
 *   - 1,000 and 100,000 levels must be refused, without a crash.  Before
 *     jsonin, jansson recursed up to its own ceiling of 2048 levels, so the
 *     1,000-deep inputs overflowed this stack (as they overflowed civetweb's
 *     100 KiB workers).
 * The deepest stack use is printed (bytes touched below the top of the
 * stack, thread descriptor and TLS included) and must stay under 64 KiB.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../test.h"
#include "auth/auth_int.h"
#include "core/jwt.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonin.h"
#include "rest/query.h"
#include "functions/fn_int.h"
#include "http/http.h"
#include "realtime/rt_frame.h"
#include "realtime/rt_rest.h"
#include "storage/st_int.h"

#define STACK_SIZE (64 * 1024)
#define PAINT 0xA5
#define SECRET "stack-test-secret-0123456789abcdef0123456789"
#define NOW ((int64_t)1700000000)

/* prefix + depth opening brackets + "1" + closers + suffix (heap) */
static char *deep(const char *prefix, int depth, const char *suffix)
{
    buf b = BUF_INIT;
    buf_puts(&b, prefix);
    for (int i = 0; i < depth; i++)
        buf_putc(&b, '[');
    buf_putc(&b, '1');
    for (int i = 0; i < depth; i++)
        buf_putc(&b, ']');
    buf_puts(&b, suffix);
    return buf_steal(&b, NULL);
}

/* ---- a signed HS256 token from raw header and payload text ---- */

static size_t b64url(char *dst, const unsigned char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        dst[o++] = a[v >> 18], dst[o++] = a[(v >> 12) & 63], dst[o++] = a[(v >> 6) & 63], dst[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        dst[o++] = a[v >> 18], dst[o++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        dst[o++] = a[v >> 18], dst[o++] = a[(v >> 12) & 63], dst[o++] = a[(v >> 6) & 63];
    }
    return o;
}

static char *token(const char *hdr, const char *payload)
{
    size_t hn = strlen(hdr), pn = strlen(payload);
    char *t = malloc(2 * (hn + pn) + 64);
    if (!t)
        return NULL;
    size_t o = b64url(t, (const unsigned char *)hdr, hn);
    t[o++] = '.';
    o += b64url(t + o, (const unsigned char *)payload, pn);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)t, o, mac, &ml);
    t[o++] = '.';
    o += b64url(t + o, mac, ml);
    t[o] = '\0';
    return t;
}

/* ---- the entry points: each returns the rc of its parse of `text` ---- */

static auth_jwt *jwt;

static int ep_rest_body(const char *text)
{
    json_t *j = NULL;
    char msg[JSONIN_MSG_MAX];
    int rc = http_parse_json(text, strlen(text), JSON_DECODE_INT_AS_REAL, &j, msg, sizeof msg);
    json_decref(j);
    return rc;
}

static int ep_auth_body(const char *text)
{
    json_t *j = NULL;
    char msg[300];
    int rc = auth_parse_body(text, strlen(text), JSONIN_ANY_SIZE, &j, msg, sizeof msg);
    json_decref(j);
    return rc;
}

static int verify(const char *hdr, const char *payload)
{
    char *t = token(hdr, payload);
    auth_claims *c = NULL;
    int rc = t ? auth_jwt_verify(jwt, t, NOW, &c) : BS_ENOMEM;
    if (rc == BS_OK) {
        char *s = json_dumps(c->json, 0); /* what rules and replies may do */
        rc = s ? BS_OK : BS_ENOMEM;
        free(s);
    }
    auth_claims_release(c);
    free(t);
    return rc;
}

static int ep_jwt_header(const char *x)
{
    buf h = BUF_INIT;
    buf_printf(&h, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"x\":%s}", x);
    int rc = verify(buf_cstr(&h), "{\"role\":\"anon\",\"exp\":1800000000}");
    buf_free(&h);
    return rc;
}

static int ep_jwt_payload(const char *x)
{
    buf p = BUF_INIT;
    buf_printf(&p, "{\"role\":\"anon\",\"exp\":1800000000,\"x\":%s}", x);
    int rc = verify("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", buf_cstr(&p));
    buf_free(&p);
    return rc;
}

static int ep_frame(const char *text)
{
    rt_frame f;
    const char *err = NULL;
    int rc = rt_frame_parse_text(text, strlen(text), true, &f, &err);
    if (rc == BS_OK) {
        char *p = json_dumps(f.payload, JSON_COMPACT);
        rc = p ? BS_OK : BS_ENOMEM;
        free(p);
        rt_frame_clear(&f);
    }
    return rc;
}

static int ep_broadcast(const char *text)
{
    json_t *j = NULL;
    const char *code;
    char msg[JSONIN_MSG_MAX + 64];
    int rc = rt_rest_parse_broadcast(text, strlen(text), &j, &code, msg, sizeof msg);
    if (rc == BS_OK) { /* as the handler: each payload is serialised */
        json_t *m = json_array_get(json_object_get(j, "messages"), 0);
        char *p = json_dumps(json_object_get(m, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
        rc = p ? BS_OK : BS_ENOMEM;
        free(p);
    }
    json_decref(j);
    return rc;
}

static int ep_broadcast_event(const char *text)
{
    char *out = NULL, msg[JSONIN_MSG_MAX + 64];
    int rc = rt_rest_parse_payload(text, strlen(text), &out, msg, sizeof msg);
    free(out);
    return rc;
}

static int ep_storage_body(const char *text)
{
    json_t *j = NULL;
    char msg[JSONIN_MSG_MAX + 64];
    int rc = st_parse_object(text, strlen(text), &j, msg, sizeof msg);
    json_decref(j);
    return rc;
}

static int ep_storage_metadata(const char *text)
{
    char *out = NULL, msg[JSONIN_MSG_MAX + 64];
    int rc = st_parse_metadata(text, strlen(text), &out, msg, sizeof msg);
    free(out);
    return rc;
}

static int ep_rpc_args(const char *text)
{
    char msg[JSONIN_MSG_MAX];
    return fn_rpc_check_args(text, strlen(text), msg, sizeof msg);
}

/* The cs filter as the REST handler runs it: parse, compile, and let
 * SQLite evaluate bs_json_contains(stored, operand) on this stack. */
static int ep_filter_cs(const char *operand)
{
    arena a = ARENA_INIT;
    buf where = BUF_INIT;
    db_binds binds = {0};
    rest_query *q = NULL;
    rest_qerr err;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *val = arena_strdup(&a, operand);
    http_qparam p = {"meta", NULL};
    int rc = BS_ENOMEM;
    if (!val)
        goto out;
    char *v = arena_alloc(&a, strlen(val) + 4);
    if (!v)
        goto out;
    snprintf(v, strlen(val) + 4, "cs.%s", val);
    p.val = v;
    rc = rest_query_parse(&a, &p, 1, &q, &err);
    if (rc)
        goto out;
    rc = rest_query_where(q, &a, &where, &binds, &err);
    if (rc)
        goto out;
    rc = BS_EDB;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || rest_query_register_functions(db) != BS_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT bs_json_contains(?1, ?1)", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, binds.v[0].s, (int)binds.v[0].n, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1)
        rc = BS_OK;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    buf_free(&where);
    arena_free(&a);
    return rc;
}

/* ---- the runs ---- */

typedef struct entry {
    const char *name;
    int (*fn)(const char *);
    const char *prefix, *suffix;  /* around the nested arrays */
    int wrap;                     /* levels prefix adds around them */
} entry;

static const entry entries[] = {
    {"REST body (http_parse_json)", ep_rest_body, "{\"a\":", "}", 1},
    {"auth body (auth_parse_body)", ep_auth_body, "{\"data\":", "}", 1},
    {"JWT header (auth_jwt_verify)", ep_jwt_header, "", "", 1},
    {"JWT payload (auth_jwt_verify)", ep_jwt_payload, "", "", 1},
    {"Phoenix frame (rt_frame_parse_text)", ep_frame, "[null,\"1\",\"realtime:t\",\"broadcast\",{\"p\":", "}]", 2},
    {"broadcast body (rt_rest_parse_broadcast)", ep_broadcast,
     "{\"messages\":[{\"topic\":\"t\",\"event\":\"e\",\"payload\":", "}]}", 3},
    {"broadcast event (rt_rest_parse_payload)", ep_broadcast_event, "", "", 0},
    {"storage body (st_parse_object)", ep_storage_body, "{\"prefix\":", "}", 1},
    {"storage metadata (st_parse_metadata)", ep_storage_metadata, "{\"m\":", "}", 1},
    {"filter cs. (rest_query_parse + bs_json_contains)", ep_filter_cs, "", "", 0},
    {"RPC body (fn_rpc_check_args)", ep_rpc_args, "{\"arg\":", "}", 1},
};
#define NENTRIES (sizeof entries / sizeof entries[0])

typedef struct run {
    size_t entry;
    int depth;            /* total nesting of the input */
    int rc;
} run;

static void *run_one(void *arg)
{
    run *r = arg;
    const entry *e = &entries[r->entry];
    char *text = deep(e->prefix, r->depth - e->wrap, e->suffix);
    r->rc = text ? e->fn(text) : BS_ENOMEM;
    free(text);
    return NULL;
}

/* Run r on a fresh painted, guarded 64 KiB stack; the bytes touched. */
static size_t on_small_stack(run *r)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, STACK_SIZE + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return SIZE_MAX;
    mprotect(m, page, PROT_NONE); /* the guard: stacks grow down */
    unsigned char *stack = m + page;
    memset(stack, PAINT, STACK_SIZE);
    pthread_attr_t at;
    pthread_t th;
    pthread_attr_init(&at);
    pthread_attr_setstack(&at, stack, STACK_SIZE);
    size_t used = SIZE_MAX;
    if (pthread_create(&th, &at, run_one, r) == 0) {
        pthread_join(th, NULL);
        size_t low = 0;
        while (low < STACK_SIZE && stack[low] == PAINT)
            low++;
        used = STACK_SIZE - low;
    }
    pthread_attr_destroy(&at);
    munmap(m, STACK_SIZE + page);
    return used;
}

TEST(at_the_limit_every_entry_point_fits_64k)
{
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &jwt), BS_OK);
    size_t most = 0;
    for (size_t i = 0; i < NENTRIES; i++) {
        run r = {.entry = i, .depth = JSONIN_MAX_DEPTH};
        size_t used = on_small_stack(&r);
        printf("  %6zu bytes of stack at %d levels: %s\n", used, JSONIN_MAX_DEPTH, entries[i].name);
        if (r.rc != BS_OK)
            fprintf(stderr, "  %s: %s\n", entries[i].name, basalt_errname(r.rc));
        ASSERT_EQ_INT(r.rc, BS_OK);
        ASSERT(used < STACK_SIZE);
        if (used > most)
            most = used;
    }
    printf("deepest: %zu bytes of %d\n", most, STACK_SIZE);
    auth_jwt_free(jwt);
    jwt = NULL;
}

TEST(one_over_and_far_over_are_refused_on_64k)
{
    ASSERT_EQ_INT(auth_jwt_new((const unsigned char *)SECRET, strlen(SECRET), &jwt), BS_OK);
    static const int depths[] = {1000, 100000, JSONIN_MAX_DEPTH + 1};
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        for (size_t i = 0; i < NENTRIES; i++) {
            run r = {.entry = i, .depth = depths[d]};
            size_t used = on_small_stack(&r);
            ASSERT(used < STACK_SIZE);
            if (r.rc == BS_OK)
                fprintf(stderr, "  %s admitted %d levels\n", entries[i].name, depths[d]);
            ASSERT_NE_INT(r.rc, BS_OK);
            ASSERT_NE_INT(r.rc, BS_ENOMEM);
        }
    }
    auth_jwt_free(jwt);
    jwt = NULL;
}

TEST_MAIN(T(at_the_limit_every_entry_point_fits_64k), T(one_over_and_far_over_are_refused_on_64k))
