/*
 * engine.h - the pure decision engine, one entry point per SMTP phase
 *
 * The milter glue (milter.c) and test mode (testmode.c) feed the same calls
 * in the same order: connect, helo*, then per message mail, rcpt*, data,
 * header*, eoh, body*, eom (or abort at any point). Each call runs the checks
 * that phase enables, asks policy for a decision, and returns the action to
 * answer the MTA with now; the full answer (SMTP code, enhanced code, text)
 * is in S->reply, header edits in S->msg.edits once eom returns.
 *
 * Semantics the callers rely on:
 *  - A final action at connect or helo holds for the whole connection.
 *  - A reject or tempfail at rcpt refuses that recipient only; the message
 *    goes on with the others.
 *  - Any other final action ends the message: the caller feeds nothing more
 *    of it (libmilter does not either). Further calls return that action.
 *  - Quarantine is only possible at eom (the MTA's rule); a quarantine
 *    decided earlier is held and returned by engine_eom.
 *  - An internal error (out of memory, broken invariant) becomes the
 *    configured on_internal_error answer: tempfail 451 4.3.0 by default,
 *    never a silent accept of mail that policy would reject.
 *
 * End of message (engine_eom), in this order; the numbers are the ones in
 * engine_eom's comments. Out of memory at any step is answered as an
 * internal error (on_internal_error, above).
 *  1. A connection or message already decided: its verdict is repeated and
 *     nothing else runs.
 *  2. End of header, when the MTA skipped it (sanity.from, the eoh rules).
 *  3. DKIM: each signature's result (engine_auth_dkim_eom).
 *  4. The rules' MIME walk ends; a truncated walk is recorded.
 *  5. DMARC (engine_auth_dmarc): author, policy, local overrides; its
 *     verdict is decided, not applied. A From without a single author is
 *     answered here through policy (a quarantine is held).
 *  6. The eom rules: reject, tempfail or discard end the message; a
 *     quarantine is held; accept keeps step 7 from applying.
 *  7. DMARC's verdict, unless an accept rule holds: with spf_reject_at =
 *     dmarc, MAIL FROM's held SPF answer first meets DMARC's (dropped when
 *     DMARC passed through an aligned DKIM signature, else it answers when
 *     DMARC does not refuse or tempfail itself); a quarantine is held
 *     (unless one already is), reject or tempfail end the message.
 *     Then the outbound checks (engine_outbound_eom), while a refusal is
 *     still possible: every From and Sender address must belong to the
 *     login, and mail to sign must have no line over 998 octets.
 *  8. Header edits (engine_edits_eom): Received-SPF, the status header,
 *     Authentication-Results; a held message gets them too.
 *     Then DKIM signing (engine_outbound_sign), after the last edit it
 *     must cover: one DKIM-Signature per key, inserted at index 0.
 *  9. The verdict: the held quarantine, or accept, into S->reply and
 *     S->msg.verdict; the summary line is logged.
 * 10. Rate limits (engine_ratelimit_eom): the message, accepted or held,
 *     and its accepted recipients are charged to its counters; mail
 *     refused at any step above costs nothing. (Checked at each RCPT.)
 *     Metrics count the message with its summary line (session.c calls
 *     engine_metrics_message() wherever that line is written), so a
 *     message refused or ended at any earlier step is counted as well.
 * Which module may write which verdict slot is listed in session.h.
 *
 * The engine has no libmilter, no sockets and no syslog: it logs through
 * struct logger, whose sink the caller chose.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>

#include "mail/verdict.h"

struct session;

/* engine_connect - HOST as the MTA resolved it, IP as text (NULL: local, no address) */
enum gh_action engine_connect(struct session *, const char *host, const char *ip);
enum gh_action engine_helo(struct session *, const char *helo);
/* engine_mail - ARGV[0] is the path, the rest ESMTP parameters; AUTH_LOGIN may be NULL */
enum gh_action engine_mail(struct session *, const char *const *argv, const char *auth_login);
enum gh_action engine_rcpt(struct session *, const char *const *argv);
enum gh_action engine_data(struct session *);
enum gh_action engine_unknown(struct session *, const char *command);
/* engine_header - VALUE has LEN bytes (NUL bytes included, as seen in test
 * mode), as a milter gets it without SMFIP_HDR_LEADSPC: one SP after the
 * colon taken away if there was one, which is then assumed */
enum gh_action engine_header(struct session *, const char *name, const char *value, size_t len);
/* engine_header_raw - the same with RAW all that followed the colon, the
 * space too (SMFIP_HDR_LEADSPC): DKIM's "simple" header canonicalization
 * needs to know whether the space was there */
enum gh_action engine_header_raw(struct session *, const char *name, const char *raw, size_t len);
enum gh_action engine_eoh(struct session *);
enum gh_action engine_body(struct session *, const unsigned char *chunk, size_t len);
enum gh_action engine_eom(struct session *);
/* engine_abort - the MTA dropped the message; state is reset, summary logged */
void engine_abort(struct session *);

#endif
