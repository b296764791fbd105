/* binds.h - values for the `?` placeholders of generated SQL.
 *
 * Whoever emits SQL text (the PostgREST compiler, the rules compiler)
 * appends the values it refers to here instead of into the text, and the
 * statement is bound with db_binds_apply: user text never becomes SQL.
 * Storage comes from the caller's arena; nothing to free.  Pure; any
 * thread (a db_binds belongs to its request). */
#ifndef BS_DB_BINDS_H
#define BS_DB_BINDS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef enum {
    DB_BIND_NULL,
    DB_BIND_INT,
    DB_BIND_REAL,
    DB_BIND_TEXT,
} db_bind_type;

/* A value for the next positional `?` of the emitted SQL.  Text is not
 * necessarily NUL-terminated (use n). */
typedef struct db_bind {
    db_bind_type type;
    int64_t i;
    double r;
    const char *s;
    size_t n;
} db_bind;

/* Growable list of binds, storage from the arena. */
typedef struct db_binds {
    db_bind *v;
    size_t n, cap;
} db_binds;

/* BS_OK or BS_ENOMEM.  db_binds_text copies s (NULL binds ""). */
int db_binds_push(arena *a, db_binds *b, db_bind v);
int db_binds_text(arena *a, db_binds *b, const char *s, size_t n);
int db_binds_int(arena *a, db_binds *b, int64_t i);
int db_binds_real(arena *a, db_binds *b, double r);

/* Bind every value to st from parameter number `first` on (text as
 * SQLITE_STATIC: the arena must outlive the statement's use).  Returns the
 * next free parameter number. */
int db_binds_apply(sqlite3_stmt *st, const db_binds *b, int first);

#endif
