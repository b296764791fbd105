/* jsonin.c - see jsonin.h. */
#include "core/jsonin.h"
#include "core/error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int jsonin_depth(const char *s, size_t n, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped byte can neither end the string nor open anything */
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit)
                return limit + 1;
            if (depth > max)
                max = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

static void say(char *msg, size_t msgsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msgsz, const char *fmt, ...)
{
    if (!msg || !msgsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
}

int jsonin_parse(const char *text, size_t len, size_t max_size, size_t flags, json_t **out, char *msg,
                 size_t msgsz)
{
    *out = NULL;
    if (len > max_size) {
        say(msg, msgsz, "JSON text of %zu bytes is larger than the limit of %zu bytes", len, max_size);
        return BS_ETOOBIG;
    }
    if (!text)
        text = "";
    if (jsonin_depth(text, len, JSONIN_MAX_DEPTH) > JSONIN_MAX_DEPTH) {
        say(msg, msgsz, "%s", JSONIN_DEPTH_MSG);
        return BS_EDEPTH;
    }
    json_error_t je;
    *out = json_loadb(text, len, flags, &je);
    if (!*out) {
        if (json_error_code(&je) == json_error_out_of_memory) {
            say(msg, msgsz, "out of memory");
            return BS_ENOMEM;
        }
        say(msg, msgsz, "%s (line %d, column %d)", je.text, je.line, je.column);
        return BS_EJSON;
    }
    return BS_OK;
}

int jsonin_parses(const char *text, size_t max_size, size_t flags, json_t **out, char *msg, size_t msgsz)
{
    return jsonin_parse(text, text ? strlen(text) : 0, max_size, flags, out, msg, msgsz);
}
