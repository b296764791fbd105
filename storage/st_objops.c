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
    rc = rc ? st_reply_failure(r, rc) : http_send_json(r, 200, out->data ? out->data : "", out->len);
    buf_free(out);
    return rc;
}

/* ---- info ---- */

int st_obj_readable(st_ctx *c, const st_bucket *b, const char *key, st_object *o)
{
    db_conn *db = db_reader(c->app->store);
    int rc = db ? st_object_get(db, c->a, b->id, key, o) : BS_EDB;
    if (rc == BS_OK && !st_allowed(b, c->caller, RULES_SELECT, o))
        rc = BS_ENOTFOUND;
    return rc;
}

int st_load_readable_or_reply(st_ctx *c, const char *bucket, const char *key, st_object *o)
{
    st_bucket b;
    int rc = st_load_bucket_or_reply(c, bucket, &b);
    if (rc)
        return rc;
    rc = st_obj_readable(c, &b, key, o);
    st_bucket_clear(&b);
    if (rc == BS_ENOTFOUND)
        st_reply_error(c->r, ST_ERR_NO_OBJECT);
    else if (rc)
        st_reply_failure(c->r, rc);
    return rc;
}

int st_obj_info(st_ctx *c, const char *bucket, const char *key)
{
    st_object o;
    if (st_load_readable_or_reply(c, bucket, key, &o))
        return BS_OK;
    buf out = BUF_INIT;
    int rc = buf_puts(&out, "{\"id\":");
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

/* What a list request asks for. */
typedef struct list_query {
    const char *lo, *hi;  /* keys under the prefix: lo < name < hi */
    size_t pl;            /* strlen(lo); 0 lists the whole bucket */
    const char *search;   /* names starting with it (any case), or NULL */
    long long limit, offset;
    sort_by sort;
} list_query;

/* The range of keys under prefix: "dir" and "dir/" both list dir's
 * contents.  BS_ENOMEM. */
static int list_range(arena *a, const char *prefix, list_query *q)
{
    while (prefix && *prefix == '/')
        prefix++;
    size_t pl = prefix ? strlen(prefix) : 0;
    char *lo = arena_alloc(a, pl + 2), *hi = arena_alloc(a, pl + 2);
    if (!lo || !hi)
        return BS_ENOMEM;
    memcpy(lo, prefix ? prefix : "", pl);
    if (pl && lo[pl - 1] != '/')
        lo[pl++] = '/';
    lo[pl] = '\0';
    memcpy(hi, lo, pl + 1);
    if (pl)
        hi[pl - 1] = '0'; /* '/' + 1: the end of the range of keys under lo */
    q->lo = lo;
    q->hi = hi;
    q->pl = pl;
    return BS_OK;
}

/* The body's prefix, search, limit, offset and sortBy; answers itself
 * (400, 500) and returns non-OK when it cannot. */
static int list_options(st_ctx *c, json_t *body, list_query *q)
{
    json_t *lim = json_object_get(body, "limit"), *off = json_object_get(body, "offset");
    json_t *sb = json_object_get(body, "sortBy");
    const char *col = json_string_value(json_object_get(sb, "column"));
    const char *ord = json_string_value(json_object_get(sb, "order"));
    if (!col)
        col = "name";
    if (strcmp(col, "name") && strcmp(col, "created_at") && strcmp(col, "updated_at") &&
        strcmp(col, "last_accessed_at")) {
        st_reply_errorf(c->r, ST_ERR_BAD_REQUEST,
                        "sortBy.column must be name, created_at, updated_at or last_accessed_at");
        return BS_EINVAL;
    }
    q->search = json_string_value(json_object_get(body, "search"));
    q->limit = json_is_integer(lim) ? json_integer_value(lim) : 100;
    q->offset = json_is_integer(off) ? json_integer_value(off) : 0;
    if (q->limit < 0)
        q->limit = 100;
    if (q->offset < 0)
        q->offset = 0;
    q->sort = (sort_by){col, ord && strcasecmp(ord, "desc") == 0};
    int rc = list_range(c->a, json_string_value(json_object_get(body, "prefix")), q);
    if (rc)
        st_reply_failure(c->r, rc);
    return rc;
}

/* What the row in st shows under the prefix: the object, or the folder one
 * level down that holds it.  e->name NULL: nothing (the folder is listed
 * already, or the caller may not read the object). */
static int row_entry(st_ctx *c, const st_bucket *b, sqlite3_stmt *st, size_t pl, const char *last_folder, entry *e)
{
    st_object *o = arena_alloc(c->a, sizeof *o);
    *e = (entry){NULL, o};
    if (!o || st_object_from_stmt(st, 0, c->a, o) != BS_OK)
        return BS_ENOMEM;
    const char *rel = o->name + pl;
    const char *slash = strchr(rel, '/');
    size_t fl = slash ? (size_t)(slash - rel) : 0;
    if (slash && last_folder && strlen(last_folder) == fl && memcmp(last_folder, rel, fl) == 0)
        return BS_OK;
    /* a folder shows when any object in it is visible */
    if (!st_allowed(b, c->caller, RULES_SELECT, o))
        return BS_OK;
    if (!slash) {
        e->name = rel;
        return BS_OK;
    }
    e->name = arena_strndup(c->a, rel, fl);
    e->obj = NULL;
    return e->name ? BS_OK : BS_ENOMEM;
}

/* The entries the caller sees under the prefix, in key order, appended to
 * list (a buf used as an array of entry: its block comes from realloc, so
 * it is aligned for any type).  BS_EDB, BS_ENOMEM. */
static int list_collect(st_ctx *c, const st_bucket *b, const list_query *q, buf *list)
{
    db_conn *db = db_reader(c->app->store);
    const char *sql = q->pl ? "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=? AND name>? AND name<? "
                              "ORDER BY name"
                            : "SELECT " ST_OBJ_COLS " FROM _basalt_objects WHERE bucket_id=? ORDER BY name";
    sqlite3_stmt *st = db ? db_stmt(db, sql, strlen(sql), NULL) : NULL;
    if (!st)
        return BS_EDB;
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    if (q->pl) {
        sqlite3_bind_text(st, 2, q->lo, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, q->hi, -1, SQLITE_STATIC);
    }
    const char *last_folder = NULL;
    int rc = BS_OK;
    while (rc == BS_OK && sqlite3_step(st) == SQLITE_ROW) {
        entry e;
        rc = row_entry(c, b, st, q->pl, last_folder, &e);
        if (rc || !e.name)
            continue;
        if (!e.obj)
            last_folder = e.name;
        if (q->search && *q->search && !starts_ci(e.name, q->search))
            continue;
        rc = buf_append(list, &e, sizeof e);
    }
    db_stmt_done(st);
    return rc;
}

static int entry_json(buf *out, const entry *e)
{
    int rc = buf_puts(out, "{\"name\":");
    if (!rc) rc = buf_json_str(out, e->name, strlen(e->name));
    const st_object *o = e->obj;
    if (!o)
        return rc ? rc : buf_puts(out, ",\"id\":null,\"updated_at\":null,\"created_at\":null,"
                                       "\"last_accessed_at\":null,\"metadata\":null}");
    if (!rc) rc = buf_printf(out, ",\"id\":\"%s\",\"updated_at\":\"%s\",\"created_at\":\"%s\","
                                  "\"last_accessed_at\":\"%s\",\"metadata\":",
                             o->id, o->updated_at, o->created_at, o->last_accessed_at);
    if (!rc) rc = st_object_meta_json(o, out);
    if (!rc) rc = buf_putc(out, '}');
    return rc;
}

/* Sort the entries and answer the page offset..offset+limit. */
static int list_answer(st_ctx *c, entry *list, size_t n, list_query *q)
{
    if (n > 1)
        qsort_r(list, n, sizeof *list, cmp_entry, &q->sort); /* glibc (_GNU_SOURCE) */
    buf out = BUF_INIT;
    int rc = buf_putc(&out, '[');
    size_t from = (size_t)q->offset;
    for (size_t i = from; rc == BS_OK && i < n && (long long)(i - from) < q->limit; i++) {
        if (i > from)
            rc = buf_putc(&out, ',');
        if (!rc)
            rc = entry_json(&out, &list[i]);
    }
    if (!rc)
        rc = buf_putc(&out, ']');
    return send_buf(c->r, rc, &out);
}

int st_obj_list(st_ctx *c, const char *bucket)
{
    json_t *body;
    if (st_read_json_or_reply(c->r, &body))
        return BS_OK;
    st_bucket b;
    if (st_load_bucket_or_reply(c, bucket, &b)) {
        json_decref(body);
        return BS_OK;
    }
    list_query q;
    buf list = BUF_INIT;
    int rc = BS_OK;
    if (list_options(c, body, &q))
        goto out;
    rc = list_collect(c, &b, &q, &list);
    if (rc)
        rc = st_reply_failure(c->r, rc);
    else
        rc = list_answer(c, (entry *)list.data, list.len / sizeof(entry), &q);
out:
    buf_free(&list);
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
        return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "body must have prefixes: an array of object names");
    size_t n = json_array_size(names);
    if (n > MAX_REMOVE)
        return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "at most %d objects per request", MAX_REMOVE);
    remove_arg ra = {.c = c, .bucket = bucket, .out = BUF_INIT};
    ra.names = arena_alloc(c->a, (n ? n : 1) * sizeof *ra.names);
    ra.blobs = arena_alloc(c->a, (n ? n : 1) * sizeof *ra.blobs);
    if (!ra.names || !ra.blobs)
        return st_reply_failure(c->r, BS_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(names, i));
        if (!k)
            return st_reply_errorf(c->r, ST_ERR_BAD_REQUEST, "prefixes must be strings");
        while (*k == '/')
            k++;
        /* an invalid key names no object: skip it */
        if (st_key_valid(k, strlen(k)))
            ra.names[ra.n++] = k;
    }
    int rc = db_write(c->app->store, run_remove, &ra);
    if (rc == BS_ENOTFOUND) {
        buf_free(&ra.out);
        return st_reply_error(c->r, ST_ERR_NO_BUCKET);
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

/* The body's buckets and keys into m; answers itself (404, 400) and
 * returns non-OK when they cannot name objects. */
static int move_names(st_ctx *c, json_t *body, move_arg *m)
{
    m->sb = json_string_value(json_object_get(body, "bucketId"));
    m->db = json_string_value(json_object_get(body, "destinationBucket"));
    if (!m->db)
        m->db = m->sb;
    m->sk = body_key(c, body, "sourceKey");
    m->dk = body_key(c, body, "destinationKey");
    if (!m->sb || !st_bucket_name_valid(m->sb, strlen(m->sb)) || !st_bucket_name_valid(m->db, strlen(m->db))) {
        st_reply_error(c->r, ST_ERR_NO_BUCKET);
        return BS_ENOTFOUND;
    }
    if (!m->sk || !m->dk) {
        const char *bad = json_string_value(json_object_get(body, m->sk ? "destinationKey" : "sourceKey"));
        st_reply_errorf(c->r, ST_ERR_INVALID_KEY, "Invalid key: %.1024s", bad ? bad : "");
        return BS_EINVAL;
    }
    m->sb = arena_strdup(c->a, m->sb);
    m->db = arena_strdup(c->a, m->db);
    if (!m->sb || !m->db) {
        st_reply_failure(c->r, BS_ENOMEM);
        return BS_ENOMEM;
    }
    return BS_OK;
}

/* copy: a second blob with the source's bytes (m->new_blob) and the new
 * row's id, before the write; answers itself (404, 500) on failure. */
static int copy_prepare(st_ctx *c, move_arg *m)
{
    st_object src;
    db_conn *db = db_reader(c->app->store);
    int rc = db ? st_object_get(db, c->a, m->sb, m->sk, &src) : BS_EDB;
    char *blob = arena_alloc(c->a, ST_BLOB_ID_LEN + 1);
    if (rc == BS_OK && !blob)
        rc = BS_ENOMEM;
    if (rc == BS_OK)
        rc = st_blob_clone(c->s, src.blob, blob);
    if (rc == BS_OK && uuid_v7(m->id) != BS_OK) {
        st_blob_remove(c->s, blob);
        rc = BS_EIO;
    }
    if (rc == BS_ENOTFOUND)
        st_reply_error(c->r, ST_ERR_NO_OBJECT);
    else if (rc)
        st_reply_failure(c->r, rc);
    else
        m->new_blob = blob;
    return rc;
}

/* After the write: remove what it replaced and answer. */
static int move_answer(st_ctx *c, move_arg *m, int rc)
{
    switch (rc) {
    case BS_OK: break;
    /* which one: a missing bucket, or the source object */
    case BS_ENOTFOUND: return st_reply_error(c->r, ST_ERR_NO_OBJECT);
    case BS_EEXISTS: return st_reply_error(c->r, ST_ERR_DUPLICATE);
    case BS_EDENIED: return st_reply_error(c->r, ST_ERR_DENIED);
    default: return st_reply_failure(c->r, rc);
    }
    if (m->old_blob)
        st_blob_remove(c->s, m->old_blob);
    if (!m->copy)
        return http_send_json(c->r, 200, "{\"message\":\"Successfully moved\"}", 32);
    buf out = BUF_INIT;
    char *full = st_full_key(c->a, m->db, m->dk);
    int brc = full ? BS_OK : BS_ENOMEM;
    if (!brc) brc = buf_puts(&out, "{\"Id\":");
    if (!brc) brc = buf_json_str(&out, m->result_id, strlen(m->result_id));
    if (!brc) brc = buf_puts(&out, ",\"Key\":");
    if (!brc) brc = buf_json_str(&out, full, strlen(full));
    if (!brc) brc = buf_putc(&out, '}');
    return send_buf(c->r, brc, &out);
}

int st_obj_move_copy(st_ctx *c, bool copy)
{
    json_t *body;
    if (st_read_json_or_reply(c->r, &body))
        return BS_OK;
    move_arg m = {.c = c, .copy = copy, .upsert = st_upsert_asked(c)};
    int rc = BS_OK;
    if (move_names(c, body, &m) || (copy && copy_prepare(c, &m)))
        goto out;
    rc = db_write(c->app->store, run_move, &m);
    if (rc != BS_OK && m.new_blob)
        st_blob_remove(c->s, m.new_blob);
    rc = move_answer(c, &m, rc);
out:
    json_decref(body);
    return rc;
}
