/*
 * floor_milter.c - the cheapest milter we can write, to measure what the
 * milter protocol costs the MTA itself (issue 17's "Postfix with gatehouse
 * at 80% of Postfix without a milter").
 *
 *   floor_milter [-e] unix:/path/to/socket
 *
 * One thread, one epoll set, non-blocking sockets, gatehouse's own codec
 * (filter/milter/wire.c) and no engine: it negotiates exactly the steps and
 * actions gatehouse negotiates when no rule is decided at connect or HELO
 * (conv_quiet_steps() in filter/milter/conv.c), so the MTA sends it the same
 * frames, waits for the same replies and does the same work on its side; it
 * answers continue at MAIL and RCPT and accept at end of message and looks
 * at nothing. With -e it also inserts, at end of message, the three header
 * fields gatehouse inserts into a passing message of the benchmark's corpus
 * (Authentication-Results, X-Gatehouse, Received-SPF, values of the same
 * length), so the MTA's cleanup does the same editing as behind gatehouse.
 *
 * What Postfix keeps of its throughput behind this milter is therefore the
 * most any milter speaking the protocol as gatehouse does can reach; the
 * gap between it and gatehouse is gatehouse's own CPU and wakeups.
 *
 * The socket is created world-writable so Postfix's smtpd can use it. Runs
 * in the foreground until SIGTERM; a connection that breaks the protocol is
 * closed with a line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "milter/wire.h"
#include "util/strbuf.h"

#define FLOOR_ACTIONS (WIRE_A_ADDHDRS | WIRE_A_CHGHDRS | WIRE_A_QUARANTINE)
#define FLOOR_STEPS                                                                          \
	(WIRE_P_NR_HDR | WIRE_P_NR_EOH | WIRE_P_NR_BODY | WIRE_P_NODATA | WIRE_P_NOUNKNOWN | \
	 WIRE_P_NR_CONN | WIRE_P_NR_HELO | WIRE_P_HDR_LEADSPC)

/* The three fields gatehouse inserts into a passing corpus message, with
 * values of the same length and folding (about 600 bytes in all) */
static const char floor_authres[] =
	"mx.bench.example;\n"
	"\tspf=pass (mx.bench.example: domain of delta.example designates 192.0.2.25 as "
	"permitted sender) smtp.mailfrom=bob@delta.example;\n"
	"\tspf=pass smtp.helo=mx.sender.example;\n"
	"\tdkim=pass header.d=delta.example header.s=sel1 header.a=rsa-sha256 header.b=AbCdEfGh;\n"
	"\tdmarc=pass (p=reject dis=none) header.from=delta.example policy.dmarc=reject";
static const char floor_status[] = "mx.bench.example (floor_milter); session=4VHX100001.1";
static const char floor_spf[] =
	"pass (mx.bench.example: domain of delta.example designates 192.0.2.25 as permitted "
	"sender)\n"
	"\treceiver=mx.bench.example; client-ip=192.0.2.25; envelope-from=\"bob@delta.example\";\n"
	"\thelo=\"mx.sender.example\"; identity=mailfrom;";

struct floor_conn {
	int fd;
	struct wire_reader in;
	uint32_t protocol; /* negotiated steps */
};

