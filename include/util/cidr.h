/*
 * cidr.h - lists of IPv4 and IPv6 networks, and membership of an address
 *
 * "192.0.2.0/24, 2001:db8::/32, 198.51.100.7" in, a list out; a bare
 * address is a host (/32 or /128). An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) matches IPv4 networks, since that is the client. Used
 * for internal_networks and trusted_forwarders; parsed once per
 * configuration snapshot and read-only afterwards.
 */
#ifndef CIDR_H
#define CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address, host bits cleared */
	unsigned prefix;
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* cidr_list_parse - TEXT into OUT; 0, or -1 with *WHY set (static text, or
 * "out of memory") and OUT empty */
int cidr_list_parse(const char *text, struct cidr_list *out, const char **why);
/* cidr_list_free - release OUT's networks; accepts an empty list */
void cidr_list_free(struct cidr_list *l);
/* cidr_list_match - IP (text) is inside one of L's networks */
bool cidr_list_match(const struct cidr_list *l, const char *ip);
/* cidr_ip_canon - IP (text) in one spelling per client, into BUF (LEN at
 * least INET6_ADDRSTRLEN): inet_ntop's form (2001:db8::7, not
 * 2001:DB8:0::7), an IPv4-mapped IPv6 address as the IPv4 address it is.
 * BUF, or NULL when IP is no single address. */
const char *cidr_ip_canon(const char *ip, char *buf, size_t len);

#endif
