/*
 * blocking.h - a thread says it is about to wait for something slow
 *
 * The event loop lets only as many workers wait for events at once as there
 * are CPUs (daemon/loop.c); the other workers stand by. A worker about to
 * wait for the network (a DNS answer that is not there at once, a Redis
 * reply) calls blocking_begin() first, and the loop lets a standby worker
 * serve the other connections meanwhile. Nothing is needed when the wait
 * is over: the worker queues for its turn again when it is done.
 *
 * The hook is per thread: the loop installs one in each worker. Any other
 * thread (the control socket, the report writer, tests, the command-line
 * tools) has none, and blocking_begin() does nothing there.
 *
 * Why a thread-local hook and not a parameter: the waits happen below
 * callbacks we do not own (libspf2's DNS layer calls our resolver), where
 * no context can be passed down.
 */
#ifndef UTIL_BLOCKING_H
#define UTIL_BLOCKING_H

typedef void (*blocking_fn)(void *arg);

/* blocking_set - FN(ARG) is called by blocking_begin() in this thread;
 * NULL removes it */
void blocking_set(blocking_fn fn, void *arg);
/* blocking_begin - the calling thread is about to wait */
void blocking_begin(void);

#endif
