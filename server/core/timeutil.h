/* timeutil.h - clocks and ISO-8601 formatting.  Pure; any thread. */
#ifndef BS_TIMEUTIL_H
#define BS_TIMEUTIL_H

#include <stdint.h>

/* Wall clock in milliseconds / seconds since the epoch. */
int64_t time_now_ms(void);
int64_t time_now_s(void);
/* Monotonic clock in nanoseconds (for latencies). */
uint64_t time_mono_ns(void);
/* "2026-11-26T15:00:00.123Z" into out (at least 25 bytes). */
void time_iso_ms(int64_t ms, char out[32]);
void time_iso_now(char out[32]);

#endif
