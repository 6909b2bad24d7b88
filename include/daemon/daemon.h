/*
 * daemon.h - what the running daemon shares between its threads
 *
 * One struct daemon exists per process, built by main() before the milter
 * starts: the configuration slot, the logger, the session id source and the
 * count of connections in flight (for SIGTERM's drain). Everything in it is
 * either immutable after start, atomic, or guarded by its own lock.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "engine/services.h"
#include "milter/conv.h"
#include "util/log.h"

struct daemon {
	struct config_slot slot;
	struct logger log;
	struct services *svc;	 /* built once at start from the first snapshot */
	const char *config_path; /* NULL: built-in defaults */
	char id_prefix[8];	 /* differs between daemon starts */
	atomic_ulong next_session;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int active;    /* connections in flight, under LOCK */
	bool stopping; /* SIGTERM seen, under LOCK */
};

/* daemon_init - set up D with the first snapshot C (its reference moves in) */
void daemon_init(struct daemon *d, struct config *c, const char *config_path);
/* daemon_destroy - release what daemon_init set up */
void daemon_destroy(struct daemon *d);
/* daemon_session_id - a new session id, unique across restarts in practice */
void daemon_session_id(struct daemon *d, char *buf, size_t len);
/* daemon_milter_env - what every milter conversation borrows from D (ids,
 * drain, the snapshot, the services); D outlives every conversation */
void daemon_milter_env(struct daemon *d, struct milter_env *env);
/* daemon_conn_opened - count a new connection; false once draining has
 * begun (the caller refuses the connection) */
bool daemon_conn_opened(struct daemon *d);
/* daemon_conn_closed - a counted connection ended */
void daemon_conn_closed(struct daemon *d);
/* daemon_draining - SIGTERM has been seen (new connections are refused) */
bool daemon_draining(struct daemon *d);
/* daemon_drain - wait until no connection is in flight or TIMEOUT_MS passed;
 * returns the number still in flight */
int daemon_drain(struct daemon *d, long timeout_ms);
/* daemon_reload - load the config file again; on success swap it in, on
 * failure log every error and keep the running snapshot. Returns 0 or -1. */
int daemon_reload(struct daemon *d);

#endif
