/* utf8.h - UTF-8 validation.  Pure; any thread. */
#ifndef BS_UTF8_H
#define BS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8: shortest forms only, no
 * surrogates, nothing above U+10FFFF.  NUL bytes are valid UTF-8; callers
 * that refuse them check separately. */
bool utf8_valid(const char *s, size_t n);
/* The length of the longest well-formed prefix of s[0..n) that ends on a
 * character boundary: n when utf8_valid, else the offset of the first
 * byte that does not start a well-formed character. */
size_t utf8_valid_prefix(const char *s, size_t n);

#endif
