/* st_multipart.c - streaming multipart/form-data parser; see st_multipart.h.
 *
 * A byte-level state machine.  The delimiter is "\r\n--" + boundary; the
 * first one may also open the body without the leading CRLF, which is
 * handled by starting the preamble as if "\r\n" had just been matched.
 * While inside a part body, `k` counts how many delimiter bytes have been
 * matched so far; they are held back (not emitted) until the match either
 * completes (end of part) or fails (then delim[0..k) is emitted as data).
 * Because a boundary may not contain CR or LF (checked in st_mp_new), a
 * failed partial match can never hide the start of another match except at
 * the current byte, so restarting at the current byte is correct (no KMP
 * table needed).  With k == 0 the scan jumps with memchr to the next CR,
 * which keeps large parts fast.
 */
#include "storage/st_multipart.h"
#include "core/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_PREAMBLE, S_AFTER, S_AFTER_DASH, S_AFTER_CR, S_HEADERS, S_BODY, S_EPILOGUE, S_ERROR };

struct st_mp {
    st_mp_callbacks cb;
    void *u;
    int state;
    size_t k;                       /* delimiter bytes matched */
    size_t dlen;
    char delim[ST_MP_MAX_BOUNDARY + 4];
    size_t hlen;
    char hdr[ST_MP_MAX_HEADER + 1];
};

int st_mp_new(const char *boundary, const st_mp_callbacks *cb, void *u, st_mp **out)
{
    *out = NULL;
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > ST_MP_MAX_BOUNDARY || strpbrk(boundary, "\r\n"))
        return BS_EINVAL;
    st_mp *m = calloc(1, sizeof *m);
    if (!m)
        return BS_ENOMEM;
    if (cb)
        m->cb = *cb;
    m->u = u;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, bl);
    m->dlen = bl + 4;
    m->state = S_PREAMBLE;
    m->k = 2; /* the first delimiter may start the input without CRLF */
    *out = m;
    return BS_OK;
}

void st_mp_free(st_mp *m)
{
    free(m);
}

bool st_mp_done(const st_mp *m)
{
    return m->state == S_EPILOGUE;
}

/* Parse one parameter value at *p (quoted string or token) and
 * NUL-terminate it in place; returns its start.  *p moves past the value
 * and, when the value ended right at a ';', past that ';' too
 * (*at_next = true). */
static char *param_value(char **p, bool *at_next)
{
    char *s = *p;
    *at_next = false;
    if (*s == '"') {
        char *o = ++s, *start = s;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            *o++ = *s++;
        }
        if (*s == '"')
            s++;
        /* the closing quote (or an escape) left room: o < s, or o == s at NUL */
        *o = '\0';
        *p = s;
        return start;
    }
    char *start = s;
    while (*s && *s != ';' && *s != ' ' && *s != '\t')
        s++;
    if (*s) {
        *at_next = *s == ';';
        *s++ = '\0';
    }
    *p = s;
    return start;
}

static void parse_disposition(char *v, st_mp_part *part)
{
    /* form-data; name="x"; filename="y" */
    char *p = v;
    while (*p && *p != ';')
        p++;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *key = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        if (*p != '=')
            continue;
        char *kend = p;
        while (kend > key && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = '\0';
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        bool at_next;
        char *val = param_value(&p, &at_next);
        if (strcasecmp(key, "name") == 0)
            part->name = val;
        else if (strcasecmp(key, "filename") == 0)
            part->filename = val;
        else if (strcasecmp(key, "filename*") == 0 && !part->filename)
            part->filename = val;
        if (!at_next)
            while (*p && *p != ';')
                p++;
    }
}

static int headers_done(st_mp *m)
{
    st_mp_part part = {"", NULL, NULL};
    m->hdr[m->hlen] = '\0';
    char *line = m->hdr;
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                v[--vl] = '\0';
            if (strcasecmp(line, "Content-Disposition") == 0)
                parse_disposition(v, &part);
            else if (strcasecmp(line, "Content-Type") == 0)
                part.content_type = v;
        } else if (*line) {
            return BS_EPARSE;
        }
        line = eol + 2;
    }
    m->state = S_BODY;
    m->k = 0;
    return m->cb.on_part ? m->cb.on_part(m->u, &part) : BS_OK;
}

