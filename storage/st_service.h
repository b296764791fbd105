/* st_service.h - file storage (storage-api compatible /storage/v1).
 *
 * The service owns the storage directory (--storage-dir, default
 * DATA/storage): object bytes in ab/cd/<blob-id> files, uploads in
 * progress in tmp/.  Metadata (buckets, objects) lives in SQLite
 * (migrations/0003_storage.sql) and is written only through db_write.
 *
 * Life cycle: storage_module (st_module.c) starts the service on the main
 * thread (st_start, st_int.h: it creates the directories, empties tmp/ and
 * removes object files that no metadata row names, what a crash between
 * rename and commit, or between commit and unlink, leaves behind) before the
 * listener starts, and frees it after the listener has stopped; app->storage
 * is the service meanwhile.  The module also lists the routes with their
 * access levels: the gate checks keys before any storage handler runs.
 *
 * This header is what other subsystems use: the service type and the C API
 * below (function plugins read and write objects through it), and the SQL
 * functions the store registers for app migrations.
 */
#ifndef BS_ST_SERVICE_H
#define BS_ST_SERVICE_H

#include "app/app.h"
#include "db/store.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct st_service st_service;

/* Register basalt_create_bucket(id, spec_json) and
 * basalt_set_bucket_rules(id, rules_json) on the writer connection for app
 * migrations.  BS_OK or BS_EDB. */
int st_register_functions(db_conn *w);

/* ---- C API for other subsystems (st_api.c) ----
 * For in-process callers (function plugins through functions/fn_host.c).
 * The caller acts as service_role: bucket access rules are NOT checked;
 * bucket limits (file_size_limit, --storage-max-file, allowed_mime_types)
 * and key validation are.  Any thread except the db writer thread (these
 * wait on db_write / read through db_reader), never inside a db_write
 * callback. */

#define ST_OBJECT_READ_MAX ((size_t)64 << 20)

/* Read a whole object: its bytes appended to *data (caller's buf; reset
 * first; buf_free it), and *content_type (malloc'd, may be NULL to skip).
 * BS_OK; BS_EINVAL (bad bucket name or key); BS_ENOTFOUND (no bucket or no
 * such object); BS_ETOOBIG (larger than ST_OBJECT_READ_MAX; nothing read);
 * BS_EIO; BS_EDB; BS_ENOMEM.  On failure *data is empty and *content_type
 * NULL.  A read racing an overwrite returns one whole version. */
int st_object_read(st_service *s, const char *bucket, const char *name, buf *data, char **content_type);

/* Create or (upsert) replace bucket/name with data[0..len), exactly as an
 * HTTP upload does: validated key, bucket size and MIME limits, temp file +
 * fsync + rename, then one db_write with the metadata row and the
 * "storage.objects" INSERT change-log entry (so the write can trigger
 * functions), the replaced blob removed after the commit.  content_type
 * NULL means application/octet-stream; owner NULL or "" means none.
 * BS_OK; BS_EINVAL (bad bucket name, key or MIME type, data NULL with
 * len > 0); BS_ENOTFOUND (no such bucket); BS_ETOOBIG (over the bucket's
 * or the server's size limit); BS_EDENIED (MIME type not allowed by the
 * bucket); BS_EEXISTS (exists and !upsert); BS_EIO; BS_EDB; BS_ENOMEM;
 * BS_ESHUTDOWN. */
int st_object_write(st_service *s, const char *bucket, const char *name, const void *data, size_t len,
                    const char *content_type, bool upsert, const char *owner);

#endif
