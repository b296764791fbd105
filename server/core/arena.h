/* arena.h - per-request bump allocator (h2o's mem pool idea).
 *
 * Everything a request parses (query trees, decoded strings, bind lists) is
 * carved from one arena and released together by arena_free at the end of
 * the request.  Allocations are 16-byte aligned.  Large requests get their
 * own chunk.  One owner thread at a time.
 */
#ifndef BS_ARENA_H
#define BS_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;
    size_t total;     /* bytes handed out, for limits */
} arena;

#define ARENA_INIT {NULL, 0}

/* NULL on out of memory. */
void *arena_alloc(arena *a, size_t n);
void *arena_calloc(arena *a, size_t n);
/* Copy n bytes and add a NUL terminator. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
/* Release all chunks; the arena is reusable afterwards. NULL-safe. */
void arena_free(arena *a);

#endif
