/*
 * engine_ratelimit.h - the rate limits at RCPT and at end of message
 *
 * Glue between the SMTP phases and the limiter (outbound/ratelimit.h):
 * which scopes a message is charged to, the limits of the session's
 * snapshot, the refusal and its log line.
 *
 * Scopes: outbound mail only (an authenticated client or one in
 * internal_networks). The login is {auth_authen}; the sender domain is
 * MAIL FROM's; the client address counts only for unauthenticated clients
 * (relaying hosts on internal networks), an authenticated login being the
 * better key.
 *
 * At RCPT, before the recipient is added: a recipient that would take a
 * counter over its limit (one more message, or one more recipient) gets
 * 451 4.7.1 "rate limit ... try again in N s"; earlier recipients stay
 * accepted. With Redis failing and ratelimit_redis_fallback = tempfail,
 * 451 4.7.1 too. An accept rule exempts the message from the check (as
 * from every other check) but not from the charge.
 * At end of message (engine.h, step 9), for mail accepted or held: one
 * message and its accepted recipients are charged.
 *
 * Each refusal is logged with the counter, the limit and the counts; a
 * "ratelimit" check result is recorded (test mode shows it).
 */
#ifndef ENGINE_RATELIMIT_H
#define ENGINE_RATELIMIT_H

#include <stdbool.h>

#include "mail/verdict.h"

struct config;
struct ratelimit_limits;
struct session;

/* engine_ratelimit_limits - snapshot C's limits into L (also for
 * `gatehouse ratelimit`); false when no limit is set */
bool engine_ratelimit_limits(const struct config *c, struct ratelimit_limits *l);

/* engine_ratelimit_rcpt - GH_ACT_CONTINUE, or the recipient's refusal (in
 * S->reply); GH_ERR_NOMEM is answered as an internal error by the caller
 * through *FAILED */
enum gh_action engine_ratelimit_rcpt(struct session *s, bool *failed);
/* engine_ratelimit_eom - charge the accepted message; GH_OK or GH_ERR_NOMEM */
int engine_ratelimit_eom(struct session *s);

#endif
