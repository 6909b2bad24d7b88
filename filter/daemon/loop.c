/*
 * loop.c - epoll and a worker pool for milter connections (see loop.h)
 *
 * Every worker waits in epoll_wait() on the one epoll set itself and takes
 * one event at a time: there is no queue and no hand-off from a dispatching
 * thread (the profile of an earlier version, with one epoll thread waking
 * workers through a condition variable, put a quarter of gatehouse's CPU
 * behind Postfix into those hand-offs). Each connection and the listening
 * socket are registered EPOLLONESHOT, so an event goes to exactly one
 * worker, which owns that descriptor until it re-arms it: a connection's
 * commands are answered one at a time, in order, and only its owner ever
 * frees it.
 *
 * The thread that calls loop_run() keeps the clock: once a second it notes
 * that it is alive and shuts down (shutdown(2)) the connections idle past
 * timeout_s. It never frees one: the shutdown wakes epoll, the owning
 * worker reads end-of-file and closes it the ordinary way, so no
 * connection is freed while an event for it may be in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "milter/conv.h"
#include "util/log.h"
#include "util/strbuf.h"

/* What one worker reads per turn before it lets other connections go
 * first: a body arrives in 64 KiB frames, a turn takes a few. */
#define LOOP_READ_CHUNK 65536
#define LOOP_READS_PER_TURN 8

struct conn {
	int fd;
	struct milter_conv *conv;
	time_t last_active;	  /* CLOCK_MONOTONIC seconds, under the lock */
	bool busy;		  /* a worker owns it, under the lock */
	bool expired;		  /* shut down by the sweep, under the lock */
	struct conn *prev, *next; /* every open connection, under the lock */
};

struct worker {
	struct loop *l;
	pthread_t tid;
	atomic_llong busy_since; /* 0 while waiting for an event */
};

struct loop {
	struct loop_options o;
	const struct milter_env *env;
	const struct logger *log;
	int epfd, stopfd;
	pthread_mutex_t lock;
	struct conn *all; /* every open connection */
	long nconns;
	time_t last_full_log;
	atomic_llong tick;	/* the clock thread's last turn (CLOCK_MONOTONIC s) */
	struct worker *workers; /* o.workers of them, allocated with the loop */
	atomic_long nworkers;	/* started so far */
};

/* epoll's data for the two descriptors that are not connections */
static char loop_listen_tag, loop_stop_tag;

static time_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct loop *loop_new(const struct loop_options *o, const struct milter_env *env,
		      const struct logger *log)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &loop_listen_tag };

	if (l == NULL)
		return NULL;
	l->o = *o;
	l->env = env;
	l->log = log;
	atomic_init(&l->tick, (long long)loop_now());
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stopfd < 0) {
		log_msg(log, LOG_ERR, "epoll: %s", strerror(errno));
		goto fail;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, o->listen_fd, &ev) != 0)
		goto fail;
	/* level-triggered, not one-shot: once written, every worker sees it */
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &loop_stop_tag };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev) != 0)
		goto fail;
	l->workers = calloc((size_t)o->workers, sizeof(*l->workers));
	if (l->workers == NULL)
		goto fail;
	atomic_init(&l->nworkers, 0);
	pthread_mutex_init(&l->lock, NULL);
	return l;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stopfd >= 0)
		close(l->stopfd);
	free(l);
	return NULL;
}

/* loop_unlink - take C out of the list of open connections (under the lock) */
static void loop_unlink(struct loop *l, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->nconns--;
}

/* loop_close - end C: its conversation (and session) ends, the socket closes.
 * C must already be out of the list and owned by the caller. */
static void loop_close(struct conn *c)
{
	milter_conv_free(c->conv);
	close(c->fd);
	free(c);
}

/* loop_arm - give C back to epoll (under the lock): the next readable byte
 * wakes one worker once */
