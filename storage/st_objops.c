/* st_objops.c - object info, list, remove, move and copy (spec §4.3).
 *
 * list is computed in C over the rows under the prefix (an index range on
 * (bucket_id, name)): keys one level down become folder entries with null
 * id, the select rule filters rows, then sort, offset and limit apply.
 * remove, move and copy run in one db_write each, so their rows and
 * change-log entries commit together; blob files are removed only after
 * the commit.
 */
#include "storage/st_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REMOVE 1000

static int send_buf(http_req *r, int rc, buf *out)
{
    rc = rc ? st_err_db(r, rc) : http_send_json(r, 200, out->data ? out->data : "", out->len);
    buf_free(out);
    return rc;
}

/* ---- info ---- */

int st_obj_info(st_ctx *c, const char *bucket, const char *key)
{
    st_bucket b;
    if (st_load_bucket(c, bucket, &b))
        return BS_OK;
    st_object o;
    db_conn *db = db_reader(c->app->store);
    int rc = db ? st_object_get(db, c->a, bucket, key, &o) : BS_EDB;
    if (rc == BS_OK && !st_allowed(&b, c->caller, RULES_SELECT, &o))
        rc = BS_ENOTFOUND;
    st_bucket_clear(&b);
    if (rc == BS_ENOTFOUND)
        return st_err(c->r, 404, "not_found", "Object not found");
    if (rc)
        return st_err_db(c->r, rc);
    buf out = BUF_INIT;
    rc = buf_puts(&out, "{\"id\":");
    if (!rc) rc = buf_json_str(&out, o.id, strlen(o.id));
    if (!rc) rc = buf_puts(&out, ",\"name\":");
    if (!rc) rc = buf_json_str(&out, o.name, strlen(o.name));
    if (!rc) rc = buf_puts(&out, ",\"version\":");
    if (!rc) rc = buf_json_str(&out, o.blob, strlen(o.blob));
    if (!rc) rc = buf_puts(&out, ",\"bucket_id\":");
    if (!rc) rc = buf_json_str(&out, o.bucket, strlen(o.bucket));
    if (!rc) rc = buf_printf(&out, ",\"size\":%lld,\"content_type\":", (long long)o.size);
    if (!rc) rc = buf_json_str(&out, o.content_type, strlen(o.content_type));
    if (!rc) rc = buf_puts(&out, ",\"cache_control\":");
    if (!rc) rc = buf_json_str(&out, o.cache_control, strlen(o.cache_control));
    if (!rc) rc = buf_puts(&out, ",\"etag\":");
    if (!rc) rc = buf_json_str(&out, o.etag, strlen(o.etag));
    if (!rc) rc = buf_printf(&out, ",\"metadata\":%s", o.metadata ? o.metadata : "null");
    if (!rc) rc = buf_puts(&out, ",\"owner\":");
    if (!rc) rc = *o.owner ? buf_json_str(&out, o.owner, strlen(o.owner)) : buf_puts(&out, "null");
    if (!rc) rc = buf_printf(&out, ",\"last_modified\":\"%s\",\"created_at\":\"%s\",\"updated_at\":\"%s\"}", o.updated_at,
                             o.created_at, o.updated_at);
    return send_buf(c->r, rc, &out);
}

/* ---- list ---- */

typedef struct entry {
    const char *name;   /* relative to the prefix */
    st_object *obj;     /* NULL for a folder */
} entry;

typedef struct sort_by {
    const char *col;
    bool desc;
} sort_by;

static const char *entry_col(const entry *e, const char *sort_col)
{
    if (!e->obj)
        return NULL;
    if (strcmp(sort_col, "created_at") == 0)
        return e->obj->created_at;
    if (strcmp(sort_col, "updated_at") == 0)
        return e->obj->updated_at;
    return e->obj->last_accessed_at;
}

