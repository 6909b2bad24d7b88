/*
 * control.h - the daemon's local control socket (`gatehouse ratelimit`, `gatehouse stats`)
 *
 * A unix stream socket at control_socket, mode 0600 and owned by the user
 * the daemon runs as, answered by one thread of its own: a client writes one
 * line, the daemon answers with lines and closes. Only root and the
 * daemon's own user are answered (SO_PEERCRED), whatever the file's mode.
 *
 *   show [KEY]   the in-process rate-limit counters (all live ones, or KEY;
 *                a KEY without "msg:"/"rcpt:" names both), one per line as
 *                ratelimit_describe() writes it, then "ok N"
 *   reset KEY    forget KEY (or both of its kinds); "ok N" counts the ones gone
 *   metrics      the metrics in Prometheus's text format, as the endpoint
 *                serves them (`gatehouse stats`)
 *
 * Anything else is answered "error: ...". A request line is at most
 * CONTROL_MAX_LINE bytes and must arrive within a second.
 *
 * Threads: control_open() starts the thread, control_close() stops and joins
 * it; the thread reads the daemon's services and snapshot slot, which
 * outlive it.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <stdio.h>

struct config;
struct config_slot;
struct logger;
struct ratelimit;
struct services;

#define CONTROL_MAX_LINE 4096

struct control;

/*
 * control_open - bind C's control_socket (before privileges are dropped),
 * owned by C's user; NULL when none is configured or on failure (logged:
 * the daemon runs without it)
 */
struct control *control_open(const struct config *c, struct config_slot *slot, struct services *svc,
			     const struct logger *log);
/* control_close - stop the thread, remove the socket; accepts NULL */
void control_close(struct control *ctl);

/* control_answer - the reply to one request LINE about RL's in-process
 * counters, with C's limits */
void control_answer(FILE *out, const char *line, const struct config *c, struct ratelimit *rl);

/* control_metrics - the reply to "metrics": SVC's counters as exposition text */
void control_metrics(FILE *out, const struct services *svc);

/* control_request - the client side: one REQUEST line to the daemon's
 * socket at PATH, its answer copied to OUT; 0, or 1 when it cannot be
 * reached (the reason on stderr) */
int control_request(const char *path, const char *request, FILE *out);

#endif
