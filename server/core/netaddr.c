/* netaddr.c - see netaddr.h. */
#include "core/netaddr.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void from_v4(const void *in4, net_addr *out)
{
    memcpy(out->b, v4_prefix, 12);
    memcpy(out->b + 12, in4, 4);
}

bool net_addr_from_sockaddr(const struct sockaddr *sa, net_addr *out)
{
    if (sa->sa_family == AF_INET) {
        from_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out->b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

bool net_addr_parse(const char *s, size_t len, net_addr *out)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    char tmp[NET_ADDR_STRLEN];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    unsigned char raw[16];
    if (inet_pton(AF_INET, tmp, raw) == 1) {
        from_v4(raw, out);
        return true;
    }
    if (inet_pton(AF_INET6, tmp, raw) == 1) {
        memcpy(out->b, raw, 16);
        return true;
    }
    return false;
}

void net_addr_format(const net_addr *a, char out[NET_ADDR_STRLEN])
{
    if (memcmp(a->b, v4_prefix, 12) == 0)
        inet_ntop(AF_INET, a->b + 12, out, NET_ADDR_STRLEN);
    else
        inet_ntop(AF_INET6, a->b, out, NET_ADDR_STRLEN);
}

static void mask(net_addr *a, int bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits - 8 * i;
        if (keep >= 8)
            continue;
        a->b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    }
}

/* One item: an address, optionally "/prefix" (counted in the address's own
 * family: /8 of an IPv4 address is /104 of its mapped form). */
static bool parse_cidr(const char *s, size_t len, net_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (!net_addr_parse(s, alen, &out->net))
        return false;
    bool v4 = memcmp(out->net.b, v4_prefix, 12) == 0;
    int max = v4 ? 32 : 128;
    int bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + len;
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            return false;
        bits = 0;
        for (; p < end && *p != ' '; p++) {
            if (*p < '0' || *p > '9' || bits > max)
                return false;
            bits = bits * 10 + (*p - '0');
        }
        while (p < end && *p == ' ')
            p++;
        if (p != end || bits > max)
            return false;
    }
    out->bits = v4 ? bits + 96 : bits;
    mask(&out->net, out->bits);
    return true;
}

int net_cidr_list_parse(const char *spec, net_cidr_list *out, char *err, size_t errsz)
{
    out->v = NULL;
    out->n = 0;
    if (!spec)
        return BS_OK;
    size_t cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    net_cidr *v = calloc(cap, sizeof *v);
    if (!v)
        return BS_ENOMEM;
    size_t n = 0;
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t blank = 0;
        while (blank < len && (p[blank] == ' ' || p[blank] == '\t'))
            blank++;
        if (blank < len) {
            if (!parse_cidr(p, len, &v[n])) {
                snprintf(err, errsz, "'%.*s' is not an IP address or CIDR block", (int)len, p);
                free(v);
                return BS_EINVAL;
            }
            n++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (n == 0) { /* only blanks and commas: the empty list owns nothing */
        free(v);
        v = NULL;
    }
    out->v = v;
    out->n = n;
    return BS_OK;
}

bool net_cidr_list_match(const net_cidr_list *l, const net_addr *a)
{
    for (size_t i = 0; l && i < l->n; i++) {
        net_addr m = *a;
        mask(&m, l->v[i].bits);
        if (memcmp(m.b, l->v[i].net.b, 16) == 0)
            return true;
    }
    return false;
}

void net_cidr_list_free(net_cidr_list *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---- per-address connection counts ---- */

#define CAP_BUCKETS 1024

typedef struct cap_node {
    net_addr a;
    int count;
    struct cap_node *next;
} cap_node;

struct net_conncap {
    int max;
    net_cidr_list exempt;
    pthread_mutex_t mu;
    cap_node *buckets[CAP_BUCKETS];
    size_t held;
    _Atomic uint64_t refused;
};

static unsigned bucket_of(const net_addr *a)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->b[i]) * 16777619u;
    return h % CAP_BUCKETS;
}

int net_conncap_new(int per_addr_max, const net_cidr_list *exempt, net_conncap **out)
{
    *out = NULL;
    net_conncap *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    c->max = per_addr_max;
    if (exempt && exempt->n) {
        c->exempt.v = malloc(exempt->n * sizeof *exempt->v);
        if (!c->exempt.v) {
            free(c);
            return BS_ENOMEM;
        }
        memcpy(c->exempt.v, exempt->v, exempt->n * sizeof *exempt->v);
        c->exempt.n = exempt->n;
    }
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return BS_OK;
}

void net_conncap_free(net_conncap *c)
{
    if (!c)
        return;
    for (int i = 0; i < CAP_BUCKETS; i++) {
        cap_node *n = c->buckets[i];
        while (n) {
            cap_node *next = n->next;
            free(n);
            n = next;
        }
    }
    net_cidr_list_free(&c->exempt);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool counted(const net_conncap *c, const net_addr *a)
{
    return c->max > 0 && !net_cidr_list_match(&c->exempt, a);
}

bool net_conncap_acquire(net_conncap *c, const net_addr *a)
{
    if (!c || !counted(c, a))
        return true;
    bool ok = true;
    unsigned b = bucket_of(a);
    pthread_mutex_lock(&c->mu);
    cap_node *n = c->buckets[b];
    while (n && memcmp(n->a.b, a->b, 16) != 0)
        n = n->next;
    if (!n) {
        n = calloc(1, sizeof *n);
        if (n) {
            n->a = *a;
            n->next = c->buckets[b];
            c->buckets[b] = n;
        }
    }
    /* out of memory for the count: admit rather than refuse everybody */
    if (n && n->count >= c->max)
        ok = false;
    else if (n)
        n->count++;
    if (ok)
        c->held++;
    pthread_mutex_unlock(&c->mu);
    if (!ok)
        atomic_fetch_add(&c->refused, 1);
    return ok;
}

void net_conncap_release(net_conncap *c, const net_addr *a)
{
    if (!c || !counted(c, a))
        return;
    unsigned b = bucket_of(a);
    pthread_mutex_lock(&c->mu);
    cap_node **pp = &c->buckets[b];
    while (*pp && memcmp((*pp)->a.b, a->b, 16) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        cap_node *n = *pp;
        if (--n->count <= 0) {
            *pp = n->next;
            free(n);
        }
    }
    if (c->held)
        c->held--;
    pthread_mutex_unlock(&c->mu);
}

uint64_t net_conncap_refused(net_conncap *c) { return c ? atomic_load(&c->refused) : 0; }

size_t net_conncap_held(net_conncap *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    size_t h = c->held;
    pthread_mutex_unlock(&c->mu);
    return h;
}
