/* fn_manifest.c - manifest validation and derived policies; see fn_manifest.h. */
#include "fn_manifest.h"
#include "fn_sched.h"
#include "core/error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fn_name_ok(const char *n)
{
    if (!n || !(n[0] >= 'a' && n[0] <= 'z'))
        return false;
    size_t i = 0;
    for (; n[i]; i++) {
        char c = n[i];
        if (i >= FN_NAME_MAX)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int fail(char *why, size_t n, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t n, int rc, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool str_ok(const char *s, size_t max) { return s && *s && strnlen(s, max + 1) <= max; }

/* Flags outside known refused: "unknown <what> bits". */
static int check_bits(const basalt_trigger *t, uint32_t i, uint32_t known, const char *what, char *why, size_t wl)
{
    if (t->flags & ~known)
        return fail(why, wl, BS_EINVAL, "trigger %u: unknown %s bits 0x%x", i, what, t->flags);
    return BS_OK;
}

static int check_trigger(const basalt_trigger *t, uint32_t i, char *why, size_t wl)
{
    char err[160];
    fn_sched s;
    int rc;
    switch (t->kind) {
    case BASALT_TRIGGER_HTTP: return check_bits(t, i, 0x3fu, "HTTP method", why, wl);
    case BASALT_TRIGGER_RPC: return BS_OK;
    case BASALT_TRIGGER_DOCUMENT:
        if (!str_ok(t->source, 63))
            return fail(why, wl, BS_EINVAL, "trigger %u: a document trigger needs a collection name", i);
        rc = check_bits(t, i, 0x7u, "document operation", why, wl);
        if (!rc && t->filter && *t->filter && (!strchr(t->filter, '=') || strchr(t->filter, '=') == t->filter))
            rc = fail(why, wl, BS_EINVAL, "trigger %u: filter must look like field=value", i);
        return rc;
    case BASALT_TRIGGER_STORAGE:
        if (!str_ok(t->source, 100))
            return fail(why, wl, BS_EINVAL, "trigger %u: a storage trigger needs a bucket name", i);
        return check_bits(t, i, 0x3u, "storage operation", why, wl);
    case BASALT_TRIGGER_AUTH: return check_bits(t, i, 0x7u, "auth event", why, wl);
    case BASALT_TRIGGER_SCHEDULE:
        if (!t->source || fn_sched_parse(t->source, &s, err, sizeof err) != BS_OK)
            return fail(why, wl, BS_EINVAL, "trigger %u: schedule \"%.80s\": %s", i, t->source ? t->source : "",
                        t->source ? err : "missing");
        return BS_OK;
    default: return fail(why, wl, BS_EINVAL, "trigger %u: unknown kind %u", i, t->kind);
    }
}

int fn_manifest_check(const basalt_function *m, size_t size, char *why, size_t wl)
{
    if (!m || size < offsetof(basalt_function, struct_size) + sizeof(uint32_t))
        return fail(why, wl, BS_EINVAL, "manifest too small to be a Basalt function");
    if (m->magic != BASALT_FUNCTION_MAGIC)
        return fail(why, wl, BS_EINVAL, "bad magic 0x%016llx: not a Basalt function manifest",
                    (unsigned long long)m->magic);
    if (m->abi_version != BASALT_FUNCTION_ABI)
        return fail(why, wl, BS_EUNSUPP,
                    "built for function ABI %u, this server speaks ABI %u: rebuild it against "
                    "this server's basalt/function.h",
                    m->abi_version, BASALT_FUNCTION_ABI);
    if (m->struct_size < offsetof(basalt_function, reserved) || m->struct_size > size)
        return fail(why, wl, BS_EINVAL, "manifest struct_size %u is not valid for ABI %u", m->struct_size,
                    BASALT_FUNCTION_ABI);
    if (!fn_name_ok(m->name))
        return fail(why, wl, BS_EINVAL, "name must be 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter");
    if (strcmp(m->name, "dlq") == 0)
        return fail(why, wl, BS_EINVAL, "the name \"dlq\" is reserved (admin API)");
    if (!m->handle)
        return fail(why, wl, BS_EINVAL, "%s: handle is NULL", m->name);
    if (m->ntriggers > FN_MAX_TRIGGERS)
        return fail(why, wl, BS_EINVAL, "%s: more than %d triggers", m->name, FN_MAX_TRIGGERS);
    if (m->ntriggers && !m->triggers)
        return fail(why, wl, BS_EINVAL, "%s: ntriggers is %u but triggers is NULL", m->name, m->ntriggers);
    if (m->timeout_ms > FN_MAX_TIMEOUT_MS)
        return fail(why, wl, BS_EINVAL, "%s: timeout_ms above %d", m->name, FN_MAX_TIMEOUT_MS);
    if (m->concurrency > FN_MAX_CONCURRENCY)
        return fail(why, wl, BS_EINVAL, "%s: concurrency above %d", m->name, FN_MAX_CONCURRENCY);
    if (m->retries < -1 || m->retries > FN_MAX_RETRIES)
        return fail(why, wl, BS_EINVAL, "%s: retries must be -1 (none), 0 (default) or 1..%d", m->name, FN_MAX_RETRIES);
    for (uint32_t i = 0; i < m->ntriggers; i++) {
        char sub[200];
        int rc = check_trigger(&m->triggers[i], i, sub, sizeof sub);
        if (rc)
            return fail(why, wl, rc, "%s: %s", m->name, sub);
    }
    return BS_OK;
}

uint32_t fn_manifest_timeout(const basalt_function *m) { return m->timeout_ms ? m->timeout_ms : FN_DEFAULT_TIMEOUT_MS; }

uint32_t fn_manifest_concurrency(const basalt_function *m)
{
    return m->concurrency ? m->concurrency : FN_DEFAULT_CONCURRENCY;
}

int fn_manifest_retries(const basalt_function *m)
{
    return m->retries == 0 ? FN_DEFAULT_RETRIES : m->retries < 0 ? 0 : m->retries;
}

int64_t fn_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms)
{
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++)
        d *= 2;
    return d > cap_ms ? cap_ms : d;
}

bool fn_filter_match(const char *filter, const char *doc)
{
    if (!filter || !*filter)
        return true;
    if (!doc)
        return false;
    const char *eq = strchr(filter, '=');
    if (!eq)
        return false;
    char field[128];
    size_t fl = (size_t)(eq - filter);
    if (fl == 0 || fl >= sizeof field)
        return false;
    memcpy(field, filter, fl);
    field[fl] = '\0';
    const char *want = eq + 1;
    json_error_t je;
    /* a stored document from the change log (admitted on write, at most
     * JSONIN_MAX_DEPTH deep), on the writer's full-size stack */
    json_t *j = json_loads(doc, 0, &je);
    json_t *v = json_object_get(j, field);
    bool ok = false;
    if (json_is_string(v)) {
        ok = strcmp(json_string_value(v), want) == 0;
    } else if (json_is_true(v)) {
        ok = strcmp(want, "true") == 0;
    } else if (json_is_false(v)) {
        ok = strcmp(want, "false") == 0;
    } else if (json_is_null(v)) {
        ok = strcmp(want, "null") == 0;
    } else if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        ok = strcmp(want, b) == 0;
    } else if (json_is_real(v)) {
        char *end;
        double d = strtod(want, &end);
        ok = *want && !*end && d == json_real_value(v);
    }
    json_decref(j);
    return ok;
}
