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
 * that it is alive and shuts down (shutdown(2)) the connections silent past
 * their limit. It never frees one: the shutdown wakes epoll, the owning
 * worker reads end-of-file and closes it the ordinary way, so no
 * connection is freed while an event for it may be in flight.
 *
 * The limit depends on where the conversation is. Inside an SMTP session
 * the MTA is as silent as its client: between commands (Sendmail allows an
 * hour) and while the message arrives (Postfix's cleanup and Sendmail send
 * the header and body only once all of it is in), so session_timeout_s
 * (libmilter's 7210 s by default) applies; before CONNECT, and inside a
 * frame the MTA began, timeout_s. A slow client's large message was cut at
 * timeout_s (300 s) and tempfailed on every retry.
 *
 * Who may touch a connection is one atomic word, not a lock: its state
 * (enum conn_state) and the second it went idle, packed. A worker that
 * takes an event moves it from idle to busy, the sweep moves an idle one
 * to expired, and whichever compare-and-swap wins decides; the sweep's
 * swap names the idle period it judged, so a connection served and
 * re-armed meanwhile is never expired. The lock only guards the list of
 * connections (accept, close, the sweep): on 2 cores busy with Postfix, a
 * lock taken on every command was held across epoll_ctl() by preempted
 * workers and made the others sleep on it (under strace, which stretches
 * every hold, 1,311 contended waits in about 600 SMTP sessions; in the
 * benchmark, about 4% of the workers' waits).
 *
 * A new connection is read at once by the worker that accepted it, after
 * it has handed the listening socket back to epoll: Postfix writes its
 * option negotiation right after connect(), so this saves a wakeup per
 * SMTP session.
 *
 * Only `pollers` workers (one per CPU it can keep busy, util/cpus.h: its
 * affinity and its cgroup's CPU quota) are in epoll_wait() at once; each
 * holds a turn (a slot of the gate) while it waits and while it serves,
 * and the other workers stand by on a condition variable. Why: epoll wakes
 * one waiter per readiness callback, and Postfix's pieces of one command
 * each make one, so with all 32 workers waiting most wakeups found the
 * event already taken by a worker that was running anyway (behind Postfix,
 * 12.5 sleeps per message for 6.7 events; a fifth of gatehouse's CPU on
 * a virtual machine where a context switch is dear). A poller gives its
 * turn to a standby worker when it is about to wait for DNS or Redis
 * (blocking_begin(), util/blocking.h), or, as a safety net, when the clock
 * thread sees it on one command for a second or more; it queues for a turn
 * again when it is done.
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
#include "util/blocking.h"
#include "util/cpus.h"
#include "util/log.h"
#include "util/strbuf.h"

/* What one worker reads per turn before it lets other connections go
 * first: a body arrives in 64 KiB frames, a turn takes a few. */
#define LOOP_READ_CHUNK 65536
#define LOOP_READS_PER_TURN 8

enum conn_state {
	CONN_IDLE,   /* in epoll, waiting for bytes: the sweep may expire it */
	CONN_BUSY,   /* a worker owns it */
	CONN_EXPIRED /* shut down by the sweep; the next worker closes it */
};

struct conn {
	int fd;
	bool tcp; /* TCP_QUICKACK after every read (see loop_serve) */
	struct milter_conv *conv;
	atomic_llong own;	  /* conn_word(): state and when it went idle */
	atomic_long limit_s;	  /* silence allowed now; set by the owner before idle */
	struct conn *prev, *next; /* every open connection, under the lock */
};

/* conn_word - the owner word: CLOCK_MONOTONIC seconds T and state ST */
static long long conn_word(long long t, enum conn_state st)
{
	return t << 2 | (long long)st;
}

static enum conn_state conn_word_state(long long w)
{
	return (enum conn_state)(w & 3);
}

static long long conn_word_since(long long w)
{
	return w >> 2;
}

struct worker {
	struct loop *l;
	pthread_t tid;
	atomic_llong busy_since; /* 0 while waiting for an event */
	atomic_bool turn;	 /* holds one of the gate's turns (see the top) */
	atomic_bool failed;	 /* quit on an error, not on loop_stop() */
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
	atomic_bool listen_paused;    /* the clock re-arms the listening socket */
	atomic_llong last_accept_log; /* when a failed accept or re-arm was logged */
	atomic_llong tick;	      /* the clock thread's last turn (CLOCK_MONOTONIC s) */
	struct worker *workers;	      /* o.workers of them, allocated with the loop */
	atomic_long nworkers;	      /* started so far */
	/* the gate: turns to wait on epoll, o.pollers in all */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	long gate_free;	  /* turns no worker holds */
	long gate_parked; /* workers waiting for one */
	bool stopping;	  /* loop_run is done: standby workers end */
};

/* epoll's data for the two descriptors that are not connections */
static char loop_listen_tag, loop_stop_tag;

static time_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* loop_gate_enter - W's turn to wait on epoll (at once if W holds one);
 * false when the loop is stopping */
static bool loop_gate_enter(struct loop *l, struct worker *w)
{
	bool ok;

	if (atomic_load(&w->turn))
		return true;
	pthread_mutex_lock(&l->gate_lock);
	while (l->gate_free == 0 && !l->stopping) {
		l->gate_parked++;
		pthread_cond_wait(&l->gate_cond, &l->gate_lock);
		l->gate_parked--;
	}
	ok = !l->stopping;
	if (ok) {
		l->gate_free--;
		atomic_store(&w->turn, true);
	}
	pthread_mutex_unlock(&l->gate_lock);
	return ok;
}

/* loop_gate_leave - W gives its turn to a standby worker. Called by W
 * itself (about to wait) or by the clock thread (W is slow): whichever
 * takes W's turn away first gives it back, once. */
static void loop_gate_leave(struct loop *l, struct worker *w)
{
	if (!atomic_exchange(&w->turn, false))
		return;
	pthread_mutex_lock(&l->gate_lock);
	l->gate_free++;
	if (l->gate_parked > 0)
		pthread_cond_signal(&l->gate_cond);
	pthread_mutex_unlock(&l->gate_lock);
}

/* loop_blocking - the worker's blocking_begin() hook */
static void loop_blocking(void *arg)
{
	struct worker *w = arg;

	loop_gate_leave(w->l, w);
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
	atomic_init(&l->listen_paused, false);
	atomic_init(&l->last_accept_log, 0);
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
	if (l->o.session_timeout_s < l->o.timeout_s)
		l->o.session_timeout_s = l->o.timeout_s; /* never shorter (and never 0) */
	/* a CPU quota counts too: on 16 CPUs with CPUQuota=200%, sixteen
	 * pollers would mostly wake to be throttled */
	if (l->o.pollers <= 0)
		l->o.pollers = cpus_usable();
	if (l->o.pollers > l->o.workers)
		l->o.pollers = l->o.workers;
	log_msg(log, LOG_INFO, "milter: %ld workers, %ld waiting for events at once", l->o.workers,
		l->o.pollers);
	l->gate_free = l->o.pollers;
	pthread_mutex_init(&l->gate_lock, NULL);
	pthread_cond_init(&l->gate_cond, NULL);
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

/* loop_arm - give C, which the caller owns, back to epoll: the next
 * readable byte wakes one worker once. Idle before epoll_ctl(): once armed,
 * another worker may own it at once. */
static int loop_arm(struct loop *l, struct conn *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };

	atomic_store(&c->limit_s, milter_conv_in_session(c->conv) && !milter_conv_mid_frame(c->conv)
					  ? l->o.session_timeout_s
					  : l->o.timeout_s);
	atomic_store(&c->own, conn_word(loop_now(), CONN_IDLE));
	return epoll_ctl(l->epfd, op, c->fd, &ev);
}

/* loop_peer - "unix" or "ADDR:PORT" for log lines, from the address
 * accept4() gave: no getpeername() per connection */
static void loop_peer(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[64];

	snprintf(buf, len, "unix");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
			snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
			snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

/* loop_take - a new connection on FD from peer SS, linked into the list
 * and owned by the caller (busy); NULL when it was refused or closed
 * (logged) */
static struct conn *loop_take(struct loop *l, int fd, const struct sockaddr_storage *ss)
{
	char peer[80];
	struct conn *c;

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
		return NULL;
	}
	pthread_mutex_unlock(&l->lock);
	loop_peer(ss, peer, sizeof(peer));
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->conv = milter_conv_new(l->env, peer)) == NULL) {
		log_msg(l->log, LOG_ERR, "out of memory accepting a connection from %s", peer);
		free(c);
		close(fd);
		return NULL;
	}
	c->fd = fd;
	/* TCP_NODELAY needs no call here: listen.c set it on the listener,
	 * and Linux copies it to every connection accepted there */
	c->tcp = ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
	atomic_init(&c->own, conn_word(loop_now(), CONN_BUSY));
	atomic_init(&c->limit_s, l->o.timeout_s);
	pthread_mutex_lock(&l->lock);
	c->next = l->all;
	if (l->all)
		l->all->prev = c;
	l->all = c;
	l->nconns++;
	pthread_mutex_unlock(&l->lock);
	return c;
}

/* loop_accept_log - WHAT failed, logged at most once a minute: it repeats
 * every second while it lasts */
static void loop_accept_log(struct loop *l, const char *what, int err)
{
	long long now = (long long)loop_now(), last = atomic_load(&l->last_accept_log);

	if ((last == 0 || now - last >= 60) &&
	    atomic_compare_exchange_strong(&l->last_accept_log, &last, now))
		log_msg(l->log, LOG_ERR, "%s: %s (retried every second, logged once a minute)",
			what, strerror(err));
}

/* loop_listen_arm - give the listening socket back to epoll; when that
 * fails, the clock tries again each second (loop_listen_retry) rather than
 * the daemon going deaf */
static void loop_listen_arm(struct loop *l)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &loop_listen_tag };

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->o.listen_fd, &lev) != 0) {
		loop_accept_log(l, "epoll_ctl on the listening socket", errno);
		atomic_store(&l->listen_paused, true);
	}
}

