/*
 * loop.h - the milter's event loop: a small pool of workers on one epoll set
 *
 * Every worker waits in epoll_wait() itself and takes one event at a time:
 * a new connection to accept, or a connection with bytes to read. It reads
 * what arrived, feeds it to the connection's conversation (conv.h), which
 * may run the checks (and wait on DNS), writes the replies, and gives the
 * connection back to epoll (EPOLLONESHOT: a connection is in one worker at
 * a time, so its commands are answered one at a time, in order). An idle
 * connection costs a descriptor and its conversation, never a thread.
 *
 * Only `pollers` workers (one per CPU we can keep busy, util/cpus.h) wait
 * on epoll at once; the others
 * stand by, and one takes a poller's turn when that poller is about to
 * wait for DNS or Redis (util/blocking.h) or has been on one command for a
 * second or more. More workers in epoll_wait() than CPUs only woke threads
 * that found the event taken (measured: about 6 such wakeups per message
 * behind Postfix, and a fifth of gatehouse's CPU).
 *
 * Bounds: at most max_connections open (one more is closed at once, logged
 * at most once a minute); a connection silent for session_timeout_s
 * inside an SMTP session, or for timeout_s before one or inside a frame, or
 * one that does not take a reply within timeout_s, is closed; a frame over the
 * protocol's limit ends its connection (wire.h).
 *
 * Threads: loop_run() starts the workers and keeps the clock (idle sweep,
 * liveness) in the calling thread; loop_stop() may be called from any
 * thread (it writes an eventfd every worker sees).
 */
#ifndef DAEMON_LOOP_H
#define DAEMON_LOOP_H

#include <stdbool.h>
#include <stddef.h>

struct milter_env;
struct logger;

struct loop_options {
	int listen_fd;
	long workers;
	long pollers; /* workers waiting on epoll at once; 0: cpus_usable() */
	long max_connections;
	long timeout_s;		/* silence outside a session or inside a frame; a reply's write */
	long session_timeout_s; /* silence inside an SMTP session, between frames */
};

struct loop;

/* loop_new - a loop over O.listen_fd for conversations lent ENV; NULL with the reason logged */
struct loop *loop_new(const struct loop_options *o, const struct milter_env *env,
		      const struct logger *log);
/* loop_run - serve until loop_stop(); 0, or -1 when epoll itself failed */
int loop_run(struct loop *l);
/* loop_alive - the clock thread turned lately and not every worker has been
 * on one command for longer than MAX_WAIT_S or quit on an error: for the
 * watchdog */
bool loop_alive(struct loop *l, long max_wait_s);
/* loop_stop - make loop_run return (workers finish the command in hand) */
void loop_stop(struct loop *l);
/* loop_free - close every connection (sessions end, summaries logged) and free */
void loop_free(struct loop *l);

#endif
