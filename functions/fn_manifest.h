/* fn_manifest.h - checking a plugin's manifest before anything of it runs,
 * and the small policies derived from it (defaults, retry backoff).
 *
 * Pure functions; any thread.  The manifest is read, never written.
 */
#ifndef FN_MANIFEST_H
#define FN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basalt/function.h"

#define FN_NAME_MAX 63
#define FN_DEFAULT_TIMEOUT_MS 10000
#define FN_DEFAULT_CONCURRENCY 16
#define FN_DEFAULT_RETRIES 2
#define FN_MAX_TIMEOUT_MS (15 * 60 * 1000)
#define FN_MAX_CONCURRENCY 1024
#define FN_MAX_RETRIES 20
#define FN_MAX_TRIGGERS 64

/* [a-z][a-z0-9_-]{0,62} */
bool fn_name_ok(const char *name);

/* Validate a manifest found at symbol basalt_function_v1.  `size` is how
 * many bytes of it may be read (from the ELF symbol size when known, else
 * sizeof).  BS_OK, or BS_EINVAL / BS_EUNSUPP with a one-line reason in
 * why (e.g. "bad magic: not a Basalt function", "built for ABI 2, this
 * server speaks ABI 1"). */
int fn_manifest_check(const basalt_function *m, size_t size, char *why, size_t whylen);

/* Effective settings from the manifest (0 → defaults). */
uint32_t fn_manifest_timeout(const basalt_function *m);
uint32_t fn_manifest_concurrency(const basalt_function *m);
int fn_manifest_retries(const basalt_function *m);

/* Delay before retry number `attempt` (1 = the first retry):
 * base_ms * 2^(attempt-1), capped at cap_ms. */
int64_t fn_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

/* Does a document trigger's filter "field=value" match doc (JSON text)?
 * NULL/empty filter matches everything; a NULL doc matches nothing. */
bool fn_filter_match(const char *filter, const char *doc);

#endif