/* loop_listen_retry - the clock's turn: re-arm a paused listening socket */
static void loop_listen_retry(struct loop *l)
{
	if (atomic_exchange(&l->listen_paused, false))
		loop_listen_arm(l);
}

/* loop_accept - take one pending connection and give the listening socket
 * back to epoll (another worker takes the next one), or to the clock when
 * descriptors ran out; the new connection, owned by the caller, who serves
 * it as if epoll had reported it, or NULL when there was none */
static struct conn *loop_accept(struct loop *l)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	do {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss)); /* an unnamed unix peer leaves it */
		fd = accept4(l->o.listen_fd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
		/* The connection stays queued, so the socket would be ready
		 * again at once: re-armed now, the workers would spin on it.
		 * The clock re-arms it in a second, when descriptors may be
		 * free; the MTA meanwhile waits, within its connect timeout. */
		loop_accept_log(
			l,
			errno == EMFILE
				? "accept (raise LimitNOFILE or lower milter_max_connections)"
				: "accept",
			errno);
		atomic_store(&l->listen_paused, true);
		return NULL;
	}
	loop_listen_arm(l);
	return fd < 0 ? NULL : loop_take(l, fd, &ss);
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

			blocking_begin(); /* the MTA is slow to read: others go on */
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

/* loop_quickack - acknowledge what FD received at once. The MTA writes the
 * content phase in 4 KB pieces without waiting for a reply; with Nagle's
 * algorithm on its side (Postfix does not turn it off) the last small
 * piece, which holds end-of-message, waits for our acknowledgement of the
 * ones before, and Linux delays that acknowledgement by up to 40 ms. The
 * kernel leaves quick-ack mode by itself, so it is asked for again after
 * every read. */
