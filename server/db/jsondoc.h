/* jsondoc.h - document texts as the store writes them: one spelling per
 * key, top-level members, merges, and the SQLite JSON path to any key.
 *
 * Why this exists.  SQLite 3.40's JSON functions find a path label by
 * comparing it with the raw text of a key as the document spells it
 * (escapes included), but when json_set appends a missing key it writes the
 * label as a string, escaping it once more.  A key spelled with an escape
 * ("caf\u00e9", "a\\b") was therefore never found by json_set and gained a
 * second copy on every write; SQL then read the first copy and jansson
 * (C rules, realtime, functions) the last.  So the store never builds a
 * document with json_set paths on user keys.  Instead every document text
 * it writes is canonical:
 *   - every key, at any depth, has one spelling (below), so equal keys are
 *     equal byte strings and one path label finds them;
 *   - no insignificant whitespace;
 *   - string values and numbers keep the sender's spelling (a number is
 *     never re-printed).
 * and top-level merges (PATCH, upsert, columns=) are done here, comparing
 * keys as those byte strings.
 *
 * Canonical key spelling, quotes excluded (the same as SQLite's
 * json_object and JSON.stringify): '"' and '\' backslashed; \b \f \n \r
 * \t; other bytes below 0x20 as \u00xx (lowercase hex); every other byte
 * as itself.  Two additions:
 *   - in a key that contains '"', '.' and '[' are written \u002e and
 *     \u005b, because a quoted SQLite 3.40 label ends at the first '"' and
 *     an unquoted one at '.' or '[' (see db_jdoc_path_step);
 *   - an escaped UTF-16 surrogate without its partner has no UTF-8 form:
 *     it is kept as \udxxx (lowercase).  Decoded key bytes use the 3-byte
 *     "WTF-8" form ED A0..BF xx for it, as SQLite's own decoder does, and
 *     db_jdoc_key writes those bytes back as \udxxx, unless a high one is
 *     directly followed by a low one: escaped, that pair would read back as
 *     one character, so both stay raw bytes (SQLite keeps raw bytes as
 *     they are).
 *
 * Limits: nesting deeper than DB_JDOC_MAX_DEPTH (SQLite's own limit) is
 * refused.  UTF-8 is not validated here (bodies are validated by jansson
 * before they get here; stored texts were).
 *
 * Memory: spans point into the caller's text; arrays come from the
 * caller's arena.  Threads: pure functions; any thread.
 */
#ifndef BS_DB_JSONDOC_H
#define BS_DB_JSONDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

#define DB_JDOC_MAX_DEPTH 2000
#define DB_JDOC_NAMES 8        /* duplicate / respelled key names kept in db_jdoc_info */
#define DB_JDOC_NAME_MAX 64    /* bytes of each kept name (longer ones are cut) */

/* What db_jdoc_canon saw.  Names are canonical spellings (so the inside
 * of a JSON string, printable on one line), NUL-terminated, cut to at most
 * DB_JDOC_NAME_MAX - 1 bytes between whole escapes / UTF-8 sequences. */
typedef struct db_jdoc_info {
    size_t dup_keys;       /* keys that repeat an earlier key of the same object (any depth) */
    size_t respelled_keys; /* keys whose input spelling was not the canonical one */
    size_t ndup_names, nrespelled_names;
    char dup_names[DB_JDOC_NAMES][DB_JDOC_NAME_MAX];
    char respelled_names[DB_JDOC_NAMES][DB_JDOC_NAME_MAX];
} db_jdoc_info;

/* Append the canonical text of the JSON value s[0..n) (RFC 8259, with
 * optional surrounding whitespace) to out.  info (may be NULL) is filled.
 * BS_EJSON when s is not one valid JSON value or nests deeper than
 * DB_JDOC_MAX_DEPTH, BS_ENOMEM; on error out keeps its previous contents.
 * Duplicate keys are kept (and counted), never merged. */
int db_jdoc_canon(buf *out, const char *s, size_t n, db_jdoc_info *info);

/* Append the canonical spelling of a key given as decoded bytes (any byte,
 * NUL included), without quotes. */
int db_jdoc_key(buf *out, const char *key, size_t n);

/* Append the SQLite 3.40 JSON path step that finds `key` (decoded bytes)
 * in a canonical object: ."<canonical>" , or .<canonical> for a key that
 * contains '"' (its canonical spelling holds no '.' or '[' then).  The
 * result is for a bound parameter or a checked literal; it is not SQL. */
int db_jdoc_path_step(buf *out, const char *key, size_t n);

typedef struct db_jspan {
    const char *p;
    size_t n;
} db_jspan;

/* A top-level member: key as spelled between its quotes, value as text. */
typedef struct db_jmember {
    db_jspan key;
    db_jspan val;
} db_jmember;

/* Members of the object text s[0..n), in order (duplicates included), or
 * elements of the array text s[0..n).  Spans point into s; the array is
 * allocated from a (NULL when there are none).  BS_EJSON when s is not an
 * object (an array) or is malformed.  Meant for canonical texts: keys are
 * compared as spelled. */
int db_jdoc_members(arena *a, const char *s, size_t n, db_jmember **out, size_t *count);
int db_jdoc_elements(arena *a, const char *s, size_t n, db_jspan **out, size_t *count);

/* A lookup table over members by key spelling. */
typedef struct db_jindex {
    const db_jmember *m;
    size_t n;
    uint32_t *slot; /* 0 empty, else member index + 1 */
    size_t cap;     /* power of two */
} db_jindex;

/* Index m[0..n) (the first of repeated keys wins).  BS_ENOMEM. */
int db_jdoc_index(arena *a, const db_jmember *m, size_t n, db_jindex *out);
/* The member whose key is spelled key[0..n), or NULL. */
const db_jmember *db_jdoc_find(const db_jindex *ix, const char *key, size_t n);

/* Append the object {base members in order, each one whose key set names
 * taking set's value; then set's other members in set order}.  set must
 * not repeat a key.  A key repeated in base keeps every copy unless set
 * names it; then the first copy takes set's value and the others are
 * dropped, and *dropped (may be NULL) counts them.  BS_ENOMEM. */
int db_jdoc_merge(arena *a, buf *out, const db_jmember *base, size_t nbase, const db_jmember *set, size_t nset,
                  size_t *dropped);

#endif