static int emit(st_mp *m, const char *p, size_t n)
{
    if (!n || m->state != S_BODY || !m->cb.on_data)
        return BS_OK;
    return m->cb.on_data(m->u, p, n);
}

/* The preamble or a part's body from data[*i]: pass bytes on, holding
 * back what may be the start of a delimiter (m->k bytes matched). */
static int body_bytes(st_mp *m, const char *data, size_t n, size_t *i)
{
    if (m->k == 0) {
        const char *cr = memchr(data + *i, '\r', n - *i);
        size_t upto = cr ? (size_t)(cr - data) : n;
        int rc = emit(m, data + *i, upto - *i);
        *i = upto;
        if (cr) {
            m->k = 1;
            (*i)++;
        }
        return rc;
    }
    if (data[*i] != m->delim[m->k]) {
        /* held bytes were data after all; re-read this byte */
        int rc = emit(m, m->delim, m->k);
        m->k = 0;
        return rc;
    }
    m->k++;
    (*i)++;
    if (m->k < m->dlen)
        return BS_OK;
    m->k = 0;
    int rc = m->state == S_BODY && m->cb.on_end ? m->cb.on_end(m->u) : BS_OK;
    m->state = S_AFTER;
    return rc;
}

/* One byte of a part's headers; the empty line ends them. */
static int header_byte(st_mp *m, char c)
{
    if (m->hlen >= ST_MP_MAX_HEADER)
        return BS_ETOOBIG;
    m->hdr[m->hlen++] = c;
    if (c != '\n')
        return BS_OK;
    if (m->hlen >= 2 && m->hdr[m->hlen - 2] != '\r')
        return BS_EPARSE; /* bare LF */
    if (m->hlen == 2 || (m->hlen >= 4 && memcmp(m->hdr + m->hlen - 4, "\r\n\r\n", 4) == 0)) {
        m->hlen -= 2; /* keep the CRLF of the last header line */
        return headers_done(m);
    }
    return BS_OK;
}

int st_mp_feed(st_mp *m, const char *data, size_t n)
{
    size_t i = 0;
    int rc = BS_OK;
    if (m->state == S_ERROR)
        return BS_EPARSE;
    while (i < n && rc == BS_OK) {
        char c;
        switch (m->state) {
        case S_PREAMBLE:
        case S_BODY:
            rc = body_bytes(m, data, n, &i);
            break;
        case S_AFTER: /* after a delimiter: "--" ends the body, CRLF starts a part */
            c = data[i++];
            if (c == '-')
                m->state = S_AFTER_DASH;
            else if (c == '\r')
                m->state = S_AFTER_CR;
            else if (c != ' ' && c != '\t')
                rc = BS_EPARSE;
            break;
        case S_AFTER_DASH:
            if (data[i++] == '-')
                m->state = S_EPILOGUE;
            else
                rc = BS_EPARSE;
            break;
        case S_AFTER_CR:
            if (data[i++] == '\n') {
                m->state = S_HEADERS;
                m->hlen = 0;
            } else {
                rc = BS_EPARSE;
            }
            break;
        case S_HEADERS:
            rc = header_byte(m, data[i++]);
            break;
        case S_EPILOGUE:
            i = n;
            break;
        default:
            rc = BS_EPARSE;
        }
    }
    if (rc != BS_OK)
        m->state = S_ERROR;
    return rc;
}

int st_mp_boundary(const char *ct, char *out, size_t cap)
{
    if (!ct)
        return BS_EINVAL;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "multipart/form-data", 19) != 0 || (ct[19] && ct[19] != ';' && ct[19] != ' '))
        return BS_EINVAL;
    const char *p = ct + 19;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            size_t n = 0;
            if (*p == '"') {
                p++;
                while (p[n] && p[n] != '"')
                    n++;
                if (p[n] != '"')
                    return BS_EINVAL;
            } else {
                while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
                    n++;
            }
            if (n == 0 || n > ST_MP_MAX_BOUNDARY || n >= cap)
                return BS_EINVAL;
            memcpy(out, p, n);
            out[n] = '\0';
            return strpbrk(out, "\r\n") ? BS_EINVAL : BS_OK;
        }
        while (*p && *p != ';')
            p++;
    }
    return BS_EINVAL;
}
