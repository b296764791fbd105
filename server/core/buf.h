/* buf.h - growable byte buffer.
 *
 * A buf owns its heap block; buf_free releases it and leaves an empty buf.
 * The data is always NUL-terminated (one spare byte past len) so it can be
 * handed to C string APIs, but it may also hold binary data with NULs.
 * Append functions return BS_OK or BS_ENOMEM; after BS_ENOMEM the buffer keeps
 * its previous contents.  Not thread-safe: one owner at a time.
 */
#ifndef BS_BUF_H
#define BS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;   /* NULL until the first append */
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}

void buf_free(buf *b);
/* Keep capacity, drop contents. */
void buf_reset(buf *b);
int buf_reserve(buf *b, size_t extra);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included.  Bytes >= 0x80 are
 * copied as is (the caller guarantees UTF-8); controls are escaped. */
int buf_json_str(buf *b, const char *s, size_t n);
/* The contents as a NUL-terminated string ("" when empty); owned by b. */
const char *buf_cstr(const buf *b);
/* Hand the block to the caller (free() it); b becomes empty. */
char *buf_steal(buf *b, size_t *len);

#endif
