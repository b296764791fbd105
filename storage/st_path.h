/* st_path.h - names in storage: object keys, bucket names, size limits and
 * MIME type patterns.  Pure functions, no I/O; any thread.
 *
 * Object keys arrive percent-encoded in URLs (the client does not encode
 * them; fetch encodes spaces and non-ASCII) and plain in JSON bodies.  A
 * valid key is 1..ST_KEY_MAX bytes of UTF-8 with no control character (C0,
 * DEL), no leading '/', no empty segment ("a//b", "a/"), and no "." or ".."
 * segment.  Keys never reach the file system: bytes are stored under an
 * internal id (st_blob.h), so these rules exist to keep names unambiguous
 * for clients and listings, not to guard paths.
 */
#ifndef BS_ST_PATH_H
#define BS_ST_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#define ST_KEY_MAX 1024
#define ST_BUCKET_MAX 100

/* True when s[0..n) is a valid object key (rules above). */
bool st_key_valid(const char *s, size_t n);

/* Percent-decode raw[0..n) (no '+' handling) into the arena and validate
 * the result as a key.  BS_OK and *out, or BS_EINVAL (bad escape, %00,
 * invalid key) with *out NULL. */
int st_key_decode(arena *a, const char *raw, size_t n, char **out);

/* True when s is a valid bucket id: 1..ST_BUCKET_MAX characters of
 * [A-Za-z0-9_.-], not "." or "..", and not one of the words the object
 * routes use (public, authenticated, sign, info, list, upload, move, copy). */
bool st_bucket_name_valid(const char *s, size_t n);

/* Parse a size limit as storage-api does: digits with an optional fraction
 * and a unit B, KB, MB or GB (decimal: 1 KB = 1000 B; case-insensitive),
 * or plain digits (bytes).  BS_OK and *out, or BS_EINVAL. */
int st_size_parse(const char *s, int64_t *out);

/* True when the MIME type `type` (parameters after ';' are ignored, case-
 * insensitive) matches `pattern`: exact "type/sub", "type/ *" (any subtype,
 * written without the space) or "*" / "* / *" (anything). */
bool st_mime_match(const char *pattern, const char *type);

/* True when s is a plausible MIME type: "token/token" with optional
 * parameters, printable ASCII only, at most 255 bytes. */
bool st_mime_valid(const char *s);

/* True when a browser may run script in a document of this Content-Type:
 * HTML, XHTML, SVG and any XML (text/xml, application/xml, and every
 * "+xml" subtype: XML documents can carry XHTML and XSLT), and, to be
 * safe, a value that is not one valid MIME type or holds a comma (browsers
 * take the last of a comma-separated list). */
bool st_mime_active(const char *type);

#endif
