/*
 * engine_auth.h - the SPF, DKIM and DMARC glue of the engine (engine-internal)
 *
 * What connects the auth/ modules to a session: engine.c's phases call these
 * to run a check with the message's configuration, resolver and DNS budget,
 * and to store what it found in S->msg.results (and the Received-SPF value
 * in S->msg.received_spf). Local overrides of DMARC (trusted forwarders,
 * exempt recipients, dmarc_reject_when_none) are applied here.
 *
 * These functions decide but do not answer: a verdict a check asks for is
 * handed back to the caller, which alone writes S->reply and the message's
 * verdict slots (session.h lists who writes which). The only slot writes
 * below happen inside policy_fault(), for a From without a single author and
 * for policy's own out-of-memory answer.
 *
 * Outbound mail (S->msg.outbound) is neither SPF-checked, DKIM-verified nor
 * DMARC-evaluated. Out of memory is GH_ERR_NOMEM; the caller turns it into
 * its internal-error answer.
 */
#ifndef ENGINE_AUTH_H
#define ENGINE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/verdict.h"

struct session;

/*
 * engine_auth_spf - at MAIL FROM: SPF for the HELO and MAIL FROM identities
 * into S->msg.results, and the Received-SPF value when spf_received_header
 * asks for it; outbound mail and trusted forwarders are recorded as skipped.
 * GH_OK or GH_ERR_NOMEM.
 */
int engine_auth_spf(struct session *s);
/*
 * engine_auth_spf_policy - what the SPF results mean when answered at AT
 * (spf_reject_at): CONTINUE (accept and mark), or a final action whose reply
 * is in *V, V->phase saying when it is answered (with AT = GH_PH_EOM, a
 * HELO answer still comes at GH_PH_RCPT). A failure inside policy is
 * already answered (S->msg.verdict).
 */
enum gh_action engine_auth_spf_policy(struct session *s, enum gh_phase at, struct verdict *v);

/* engine_auth_dkim_start - before the message's first header field is stored:
 * begin verification (inbound, with a verifier). GH_OK or GH_ERR_NOMEM. */
int engine_auth_dkim_start(struct session *s);
/* engine_auth_dkim_header, _eoh, _body - feed the verification, if one runs;
 * what libopendkim cannot take costs only the DKIM results, never the message */
void engine_auth_dkim_header(struct session *s, const char *name, const char *value, size_t len,
			     bool space);
void engine_auth_dkim_eoh(struct session *s);
void engine_auth_dkim_body(struct session *s, const unsigned char *chunk, size_t len);
/* engine_auth_dkim_eom - at end of message: every signature's result into
 * S->msg.results (and the log). GH_OK or GH_ERR_NOMEM. */
int engine_auth_dkim_eom(struct session *s);

/*
 * engine_auth_dmarc - RFC 9989 at end of message (after the DKIM results):
 * the author, the domain's policy, the local overrides. Returns GH_OK with
 * *A the action DMARC asks for: CONTINUE (nothing to enforce, an override,
 * outbound mail), or a final action whose reply is in *V, to be applied by
 * the caller. A From without a single author is answered through
 * policy_fault() (dmarc_bad_from_action) and *A is its action (CONTINUE when
 * that is a quarantine, held in S->msg.pending); a bounce whose From has an
 * empty address ("MAILER-DAEMON <>" with MAIL FROM <>) is dmarc=none.
 * dmarc_exempt_recipients exempts the message only when every recipient
 * is exempt. S->msg.dmarc_dkim_aligned says whether DMARC passed through
 * an aligned DKIM signature. GH_ERR_NOMEM: *V is untouched.
 */
int engine_auth_dmarc(struct session *s, enum gh_action *a, struct verdict *v);

#endif