static void loop_quickack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
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
		if (c->tcp)
			loop_quickack(c->fd);
		strbuf_reset(out);
		st = milter_conv_feed(c->conv, buf, (size_t)n, out);
		wrote = out->len == 0 || loop_write_all(l, c, out);
		if (st != MILTER_CONV_OK || !wrote)
			return false;
		/* A short read emptied the socket: no recv() just to hear
		 * EAGAIN. Bytes that came since make the re-armed descriptor
		 * ready at once (epoll checks when it is armed). */
		if (n < LOOP_READ_CHUNK)
			return true;
	}
	return true; /* more may be waiting: epoll will say so */
}

/* loop_serve_own - a turn with C, which the caller owns (busy), until it
 * goes back to epoll (OP: ADD for a new connection, MOD after an event) or
 * is closed */
static void loop_serve_own(struct loop *l, struct conn *c, int op, unsigned char *buf,
			   struct strbuf *out)
{
	if (loop_serve(l, c, buf, out)) {
		if (loop_arm(l, c, op) == 0)
			return;
		log_msg(l->log, LOG_ERR, "epoll_ctl: %s", strerror(errno));
	}
	pthread_mutex_lock(&l->lock);
	loop_unlink(l, c);
	pthread_mutex_unlock(&l->lock);
	loop_close(c);
}

