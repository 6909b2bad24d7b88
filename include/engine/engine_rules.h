/*
 * engine_rules.h - the rule language inside the engine
 *
 * The engine calls engine_rules_phase() at connect, helo, mail (after the
 * SPF check, before its policy), each rcpt (before the recipient is
 * accepted), eoh and eom (after DKIM and DMARC results, before DMARC's
 * policy). It evaluates the rules decided at that phase in file order and
 * applies the first terminal action:
 *  - reject/tempfail at rcpt refuse that recipient only; elsewhere the message
 *    (at connect/helo: every message of the connection);
 *  - discard ends the message; quarantine is held to eom;
 *  - accept stops rule evaluation and keeps checks (SPF, DMARC) from refusing
 *    the message; their results are still recorded and added as headers.
 *    At rcpt it exempts that recipient only: the next recipients get their
 *    rules, and whatever refuses per recipient refuses them. A decision for
 *    the whole message (eoh and eom rules, DMARC, SPF decided at eom) counts
 *    the exemptions only when every recipient the message still has was
 *    exempted; otherwise it runs as if no recipient had been. The two
 *    questions the engine asks are engine_rules_exempt() (one recipient)
 *    and engine_rules_accepted() (the message);
 *  - monitor and add-header record the hit and go on.
 * Every hit is in results.rules (name, action, file, line) and the log.
 *
 * A rule without an answer (a pattern at a PCRE2 limit, a failed prefilter
 * scan, and the rest of the condition does not decide): a rule that
 * rejects, tempfails, discards or quarantines answers rules_fault_action
 * instead (tempfail 451 4.7.1 by default, source "rules.limit"); accept,
 * monitor and add-header rules count it as no match. Rules share one time
 * budget per message (rules_budget_ms); past it the answer is tempfail 451
 * 4.7.1 (source "rules.budget"), at rcpt for that recipient. Both are logged
 * with the rule and recorded as checks (rules.limit, rules.budget).
 *
 * engine_rules_body() feeds the MIME walk and the raw body copy, only when
 * the rule set looks at them.
 */
#ifndef ENGINE_RULES_H
#define ENGINE_RULES_H

#include <stddef.h>

#include "mail/verdict.h"

struct address;
struct session;

/*
 * engine_rules_phase - decide PHASE's rules (RCPT: for recipient RCPT).
 * Returns the action to answer now: CONTINUE, or the final action whose
 * reply is in S->reply (and in S->msg.verdict when it ends the message).
 * -1 cast as GH_ACT_CONTINUE never happens: internal errors go through
 * policy like every other engine failure, reported via *FAILED.
 */
enum gh_action engine_rules_phase(struct session *s, enum gh_phase phase,
				  const struct address *rcpt, bool *failed);
/* engine_rules_body - a body chunk for the rules; 0 or -1 (out of memory) */
int engine_rules_body(struct session *s, const unsigned char *chunk, size_t len);
/* engine_rules_accepted - an accept rule holds for the whole message: one
 * decided at connect, helo, mail, eoh or eom, or rcpt accepts that exempted
 * every recipient the message has (at MAIL: none yet, so only the former) */
bool engine_rules_accepted(const struct session *s);
/* engine_rules_exempt - an accept rule holds for recipient RCPT (the one
 * engine_rules_phase() was just given at RCPT, or one of msg.rcpts): the
 * message's accept, or one decided for RCPT itself */
bool engine_rules_exempt(const struct session *s, const struct address *rcpt);

#endif
