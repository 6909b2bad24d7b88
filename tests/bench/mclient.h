/*
 * mclient.h - the MTA side of the milter protocol (version 6), for the
 * benchmark's load generator.
 *
 * libmilter is the milter side only and Debian ships no client library,
 * so this is the small part of what Postfix's milter8.c does that a
 * benchmark needs: open the socket, negotiate options, send one command
 * with its macros, and read replies. It honours what the milter declines:
 * steps it asked not to see (SMFIP_NO*) are not sent and steps it answers
 * without a reply (SMFIP_NR_*) are not waited for.
 *
 * Threads: one struct mclient belongs to one thread at a time.
 * Memory: a reply's data lives in the client's buffer until the next read.
 */
#ifndef BENCH_MCLIENT_H
#define BENCH_MCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct mclient {
	int fd;
	uint32_t actions;	/* what the milter may do (SMFIF_*) */
	uint32_t protocol;	/* steps it declined or answers silently (SMFIP_*) */
	char *buf;		/* last packet read: command byte then data */
	size_t cap;
	size_t len;		/* data length (without the command byte) */
	int trace;		/* print every packet to stdout (dump mode) */
	const char *name;	/* label in the trace */
};

/* one reply packet: cmd is SMFIR_*, data/len its payload */
struct mclient_reply {
	char cmd;
	const char *data;
	size_t len;
};

/* mclient_open - connect to SPEC ("unix:/path", "inet:PORT@HOST") and
 * negotiate; 0 on success, -1 with a message on stderr */
int mclient_open(struct mclient *, const char *spec, int timeout_ms);

/* mclient_close - send SMFIC_QUIT and close; safe on a closed client */
void mclient_close(struct mclient *);

/* mclient_send - one packet: CMD and LEN bytes of DATA; 0 or -1 */
int mclient_send(struct mclient *, char cmd, const void *data, size_t len);

/* mclient_macros - SMFIC_MACRO for command STAGE from NULL-terminated
 * name/value pairs (names as libmilter wants them: "j", "{daemon_name}") */
int mclient_macros(struct mclient *, char stage, const char *const *pairs);

/* mclient_read - read one reply packet; 0 or -1 (closed, timeout, garbage) */
int mclient_read(struct mclient *, struct mclient_reply *);

/* mclient_wants - the milter wants step STEP_FLAG (an SMFIP_NO* flag) */
int mclient_wants(const struct mclient *, uint32_t no_flag);

/* mclient_replies - the milter answers step NR_FLAG (an SMFIP_NR_* flag) */
int mclient_replies(const struct mclient *, uint32_t nr_flag);

#endif