static int loop_arm(struct loop *l, struct conn *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };

	c->busy = false;
	c->last_active = loop_now();
	return epoll_ctl(l->epfd, op, c->fd, &ev);
}

/* loop_peer - "unix" or "ADDR:PORT" for log lines */
static void loop_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];

	snprintf(buf, len, "unix");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;

		if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
			snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;

		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
			snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

/* loop_accept - take every pending connection, then give the listening
 * socket back to epoll */
static void loop_accept(struct loop *l)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &loop_listen_tag };

	for (;;) {
		int fd = accept4(l->o.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char peer[80];
		struct conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				log_msg(l->log, LOG_ERR, "accept: %s (milter_max_connections %ld)",
					strerror(errno), l->o.max_connections);
			break; /* EAGAIN: all taken */
		}
		pthread_mutex_lock(&l->lock);
		if (l->nconns >= l->o.max_connections) {
			time_t now = loop_now();
			bool say = now - l->last_full_log >= 60;

			if (say)
				l->last_full_log = now;
			pthread_mutex_unlock(&l->lock);
			if (say)
				log_msg(l->log, LOG_WARNING,
					"milter_max_connections (%ld) reached: closing new "
					"connections (logged once a minute)",
					l->o.max_connections);
			close(fd);
			continue;
		}
		pthread_mutex_unlock(&l->lock);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one)); /* fails on unix: fine */
		loop_peer(fd, peer, sizeof(peer));
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->conv = milter_conv_new(l->env, peer)) == NULL) {
			log_msg(l->log, LOG_ERR, "out of memory accepting a connection from %s",
				peer);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_mutex_lock(&l->lock);
		c->next = l->all;
		if (l->all)
			l->all->prev = c;
		l->all = c;
		l->nconns++;
		if (loop_arm(l, c, EPOLL_CTL_ADD) != 0) {
			loop_unlink(l, c);
			pthread_mutex_unlock(&l->lock);
			log_msg(l->log, LOG_ERR, "epoll_ctl: %s", strerror(errno));
			loop_close(c);
			continue;
		}
		pthread_mutex_unlock(&l->lock);
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->o.listen_fd, &lev) != 0)
		log_msg(l->log, LOG_ERR, "epoll_ctl on the listening socket: %s", strerror(errno));
}

/* loop_write_all - write OUT to C, waiting at most timeout_s for the MTA to
 * take it; false when it did not */
static bool loop_write_all(struct loop *l, struct conn *c, const struct strbuf *out)
{
	size_t off = 0;

	while (off < out->len) {
		ssize_t n = send(c->fd, out->data + off, out->len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			if (poll(&p, 1, (int)(l->o.timeout_s * 1000)) > 0)
				continue;
			log_msg(l->log, LOG_WARNING,
				"milter: the MTA did not take a reply within %ld s: closing",
				l->o.timeout_s);
		}
		return false;
	}
	return true;
}

/* loop_serve - a worker's turn with C: read, answer, write; false when C
 * is to be closed */
static bool loop_serve(struct loop *l, struct conn *c, unsigned char *buf, struct strbuf *out)
{
	for (int turn = 0; turn < LOOP_READS_PER_TURN; turn++) {
		ssize_t n = recv(c->fd, buf, LOOP_READ_CHUNK, 0);
		enum milter_conv_status st;
		bool wrote;

		if (n == 0)
			return false; /* the MTA closed (or the sweep did): the session ends */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		strbuf_reset(out);
		st = milter_conv_feed(c->conv, buf, (size_t)n, out);
		wrote = out->len == 0 || loop_write_all(l, c, out);
		if (st != MILTER_CONV_OK || !wrote)
			return false;
	}
	return true; /* more may be waiting: epoll will say so */
}

/* loop_own - a worker's turn with connection C, from taking it to giving it
 * back to epoll or closing it */
