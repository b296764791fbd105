/* uuid.h - UUIDv7 (RFC 9562): 48-bit unix ms timestamp, version 7, 12 bits
 * of sub-millisecond counter so ids made in one process sort in creation
 * order, variant 10, 62 random bits (OpenSSL RAND_bytes).
 * Thread-safe. */
#ifndef BS_UUID_H
#define BS_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36

/* Writes 36 lower-case characters and a NUL into out. BS_OK or BS_EIO. */
int uuid_v7(char out[UUID_STR_LEN + 1]);
/* Same, for a given timestamp (tests). */
int uuid_v7_at(int64_t unix_ms, char out[UUID_STR_LEN + 1]);
/* Version 4 (random). */
int uuid_v4(char out[UUID_STR_LEN + 1]);
/* True for the canonical lower-case 8-4-4-4-12 form. */
bool uuid_valid(const char *s, size_t n);

#endif
