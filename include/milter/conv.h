/*
 * conv.h - one milter connection's conversation: bytes from the MTA in,
 * engine calls, replies and modifications out
 *
 * milter_conv_feed() takes whatever bytes arrived (any split), decodes each
 * whole frame (wire.h), checks that the command may come now, runs the
 * engine for it and appends the reply frames to OUT. It never blocks on
 * the network and knows no socket: the daemon's event loop reads and
 * writes, test code and the fuzzer feed bytes directly.
 *
 * What it answers, as libmilter did for gatehouse (README's design notes
 * list every kept and changed behaviour):
 *  - negotiation: protocol version min(6, the MTA's); actions add/change
 *    header and quarantine (a missing one is logged, and an edit that needs
 *    it tempfails at end of message); no reply to header fields, end of
 *    header and body chunks, no DATA and unknown steps, and no reply to
 *    connect and HELO unless a rule is decided there or the daemon is
 *    draining. A decision taken at a silent step is answered at the next
 *    step that has a reply (the engine repeats it).
 *  - a final action at MAIL, DATA, end of message or any silent step ends
 *    the message; at RCPT it refuses that recipient only; accept ends it.
 *  - a reject or tempfail with an SMTP reply goes out as a reply code
 *    ("550 5.7.1 text"), '%' doubled for Sendmail.
 *  - end of message: the header edits in order, the quarantine, accept; an
 *    edit the MTA did not allow becomes a tempfail: mail never passes
 *    without the changes policy asked for.
 *  - QUIT ends the conversation; QUIT_NC ends the SMTP session and waits
 *    for the next CONNECT on the same connection (Postfix's reuse).
 * Every protocol violation (a malformed frame, a command out of order, an
 * unknown command) ends the connection with one log line naming the peer
 * and the reason; the MTA then applies its default action (tempfail).
 *
 * Threads: one conversation is used by one thread at a time (the event loop
 * guarantees it); the environment is shared and read-only.
 */
#ifndef MILTER_CONV_H
#define MILTER_CONV_H

#include <stdbool.h>
#include <stddef.h>

struct config_slot;
struct logger;
struct services;
struct strbuf;

/* What the daemon lends every conversation. */
struct milter_env {
	struct config_slot *slot;
	const struct logger *log;
	const struct services *svc;
	void *ctx; /* passed to the callbacks */
	/* session_id - a new session id into BUF */
	void (*session_id)(void *ctx, char *buf, size_t len);
	/* conn_opened - count an SMTP session; false while draining (it is refused) */
	bool (*conn_opened)(void *ctx);
	/* conn_closed - a counted SMTP session ended */
	void (*conn_closed)(void *ctx);
	/* draining - SIGTERM was seen */
	bool (*draining)(void *ctx);
};

enum milter_conv_status {
	MILTER_CONV_OK,	   /* keep reading */
	MILTER_CONV_CLOSE, /* the MTA said QUIT: write OUT, then close */
	MILTER_CONV_ABORT  /* a protocol violation or a failure (logged): close now */
};

struct milter_conv;

/* milter_conv_new - a conversation with the peer named PEER (for logs); NULL on OOM */
struct milter_conv *milter_conv_new(const struct milter_env *env, const char *peer);
/* milter_conv_feed - N bytes from the MTA; replies are appended to OUT */
enum milter_conv_status milter_conv_feed(struct milter_conv *c, const void *data, size_t n,
					 struct strbuf *out);
/* milter_conv_in_session - between CONNECT and QUIT/QUIT_NC (for drain and timeouts) */
bool milter_conv_in_session(const struct milter_conv *c);
/* milter_conv_mid_frame - part of a command has arrived, not all of it */
bool milter_conv_mid_frame(const struct milter_conv *c);
/* milter_conv_free - end the session if one is open (summary logged) and free; accepts NULL */
void milter_conv_free(struct milter_conv *c);

#endif