static int cmp_entry(const void *pa, const void *pb, void *arg)
{
    const entry *a = pa, *b = pb;
    const sort_by *s = arg;
    int d;
    if (strcmp(s->col, "name") == 0) {
        d = strcmp(a->name, b->name);
    } else {
        const char *x = entry_col(a, s->col), *y = entry_col(b, s->col);
        /* PostgreSQL's defaults: NULLS LAST ascending, NULLS FIRST descending */
        if (!x || !y)
            d = (x == NULL) - (y == NULL);
        else
            d = strcmp(x, y);
        if (d == 0)
            d = strcmp(a->name, b->name);
    }
    return s->desc ? -d : d;
}

static bool starts_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int st_obj_list(st_ctx *c, const char *bucket)
{
    json_t *body;
    if (st_read_json(c->r, &body))
        return BS_OK;
    st_bucket b;
    int rc = BS_OK;
    if (st_load_bucket(c, bucket, &b)) {
        json_decref(body);
        return BS_OK;
    }
    const char *prefix = json_string_value(json_object_get(body, "prefix"));
    const char *search = json_string_value(json_object_get(body, "search"));
    json_t *lim = json_object_get(body, "limit"), *off = json_object_get(body, "offset");
    json_t *sb = json_object_get(body, "sortBy");
    long long limit = json_is_integer(lim) ? json_integer_value(lim) : 100;
    long long offset = json_is_integer(off) ? json_integer_value(off) : 0;
    const char *col = json_string_value(json_object_get(sb, "column"));
    const char *ord = json_string_value(json_object_get(sb, "order"));
    if (!col)
        col = "name";
    if (strcmp(col, "name") && strcmp(col, "created_at") && strcmp(col, "updated_at") &&
        strcmp(col, "last_accessed_at")) {
        rc = st_err(c->r, 400, "InvalidRequest", "sortBy.column must be name, created_at, updated_at or last_accessed_at");
        goto out;
    }
    if (limit < 0)
        limit = 100;
    if (offset < 0)
        offset = 0;
    /* the prefix names a folder: "dir" and "dir/" both list dir's contents */
    while (prefix && *prefix == '/')
        prefix++;
    size_t pl = prefix ? strlen(prefix) : 0;
    char *lo = arena_alloc(c->a, pl + 2), *hi = arena_alloc(c->a, pl + 2);
    if (!lo || !hi) {
        rc = st_err_db(c->r, BS_ENOMEM);
        goto out;
    }
    memcpy(lo, prefix ? prefix : "", pl);
    if (pl && lo[pl - 1] != '/')
        lo[pl++] = '/';
    lo[pl] = '\0';
    memcpy(hi, lo, pl + 1);
    if (pl)
        hi[pl - 1] = '0'; /* '/' + 1: the end of the range of keys under lo */

    db_conn *db = db_reader(c->app->store);
    const char *q = pl ? "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=? AND name>? AND name<? ORDER BY name"
                       : "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=? ORDER BY name";
    sqlite3_stmt *st = db ? db_stmt(db, q, strlen(q), NULL) : NULL;
    if (!st) {
        rc = st_err_db(c->r, BS_EDB);
        goto out;
    }
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    if (pl) {
        sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
    }
    entry *list = NULL;
    size_t n = 0, cap = 0;
    const char *last_folder = NULL;
    int step, err = BS_OK;
    while (err == BS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        st_object *o = arena_alloc(c->a, sizeof *o);
        if (!o || st_object_from_stmt(st, 0, c->a, o) != BS_OK) {
            err = BS_ENOMEM;
            break;
        }
        const char *rel = o->name + pl;
        const char *slash = strchr(rel, '/');
        entry e = {rel, o};
        if (slash) {
            size_t fl = (size_t)(slash - rel);
            if (last_folder && strlen(last_folder) == fl && memcmp(last_folder, rel, fl) == 0)
                continue;
            /* a folder shows when any object in it is visible */
            if (!st_allowed(&b, c->caller, RULES_SELECT, o))
                continue;
            e.name = arena_strndup(c->a, rel, fl);
            e.obj = NULL;
            last_folder = e.name;
        } else if (!st_allowed(&b, c->caller, RULES_SELECT, o)) {
            continue;
        }
        if (!e.name) {
            err = BS_ENOMEM;
            break;
        }
        if (search && *search && !starts_ci(e.name, search))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            entry *nl = realloc(list, nc * sizeof *nl);
            if (!nl) {
                err = BS_ENOMEM;
                break;
            }
            list = nl;
            cap = nc;
        }
        list[n++] = e;
    }
    db_stmt_done(st);
    if (err) {
        free(list);
        rc = st_err_db(c->r, err);
        goto out;
    }
    sort_by sb_ = {col, ord && strcasecmp(ord, "desc") == 0};
    if (n > 1)
        qsort_r(list, n, sizeof *list, cmp_entry, &sb_); /* glibc (_GNU_SOURCE) */
    buf out = BUF_INIT;
    int brc = buf_putc(&out, '[');
    bool first = true;
    for (size_t i = (size_t)offset; brc == BS_OK && i < n && (long long)(i - (size_t)offset) < limit; i++) {
        if (!first)
            brc = buf_putc(&out, ',');
        first = false;
        if (!brc) brc = buf_puts(&out, "{\"name\":");
        if (!brc) brc = buf_json_str(&out, list[i].name, strlen(list[i].name));
        const st_object *o = list[i].obj;
        if (!o) {
            if (!brc)
                brc = buf_puts(&out, ",\"id\":null,\"updated_at\":null,\"created_at\":null,"
                                     "\"last_accessed_at\":null,\"metadata\":null}");
            continue;
        }
        if (!brc) brc = buf_printf(&out, ",\"id\":\"%s\",\"updated_at\":\"%s\",\"created_at\":\"%s\","
                                         "\"last_accessed_at\":\"%s\",\"metadata\":",
                                   o->id, o->updated_at, o->created_at, o->last_accessed_at);
        if (!brc) brc = st_object_meta_json(o, &out);
        if (!brc) brc = buf_putc(&out, '}');
    }
    if (!brc)
        brc = buf_putc(&out, ']');
    free(list);
    rc = send_buf(c->r, brc, &out);
