/*
 * hostport.c - "HOST:PORT" as a socket address (see hostport.h)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostport.h"

/* hostport_port - "1".."65535" as a number, or -1 */
static long hostport_port(const char *p)
{
	long port = 0;

	if (*p == '\0')
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
		if (port > 65535)
			return -1;
	}
	return port >= 1 ? port : -1;
}

int hostport_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = text;
	size_t hlen;
	long port;

	memset(sa, 0, sizeof(*sa));
	if (*text == ':' || (*text != '\0' && strspn(text, "0123456789") == strlen(text))) {
		/* a port alone ("9112" or ":9112") listens on loopback */
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		if ((port = hostport_port(*text == ':' ? text + 1 : text)) < 0) {
			*why = "the port must be a number from 1 to 65535";
			return -1;
		}
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons((unsigned short)port);
		*len = sizeof(*in);
		return 0;
	}
	if (*text == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || end[1] != ':') {
			*why = "expected [IPv6]:PORT, e.g. [::1]:9112";
			return -1;
		}
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || strchr(text, ':') != colon) {
			*why = "expected HOST:PORT, e.g. 127.0.0.1:9112 or [::1]:9112";
			return -1;
		}
		hlen = (size_t)(colon - text);
	}
	if ((port = hostport_port(colon + 1)) < 0) {
		*why = "the port must be a number from 1 to 65535";
		return -1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "HOST must be an IP address (IPv6 in brackets)";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (*text != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
			*why = "HOST must be an IP address (IPv6 in brackets)";
			return -1;
		}
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
			*why = "not an IPv6 address inside the brackets";
			return -1;
		}
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
	}
	return 0;
}
