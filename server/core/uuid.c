/* uuid.c - see uuid.h.
 *
 * Monotonic within the process: when two ids fall in the same millisecond
 * the 12-bit rand_a field is a counter (method 1 of RFC 9562 §6.2), and a
 * clock that steps back keeps the last timestamp, so ids from one server
 * always sort in the order they were made. */
#include "uuid.h"
#include "error.h"
#include "timeutil.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_last_ms;
static unsigned g_counter;

static void format(const unsigned char b[16], char out[UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int uuid_v7_at(int64_t ms, char out[UUID_STR_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return BS_EIO;
    pthread_mutex_lock(&g_lock);
    if (ms <= g_last_ms) {
        ms = g_last_ms;
        if (++g_counter > 0xfff) {
            /* counter exhausted: borrow the next millisecond */
            ms = ++g_last_ms;
            g_counter = 0;
        }
    } else {
        g_last_ms = ms;
        g_counter = (unsigned)(b[6] & 0x03) << 8 | b[7]; /* random start, room to count */
    }
    unsigned ctr = g_counter;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((ctr >> 8) & 0x0f));
    b[7] = (unsigned char)(ctr & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format(b, out);
    return BS_OK;
}

int uuid_v7(char out[UUID_STR_LEN + 1]) { return uuid_v7_at(time_now_ms(), out); }

int uuid_v4(char out[UUID_STR_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return BS_EIO;
    b[6] = (unsigned char)(0x40 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format(b, out);
    return BS_OK;
}

bool uuid_valid(const char *s, size_t n)
{
    if (n != UUID_STR_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}