/* loop_own - a worker's turn with connection C, which epoll reported */
static void loop_own(struct loop *l, struct conn *c, unsigned char *buf, struct strbuf *out)
{
	long long w = atomic_load(&c->own);

	/* EPOLLONESHOT: no other worker has it; only the sweep may move it */
	while (conn_word_state(w) == CONN_IDLE &&
	       !atomic_compare_exchange_weak(&c->own, &w, conn_word(0, CONN_BUSY)))
		;
	if (conn_word_state(w) != CONN_IDLE) {
		/* expired by the sweep: it shut the socket down, we close it */
		log_msg(l->log, LOG_INFO, "milter: connection idle for %ld s: closing",
			atomic_load(&c->limit_s));
		pthread_mutex_lock(&l->lock);
		loop_unlink(l, c);
		pthread_mutex_unlock(&l->lock);
		loop_close(c);
		return;
	}
	loop_serve_own(l, c, EPOLL_CTL_MOD, buf, out);
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
		atomic_store(&w->failed, true);
		loop_gate_leave(l, w);
		return NULL;
	}
	blocking_set(loop_blocking, w);
	for (;;) {
		struct epoll_event ev;
		int n;

		if (!loop_gate_enter(l, w))
			break;
		n = epoll_wait(l->epfd, &ev, 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(l->log, LOG_ERR, "epoll_wait: %s", strerror(errno));
			atomic_store(&w->failed, true);
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.ptr == &loop_stop_tag)
			break;
		atomic_store(&w->busy_since, (long long)loop_now());
		if (ev.data.ptr == &loop_listen_tag) {
			struct conn *c = loop_accept(l);

			if (c != NULL)
				loop_serve_own(l, c, EPOLL_CTL_ADD, buf, &out);
		} else {
			loop_own(l, ev.data.ptr, buf, &out);
		}
		atomic_store(&w->busy_since, 0);
	}
	blocking_set(NULL, NULL);
	loop_gate_leave(l, w);
	strbuf_free(&out);
	free(buf);
	return NULL;
}

/* loop_retake - the safety net for waits no blocking_begin() announced (a
 * slow syslog, a lock): a poller on one command for a second or more gives
 * its turn to a standby worker, so the other connections are not held up
 * behind it for longer than that */
static void loop_retake(struct loop *l)
{
	time_t now = loop_now();
	long n = atomic_load(&l->nworkers);

	for (long i = 0; i < n; i++) {
		struct worker *w = &l->workers[i];
		long long since = atomic_load(&w->busy_since);

		/* whole seconds on both sides: 2 apart is at least one second */
		if (since != 0 && now - since >= 2 && atomic_load(&w->turn))
			loop_gate_leave(l, w);
	}
}

/* loop_sweep - shut down the connections idle for longer than their limit;
 * their owners close them (see the top of this file) */
static void loop_sweep(struct loop *l)
{
	time_t now = loop_now();

	pthread_mutex_lock(&l->lock);
	for (struct conn *c = l->all; c != NULL; c = c->next) {
		long long w = atomic_load(&c->own);

		/* only an idle one: a worker that owns it now decides itself */
		if (conn_word_state(w) != CONN_IDLE ||
		    now - conn_word_since(w) < atomic_load(&c->limit_s))
			continue;
		/* fails if a worker took it, or took it and re-armed it, since
		 * the load: then it is not the idle period judged above */
		if (!atomic_compare_exchange_strong(&c->own, &w,
						    conn_word(conn_word_since(w), CONN_EXPIRED)))
			continue;
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
		atomic_init(&w->turn, false);
		atomic_init(&w->failed, false);
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
		loop_retake(l);
		loop_listen_retry(l);
	}
	/* the pollers see the stop on epoll; the standby workers see this */
	pthread_mutex_lock(&l->gate_lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->gate_cond);
	pthread_mutex_unlock(&l->gate_lock);
	for (long i = 0; i < started; i++)
		pthread_join(l->workers[i].tid, NULL);
	return 0;
}

bool loop_alive(struct loop *l, long max_wait_s)
{
	time_t now = loop_now();
	long n = atomic_load(&l->nworkers), lost = 0;

	if (now - atomic_load(&l->tick) > 5)
		return false; /* the clock thread turns at least once a second */
	for (long i = 0; i < n; i++) {
		long long since = atomic_load(&l->workers[i].busy_since);

		/* a worker that quit on an error serves no one either */
		if (atomic_load(&l->workers[i].failed) || (since != 0 && now - since > max_wait_s))
			lost++;
	}
	return n == 0 || lost < n; /* every worker stuck on one command, or gone */
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
	pthread_mutex_destroy(&l->gate_lock);
	pthread_cond_destroy(&l->gate_cond);
	free(l->workers);
	free(l);
}