/* floor_send - the whole of OUT, waiting for room if the socket is full */
static bool floor_send(int fd, const struct strbuf *out)
{
	size_t off = 0;

	while (off < out->len) {
		ssize_t n = send(fd, out->data + off, out->len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 5000) <= 0)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* floor_answer - the reply to one command into OUT; false ends the
 * connection (QUIT, or a violation) */
static bool floor_answer(struct floor_conn *c, const struct wire_cmd *w, bool edits,
			 struct strbuf *out)
{
	uint32_t nr = 0;

	switch (w->cmd) {
	case WIRE_C_OPTNEG: {
		uint32_t version = w->u.optneg.version < WIRE_VERSION ? w->u.optneg.version
								      : WIRE_VERSION;

		c->protocol = w->u.optneg.protocol & FLOOR_STEPS;
		wire_put_optneg(out, version, w->u.optneg.actions & FLOOR_ACTIONS, c->protocol,
				NULL);
		return true;
	}
	case WIRE_C_MACRO:
	case WIRE_C_ABORT:
	case WIRE_C_QUIT_NC:
		return true;
	case WIRE_C_QUIT:
		return false;
	case WIRE_C_CONNECT:
		nr = WIRE_P_NR_CONN;
		break;
	case WIRE_C_HELO:
		nr = WIRE_P_NR_HELO;
		break;
	case WIRE_C_HEADER:
		nr = WIRE_P_NR_HDR;
		break;
	case WIRE_C_EOH:
		nr = WIRE_P_NR_EOH;
		break;
	case WIRE_C_BODY:
		nr = WIRE_P_NR_BODY;
		break;
	case WIRE_C_EOM:
		if (edits) {
			/* as gatehouse: with the leading space negotiated, it is ours to write */
			const char *lead = (c->protocol & WIRE_P_HDR_LEADSPC) ? " " : "";

			wire_put_header(out, WIRE_R_INSHEADER, 0, "Received-SPF", lead, floor_spf);
			wire_put_header(out, WIRE_R_INSHEADER, 0, "X-Gatehouse", lead, floor_status);
			wire_put_header(out, WIRE_R_INSHEADER, 0, "Authentication-Results", lead,
					floor_authres);
		}
		wire_put(out, WIRE_R_ACCEPT, NULL, 0);
		return true;
	default: /* MAIL, RCPT, DATA, unknown: answered */
		break;
	}
	if (nr == 0 || !(c->protocol & nr))
		wire_put(out, WIRE_R_CONTINUE, NULL, 0);
	return true;
}

/* floor_serve - read what C's peer sent and answer each whole frame; false
 * when the connection is over */
static bool floor_serve(struct floor_conn *c, bool edits, struct strbuf *out, unsigned char *buf,
			size_t cap)
{
	ssize_t n = recv(c->fd, buf, cap, 0);
	struct wire_frame f;
	struct wire_cmd w;
	const char *why = NULL;
	int got;

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!wire_reader_feed(&c->in, buf, (size_t)n))
		return false;
	strbuf_reset(out);
	while ((got = wire_reader_next(&c->in, &f, &why)) == 1) {
		if (!wire_decode(&f, &w, &why)) {
			fprintf(stderr, "floor_milter: %s\n", why);
			return false;
		}
		if (!floor_answer(c, &w, edits, out))
			return false;
	}
	if (got < 0) {
		fprintf(stderr, "floor_milter: %s\n", why);
		return false;
	}
	return out->len == 0 || (!out->failed && floor_send(c->fd, out));
}

static int floor_listen(const char *spec)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "floor_milter: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
	    listen(fd, 512) != 0) {
		perror("floor_milter: listen");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	bool edits = argc == 3 && strcmp(argv[1], "-e") == 0;
	const char *spec = argv[argc - 1];
	unsigned char *buf = malloc(WIRE_DATA_MAX + 5);
	struct strbuf out;
	struct epoll_event ev, evs[64];
	int lfd, ep;

	if ((argc != 2 && !edits) || buf == NULL) {
		fprintf(stderr, "usage: floor_milter [-e] unix:/path/to/socket\n");
		return 2;
	}
	strbuf_init(&out);
	lfd = floor_listen(spec);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0)
		return 1;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		perror("floor_milter: epoll_ctl");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct floor_conn *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				if (c == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
					close(fd);
					free(c);
				}
				continue;
			}
			if (!floor_serve(c, edits, &out, buf, WIRE_DATA_MAX + 5)) {
				close(c->fd); /* leaves the epoll set with it */
				wire_reader_free(&c->in);
				free(c);
			}
		}
		if (n < 0 && errno != EINTR) {
			perror("floor_milter: epoll_wait");
			return 1;
		}
	}
}
