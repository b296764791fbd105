/* rest_csv.c - Accept: text/csv for /rest/v1 reads (see rest.h).
 *
 * The rows arrive as the JSON array body SQLite built; the header line is
 * the keys of the first row, in order, and each later row prints those keys
 * (missing or null cells are empty).  Fields with a comma, quote or line
 * break are quoted with doubled quotes (RFC 4180).
 */
#include "rest/rest.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int csv_field(buf *o, const char *s, size_t n)
{
    bool quote = memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
    if (!quote)
        return buf_append(o, s, n);
    int rc = buf_putc(o, '"');
    for (size_t i = 0; i < n && !rc; i++)
        rc = s[i] == '"' ? buf_puts(o, "\"\"") : buf_putc(o, s[i]);
    return rc ? rc : buf_putc(o, '"');
}

int rest_csv(const buf *json_rows, buf *o)
{
    json_error_t je;
    /* plain jansson: rows SQLite built from stored documents (admitted at
     * most JSONIN_MAX_DEPTH deep), an array of objects around them */
    json_t *rows = json_loadb(json_rows->data, json_rows->len, 0, &je);
    if (!rows) /* integers beyond 64 bits: print them as reals */
        rows = json_loadb(json_rows->data, json_rows->len, JSON_DECODE_INT_AS_REAL, &je);
    if (!json_is_array(rows)) {
        json_decref(rows);
        return BS_EJSON;
    }
    int rc = BS_OK;
    json_t *first = json_array_get(rows, 0);
    if (json_is_object(first)) {
        const char *k;
        json_t *v;
        bool comma = false;
        json_object_foreach(first, k, v)
        {
            if (comma)
                rc = buf_putc(o, ',');
            if (!rc)
                rc = csv_field(o, k, strlen(k));
            comma = true;
            if (rc)
                break;
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            if (rc)
                break;
            rc = buf_putc(o, '\n');
            comma = false;
            json_object_foreach(first, k, v)
            {
                if (rc)
                    break;
                if (comma)
                    rc = buf_putc(o, ',');
                comma = true;
                json_t *cell = json_object_get(row, k);
                if (rc || !cell || json_is_null(cell))
                    continue;
                if (json_is_string(cell)) {
                    rc = csv_field(o, json_string_value(cell), json_string_length(cell));
                } else {
                    char *t = json_dumps(cell, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
                    rc = t ? csv_field(o, t, strlen(t)) : BS_ENOMEM;
                    free(t);
                }
            }
        }
    }
    json_decref(rows);
    return rc;
}
