/*
 * engine_ratelimit.c - the rate limits at RCPT and at end of message (see
 * engine_ratelimit.h)
 *
 * The limits are parsed from the snapshot's strings at each call: six
 * short strings cost well under a microsecond, and it keeps the limits in
 * the snapshot (a reload changes them at the next message) while the
 * counters stay in the service.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "conf/rate_overrides.h"
#include "conf/rate_spec.h"
#include "engine/engine_metrics.h"
#include "engine/engine_ratelimit.h"
#include "engine/engine_rules.h"
#include "engine/session.h"
#include "outbound/ratelimit.h"
#include "util/arena.h"
#include "util/gh.h"
#include "util/log.h"

bool engine_ratelimit_limits(const struct config *c, struct ratelimit_limits *l)
{
	const char *msg[RATELIMIT_NSCOPES] = { c->ratelimit_login, c->ratelimit_sender_domain,
					       c->ratelimit_client };
	const char *rcpt[RATELIMIT_NSCOPES] = { c->ratelimit_login_rcpt,
						c->ratelimit_sender_domain_rcpt,
						c->ratelimit_client_rcpt };
	bool any = false;

	memset(l, 0, sizeof(*l));
	/* validated at load: a parse failure leaves the limit unset */
	for (int i = 0; i < RATELIMIT_NSCOPES; i++) {
		(void)rate_spec_parse(msg[i], &l->msg[i]);
		(void)rate_spec_parse(rcpt[i], &l->rcpt[i]);
		any = any || l->msg[i].set || l->rcpt[i].set;
	}
	l->overrides = &c->ratelimit_override_table;
	any = any || l->overrides->n > 0;
	switch (c->ratelimit_redis_fallback) {
	case CONFIG_RL_FALLBACK_ACCEPT:
		l->fallback = RATELIMIT_FALLBACK_ACCEPT;
		break;
	case CONFIG_RL_FALLBACK_TEMPFAIL:
		l->fallback = RATELIMIT_FALLBACK_TEMPFAIL;
		break;
	default:
		l->fallback = RATELIMIT_FALLBACK_LOCAL;
	}
	return any;
}

/* engine_ratelimit_subject - who the current message is charged to, each
 * in the one spelling counters are named with (rate_overrides_value: the
 * overrides file and `gatehouse ratelimit` name them so too); GH_OK, or
 * GH_ERR_NOMEM */