out:
    st_bucket_clear(&b);
    json_decref(body);
    return rc;
}

/* ---- remove ---- */

typedef struct remove_arg {
    st_ctx *c;
    const char *bucket;
    const char **names;
    size_t n;
    buf out;              /* JSON array of the deleted rows */
    const char **blobs;
    size_t nblobs;
} remove_arg;

static int run_remove(db_conn *w, void *arg)
{
    remove_arg *ra = arg;
    st_ctx *c = ra->c;
    ra->nblobs = 0;
    buf_reset(&ra->out);
    st_bucket b;
    int rc = st_bucket_get(w, c->a, ra->bucket, &b);
    if (rc)
        return rc;
    int64_t now = time_now_ms();
    rc = buf_putc(&ra->out, '[');
    bool first = true;
    for (size_t i = 0; rc == BS_OK && i < ra->n; i++) {
        st_object o;
        int g = st_object_get(w, c->a, ra->bucket, ra->names[i], &o);
        if (g == BS_ENOTFOUND)
            continue;
        if (g) {
            rc = g;
            break;
        }
        if (!st_allowed(&b, c->caller, RULES_DELETE, &o))
            continue; /* as RLS: rows the caller may not delete are not deleted */
        rc = st_object_delete_row(w, &o, now);
        if (!rc && !first)
            rc = buf_putc(&ra->out, ',');
        if (!rc)
            rc = st_object_row_json(&o, &ra->out);
        first = false;
        ra->blobs[ra->nblobs++] = o.blob;
    }
    if (!rc)
        rc = buf_putc(&ra->out, ']');
    st_bucket_clear(&b);
    return rc;
}

