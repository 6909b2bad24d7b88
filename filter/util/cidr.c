/*
 * cidr.c - network lists (see cidr.h)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"

/* cidr_parse_one - "ADDR[/LEN]" into C */
static const char *cidr_parse_one(char *tok, struct cidr *c)
{
	char *slash = strchr(tok, '/');
	long max, prefix;

	if (slash != NULL)
		*slash = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, tok, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tok, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return "not an IPv4 or IPv6 address (write networks as 192.0.2.0/24 or "
		       "2001:db8::/32)";
	}
	prefix = max;
	if (slash != NULL) {
		char *end;

		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 || prefix < 0 || prefix > max)
			return c->family == AF_INET ? "an IPv4 prefix length is 0..32"
						    : "an IPv6 prefix length is 0..128";
	}
	c->prefix = (unsigned)prefix;
	/* clear host bits so matching compares whole bytes and one partial byte */
	for (unsigned bit = c->prefix; bit < (unsigned)max; bit++)
		c->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
	return NULL;
}

int cidr_list_parse(const char *text, struct cidr_list *out, const char **why)
{
	char *copy = strdup(text), *tok, *save = NULL;

	out->v = NULL;
	out->n = 0;
	*why = NULL;
	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		struct cidr *v = realloc(out->v, (out->n + 1) * sizeof(*v));

		if (v == NULL) {
			*why = "out of memory";
			break;
		}
		out->v = v;
		if ((*why = cidr_parse_one(tok, &out->v[out->n])) != NULL)
			break;
		out->n++;
	}
	free(copy);
	if (*why != NULL) {
		cidr_list_free(out);
		return -1;
	}
	return 0;
}

void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool cidr_contains(const struct cidr *c, const unsigned char *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ c->addr[full]) & (unsigned char)(0xff00u >> rest)) == 0;
}

bool cidr_list_match(const struct cidr_list *l, const char *ip)
{
	struct in6_addr in6; /* the macro below reads it as 32-bit words */
	unsigned char *a6 = in6.s6_addr, a4[4];
	bool is4 = false, is6 = false;

	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, a4) == 1) {
		is4 = true;
	} else if (inet_pton(AF_INET6, ip, &in6) == 1) {
		is6 = true;
		if (IN6_IS_ADDR_V4MAPPED(&in6)) {
			memcpy(a4, a6 + 12, 4);
			is4 = true;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].family == AF_INET && is4 && cidr_contains(&l->v[i], a4))
			return true;
		if (l->v[i].family == AF_INET6 && is6 && cidr_contains(&l->v[i], a6))
			return true;
	}
	return false;
}

const char *cidr_ip_canon(const char *ip, char *buf, size_t len)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (ip == NULL)
		return NULL;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return inet_ntop(AF_INET, &a4, buf, (socklen_t)len);
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return inet_ntop(AF_INET, &a6.s6_addr[12], buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &a6, buf, (socklen_t)len);
}