static int engine_ratelimit_subject(const struct session *s, struct ratelimit_subject *subj)
{
	const struct message *m = &s->msg;
	const char *v[RATELIMIT_NSCOPES] = { NULL, NULL, NULL };

	memset(subj, 0, sizeof(*subj));
	if (!m->outbound)
		return GH_OK;
	v[RATELIMIT_LOGIN] = m->auth_login;
	if (m->from_parsed)
		v[RATELIMIT_DOMAIN] = m->from.domain;
	if (m->auth_login == NULL)
		v[RATELIMIT_CLIENT] = s->client_ip;
	for (int i = 0; i < RATELIMIT_NSCOPES; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			continue; /* that scope is left out */
		subj->value[i] = rate_overrides_value(s->msg_arena, ratelimit_scope_name(i), v[i]);
		if (subj->value[i] == NULL)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}

static int64_t engine_ratelimit_now_us(void)
{
	struct timespec ts;

	/* the wall clock: a fleet shares its counters' times through Redis */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* engine_ratelimit_redis_log - Redis went away or came back: say so once */
static void engine_ratelimit_redis_log(struct session *s, const struct ratelimit_answer *ans,
				       const struct ratelimit_limits *l)
{
	static const char *const what[] = { "counting locally", "accepting unlimited",
					    "tempfailing" };

	if (!ans->redis_changed)
		return;
	if (ans->local)
		session_log(s->log, s, LOG_WARNING, "ratelimit: redis failed (%s): %s",
			    ratelimit_redis_error(s->ratelimit), what[l->fallback]);
	else
		session_log(s->log, s, LOG_NOTICE, "ratelimit: redis is back: shared counting");
}

enum gh_action engine_ratelimit_rcpt(struct session *s, bool *failed)
{
	struct message *m = &s->msg;
	struct ratelimit_limits l;
	struct ratelimit_subject subj;
	struct ratelimit_answer ans;
	const char *text, *detail;
	long wait_s;

	*failed = false;
	if (s->ratelimit == NULL || !engine_ratelimit_limits(s->cfg, &l))
		return GH_ACT_CONTINUE;
	if (engine_ratelimit_subject(s, &subj) != GH_OK) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	if (!ratelimit_active(&l, &subj) || engine_rules_accepted(s))
		return GH_ACT_CONTINUE;
	if (ratelimit_check(s->ratelimit, &l, &subj, (long)m->nrcpts + 1, engine_ratelimit_now_us(),
			    &ans) != GH_OK) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	engine_ratelimit_redis_log(s, &ans, &l);
	engine_metrics_ratelimit(s->metrics, &ans, (int)l.fallback);
	if (ans.failed) {
		session_log(s->log, s, LOG_WARNING,
			    "ratelimit: redis failed and ratelimit_redis_fallback = tempfail");
		if (session_add_check(s, "ratelimit", "temperror", "redis unavailable") != GH_OK ||
		    verdict_set(&s->reply, s->msg_arena, GH_ACT_TEMPFAIL, GH_PH_RCPT, "451",
				"4.7.1", "rate limit service unavailable, try again later",
				"ratelimit") != 0)
			*failed = true;
		return *failed ? GH_ACT_CONTINUE : GH_ACT_TEMPFAIL;
	}
	if (!ans.refused)
		return GH_ACT_CONTINUE;
	wait_s = (long)((ans.wait_us + 999999) / 1000000);
	session_log(s->log, s, LOG_NOTICE,
		    "ratelimit: refused key=%s:%s:%s limit=%ld/%lds burst=%ld asked=%ld "
		    "available=%ld wait=%lds%s",
		    ans.kind, ratelimit_scope_name(ans.scope), ans.value, ans.spec->count,
		    ans.spec->period_s, ans.spec->burst, ans.asked, ans.available, wait_s,
		    ans.local ? " store=local" : "");
	detail = arena_printf(s->msg_arena, "%s:%s:%s over %ld/%lds, wait %lds", ans.kind,
			      ratelimit_scope_name(ans.scope), ans.value, ans.spec->count,
			      ans.spec->period_s, wait_s);
	text = arena_printf(s->msg_arena, "rate limit reached for this %s, try again in %ld s",
			    ans.scope == RATELIMIT_LOGIN    ? "login"
			    : ans.scope == RATELIMIT_DOMAIN ? "sender domain"
							    : "client",
			    wait_s);
	if (detail == NULL || text == NULL ||
	    session_add_check(s, "ratelimit", "fail", detail) != GH_OK ||
	    verdict_set(&s->reply, s->msg_arena, GH_ACT_TEMPFAIL, GH_PH_RCPT, "451", "4.7.1", text,
			"ratelimit") != 0) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	return GH_ACT_TEMPFAIL;
}

int engine_ratelimit_eom(struct session *s)
{
	struct ratelimit_limits l;
	struct ratelimit_subject subj;
	struct ratelimit_answer ans;

	if (s->ratelimit == NULL || !engine_ratelimit_limits(s->cfg, &l))
		return GH_OK;
	if (engine_ratelimit_subject(s, &subj) != GH_OK)
		return GH_ERR_NOMEM;
	if (!ratelimit_active(&l, &subj))
		return GH_OK;
	if (ratelimit_charge(s->ratelimit, &l, &subj, (long)s->msg.nrcpts,
			     engine_ratelimit_now_us(), &ans) != GH_OK)
		return GH_ERR_NOMEM;
	engine_ratelimit_redis_log(s, &ans, &l);
	return GH_OK;
}
