/* crypto.c - random tokens, SHA-256 and base64 for the auth module; see
 * crypto.h. */
#include "core/crypto.h"
#include "core/error.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t auth_b64_encode(const uint8_t *in, size_t n, char *out, bool url)
{
    const char *a = url ? url_alpha : std_alpha;
    size_t o = 0, i = 0;
    while (i + 2 < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
        i += 3;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int dec(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long auth_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, bool url)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = dec(in[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

int auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    uint8_t raw[AUTH_TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return BS_EIO;
    auth_b64_encode(raw, sizeof raw, out, true);
    return BS_OK;
}

void auth_sha256(const void *s, size_t n, uint8_t out[AUTH_HASH_LEN])
{
    SHA256(s, n, out);
}
