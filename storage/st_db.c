/* st_db.c - bucket and object rows and their JSON shapes.
 *
 * Reads take any connection (a worker's reader, or the writer inside a
 * write callback); writes take the writer connection inside db_write.
 * The JSON shapes are storage-api's (spec §4.2, §4.3): buckets as the
 * buckets table, objects as the objects table with S3-like metadata.
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "db/changelog.h"

#include <stdio.h>
#include <string.h>

static const char *col(sqlite3_stmt *st, int i, arena *a)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return NULL;
    return arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

void st_bucket_clear(st_bucket *b)
{
    json_decref(b->mimes);
    json_decref(b->rules);
    memset(b, 0, sizeof *b);
}

int st_bucket_get(db_conn *c, arena *a, const char *id, st_bucket *out)
{
    memset(out, 0, sizeof *out);
    const char *q = "SELECT id,owner,public,file_size_limit,allowed_mime_types,rules,created_at,updated_at,"
                    "allow_inline FROM _basalt_buckets WHERE id=?";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = BS_ENOTFOUND;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        json_error_t je;
        out->id = col(st, 0, a);
        out->owner = col(st, 1, a);
        out->public_ = sqlite3_column_int(st, 2) != 0;
        out->size_limit = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        /* mime list and rules: flat JSON the server serialised itself */
        const char *m = (const char *)sqlite3_column_text(st, 4);
        out->mimes = m ? json_loads(m, 0, &je) : NULL;
        const char *ru = (const char *)sqlite3_column_text(st, 5);
        out->rules = ru ? json_loads(ru, 0, &je) : NULL;
        if (!out->rules)
            out->rules = json_object();
        out->created_at = col(st, 6, a);
        out->updated_at = col(st, 7, a);
        out->allow_inline = sqlite3_column_int(st, 8) != 0;
        rc = out->id && out->created_at && out->updated_at && out->rules ? BS_OK : BS_ENOMEM;
        if (!out->owner)
            out->owner = "";
    } else if (step != SQLITE_DONE) {
        rc = BS_EDB;
    }
    db_stmt_done(st);
    if (rc)
        st_bucket_clear(out);
    return rc;
}

int st_bucket_json(const st_bucket *b, buf *out)
{
    int rc = buf_puts(out, "{\"id\":");
    if (!rc) rc = buf_json_str(out, b->id, strlen(b->id));
    if (!rc) rc = buf_puts(out, ",\"name\":");
    if (!rc) rc = buf_json_str(out, b->id, strlen(b->id));
    if (!rc) rc = buf_puts(out, ",\"owner\":");
    if (!rc) rc = buf_json_str(out, b->owner, strlen(b->owner));
    if (!rc) rc = buf_printf(out, ",\"public\":%s,\"file_size_limit\":", b->public_ ? "true" : "false");
    if (!rc) rc = b->size_limit < 0 ? buf_puts(out, "null") : buf_printf(out, "%lld", (long long)b->size_limit);
    if (!rc) rc = buf_puts(out, ",\"allowed_mime_types\":");
    if (!rc) {
        char *m = b->mimes ? json_dumps(b->mimes, JSON_COMPACT) : NULL;
        rc = buf_puts(out, m ? m : "null");
        free(m);
    }
    if (!rc) rc = buf_printf(out, ",\"allow_inline\":%s", b->allow_inline ? "true" : "false");
    if (!rc) rc = buf_printf(out, ",\"created_at\":\"%s\",\"updated_at\":\"%s\",\"type\":\"STANDARD\"}",
                             b->created_at, b->updated_at);
    return rc;
}

int st_object_from_stmt(sqlite3_stmt *st, int f, arena *a, st_object *o)
{
    memset(o, 0, sizeof *o);
    o->id = col(st, f + 0, a);
    o->bucket = col(st, f + 1, a);
    o->name = col(st, f + 2, a);
    o->owner = col(st, f + 3, a);
    o->blob = col(st, f + 4, a);
    o->size = sqlite3_column_int64(st, f + 5);
    o->content_type = col(st, f + 6, a);
    o->cache_control = col(st, f + 7, a);
    o->etag = col(st, f + 8, a);
    o->metadata = col(st, f + 9, a);
    o->created_at = col(st, f + 10, a);
    o->updated_at = col(st, f + 11, a);
    o->last_accessed_at = col(st, f + 12, a);
    if (!o->owner)
        o->owner = "";
    return o->id && o->bucket && o->name && o->blob && o->content_type && o->cache_control && o->etag &&
                   o->created_at && o->updated_at && o->last_accessed_at
               ? BS_OK
               : BS_ENOMEM;
}

