/* st_bucket.h - bucket specs and rows shared by the HTTP endpoints and the
 * migration functions (storage/ only).  Writer functions run inside
 * db_write. */
#ifndef BS_ST_BUCKET_H
#define BS_ST_BUCKET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "db/store.h"

typedef struct st_bucket_spec {
    bool has_public, public_;
    bool has_limit;
    int64_t size_limit;   /* -1: none */
    bool has_mimes;
    json_t *mimes;        /* borrowed from the parsed body; NULL: any */
    bool has_inline, allow_inline;
} st_bucket_spec;

/* Read public / file_size_limit / allowed_mime_types / allow_inline (a
 * Basalt extension: show active content such as HTML and SVG inline, still
 * sandboxed) from a JSON object.  BS_EINVAL with msg. */
int st_bucket_spec_parse(json_t *body, st_bucket_spec *sp, buf *msg);
/* Create a bucket.  BS_EINVAL (bad name; msg "Bucket name invalid"),
 * BS_EEXISTS, BS_EDB.  rules: JSON object text or NULL. */
int st_bucket_insert(db_conn *w, const char *id, const st_bucket_spec *sp, const char *owner, const char *rules,
                     buf *msg);
/* Replace a bucket's rules (validated JSON object text).  BS_ENOTFOUND. */
int st_bucket_set_rules(db_conn *w, const char *id, const char *rules);

#endif
