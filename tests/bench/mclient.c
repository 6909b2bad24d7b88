/*
 * mclient.c - the MTA side of the milter protocol, version 6 (see mclient.h).
 *
 * Wire format (libmilter's mfdef.h): every packet is a 4-byte length in
 * network order, counting the command byte, then the command byte, then
 * data; strings in the data are NUL-terminated. The constants come from
 * libmilter's own headers so the two sides cannot disagree.
 */
#define _DEFAULT_SOURCE
#include "mclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* Everything an MTA of protocol version 6 can do, as Postfix offers it. */
#define MCLIENT_OFFER_ACTIONS SMFI_CURR_ACTS
#define MCLIENT_OFFER_PROTOCOL                                                 \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |        \
	 SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR |            \
	 SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_RCPT_REJ |        \
	 SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |       \
	 SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY |        \
	 SMFIP_HDR_LEADSPC)

/* A reply larger than this is garbage, not a milter talking. */
#define MCLIENT_MAX_PACKET (4u << 20)

static void trace_packet(const struct mclient *c, const char *dir, char cmd,
			 const char *data, size_t len)
{
	printf("%s%s %c", c->name ? c->name : "", dir, cmd);
	if (cmd == SMFIC_BODY || cmd == SMFIR_REPLBODY) {
		printf(" [%zu bytes]\n", len);
		return;
	}
	if (cmd == SMFIC_CONNECT) {
		/* host, family, port (binary), address */
		size_t h = strnlen(data, len);
		uint16_t port = 0;

		if (h + 4 < len) {
			memcpy(&port, data + h + 2, 2);
			printf(" \"%s\" family=%c port=%u \"%.*s\"\n", data, data[h + 1], ntohs(port),
			       (int)strnlen(data + h + 4, len - h - 4), data + h + 4);
			return;
		}
	}
	if (cmd == SMFIC_OPTNEG && len >= MILTER_OPTLEN) {
		uint32_t v[3];

		memcpy(v, data, sizeof(v));
		printf(" version=%u actions=0x%x protocol=0x%x\n", ntohl(v[0]),
		       ntohl(v[1]), ntohl(v[2]));
		return;
	}
	if ((cmd == SMFIR_CHGHEADER || cmd == SMFIR_INSHEADER) && len >= 4) {
		uint32_t idx;

		memcpy(&idx, data, 4);
		printf(" index=%u", ntohl(idx));
		data += 4;
		len -= 4;
	}
	/* strings: each NUL-terminated one in quotes, control bytes escaped */
	for (size_t i = 0; i < len;) {
		printf(" \"");
		for (; i < len && data[i] != '\0'; i++) {
			unsigned char ch = (unsigned char)data[i];

			if (ch == '\n')
				printf("\\n");
			else if (ch == '\r')
				printf("\\r");
			else if (ch == '\t')
				printf("\\t");
			else if (ch == '"' || ch == '\\')
				printf("\\%c", ch);
			else if (ch < 0x20 || ch == 0x7f)
				printf("\\x%02x", ch);
			else
				putchar(ch);
		}
		putchar('"');
		i++;
	}
	putchar('\n');
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *s = p;

	while (n > 0) {
		ssize_t r = read(fd, s, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

int mclient_send(struct mclient *c, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);
	char head[5];

	if (c->trace)
		trace_packet(c, ">", cmd, data, len);
	memcpy(head, &n, 4);
	head[4] = cmd;
	/* one write for small packets: two would cost an extra wakeup on the
	 * milter side and make the load generator the bottleneck */
	if (len <= 4096) {
		char small[4096 + 5];

		memcpy(small, head, 5);
		if (len > 0)
			memcpy(small + 5, data, len);
		return write_all(c->fd, small, len + 5);
	}
	if (write_all(c->fd, head, 5) < 0)
		return -1;
	return write_all(c->fd, data, len);
}

int mclient_read(struct mclient *c, struct mclient_reply *r)
{
	uint32_t n;

	if (read_all(c->fd, &n, 4) < 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n > MCLIENT_MAX_PACKET)
		return -1;
	if (n > c->cap) {
		char *p = realloc(c->buf, n);

		if (p == NULL)
			return -1;
		c->buf = p;
		c->cap = n;
	}
	if (read_all(c->fd, c->buf, n) < 0)
		return -1;
	c->len = n - 1;
	r->cmd = c->buf[0];
	r->data = c->buf + 1;
	r->len = c->len;
	if (c->trace)
		trace_packet(c, "<", r->cmd, r->data, r->len);
	return 0;
}

int mclient_macros(struct mclient *c, char stage, const char *const *pairs)
{
	char buf[2048];
	size_t n = 0;

	buf[n++] = stage;
	for (; pairs[0] != NULL && pairs[1] != NULL; pairs += 2) {
		size_t a = strlen(pairs[0]) + 1, b = strlen(pairs[1]) + 1;

		if (n + a + b > sizeof(buf))
			return -1;
		memcpy(buf + n, pairs[0], a);
		memcpy(buf + n + a, pairs[1], b);
		n += a + b;
	}
	return mclient_send(c, SMFIC_MACRO, buf, n);
}

static int connect_spec(const char *spec, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int fd = -1;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		const char *path = strchr(spec, ':') + 1;

		if (strlen(path) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
	} else if (strncmp(spec, "inet:", 5) == 0) {
		/* libmilter's spelling: inet:PORT@HOST */
		char port[16], *host;
		const char *at = strchr(spec, '@');
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
		int one = 1;

		if (at == NULL || (size_t)(at - spec - 5) >= sizeof(port))
			return -1;
		memcpy(port, spec + 5, (size_t)(at - spec - 5));
		port[at - spec - 5] = '\0';
		host = (char *)at + 1;
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
		/* as Postfix does: small packets go out at once (NOTES.md, Nagle) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else {
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int mclient_open(struct mclient *c, const char *spec, int timeout_ms)
{
	uint32_t opt[3] = {htonl(SMFI_PROT_VERSION), htonl(MCLIENT_OFFER_ACTIONS),
			   htonl(MCLIENT_OFFER_PROTOCOL)};
	struct mclient_reply r;

	c->fd = connect_spec(spec, timeout_ms);
	if (c->fd < 0) {
		fprintf(stderr, "loadgen: cannot connect to %s: %s\n", spec, strerror(errno));
		return -1;
	}
	if (mclient_send(c, SMFIC_OPTNEG, opt, sizeof(opt)) < 0 || mclient_read(c, &r) < 0 ||
	    r.cmd != SMFIC_OPTNEG || r.len < MILTER_OPTLEN) {
		fprintf(stderr, "loadgen: option negotiation with %s failed\n", spec);
		mclient_close(c);
		return -1;
	}
	memcpy(opt, r.data, sizeof(opt));
	c->actions = ntohl(opt[1]);
	c->protocol = ntohl(opt[2]);
	return 0;
}

void mclient_close(struct mclient *c)
{
	if (c->fd >= 0) {
		mclient_send(c, SMFIC_QUIT, NULL, 0);
		close(c->fd);
	}
	c->fd = -1;
}

int mclient_wants(const struct mclient *c, uint32_t no_flag)
{
	return (c->protocol & no_flag) == 0;
}

int mclient_replies(const struct mclient *c, uint32_t nr_flag)
{
	return (c->protocol & nr_flag) == 0;
}
