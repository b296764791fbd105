/* binds.c - see binds.h. */
#include "db/binds.h"
#include "core/error.h"

#include <string.h>

int db_binds_push(arena *a, db_binds *b, db_bind v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        db_bind *nv = arena_alloc(a, cap * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        if (b->n)
            memcpy(nv, b->v, b->n * sizeof *nv);
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = v;
    return BS_OK;
}

int db_binds_text(arena *a, db_binds *b, const char *s, size_t n)
{
    char *copy = arena_strndup(a, s ? s : "", s ? n : 0);
    if (!copy)
        return BS_ENOMEM;
    db_bind v = {.type = DB_BIND_TEXT, .s = copy, .n = s ? n : 0};
    return db_binds_push(a, b, v);
}

int db_binds_int(arena *a, db_binds *b, int64_t i)
{
    db_bind v = {.type = DB_BIND_INT, .i = i};
    return db_binds_push(a, b, v);
}

int db_binds_real(arena *a, db_binds *b, double r)
{
    db_bind v = {.type = DB_BIND_REAL, .r = r};
    return db_binds_push(a, b, v);
}

int db_binds_apply(sqlite3_stmt *st, const db_binds *b, int first)
{
    for (size_t i = 0; i < b->n; i++) {
        const db_bind *v = &b->v[i];
        int idx = first + (int)i;
        switch (v->type) {
        case DB_BIND_NULL: sqlite3_bind_null(st, idx); break;
        case DB_BIND_INT: sqlite3_bind_int64(st, idx, v->i); break;
        case DB_BIND_REAL: sqlite3_bind_double(st, idx, v->r); break;
        case DB_BIND_TEXT: sqlite3_bind_text(st, idx, v->s, (int)v->n, SQLITE_STATIC); break;
        }
    }
    return first + (int)b->n;
}
