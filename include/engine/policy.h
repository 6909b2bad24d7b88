/*
 * policy.h - from what the checks found to one answer for the MTA
 *
 * Checks describe findings; only policy decides what a finding means for the
 * mail, using the configuration snapshot of the message. policy_fault() maps
 * one finding to a reply (action, SMTP code, enhanced code, text), stores it
 * in S->reply and, when it decides the message and not just one recipient,
 * in S->msg.verdict. Each fault has one row in policy.c with its reply, so
 * every code gatehouse sends is listed in one place.
 */
#ifndef POLICY_H
#define POLICY_H

#include "mail/verdict.h"

struct session;

enum policy_fault {
	FAULT_BAD_MAIL_FROM,	/* MAIL FROM path is not RFC 5321 */
	FAULT_BAD_RCPT,		/* RCPT TO path is not RFC 5321 */
	FAULT_TOO_MANY_RCPTS,	/* over max_recipients */
	FAULT_HEADER_NUL,	/* NUL byte in a header field */
	FAULT_HEADER_NAME,	/* empty or non-printable field name */
	FAULT_HEADER_LINE_LONG, /* physical line over max_header_line_octets */
	FAULT_TOO_MANY_HEADERS, /* over max_headers */
	FAULT_HEADERS_TOO_BIG,	/* over max_header_bytes */
	FAULT_NO_FROM,		/* no From header, require_from */
	FAULT_BAD_FROM,		/* no single author (DMARC): dmarc_bad_from_action */
	FAULT_INTERNAL		/* our own failure: on_internal_error */
};

/*
 * policy_fault - decide what FAULT found at PHASE means. DETAIL (may be NULL)
 * is appended to the reply text. Returns the action to answer with now;
 * CONTINUE when the configuration says the finding is only recorded.
 */
enum gh_action policy_fault(struct session *s, enum gh_phase phase, enum policy_fault fault,
			    const char *detail);

struct spf_identity;

/*
 * policy_spf - what the SPF result ID of the HELO (HELO true) or MAIL FROM
 * identity means for the message from CLIENT_IP claiming SENDER. Fills V
 * with the reply (550 5.7.23 fail, 550 5.7.24 permerror, 451 4.4.3
 * temperror, or the configured alternative) for PHASE and returns its
 * action; CONTINUE means accept and mark.
 */
enum gh_action policy_spf(struct session *s, bool helo, const struct spf_identity *id,
			  const char *client_ip, const char *sender, enum gh_phase phase,
			  struct verdict *v);

struct dmarc_outcome;

/*
 * policy_dmarc - what the DMARC outcome O for FROM_DOMAIN means at eom: the
 * domain's policy after pct and local overrides (already in O->disposition)
 * meets the configured actions. Fills V and returns the action; CONTINUE
 * means accept and mark.
 */
enum gh_action policy_dmarc(struct session *s, const struct dmarc_outcome *o,
			    const char *from_domain, struct verdict *v);

/* policy_fault_check_name - the check name a fault is recorded under */
const char *policy_fault_check_name(enum policy_fault fault);

#endif
