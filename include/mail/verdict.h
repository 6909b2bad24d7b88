/*
 * verdict.h - what gatehouse answers for one SMTP phase, and header edits
 *
 * A verdict is the engine's whole answer to the MTA: an action, the phase it
 * was decided in, an SMTP reply (code, enhanced code, text) for reject and
 * tempfail, and a reason for logs and quarantine. Header edits are collected
 * separately and applied at end of message. The milter glue translates both
 * into libmilter calls; test mode prints them. Neither knows how they were
 * decided.
 *
 * Invariants kept by verdict_set(): a reject carries a 5xx code and a 5.x.x
 * enhanced code, a tempfail 4xx and 4.x.x; text holds no CR/LF or NUL.
 * Memory: text and reason point into the message arena (or static strings).
 */
#ifndef VERDICT_H
#define VERDICT_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

enum gh_action {
	GH_ACT_CONTINUE = 0, /* no decision yet: go on with the next phase */
	GH_ACT_ACCEPT,	     /* accept the message (or connection) unchanged from here */
	GH_ACT_REJECT,	     /* permanent failure, 5xx */
	GH_ACT_TEMPFAIL,     /* temporary failure, 4xx: the sender retries */
	GH_ACT_DISCARD,	     /* accept and silently drop */
	GH_ACT_QUARANTINE    /* accept into the MTA's hold queue */
};

enum gh_phase {
	GH_PH_NONE = 0,
	GH_PH_CONNECT,
	GH_PH_HELO,
	GH_PH_MAIL,
	GH_PH_RCPT,
	GH_PH_DATA,
	GH_PH_UNKNOWN,
	GH_PH_HEADER,
	GH_PH_EOH,
	GH_PH_BODY,
	GH_PH_EOM
};

struct verdict {
	enum gh_action action;
	enum gh_phase phase;
	char smtp_code[4];	/* "550"; empty for actions without a reply */
	char enhanced_code[16]; /* "5.7.1" */
	const char *text;	/* human text of the SMTP reply */
	const char *reason;	/* why, for logs and quarantine; may be NULL */
	const char *source;	/* which check decided, e.g. "sanity.from" */
};

/* verdict_action_name - "accept", "reject", ...; "continue" for CONTINUE */
const char *verdict_action_name(enum gh_action);
/* verdict_phase_name - "connect", "helo", "mail", "rcpt", ..., "eom" */
const char *verdict_phase_name(enum gh_phase);
/* verdict_is_final - true for every action but CONTINUE */
bool verdict_is_final(enum gh_action);

/*
 * verdict_set - fill V; CODE/ECODE are validated against ACTION (5xx for
 * reject, 4xx for tempfail) and TEXT is copied into ARENA with control
 * characters replaced by spaces. Returns 0, or -1 when code/ecode do not fit
 * the action (V is then left unchanged).
 */
int verdict_set(struct verdict *v, struct arena *arena, enum gh_action action, enum gh_phase phase,
		const char *code, const char *ecode, const char *text, const char *source);

/* verdict_smtp_code_ok - CODE is three digits whose class matches ACTION */
bool verdict_smtp_code_ok(enum gh_action action, const char *code);
/* verdict_enhanced_code_ok - ECODE is class.subject.detail (RFC 3463) matching ACTION */
bool verdict_enhanced_code_ok(enum gh_action action, const char *ecode);

enum hdr_edit_op {
	HDR_ADD,    /* append NAME: VALUE at the end of the header */
	HDR_INSERT, /* insert at position INDEX (0 = top) */
	HDR_CHANGE, /* replace the INDEX-th (1-based) header called NAME */
	HDR_REMOVE  /* delete the INDEX-th (1-based) header called NAME */
};

struct hdr_edit {
	enum hdr_edit_op op;
	const char *name;
	const char *value; /* NULL for HDR_REMOVE */
	unsigned index;
};

#endif