int st_obj_remove(st_ctx *c, const char *bucket, json_t *names)
{
    if (!json_is_array(names))
        return st_err(c->r, 400, "InvalidRequest", "body must have prefixes: an array of object names");
    size_t n = json_array_size(names);
    if (n > MAX_REMOVE)
        return st_err(c->r, 400, "InvalidRequest", "at most %d objects per request", MAX_REMOVE);
    remove_arg ra = {.c = c, .bucket = bucket, .out = BUF_INIT};
    ra.names = arena_alloc(c->a, (n ? n : 1) * sizeof *ra.names);
    ra.blobs = arena_alloc(c->a, (n ? n : 1) * sizeof *ra.blobs);
    if (!ra.names || !ra.blobs)
        return st_err_db(c->r, BS_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(names, i));
        if (!k)
            return st_err(c->r, 400, "InvalidRequest", "prefixes must be strings");
        while (*k == '/')
            k++;
        /* an invalid key names no object: skip it */
        if (st_key_valid(k, strlen(k)))
            ra.names[ra.n++] = k;
    }
    int rc = db_write(c->app->store, run_remove, &ra);
    if (rc == BS_ENOTFOUND) {
        buf_free(&ra.out);
        return st_err(c->r, 404, "Bucket not found", "Bucket not found");
    }
    if (rc == BS_OK)
        for (size_t i = 0; i < ra.nblobs; i++)
            st_blob_remove(c->s, ra.blobs[i]);
    return send_buf(c->r, rc, &ra.out);
}

/* ---- move / copy ---- */

typedef struct move_arg {
    st_ctx *c;
    bool copy, upsert;
    const char *sb, *sk, *db, *dk;
    const char *new_blob;       /* copy: the linked blob */
    char id[UUID_STR_LEN + 1];
    const char *result_id;
    const char *old_blob;       /* a replaced destination (copy with upsert) */
} move_arg;

static int run_move(db_conn *w, void *arg)
{
    move_arg *m = arg;
    st_ctx *c = m->c;
    m->old_blob = NULL;
    st_bucket sbk, dbk;
    memset(&dbk, 0, sizeof dbk);
    int rc = st_bucket_get(w, c->a, m->sb, &sbk);
    if (rc)
        return rc;
    rc = st_bucket_get(w, c->a, m->db, &dbk);
    if (rc)
        goto out;
    st_object src, dst;
    rc = st_object_get(w, c->a, m->sb, m->sk, &src);
    if (rc == BS_OK && !st_allowed(&sbk, c->caller, RULES_SELECT, &src))
        rc = BS_ENOTFOUND;
    if (rc)
        goto out;
    int g = st_object_get(w, c->a, m->db, m->dk, &dst);
    bool dexists = g == BS_OK;
    if (g && g != BS_ENOTFOUND) {
        rc = g;
        goto out;
    }
    if (dexists && (!m->copy || !m->upsert)) {
        rc = BS_EEXISTS;
        goto out;
    }
    char now[32];
    time_iso_now(now);
    int64_t now_ms = time_now_ms();
    st_object n = src;
    n.bucket = m->db;
    n.name = m->dk;
    n.updated_at = now;
    n.last_accessed_at = now;
    if (m->copy) {
        n.id = dexists ? dst.id : m->id;
        n.created_at = dexists ? dst.created_at : now;
        n.blob = m->new_blob;
        n.owner = st_caller_sub(c) ? st_caller_sub(c) : "";
        bool ok = dexists ? st_allowed(&dbk, c->caller, RULES_UPDATE, &dst) && st_allowed(&dbk, c->caller, RULES_UPDATE, &n)
                          : st_allowed(&dbk, c->caller, RULES_INSERT, &n);
        if (!ok) {
            rc = BS_EDENIED;
            goto out;
        }
        rc = st_object_put_row(w, &n, dexists ? &dst : NULL, now_ms);
        if (!rc && dexists)
            m->old_blob = dst.blob;
    } else {
        if (!st_allowed(&sbk, c->caller, RULES_DELETE, &src) || !st_allowed(&dbk, c->caller, RULES_INSERT, &n)) {
            rc = BS_EDENIED;
            goto out;
        }
        rc = st_object_delete_row(w, &src, now_ms);
        if (!rc)
            rc = st_object_put_row(w, &n, NULL, now_ms);
    }
    m->result_id = n.id;
out:
    st_bucket_clear(&sbk);
    st_bucket_clear(&dbk);
    return rc;
}