static void loop_own(struct loop *l, struct conn *c, unsigned char *buf, struct strbuf *out)
{
	bool keep, expired;

	pthread_mutex_lock(&l->lock);
	c->busy = true;
	expired = c->expired;
	pthread_mutex_unlock(&l->lock);
	if (expired)
		log_msg(l->log, LOG_INFO, "milter: connection idle for %ld s: closing",
			l->o.timeout_s);
	keep = !expired && loop_serve(l, c, buf, out);
	pthread_mutex_lock(&l->lock);
	if (keep && loop_arm(l, c, EPOLL_CTL_MOD) == 0) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	if (keep)
		log_msg(l->log, LOG_ERR, "epoll_ctl: %s", strerror(errno));
	loop_unlink(l, c);
	pthread_mutex_unlock(&l->lock);
	loop_close(c);
}

static void *loop_worker(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->l;
	unsigned char *buf = malloc(LOOP_READ_CHUNK);
	struct strbuf out;

	strbuf_init(&out);
	if (buf == NULL) {
		log_msg(l->log, LOG_ERR, "worker: out of memory");
		return NULL;
	}
	for (;;) {
		struct epoll_event ev;
		int n = epoll_wait(l->epfd, &ev, 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(l->log, LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.ptr == &loop_stop_tag)
			break;
		atomic_store(&w->busy_since, (long long)loop_now());
		if (ev.data.ptr == &loop_listen_tag)
			loop_accept(l);
		else
			loop_own(l, ev.data.ptr, buf, &out);
		atomic_store(&w->busy_since, 0);
	}
	strbuf_free(&out);
	free(buf);
	return NULL;
}

/* loop_sweep - shut down the connections idle for longer than timeout_s;
 * their owners close them (see the top of this file) */
static void loop_sweep(struct loop *l)
{
	time_t now = loop_now();

	pthread_mutex_lock(&l->lock);
	for (struct conn *c = l->all; c != NULL; c = c->next) {
		if (c->busy || c->expired || now - c->last_active < l->o.timeout_s)
			continue;
		c->expired = true;
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&l->lock);
}

int loop_run(struct loop *l)
{
	long started;

	for (started = 0; started < l->o.workers; started++) {
		struct worker *w = &l->workers[started];

		w->l = l;
		atomic_init(&w->busy_since, 0);
		if (pthread_create(&w->tid, NULL, loop_worker, w) != 0) {
			log_msg(l->log, LOG_ERR, "cannot start worker %ld", started);
			break;
		}
		atomic_store(&l->nworkers, started + 1);
	}
	if (started == 0)
		return -1;
	for (;;) {
		struct pollfd p = { .fd = l->stopfd, .events = POLLIN };

		atomic_store(&l->tick, (long long)loop_now());
		if (poll(&p, 1, 1000) > 0)
			break;
		loop_sweep(l);
	}
	for (long i = 0; i < started; i++)
		pthread_join(l->workers[i].tid, NULL);
	return 0;
}

bool loop_alive(struct loop *l, long max_wait_s)
{
	time_t now = loop_now();
	long n = atomic_load(&l->nworkers), stuck = 0;

	if (now - atomic_load(&l->tick) > 5)
		return false; /* the clock thread turns at least once a second */
	for (long i = 0; i < n; i++) {
		long long since = atomic_load(&l->workers[i].busy_since);

		if (since != 0 && now - since > max_wait_s)
			stuck++;
	}
	return n == 0 || stuck < n; /* every worker stuck on one command */
}

void loop_stop(struct loop *l)
{
	uint64_t one = 1;

	(void)!write(l->stopfd, &one, sizeof(one));
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	/* The workers are gone (loop_run joined them): everything is ours. */
	while (l->all != NULL) {
		struct conn *c = l->all;

		loop_unlink(l, c);
		loop_close(c);
	}
	close(l->epfd);
	close(l->stopfd);
	pthread_mutex_destroy(&l->lock);
	free(l->workers);
	free(l);
}
