/* jsonin.h - the one door for JSON text that comes from outside.
 *
 * Every parse of text the server did not write itself goes through
 * jsonin_parse: request bodies, header and query values (JWTs, filter
 * operands, x-metadata), WebSocket frames, multipart fields, payloads that
 * function plugins hand to the host.  It checks, in this order:
 *
 *   1. size:  more than the caller's max_size bytes      -> BS_ETOOBIG
 *   2. depth: nesting deeper than JSONIN_MAX_DEPTH       -> BS_EDEPTH
 *   3. jansson with the caller's decode flags            -> BS_EJSON
 *      (BS_ENOMEM when jansson itself ran out of memory)
 *
 * Why a depth limit: jansson parses recursively (two stack frames per
 * level) and its own ceiling, JSON_PARSER_MAX_DEPTH = 2048 fixed when the
 * library was built, is far more than a civetweb worker's stack holds: a
 * 1,000-deep JWT header killed the process before this existed.  What is
 * later done with the tree is recursive too (json_dumps, json_equal,
 * json_decref, the jsonb containment functions of db/query_json.c,
 * SQLite's JSON functions over text built from it), so bounding the depth
 * where the text enters bounds all of them.  64 levels is more than any
 * real document uses; parsing at the limit takes a few KiB of stack
 * (tests/unit/core/jsonin.c runs every entry point's parse on a 64 KiB
 * thread stack).
 *
 * The depth pre-scan is linear, allocates nothing and stops at the first
 * byte past the limit.  It counts '[' and '{' outside strings (a string
 * starts at '"' and ends at the next '"' not escaped by '\'); a closing
 * bracket at depth 0 is ignored rather than counted below zero, so the
 * count is never less than the depth any JSON parser reaches on the same
 * bytes (malformed text is left for jansson to report).
 *
 * Text the server wrote itself (rows it reads back from SQLite, built from
 * admitted input) may keep plain jansson only where it cannot be deeper
 * than what was admitted; those call sites say why in a comment.
 *
 * Pure functions; any thread.
 */
#ifndef BS_JSONIN_H
#define BS_JSONIN_H

#include <stddef.h>
#include <stdint.h>

struct json_t;

/* Deepest nesting admitted: [[1]] is 2 deep, {"a":[]} is 2, 1 is 0. */
#define JSONIN_MAX_DEPTH 64
#define JSONIN_STR_(x) #x
#define JSONIN_STR(x) JSONIN_STR_(x)
/* The message of BS_EDEPTH, static for callers that need one. */
#define JSONIN_DEPTH_MSG "JSON nested deeper than " JSONIN_STR(JSONIN_MAX_DEPTH) " levels"

/* max_size for text whose size the caller has already bounded (a request
 * body read under --max-body, a plugin's payload). */
#define JSONIN_ANY_SIZE SIZE_MAX

/* Room for any message jsonin_parse writes (shorter buffers truncate). */
#define JSONIN_MSG_MAX 200

/* Parse text[0..len) (need not be NUL-terminated) with the checks above.
 * flags: jansson decode flags (JSON_REJECT_DUPLICATES, JSON_DECODE_ANY,
 * JSON_DECODE_INT_AS_REAL, ...).  BS_OK with *out a new reference the
 * caller json_decref's; otherwise *out is NULL and msg (when msgsz > 0)
 * holds a sentence for the client:
 *   BS_ETOOBIG  "JSON text of 123 bytes is larger than the limit of 100 bytes"
 *   BS_EDEPTH   JSONIN_DEPTH_MSG ("JSON nested deeper than 64 levels")
 *   BS_EJSON    jansson's reason "(line L, column C)"
 *   BS_ENOMEM   "out of memory" */
int jsonin_parse(const char *text, size_t len, size_t max_size, size_t flags, struct json_t **out,
                 char *msg, size_t msgsz);

/* jsonin_parse of a NUL-terminated string, for C-string APIs (plugins). */
int jsonin_parses(const char *text, size_t max_size, size_t flags, struct json_t **out, char *msg,
                  size_t msgsz);

/* The nesting depth the pre-scan sees in s[0..n), or limit + 1 as soon as
 * it passes limit (the scan stops there). */
int jsonin_depth(const char *s, size_t n, int limit);

#endif
