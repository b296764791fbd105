/* netaddr.h - client addresses, CIDR lists and per-address connection caps.
 *
 * An address is kept as 16 bytes: IPv6 as is, IPv4 as its IPv4-mapped IPv6
 * form (::ffff:a.b.c.d), so one comparison serves both families and
 * "10.0.0.0/8" matches a client seen as ::ffff:10.1.2.3 on a dual-stack
 * socket.
 *
 * net_conncap counts open connections per client address and refuses the
 * one over the cap.  The HTTP front takes a slot when it accepts a socket
 * and gives it back when civetweb closes the connection; the libwebsockets
 * acceptor does the same for --realtime-port.  Addresses in the exempt list
 * (trusted reverse proxies, which carry many clients each) are never
 * capped.
 *
 * Threads: the parse/format/match functions are pure.  A net_conncap may be
 * used from any thread (one mutex; taken once per connection, not per
 * request).  Ownership: net_cidr_list_free and net_conncap_free free what
 * the matching parse/new made; both accept NULL / an empty list.
 */
#ifndef BS_CORE_NETADDR_H
#define BS_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

typedef struct net_addr {
    unsigned char b[16];
} net_addr;

/* Longest text net_addr_format writes, with its NUL. */
#define NET_ADDR_STRLEN 46

/* From an AF_INET or AF_INET6 socket address; false for other families. */
bool net_addr_from_sockaddr(const struct sockaddr *sa, net_addr *out);
/* "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::ffff:192.0.2.1"; leading
 * and trailing blanks allowed.  false when s is none of these. */
bool net_addr_parse(const char *s, size_t len, net_addr *out);
/* Dotted quad for IPv4 (mapped) addresses, RFC 5952 text otherwise. */
void net_addr_format(const net_addr *a, char out[NET_ADDR_STRLEN]);

typedef struct net_cidr {
    net_addr net;   /* masked to its prefix */
    int bits;       /* prefix length over the 128-bit form */
} net_cidr;

typedef struct net_cidr_list {
    net_cidr *v;
    size_t n;
} net_cidr_list;

/* Parse "10.0.0.0/8, 192.168.1.7, ::1, fd00::/8" (a bare address is a
 * host route).  BS_OK, BS_EINVAL with a message naming the bad item in err,
 * or BS_ENOMEM.  An empty or NULL spec gives an empty list. */
int net_cidr_list_parse(const char *spec, net_cidr_list *out, char *err, size_t errsz);
bool net_cidr_list_match(const net_cidr_list *l, const net_addr *a);
void net_cidr_list_free(net_cidr_list *l);

typedef struct net_conncap net_conncap;

/* per_addr_max 0 means no cap (acquire always succeeds, nothing counted).
 * exempt is copied. */
int net_conncap_new(int per_addr_max, const net_cidr_list *exempt, net_conncap **out);
void net_conncap_free(net_conncap *c);
/* Take a connection slot for a; false (and nothing taken) when a already
 * holds per_addr_max. */
bool net_conncap_acquire(net_conncap *c, const net_addr *a);
/* Give back a slot taken by acquire. */
void net_conncap_release(net_conncap *c, const net_addr *a);
/* Connections refused since start, and slots held now (for /metrics). */
uint64_t net_conncap_refused(net_conncap *c);
size_t net_conncap_held(net_conncap *c);

#endif
