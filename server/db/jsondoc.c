/* jsondoc.c - canonical document texts; see jsondoc.h for the why.
 *
 * One walker reads JSON (RFC 8259) iteratively, with an explicit stack of
 * open containers (bounded by DB_JDOC_MAX_DEPTH), so hostile nesting costs
 * memory proportional to its depth and never C stack.  It either writes the
 * canonical text (db_jdoc_canon) or only checks and skips one value
 * (members/elements).  Every read is bounds-checked against n; nothing
 * assumes a NUL terminator.
 *
 * Keys are decoded to bytes (escapes resolved; surrogate pairs joined; a
 * lone surrogate kept as its 3-byte WTF-8 form) and re-spelled by
 * db_jdoc_key, the one function that decides how a key is spelled; the
 * path builder (db_jdoc_path_step) calls the same function, which is what
 * makes a label and a stored key agree.  Duplicate keys are detected per
 * object when it closes (pairwise for small objects, hashed otherwise) and
 * counted, never dropped: a document is changed only by an explicit write.
 */
#include "db/jsondoc.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char HEX[] = "0123456789abcdef";

/* ------------------------------------------------------------------ */
/* Key spelling                                                        */

/* ED lo..hi 80..BF: a UTF-16 surrogate in WTF-8 (high: A0..AF, low:
 * B0..BF). */
static bool wtf8_at(const unsigned char *k, size_t i, size_t n, unsigned char lo, unsigned char hi)
{
    return i + 2 < n && k[i] == 0xED && k[i + 1] >= lo && k[i + 1] <= hi && k[i + 2] >= 0x80 && k[i + 2] <= 0xBF;
}

/* A surrogate to write as \udxxx: a lone one.  A high one followed by a
 * low one stays raw bytes, both of them: escaped, the two would read back
 * as the pair's one character, which is another key. */
static bool lone_surrogate(const unsigned char *k, size_t i, size_t n)
{
    if (wtf8_at(k, i, n, 0xA0, 0xAF))
        return !wtf8_at(k, i + 3, n, 0xB0, 0xBF);
    if (wtf8_at(k, i, n, 0xB0, 0xBF))
        return !(i >= 3 && wtf8_at(k, i - 3, n, 0xA0, 0xAF));
    return false;
}

/* The escape for the byte(s) at k[i], written to e (length returned; 0
 * when the byte stands for itself); *used is how many bytes it covers. */