int st_object_get(db_conn *c, arena *a, const char *bucket, const char *name, st_object *out)
{
    const char *q = "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=? AND name=?";
    sqlite3_stmt *st = db_stmt(c, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? st_object_from_stmt(st, 0, a, out) : step == SQLITE_DONE ? BS_ENOTFOUND : BS_EDB;
    db_stmt_done(st);
    return rc;
}

/* One "key": value pair of a JSON object (NULL: null). */
typedef struct st_field {
    const char *key;
    const char *val;
} st_field;

/* The pairs, comma-separated, after sep ("{" or ","). */
static int put_fields(buf *b, const char *sep, const st_field *f, size_t n)
{
    int rc = BS_OK;
    for (size_t i = 0; rc == BS_OK && i < n; i++) {
        rc = buf_printf(b, "%s\"%s\":", i ? "," : sep, f[i].key);
        if (!rc)
            rc = f[i].val ? buf_json_str(b, f[i].val, strlen(f[i].val)) : buf_puts(b, "null");
    }
    return rc;
}

static const char *owner_or_null(const st_object *o)
{
    return o->owner && *o->owner ? o->owner : NULL;
}

int st_object_change_json(const st_object *o, buf *out)
{
    const st_field ids[] = {{"id", o->id}, {"bucket", o->bucket}, {"name", o->name}};
    const st_field rest[] = {{"content_type", o->content_type}, {"owner", owner_or_null(o)}};
    int rc = put_fields(out, "{", ids, BS_COUNT(ids));
    if (!rc) rc = buf_printf(out, ",\"size\":%lld", (long long)o->size);
    if (!rc) rc = put_fields(out, ",", rest, BS_COUNT(rest));
    if (!rc) rc = buf_printf(out, ",\"metadata\":%s}", o->metadata ? o->metadata : "null");
    return rc;
}

int st_object_meta_json(const st_object *o, buf *out)
{
    const st_field etag[] = {{"eTag", o->etag}};
    const st_field rest[] = {{"mimetype", o->content_type}, {"cacheControl", o->cache_control},
                             {"lastModified", o->updated_at}};
    int rc = put_fields(out, "{", etag, BS_COUNT(etag));
    if (!rc) rc = buf_printf(out, ",\"size\":%lld", (long long)o->size);
    if (!rc) rc = put_fields(out, ",", rest, BS_COUNT(rest));
    if (!rc) rc = buf_printf(out, ",\"contentLength\":%lld,\"httpStatusCode\":200}", (long long)o->size);
    return rc;
}

int st_object_row_json(const st_object *o, buf *out)
{
    const st_field f[] = {{"id", o->id}, {"bucket_id", o->bucket}, {"name", o->name}, {"owner", owner_or_null(o)},
                          {"owner_id", owner_or_null(o)}, {"created_at", o->created_at},
                          {"updated_at", o->updated_at}, {"last_accessed_at", o->last_accessed_at}};
    int rc = put_fields(out, "{", f, BS_COUNT(f));
    if (!rc) rc = buf_puts(out, ",\"metadata\":");
    if (!rc) rc = st_object_meta_json(o, out);
    if (!rc) rc = buf_printf(out, ",\"user_metadata\":%s}", o->metadata ? o->metadata : "null");
    return rc;
}

int st_object_put_row(db_conn *w, const st_object *o, const st_object *old, int64_t now_ms)
{
    /* Keep id and created_at of an overwritten row (storage-api upsert). */
    const char *q = "INSERT INTO _basalt_objects(" ST_OBJ_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(bucket_id,name) DO UPDATE SET owner=excluded.owner, blob=excluded.blob, "
                    "size=excluded.size, content_type=excluded.content_type, "
                    "cache_control=excluded.cache_control, etag=excluded.etag, metadata=excluded.metadata, "
                    "updated_at=excluded.updated_at, last_accessed_at=excluded.last_accessed_at";
    sqlite3_stmt *st = db_stmt(w, q, strlen(q), NULL);
    if (!st)
        return BS_EDB;
    const char *v[] = {o->id, o->bucket, o->name, *o->owner ? o->owner : NULL, o->blob};
    for (int i = 0; i < 5; i++)
        sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, o->size);
    sqlite3_bind_text(st, 7, o->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, o->cache_control, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, o->etag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, o->metadata, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, o->created_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, o->updated_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, o->last_accessed_at, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    db_stmt_done(st);
    if (step != SQLITE_DONE)
        return BS_EDB;
    buf j = BUF_INIT, oj = BUF_INIT;
    int rc = st_object_change_json(o, &j);
    if (!rc && old)
        rc = st_object_change_json(old, &oj);
    if (!rc)
        rc = db_changelog_append(w, "storage.objects", "INSERT", o->id, old ? buf_cstr(&oj) : NULL, buf_cstr(&j),
                                 now_ms);
    buf_free(&j);
    buf_free(&oj);
    return rc;
}

int st_object_delete_row(db_conn *w, const st_object *o, int64_t now_ms)
{
    if (db_exec_arg(w, "DELETE FROM _basalt_objects WHERE id=?", o->id) != BS_OK)
        return BS_EDB;
    buf j = BUF_INIT;
    int rc = st_object_change_json(o, &j);
    if (!rc)
        rc = db_changelog_append(w, "storage.objects", "DELETE", o->id, buf_cstr(&j), NULL, now_ms);
    buf_free(&j);
    return rc;
}