static char *body_key(st_ctx *c, json_t *body, const char *field)
{
    const char *k = json_string_value(json_object_get(body, field));
    if (!k)
        return NULL;
    while (*k == '/')
        k++;
    return st_key_valid(k, strlen(k)) ? arena_strdup(c->a, k) : NULL;
}

int st_obj_move_copy(st_ctx *c, bool copy)
{
    json_t *body;
    if (st_read_json(c->r, &body))
        return BS_OK;
    move_arg m = {.c = c, .copy = copy};
    int rc;
    const char *ups = http_header(c->r, "x-upsert");
    m.upsert = ups && strcasecmp(ups, "true") == 0;
    m.sb = json_string_value(json_object_get(body, "bucketId"));
    m.db = json_string_value(json_object_get(body, "destinationBucket"));
    if (!m.db)
        m.db = m.sb;
    m.sk = body_key(c, body, "sourceKey");
    m.dk = body_key(c, body, "destinationKey");
    if (!m.sb || !st_bucket_name_valid(m.sb, strlen(m.sb)) || !st_bucket_name_valid(m.db, strlen(m.db))) {
        rc = st_err(c->r, 404, "Bucket not found", "Bucket not found");
        goto out;
    }
    if (!m.sk || !m.dk) {
        const char *bad = json_string_value(json_object_get(body, m.sk ? "destinationKey" : "sourceKey"));
        rc = st_err(c->r, 400, "InvalidKey", "Invalid key: %.1024s", bad ? bad : "");
        goto out;
    }
    m.sb = arena_strdup(c->a, m.sb);
    m.db = arena_strdup(c->a, m.db);
    if (copy) {
        st_object src;
        db_conn *db = db_reader(c->app->store);
        int g = db ? st_object_get(db, c->a, m.sb, m.sk, &src) : BS_EDB;
        char *blob = arena_alloc(c->a, ST_BLOB_ID_LEN + 1);
        if (g == BS_OK && !blob)
            g = BS_ENOMEM;
        if (g == BS_OK)
            g = st_blob_clone(c->s, src.blob, blob);
        if (g == BS_ENOTFOUND) {
            rc = st_err(c->r, 404, "not_found", "Object not found");
            goto out;
        }
        if (g) {
            rc = st_err_db(c->r, g);
            goto out;
        }
        m.new_blob = blob;
        if (uuid_v7(m.id) != BS_OK) {
            st_blob_remove(c->s, blob);
            rc = st_err_db(c->r, BS_EIO);
            goto out;
        }
    }
    rc = db_write(c->app->store, run_move, &m);
    if (rc != BS_OK && m.new_blob)
        st_blob_remove(c->s, m.new_blob);
    switch (rc) {
    case BS_OK: {
        if (m.old_blob)
            st_blob_remove(c->s, m.old_blob);
        if (!copy) {
            rc = http_send_json(c->r, 200, "{\"message\":\"Successfully moved\"}", 32);
            break;
        }
        buf out = BUF_INIT;
        char *full = st_full_key(c->a, m.db, m.dk);
        int brc = full ? BS_OK : BS_ENOMEM;
        if (!brc)
            brc = buf_puts(&out, "{\"Id\":");
        if (!brc) brc = buf_json_str(&out, m.result_id, strlen(m.result_id));
        if (!brc) brc = buf_puts(&out, ",\"Key\":");
        if (!brc) brc = buf_json_str(&out, full, strlen(full));
        if (!brc) brc = buf_putc(&out, '}');
        rc = send_buf(c->r, brc, &out);
        break;
    }
    case BS_ENOTFOUND:
        /* which one: a missing bucket, or the source object */
        rc = st_err(c->r, 404, "not_found", "Object not found");
        break;
    case BS_EEXISTS: rc = st_err(c->r, 409, "Duplicate", "The resource already exists"); break;
    case BS_EDENIED: rc = st_err(c->r, 403, "Unauthorized", "new row violates row-level security policy"); break;
    default: rc = st_err_db(c->r, rc);
    }
out:
    json_decref(body);
    return rc;
}
