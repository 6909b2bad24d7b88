/*
 * engine_outbound.h - outbound policy at the SMTP phases: who may send as
 * whom, and DKIM signing for those who may
 *
 * Outbound is decided at MAIL (engine.c: {auth_authen}, never {auth_author},
 * which the client sets; internal_networks); engine_outbound_mail() adds the
 * MTA's {daemon_name} and checks MAIL FROM against the login. At the end of
 * the message engine_outbound_eom() (step 7 in engine.h: it may still
 * refuse) checks every From address and Sender, and refuses a line the MTA
 * could rewrap; engine_outbound_sign() (after step 8, the last header edit)
 * inserts one DKIM-Signature per key at index 0.
 *
 * The key is looked up by the From address that passed the identity check
 * for this login (OpenDKIM looks up the header From alone, so any user of
 * the host could get any hosted domain's signature).
 *
 * Writes reply and msg.verdict when it refuses (session.h); records checks
 * "sender" and "dkim.sign" for the summary and test mode.
 * Memory: per-message state hangs off msg.obm and is freed by
 * engine_outbound_msg_free() when the message ends (session.c).
 */
#ifndef ENGINE_OUTBOUND_H
#define ENGINE_OUTBOUND_H

#include <stddef.h>

#include "mail/verdict.h"

struct outbound_msg;
struct session;

/* engine_outbound_mail - direction by daemon name, MAIL FROM's owner;
 * CONTINUE, or the refusal (already in reply and msg.verdict) */
enum gh_action engine_outbound_mail(struct session *s);
/* engine_outbound_body - the body hash for signing */
void engine_outbound_body(struct session *s, const unsigned char *chunk, size_t len);
/* engine_outbound_eom - From and Sender owners, long lines; CONTINUE or the refusal */
enum gh_action engine_outbound_eom(struct session *s);
/* engine_outbound_sign - insert the signatures; GH_OK or GH_ERR_NOMEM */
int engine_outbound_sign(struct session *s);
/* engine_outbound_identity - MAIL FROM's identity check, for the rules:
 * "pass", "fail" (the message went on: sender_mismatch_action = unsigned)
 * or "none" (inbound mail, no map, not checked yet) */
const char *engine_outbound_identity(const struct session *s);
/* engine_outbound_msg_free - accepts NULL */
void engine_outbound_msg_free(struct outbound_msg *m);

#endif
