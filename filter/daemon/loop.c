/*
 * loop.c - epoll and a worker pool for milter connections (see loop.h)
 *
 * Ownership of a connection moves between the loop thread and one worker:
 * the loop thread takes it out of epoll's hands (EPOLLONESHOT fired) and
 * queues it; a worker owns it until it re-arms it in epoll, which it does
 * under the loop's lock so the idle-timeout sweep (also under the lock)
 * never frees a connection a worker holds.
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
#define LOOP_EVENTS 64

struct conn {
	int fd;
	struct milter_conv *conv;
	time_t last_active;	  /* CLOCK_MONOTONIC seconds */
	bool busy;		  /* a worker owns it (queued or running) */
	time_t queued_at;	  /* when the loop thread queued it */
	struct conn *prev, *next; /* every open connection, under the lock */
	struct conn *qnext;	  /* the work queue */
};

struct loop {
	struct loop_options o;
	const struct milter_env *env;
	const struct logger *log;
	int epfd, stopfd;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct conn *all;	    /* every open connection */
	struct conn *qhead, *qtail; /* readable, waiting for a worker */
	long nconns;
	bool stopping;
	time_t last_full_log;
	atomic_llong tick; /* the loop thread's last turn (CLOCK_MONOTONIC s) */
	pthread_t *threads;
	long nthreads;
};

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
	struct epoll_event ev = { .events = EPOLLIN };

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
	ev.data.ptr = NULL; /* the listening socket */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, o->listen_fd, &ev) != 0)
		goto fail;
	ev.data.ptr = &l->stopfd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev) != 0)
		goto fail;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->work, NULL);
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
 * wakes the loop thread once */
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

/* loop_accept - take every pending connection */
static void loop_accept(struct loop *l)
{
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
			return; /* EAGAIN: all taken */
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
			return false; /* the MTA closed: the session ends (summary logged) */
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

static void *loop_worker(void *arg)
{
	struct loop *l = arg;
	unsigned char *buf = malloc(LOOP_READ_CHUNK);
	struct strbuf out;

	strbuf_init(&out);
	if (buf == NULL) {
		log_msg(l->log, LOG_ERR, "worker: out of memory");
		return NULL;
	}
	for (;;) {
		struct conn *c;

		pthread_mutex_lock(&l->lock);
		while (l->qhead == NULL && !l->stopping)
			pthread_cond_wait(&l->work, &l->lock);
		if (l->stopping) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		c = l->qhead;
		l->qhead = c->qnext;
		if (l->qhead == NULL)
			l->qtail = NULL;
		pthread_mutex_unlock(&l->lock);

		if (loop_serve(l, c, buf, &out)) {
			pthread_mutex_lock(&l->lock);
			if (loop_arm(l, c, EPOLL_CTL_MOD) == 0) {
				pthread_mutex_unlock(&l->lock);
				continue;
			}
			log_msg(l->log, LOG_ERR, "epoll_ctl: %s", strerror(errno));
		} else {
			pthread_mutex_lock(&l->lock);
		}
		loop_unlink(l, c);
		pthread_mutex_unlock(&l->lock);
		loop_close(c);
	}
	strbuf_free(&out);
	free(buf);
	return NULL;
}

/* loop_sweep - close the connections idle for longer than timeout_s */
static void loop_sweep(struct loop *l)
{
	time_t now = loop_now();
	struct conn *dead = NULL;

	pthread_mutex_lock(&l->lock);
	for (struct conn *c = l->all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->busy || now - c->last_active < l->o.timeout_s)
			continue;
		loop_unlink(l, c);
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->qnext = dead;
		dead = c;
	}
	pthread_mutex_unlock(&l->lock);
	while (dead != NULL) {
		struct conn *c = dead;

		dead = c->qnext;
		log_msg(l->log, LOG_INFO, "milter: connection idle for %ld s: closing",
			l->o.timeout_s);
		loop_close(c);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_EVENTS];
	time_t last_sweep = loop_now();
	int rc = 0;

	l->threads = calloc((size_t)l->o.workers, sizeof(*l->threads));
	if (l->threads == NULL)
		return -1;
	for (; l->nthreads < l->o.workers; l->nthreads++)
		if (pthread_create(&l->threads[l->nthreads], NULL, loop_worker, l) != 0) {
			log_msg(l->log, LOG_ERR, "cannot start worker %ld", l->nthreads);
			break;
		}
	if (l->nthreads == 0)
		return -1;
	for (;;) {
		int n = epoll_wait(l->epfd, ev, LOOP_EVENTS, 1000);

		atomic_store(&l->tick, (long long)loop_now());
		if (n < 0 && errno != EINTR) {
			log_msg(l->log, LOG_ERR, "epoll_wait: %s", strerror(errno));
			rc = -1;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (c == NULL) {
				loop_accept(l);
				continue;
			}
			if ((void *)c == (void *)&l->stopfd)
				goto out;
			pthread_mutex_lock(&l->lock);
			c->busy = true;
			c->queued_at = loop_now();
			c->qnext = NULL;
			if (l->qtail)
				l->qtail->qnext = c;
			else
				l->qhead = c;
			l->qtail = c;
			pthread_cond_signal(&l->work);
			pthread_mutex_unlock(&l->lock);
		}
		if (loop_now() != last_sweep) {
			last_sweep = loop_now();
			loop_sweep(l);
		}
	}
out:
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->lock);
	for (long i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	return rc;
}

bool loop_alive(struct loop *l, long max_wait_s)
{
	time_t now = loop_now();
	bool ok;

	if (now - atomic_load(&l->tick) > 5)
		return false; /* the loop thread turns at least once a second */
	pthread_mutex_lock(&l->lock);
	ok = l->qhead == NULL || now - l->qhead->queued_at <= max_wait_s;
	pthread_mutex_unlock(&l->lock);
	return ok;
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
	pthread_cond_destroy(&l->work);
	free(l->threads);
	free(l);
}
