/* st_service.h - file storage (storage-api compatible /storage/v1).
 *
 * The service owns the storage directory (--storage-dir, default
 * DATA/storage): object bytes in ab/cd/<blob-id> files, uploads in
 * progress in tmp/.  Metadata (buckets, objects) lives in SQLite
 * (migrations/0003_storage.sql) and is written only through db_write.
 *
 * Lifecycle (main thread): st_start creates the directories, empties tmp/
 * and removes object files that no metadata row names (what a crash between
 * rename and commit, or between commit and unlink, leaves behind); then the
 * HTTP handlers may run.  st_free after the listener has stopped.
 *
 * Handlers (civetweb worker threads):
 *   st_handle         every path under /storage/v1/ (route access
 *                     HTTP_PUBLIC: keys are checked here, because public
 *                     objects and signed URLs need none)
 *   st_admin_buckets  /admin/v1/buckets/NAME/rules (service_role by route)
 */
#ifndef BS_ST_SERVICE_H
#define BS_ST_SERVICE_H

#include "app.h"
#include "db/store.h"
#include "http/http.h"

typedef struct st_service st_service;

/* BS_OK and *out, or BS_EIO (directory not creatable; logged). */
int st_start(bs_app *app, st_service **out);
/* NULL-safe. */
void st_free(st_service *s);

int st_handle(http_req *r);
int st_admin_buckets(http_req *r);

/* Register basalt_create_bucket(id, spec_json) and
 * basalt_set_bucket_rules(id, rules_json) on the writer connection for app
 * migrations.  BS_OK or BS_EDB. */
int st_register_functions(db_conn *w);

#endif
