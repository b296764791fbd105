/* st_multipart.h - a streaming multipart/form-data parser.
 *
 * Bytes are pushed in chunks of any size (st_mp_feed); a delimiter, a
 * header line or a CRLF may be split across chunks at any byte.  Part
 * bodies are never buffered: they are handed to on_data in pieces as they
 * are found, so memory stays bounded by ST_MP_MAX_HEADER whatever the size
 * of a part.  The preamble and epilogue are ignored.
 *
 * Callbacks (any may be NULL) return BS_OK to go on or an error, which
 * stops the parser and is returned by st_mp_feed.
 *   on_part(u, part)   a part's headers were read (part valid during the call)
 *   on_data(u, p, n)   n bytes of the current part's body
 *   on_end(u)          the current part ended
 *
 * Errors: BS_EPARSE for malformed input (also from every later call),
 * BS_ETOOBIG for a header block over ST_MP_MAX_HEADER.
 * Ownership: st_mp_new copies the boundary; st_mp_free(NULL) is a no-op.
 * Threads: one parser, one thread.
 */
#ifndef BS_ST_MULTIPART_H
#define BS_ST_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define ST_MP_MAX_HEADER 16384
#define ST_MP_MAX_BOUNDARY 200

typedef struct st_mp_part {
    const char *name;          /* form field name ("" when absent) */
    const char *filename;      /* NULL when the part has no filename */
    const char *content_type;  /* NULL when absent */
} st_mp_part;

typedef struct st_mp_callbacks {
    int (*on_part)(void *u, const st_mp_part *part);
    int (*on_data)(void *u, const char *p, size_t n);
    int (*on_end)(void *u);
} st_mp_callbacks;

typedef struct st_mp st_mp;

/* boundary: the raw boundary (without "--"), 1..ST_MP_MAX_BOUNDARY bytes
 * without CR or LF.  BS_OK, BS_EINVAL or BS_ENOMEM. */
int st_mp_new(const char *boundary, const st_mp_callbacks *cb, void *u, st_mp **out);
void st_mp_free(st_mp *m);
int st_mp_feed(st_mp *m, const char *data, size_t n);
/* True once the closing delimiter has been seen. */
bool st_mp_done(const st_mp *m);

/* Extract the boundary parameter from a Content-Type header value of
 * multipart/form-data into out (NUL-terminated).  BS_OK or BS_EINVAL. */
int st_mp_boundary(const char *content_type, char *out, size_t cap);

#endif