static size_t escape_at(const unsigned char *k, size_t i, size_t n, bool has_quote, char e[6], size_t *used)
{
    unsigned char c = k[i];
    static const char SHORT[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    unsigned cp;
    *used = 1;
    e[0] = '\\';
    if (c == '"' || c == '\\') {
        e[1] = (char)c;
        return 2;
    }
    if (c < sizeof SHORT && SHORT[c]) {
        e[1] = SHORT[c];
        return 2;
    }
    if (c < 0x20 || (has_quote && (c == '.' || c == '[')))
        cp = c;
    else if (lone_surrogate(k, i, n))
        cp = 0xD000u | ((unsigned)(k[i + 1] & 0x3F) << 6) | (unsigned)(k[i + 2] & 0x3F), *used = 3;
    else
        return 0;
    e[1] = 'u';
    e[2] = HEX[(cp >> 12) & 15];
    e[3] = HEX[(cp >> 8) & 15];
    e[4] = HEX[(cp >> 4) & 15];
    e[5] = HEX[cp & 15];
    return 6;
}

int db_jdoc_key(buf *out, const char *key, size_t n)
{
    const unsigned char *k = (const unsigned char *)key;
    bool has_quote = n && memchr(key, '"', n) != NULL;
    size_t mark = out->len, from = 0, i = 0;
    int rc = buf_reserve(out, n + 2);
    while (i < n && rc == BS_OK) {
        char e[6];
        size_t used, en = escape_at(k, i, n, has_quote, e, &used);
        if (!en) {
            i++;
            continue;
        }
        rc = buf_append(out, key + from, i - from);
        if (rc == BS_OK)
            rc = buf_append(out, e, en);
        i += used;
        from = i;
    }
    if (rc == BS_OK)
        rc = buf_append(out, key + from, n - from);
    if (rc != BS_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

int db_jdoc_path_step(buf *out, const char *key, size_t n)
{
    bool has_quote = n && memchr(key, '"', n) != NULL;
    size_t mark = out->len;
    int rc = buf_puts(out, has_quote ? "." : ".\"");
    if (rc == BS_OK)
        rc = db_jdoc_key(out, key, n);
    if (rc == BS_OK && !has_quote)
        rc = buf_putc(out, '"');
    if (rc != BS_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* The walker                                                          */

typedef struct kspan {
    size_t off, len; /* a canonical key in out, quotes excluded */
} kspan;

typedef struct walker {
    const char *s;
    size_t n, i;
    buf *out;            /* NULL: check and skip only */
    db_jdoc_info *info;  /* may be NULL */
    char *stack;         /* '{' or '[' per open container */
    size_t *kbase;       /* per open container: its first entry in keys */
    size_t depth, cap;
    kspan *keys;         /* keys of the open objects */
    size_t nkeys, capkeys;
    buf key;             /* scratch: one decoded key */
} walker;

static void walker_free(walker *w)
{
    free(w->stack);
    free(w->kbase);
    free(w->keys);
    buf_free(&w->key);
}

static void skip_ws(walker *w)
{
    while (w->i < w->n) {
        char c = w->s[w->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        w->i++;
    }
}

static int emit(walker *w, const char *p, size_t n) { return w->out ? buf_append(w->out, p, n) : BS_OK; }

static bool hex4(const char *p, unsigned *v)
{
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        x = x << 4 | d;
    }
    *v = x;
    return true;
}

/* Scan the string starting at s[i] == '"', checking it; on success *start
 * and *end delimit the inside (quotes excluded) and i is past it. */
static int scan_string(walker *w, size_t *start, size_t *end)
{
    size_t i = w->i + 1;
    for (; i < w->n; i++) {
        unsigned char c = (unsigned char)w->s[i];
        if (c == '"') {
            *start = w->i + 1;
            *end = i;
            w->i = i + 1;
            return BS_OK;
        }
        if (c < 0x20)
            return BS_EJSON;
        if (c == '\\') {
            if (++i >= w->n)
                return BS_EJSON;
            c = (unsigned char)w->s[i];
            if (c == 'u') {
                unsigned v;
                if (w->n - i < 5 || !hex4(w->s + i + 1, &v))
                    return BS_EJSON;
                i += 4;
            } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                return BS_EJSON;
            }
        }
    }
    return BS_EJSON;
}

static int put_utf8(buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        /* lone surrogates land here too: WTF-8 */
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n);
}

/* Decode the checked string inside s[a..b) into w->key. */
static int decode_key(walker *w, size_t a, size_t b)
{
    buf_reset(&w->key);
    int rc = buf_reserve(&w->key, b - a + 1);
    for (size_t i = a; i < b && rc == BS_OK; i++) {
        char c = w->s[i];
        if (c != '\\') {
            size_t j = i;
            while (j < b && w->s[j] != '\\')
                j++;
            rc = buf_append(&w->key, w->s + i, j - i);
            i = j - 1;
            continue;
        }
        c = w->s[++i];
        switch (c) {
        case 'b': rc = buf_putc(&w->key, '\b'); break;
        case 'f': rc = buf_putc(&w->key, '\f'); break;
        case 'n': rc = buf_putc(&w->key, '\n'); break;
        case 'r': rc = buf_putc(&w->key, '\r'); break;
        case 't': rc = buf_putc(&w->key, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            hex4(w->s + i + 1, &cp); /* checked by scan_string */
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && b - i >= 7 && w->s[i + 1] == '\\' && w->s[i + 2] == 'u' &&
                hex4(w->s + i + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            rc = put_utf8(&w->key, cp);
            break;
        }
        default: rc = buf_putc(&w->key, c); break; /* " \ / */
        }
    }
    return rc;
}

/* Keep a canonical spelling, cut (when too long) only between whole
 * escapes and whole UTF-8 sequences, so what is kept is still the inside
 * of a valid JSON string. */
static void keep_name(char names[DB_JDOC_NAMES][DB_JDOC_NAME_MAX], size_t *nnames, const char *p, size_t n)
{
    if (*nnames >= DB_JDOC_NAMES)
        return;
    size_t keep = 0;
    while (keep < n) {
        unsigned char c = (unsigned char)p[keep];
        size_t step = c == '\\' ? (keep + 1 < n && p[keep + 1] == 'u' ? 6 : 2)
                      : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (keep + step > n || keep + step > DB_JDOC_NAME_MAX - 1)
            break;
        keep += step;
    }
    n = keep;
    memcpy(names[*nnames], p, n);
    names[*nnames][n] = '\0';
    (*nnames)++;
}

/* An object key at s[i]: checked, and (when writing) re-spelled. */
static int object_key(walker *w)
{
    size_t a, b;
    if (w->i >= w->n || w->s[w->i] != '"')
        return BS_EJSON;
    int rc = scan_string(w, &a, &b);
    if (rc != BS_OK || !w->out)
        return rc;
    rc = decode_key(w, a, b);
    if (rc == BS_OK)
        rc = buf_putc(w->out, '"');
    size_t off = w->out->len;
    if (rc == BS_OK)
        rc = db_jdoc_key(w->out, w->key.data ? w->key.data : "", w->key.len);
    size_t len = w->out->len - off;
    if (rc == BS_OK)
        rc = buf_putc(w->out, '"');
    if (rc != BS_OK)
        return rc;
    if (w->info && (len != b - a || memcmp(w->out->data + off, w->s + a, len) != 0)) {
        w->info->respelled_keys++;
        keep_name(w->info->respelled_names, &w->info->nrespelled_names, w->out->data + off, len);
    }
    if (w->nkeys == w->capkeys) {
        size_t cap = w->capkeys ? w->capkeys * 2 : 32;
        kspan *nk = realloc(w->keys, cap * sizeof *nk);
        if (!nk)
            return BS_ENOMEM;
        w->keys = nk;
        w->capkeys = cap;
    }
    w->keys[w->nkeys++] = (kspan){off, len};
    return BS_OK;
}

/* key ':' with whitespace around, after '{' or ','. */
static int member_head(walker *w)
{
    skip_ws(w);
    int rc = object_key(w);
    if (rc != BS_OK)
        return rc;
    skip_ws(w);
    if (w->i >= w->n || w->s[w->i] != ':')
        return BS_EJSON;
    w->i++;
    return emit(w, ":", 1);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static bool kspan_eq(const walker *w, kspan x, kspan y)
{
    return x.len == y.len && memcmp(w->out->data + x.off, w->out->data + y.off, x.len) == 0;
}

static void note_dup(walker *w, kspan k)
{
    w->info->dup_keys++;
    keep_name(w->info->dup_names, &w->info->ndup_names, w->out->data + k.off, k.len);
}

/* Count the keys of the object being closed that repeat an earlier one. */
static int check_dups(walker *w, size_t first)
{
    size_t k = w->nkeys - first;
    if (!w->info || k < 2)
        return BS_OK;
    const kspan *v = w->keys + first;
    if (k <= 16) {
        for (size_t x = 1; x < k; x++)
            for (size_t y = 0; y < x; y++)
                if (kspan_eq(w, v[x], v[y])) {
                    note_dup(w, v[x]);
                    break;
                }
        return BS_OK;
    }
    size_t cap = 32;
    while (cap < 2 * k)
        cap *= 2;
    size_t *slot = calloc(cap, sizeof *slot); /* entry index + 1 */
    if (!slot)
        return BS_ENOMEM;
    for (size_t x = 0; x < k; x++) {
        size_t h = (size_t)hash_bytes(w->out->data + v[x].off, v[x].len) & (cap - 1);
        while (slot[h] && !kspan_eq(w, v[slot[h] - 1], v[x]))
            h = (h + 1) & (cap - 1);
        if (slot[h])
            note_dup(w, v[x]);
        else
            slot[h] = x + 1;
    }
    free(slot);
    return BS_OK;
}

static int open_container(walker *w, char c)
{
    if (w->depth >= DB_JDOC_MAX_DEPTH)
        return BS_EJSON;
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        char *ns = realloc(w->stack, cap);
        if (!ns)
            return BS_ENOMEM;
        w->stack = ns;
        size_t *nb = realloc(w->kbase, cap * sizeof *nb);
        if (!nb)
            return BS_ENOMEM;
        w->kbase = nb;
        w->cap = cap;
    }
    w->stack[w->depth] = c;
    w->kbase[w->depth] = w->nkeys;
    w->depth++;
    w->i++;
    return emit(w, &c, 1);
}

static int close_container(walker *w)
{
    char c = w->stack[--w->depth];
    int rc = BS_OK;
    if (c == '{' && w->out) {
        rc = check_dups(w, w->kbase[w->depth]);
        w->nkeys = w->kbase[w->depth];
    }
    w->i++;
    return rc == BS_OK ? emit(w, c == '{' ? "}" : "]", 1) : rc;
}

static int literal(walker *w, const char *lit)
{
    size_t m = strlen(lit);
    if (w->n - w->i < m || memcmp(w->s + w->i, lit, m) != 0)
        return BS_EJSON;
    w->i += m;
    return emit(w, lit, m);
}

static size_t digits(const walker *w, size_t i)
{
    while (i < w->n && w->s[i] >= '0' && w->s[i] <= '9')
        i++;
    return i;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, copied as spelled. */
static int number(walker *w)
{
    size_t i = w->i, j;
    if (i < w->n && w->s[i] == '-')
        i++;
    if (i >= w->n || w->s[i] < '0' || w->s[i] > '9')
        return BS_EJSON;
    j = w->s[i] == '0' ? i + 1 : digits(w, i);
    if (j < w->n && w->s[j] == '.') {
        i = digits(w, j + 1);
        if (i == j + 1)
            return BS_EJSON;
        j = i;
    }
    if (j < w->n && (w->s[j] == 'e' || w->s[j] == 'E')) {
        j++;
        if (j < w->n && (w->s[j] == '+' || w->s[j] == '-'))
            j++;
        i = digits(w, j);
        if (i == j)
            return BS_EJSON;
        j = i;
    }
    int rc = emit(w, w->s + w->i, j - w->i);
    w->i = j;
    return rc;
}

static int scalar(walker *w)
{
    char c = w->s[w->i];
    if (c == '"') {
        size_t a, b, from = w->i;
        int rc = scan_string(w, &a, &b);
        return rc == BS_OK ? emit(w, w->s + from, w->i - from) : rc;
    }
    if (c == 't')
        return literal(w, "true");
    if (c == 'f')
        return literal(w, "false");
    if (c == 'n')
        return literal(w, "null");
    return number(w);
}

/* After a value: close containers, or pass a ',' and what follows it.
 * *more is false once the outermost container (or a bare scalar) ended. */
static int after_value(walker *w, size_t base, bool *more)
{
    for (;;) {
        if (w->depth == base) {
            *more = false;
            return BS_OK;
        }
        skip_ws(w);
        if (w->i >= w->n)
            return BS_EJSON;
        char d = w->s[w->i], top = w->stack[w->depth - 1];
        if (d == ',') {
            w->i++;
            int rc = emit(w, ",", 1);
            if (rc == BS_OK && top == '{')
                rc = member_head(w);
            *more = true;
            return rc;
        }
        if ((d == '}' && top == '{') || (d == ']' && top == '[')) {
            int rc = close_container(w);
            if (rc != BS_OK)
                return rc;
            continue;
        }
        return BS_EJSON;
    }
}

/* One JSON value at s[i]; i ends just past it. */
static int walk(walker *w)
{
    size_t base = w->depth;
    bool more = true;
    while (more) {
        skip_ws(w);
        if (w->i >= w->n)
            return BS_EJSON;
        char c = w->s[w->i];
        int rc;
        if (c == '{' || c == '[') {
            rc = open_container(w, c);
            if (rc != BS_OK)
                return rc;
            skip_ws(w);
            if (w->i < w->n && w->s[w->i] == (c == '{' ? '}' : ']')) {
                rc = close_container(w);
            } else {
                if (c == '{' && (rc = member_head(w)) != BS_OK)
                    return rc;
                continue; /* a value follows */
            }
        } else {
            rc = scalar(w);
        }
        if (rc == BS_OK)
            rc = after_value(w, base, &more);
        if (rc != BS_OK)
            return rc;
    }
    return BS_OK;
}

int db_jdoc_canon(buf *out, const char *s, size_t n, db_jdoc_info *info)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (!out || (!s && n))
        return BS_EINVAL;
    walker w = {.s = s, .n = n, .out = out, .info = info};
    size_t mark = out->len;
    int rc = walk(&w);
    if (rc == BS_OK) {
        skip_ws(&w);
        if (w.i != n)
            rc = BS_EJSON;
    }
    walker_free(&w);
    if (rc != BS_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Members and elements                                                */

static int grow(arena *a, void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return BS_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nv = arena_alloc(a, ncap * size);
    if (!nv)
        return BS_ENOMEM;
    if (n)
        memcpy(nv, *v, n * size);
    *v = nv;
    *cap = ncap;
    return BS_OK;
}

/* Walk the container at s[0..n) opening with `open`; call one item at a time. */
static int list_items(arena *a, const char *s, size_t n, bool object, void **out, size_t *count)
{
    walker w = {.s = s, .n = n};
    size_t cap = 0, k = 0;
    void *v = NULL;
    size_t size = object ? sizeof(db_jmember) : sizeof(db_jspan);
    int rc = BS_EJSON;
    *out = NULL;
    *count = 0;
    skip_ws(&w);
    if (w.i >= n || s[w.i] != (object ? '{' : '['))
        goto out;
    w.i++;
    skip_ws(&w);
    if (w.i < n && s[w.i] == (object ? '}' : ']')) {
        w.i++;
        rc = BS_OK;
        goto tail;
    }
    for (;;) {
        db_jmember m = {{NULL, 0}, {NULL, 0}};
        skip_ws(&w);
        if (object) {
            size_t ka, kb;
            if (w.i >= n || s[w.i] != '"' || scan_string(&w, &ka, &kb) != BS_OK)
                goto out;
            m.key = (db_jspan){s + ka, kb - ka};
            skip_ws(&w);
            if (w.i >= n || s[w.i] != ':')
                goto out;
            w.i++;
            skip_ws(&w);
        }
        size_t from = w.i;
        if ((rc = walk(&w)) != BS_OK)
            goto out;
        m.val = (db_jspan){s + from, w.i - from};
        if ((rc = grow(a, &v, &cap, k, size)) != BS_OK)
            goto out;
        if (object)
            ((db_jmember *)v)[k++] = m;
        else
            ((db_jspan *)v)[k++] = m.val;
        rc = BS_EJSON;
        skip_ws(&w);
        if (w.i < n && s[w.i] == ',') {
            w.i++;
            continue;
        }
        if (w.i < n && s[w.i] == (object ? '}' : ']')) {
            w.i++;
            rc = BS_OK;
            break;
        }
        goto out;
    }
tail:
    skip_ws(&w);
    if (w.i != n)
        rc = BS_EJSON;
    if (rc == BS_OK) {
        *out = v;
        *count = k;
    }
out:
    walker_free(&w);
    return rc;
}

int db_jdoc_members(arena *a, const char *s, size_t n, db_jmember **out, size_t *count)
{
    void *v;
    int rc = list_items(a, s, n, true, &v, count);
    *out = v;
    return rc;
}

int db_jdoc_elements(arena *a, const char *s, size_t n, db_jspan **out, size_t *count)
{
    void *v;
    int rc = list_items(a, s, n, false, &v, count);
    *out = v;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Index and merge                                                     */

int db_jdoc_index(arena *a, const db_jmember *m, size_t n, db_jindex *out)
{
    memset(out, 0, sizeof *out);
    if (n >= UINT32_MAX / 4)
        return BS_ENOMEM;
    size_t cap = 8;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slot = arena_calloc(a, cap * sizeof *slot);
    if (!slot)
        return BS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)hash_bytes(m[i].key.p, m[i].key.n) & (cap - 1);
        while (slot[h]) {
            const db_jspan *k = &m[slot[h] - 1].key;
            if (k->n == m[i].key.n && memcmp(k->p, m[i].key.p, k->n) == 0)
                break;
            h = (h + 1) & (cap - 1);
        }
        if (!slot[h])
            slot[h] = (uint32_t)(i + 1);
    }
    *out = (db_jindex){m, n, slot, cap};
    return BS_OK;
}

const db_jmember *db_jdoc_find(const db_jindex *ix, const char *key, size_t n)
{
    if (!ix->slot)
        return NULL;
    size_t h = (size_t)hash_bytes(key, n) & (ix->cap - 1);
    while (ix->slot[h]) {
        const db_jmember *m = &ix->m[ix->slot[h] - 1];
        if (m->key.n == n && memcmp(m->key.p, key, n) == 0)
            return m;
        h = (h + 1) & (ix->cap - 1);
    }
    return NULL;
}

static int put_member(buf *out, bool *first, const db_jspan *key, const db_jspan *val)
{
    int rc = *first ? buf_putc(out, '"') : buf_append(out, ",\"", 2);
    *first = false;
    if (rc == BS_OK)
        rc = buf_append(out, key->p, key->n);
    if (rc == BS_OK)
        rc = buf_append(out, "\":", 2);
    if (rc == BS_OK)
        rc = buf_append(out, val->p, val->n);
    return rc;
}

int db_jdoc_merge(arena *a, buf *out, const db_jmember *base, size_t nbase, const db_jmember *set, size_t nset,
                  size_t *dropped)
{
    db_jindex ix;
    size_t mark = out->len, drop = 0;
    int rc = db_jdoc_index(a, set, nset, &ix);
    bool *used = rc == BS_OK ? arena_calloc(a, nset ? nset : 1) : NULL;
    bool first = true;
    if (rc == BS_OK && !used)
        rc = BS_ENOMEM;
    if (rc == BS_OK)
        rc = buf_putc(out, '{');
    for (size_t i = 0; i < nbase && rc == BS_OK; i++) {
        const db_jmember *f = db_jdoc_find(&ix, base[i].key.p, base[i].key.n);
        if (!f) {
            rc = put_member(out, &first, &base[i].key, &base[i].val);
        } else if (used[f - set]) {
            drop++;
        } else {
            used[f - set] = true;
            rc = put_member(out, &first, &f->key, &f->val);
        }
    }
    for (size_t j = 0; j < nset && rc == BS_OK; j++) {
        /* a key repeated in set is written once, with its first value */
        if (used[j] || db_jdoc_find(&ix, set[j].key.p, set[j].key.n) != &set[j])
            continue;
        rc = put_member(out, &first, &set[j].key, &set[j].val);
    }
    if (rc == BS_OK)
        rc = buf_putc(out, '}');
    if (rc != BS_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    if (dropped)
        *dropped = drop;
    return rc;
}
