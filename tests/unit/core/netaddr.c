#include "../test.h"
#include "core/error.h"
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static net_addr A(const char *s)
{
    net_addr a;
    memset(&a, 0xee, sizeof a);
    if (!net_addr_parse(s, strlen(s), &a))
        fprintf(stderr, "cannot parse %s\n", s);
    return a;
}

TEST(parse_and_format)
{
    char out[NET_ADDR_STRLEN];
    net_addr a;
    ASSERT(net_addr_parse(" 192.0.2.1 ", 11, &a));
    net_addr_format(&a, out);
    ASSERT_EQ_STR(out, "192.0.2.1");
    ASSERT(net_addr_parse("[2001:db8::1]", 13, &a));
    net_addr_format(&a, out);
    ASSERT_EQ_STR(out, "2001:db8::1");
    /* the mapped spelling of an IPv4 address is that address */
    ASSERT(net_addr_parse("::ffff:10.1.2.3", 15, &a));
    net_addr_format(&a, out);
    ASSERT_EQ_STR(out, "10.1.2.3");
    ASSERT(!net_addr_parse("10.1.2", 6, &a));
    ASSERT(!net_addr_parse("", 0, &a));
    ASSERT(!net_addr_parse("unknown", 7, &a));
    ASSERT(!net_addr_parse("1.2.3.4:80", 10, &a));
}

TEST(from_sockaddr)
{
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof in4);
    in4.sin_family = AF_INET;
    inet_pton(AF_INET, "198.51.100.7", &in4.sin_addr);
    net_addr a, b = A("198.51.100.7");
    ASSERT(net_addr_from_sockaddr((struct sockaddr *)&in4, &a));
    ASSERT(memcmp(a.b, b.b, 16) == 0);
}

TEST(cidr_lists)
{
    net_cidr_list l;
    char err[128];
    ASSERT_EQ_INT(net_cidr_list_parse("10.0.0.0/8, 192.168.1.7,::1, fd00::/8", &l, err, sizeof err), BS_OK);
    ASSERT_EQ_INT(l.n, 4);
    net_addr in1 = A("10.200.3.4"), out1 = A("11.0.0.1"), host = A("192.168.1.7"), host2 = A("192.168.1.8");
    net_addr v6in = A("fd12::5"), v6out = A("fe80::1"), lo = A("::1"), mapped = A("::ffff:10.0.0.9");
    ASSERT(net_cidr_list_match(&l, &in1));
    ASSERT(!net_cidr_list_match(&l, &out1));
    ASSERT(net_cidr_list_match(&l, &host));
    ASSERT(!net_cidr_list_match(&l, &host2));
    ASSERT(net_cidr_list_match(&l, &v6in));
    ASSERT(!net_cidr_list_match(&l, &v6out));
    ASSERT(net_cidr_list_match(&l, &lo));
    ASSERT(net_cidr_list_match(&l, &mapped));
    net_cidr_list_free(&l);
    /* /0 matches every IPv4 address and no IPv6 one */
    ASSERT_EQ_INT(net_cidr_list_parse("0.0.0.0/0", &l, err, sizeof err), BS_OK);
    ASSERT(net_cidr_list_match(&l, &out1));
    ASSERT(!net_cidr_list_match(&l, &v6out));
    net_cidr_list_free(&l);
    ASSERT_EQ_INT(net_cidr_list_parse("", &l, err, sizeof err), BS_OK);
    ASSERT_EQ_INT(l.n, 0);
    ASSERT_EQ_INT(net_cidr_list_parse(NULL, &l, err, sizeof err), BS_OK);
    const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "nope", "10.0.0.0/8,,x", "1.2.3.4/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ_INT(net_cidr_list_parse(bad[i], &l, err, sizeof err), BS_EINVAL);
        ASSERT(strlen(err) > 0);
    }
}

TEST(conncap_counts_per_address)
{
    net_cidr_list ex;
    char err[64];
    ASSERT_EQ_INT(net_cidr_list_parse("127.0.3.3", &ex, err, sizeof err), BS_OK);
    net_conncap *c;
    ASSERT_EQ_INT(net_conncap_new(2, &ex, &c), BS_OK);
    net_cidr_list_free(&ex); /* copied */
    net_addr a = A("10.0.0.1"), b = A("10.0.0.2"), proxy = A("127.0.3.3");
    ASSERT(net_conncap_acquire(c, &a));
    ASSERT(net_conncap_acquire(c, &a));
    ASSERT(!net_conncap_acquire(c, &a));
    ASSERT(net_conncap_acquire(c, &b));
    for (int i = 0; i < 100; i++)
        ASSERT(net_conncap_acquire(c, &proxy));
    ASSERT_EQ_INT(net_conncap_refused(c), 1);
    ASSERT_EQ_INT(net_conncap_held(c), 3);
    net_conncap_release(c, &a);
    ASSERT(net_conncap_acquire(c, &a));
    ASSERT(!net_conncap_acquire(c, &a));
    net_conncap_release(c, &a);
    net_conncap_release(c, &a);
    net_conncap_release(c, &b);
    ASSERT_EQ_INT(net_conncap_held(c), 0);
    net_conncap_free(c);
    /* 0: no cap */
    ASSERT_EQ_INT(net_conncap_new(0, NULL, &c), BS_OK);
    for (int i = 0; i < 1000; i++)
        ASSERT(net_conncap_acquire(c, &a));
    net_conncap_free(c);
    net_conncap_free(NULL);
}

TEST_MAIN(T(parse_and_format), T(from_sockaddr), T(cidr_lists), T(conncap_counts_per_address))
