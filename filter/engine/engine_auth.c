/*
 * engine_auth.c - SPF, DKIM and DMARC inside the engine (see engine_auth.h)
 *
 * Contract: runs the auth/ checks for the session's current message and
 * records their results (S->msg.results, S->msg.received_spf, the checks
 * list); decisions go back to engine.c, which writes the verdict slots.
 * Only policy_fault(), called for a From without a single author and by
 * policy on its own failures, writes a slot from here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "conf/config.h"
#include "engine/engine_auth.h"
#include "engine/policy.h"
#include "engine/session.h"
#include "mail/author.h"
#include "mail/idn.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "util/gh.h"
#include "util/log.h"
#include "util/strlist.h"

/* engine_auth_alabel_name - NAME in A-labels for DNS (RFC 8616); a name
 * that is no valid IDN stays as it is, and DNS finds nothing under it.
 * NULL only when memory ran out. */
static const char *engine_auth_alabel_name(struct session *s, const char *name)
{
	const char *out, *why;
	int rc = idn_domain(s->msg_arena, name, &out, &why);

	if (rc < 0)
		return NULL;
	return rc == IDN_OK ? out : name;
}

/* engine_auth_alabel_address - local@domain with the domain in A-labels */
static const char *engine_auth_alabel_address(struct session *s, const struct address *a)
{
	const char *d;

	if (a->domain == NULL || *a->domain == '\0')
		return a->addr;
	if ((d = engine_auth_alabel_name(s, a->domain)) == NULL)
		return NULL;
	if (strcmp(d, a->domain) == 0)
		return a->addr;
	return arena_printf(s->msg_arena, "%s@%s", a->local, d);
}

/* engine_spf_one - evaluate one identity into DST */
static int engine_spf_one(struct session *s, const struct spf_query *q, enum spf_which which,
			  struct spf_identity *dst)
{
	struct spf_outcome o;
	int rc = spf_check(s->spf, s->dns, &s->dns_budget, s->msg_arena, q, which, &o);

	dst->result = o.result;
	dst->domain = o.domain;
	dst->reason = o.reason;
	dst->explanation = o.explanation;
	session_log(s->log, s, LOG_DEBUG, "spf %s %s: %s (%s)", o.identity,
		    o.domain ? o.domain : "-", ar_result_name(o.result), o.reason ? o.reason : "-");
	return rc;
}

/* engine_auth_spf - SPF for HELO and MAIL FROM, unless the mail is outbound,
 * comes from a trusted forwarder or there is no resolver */
int engine_auth_spf(struct session *s)
{
	struct message *m = &s->msg;
	struct spf_query q = {
		.client_ip = s->client_ip,
		.helo = engine_auth_alabel_name(s, s->helo ? s->helo : ""),
		.mailfrom = m->from.is_null ? "" : engine_auth_alabel_address(s, &m->from),
		.receiver = s->cfg->authserv_id,
	};
	struct spf_outcome o;

	if (q.helo == NULL || q.mailfrom == NULL)
		return GH_ERR_NOMEM;
	if (m->outbound)
		return session_add_check(s, "spf", "skipped", "outbound mail");
	if (cidr_list_match(&s->cfg->trusted_fwd, s->client_ip))
		return session_add_check(s, "spf", "skipped", "trusted forwarder");
	if (s->dns == NULL || strcmp(s->client_ip, "unknown") == 0)
		return GH_OK;
	if (s->cfg->spf_check_helo &&
	    engine_spf_one(s, &q, SPF_CHECK_HELO, &m->results.spf_helo) != 0)
		return GH_ERR_NOMEM;
	if (m->from.is_null && s->cfg->spf_check_helo) {
		/* The MAIL FROM identity of a bounce is postmaster@HELO: the
		 * same evaluation, not a second round of DNS. */
		m->results.spf_mailfrom = m->results.spf_helo;
	} else if (engine_spf_one(s, &q, SPF_CHECK_MAILFROM, &m->results.spf_mailfrom) != 0) {
		return GH_ERR_NOMEM;
	}
	if (s->cfg->spf_received_header) {
		o.result = m->results.spf_mailfrom.result;
		o.domain = m->results.spf_mailfrom.domain;
		o.reason = m->results.spf_mailfrom.reason;
		o.identity = m->from.is_null ? "helo" : "mailfrom";
		o.sender = m->from.is_null ? arena_printf(s->msg_arena, "postmaster@%s", q.helo)
					   : m->from.addr;
		m->received_spf = o.sender ? spf_received_header(s->msg_arena, &o, &q,
								 s->cfg->authserv_id)
					   : NULL;
		if (m->received_spf == NULL)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}

/* engine_auth_spf_policy - the HELO identity first (not for a bounce, whose
 * MAIL FROM identity is the HELO one), then MAIL FROM */
enum gh_action engine_auth_spf_policy(struct session *s, enum gh_phase at, struct verdict *v)
{
	struct message *m = &s->msg;
	const char *sender = m->from.is_null ? "<>" : m->from.addr;
	enum gh_action a = GH_ACT_CONTINUE;

	/* spf_reject_at = dmarc holds only MAIL FROM's answer for eom; HELO's
	 * is answered at RCPT, as before */
	enum gh_phase helo_at = at == GH_PH_EOM ? GH_PH_RCPT : at;

	if (m->results.spf_helo.result != AR_UNSET && !m->from.is_null)
		a = policy_spf(s, true, &m->results.spf_helo, s->client_ip, sender, helo_at, v);
	if (!verdict_is_final(a))
		a = policy_spf(s, false, &m->results.spf_mailfrom, s->client_ip, sender, at, v);
	return a;
}

/* engine_auth_dkim_start - begin verification with the message's first header
 * field; inbound mail only (outbound mail is signed, not verified) */
int engine_auth_dkim_start(struct session *s)
{
	struct message *m = &s->msg;
	struct dkim_options o = {
		.max_signatures = (unsigned)s->cfg->dkim_max_signatures,
		.min_key_bits = (unsigned)s->cfg->dkim_min_key_bits,
		.allow_body_length = s->cfg->dkim_allow_body_length,
	};

	if (s->dkim == NULL || m->dkim != NULL || m->outbound || m->nheaders > 0)
		return GH_OK;
	m->dkim = dkim_msg_new(s->dkim, &o, m->id);
	return m->dkim != NULL ? GH_OK : GH_ERR_NOMEM;
}

void engine_auth_dkim_header(struct session *s, const char *name, const char *value, size_t len,
			     bool space)
{
	/* A field libopendkim cannot take only costs that message its DKIM
	 * results (each signature then reports why); it is not an error. */
	if (s->msg.dkim != NULL)
		(void)dkim_msg_header(s->msg.dkim, name, value, len, space);
}

void engine_auth_dkim_eoh(struct session *s)
{
	struct author au;

	if (s->msg.dkim == NULL)
		return;
	/* the From domain orders the signatures to check (dkim.h); without
	 * memory for it they are checked in header order */
	if (session_author(s, &au) == GH_OK && au.status == AUTHOR_OK)
		(void)dkim_msg_set_author(s->msg.dkim, au.domain);
	(void)dkim_msg_eoh(s->msg.dkim);
}

void engine_auth_dkim_body(struct session *s, const unsigned char *chunk, size_t len)
{
	if (s->msg.dkim != NULL)
		(void)dkim_msg_body(s->msg.dkim, chunk, len);
}

int engine_auth_dkim_eom(struct session *s)
{
	struct message *m = &s->msg;
	struct results *r = &m->results;

	if (m->dkim == NULL)
		return GH_OK;
	r->dkim_checked = true;
	if (dkim_msg_eom(m->dkim, &s->dns_budget, s->msg_arena, &r->dkim, &r->ndkim) != 0)
		return GH_ERR_NOMEM;
	for (size_t i = 0; i < r->ndkim; i++)
		session_log(s->log, s, LOG_DEBUG, "dkim d=%s s=%s a=%s: %s%s%s",
			    r->dkim[i].domain ? r->dkim[i].domain : "-",
			    r->dkim[i].selector ? r->dkim[i].selector : "-",
			    r->dkim[i].algorithm ? r->dkim[i].algorithm : "-",
			    ar_result_name(r->dkim[i].result), r->dkim[i].reason ? ": " : "",
			    r->dkim[i].reason ? r->dkim[i].reason : "");
	return GH_OK;
}

/* list_has - LIST ("a, b c") contains WORD, ignoring ASCII case; a list
 * item ending in '@' matches WORD's local part (WORD is local@domain) */
static bool list_has(const char *list, const char *word, bool local_parts)
{
	const char *cur = list, *p;
	size_t len;

	while (strlist_next(&cur, &p, &len)) {
		if (local_parts && p[len - 1] == '@') {
			const char *at = strrchr(word, '@');

			if (at != NULL && (size_t)(at - word) == len - 1 &&
			    strncasecmp(word, p, len - 1) == 0)
				return true;
		} else if (strlen(word) == len && strncasecmp(word, p, len) == 0) {
			return true;
		}
	}
	return false;
}

/* engine_dmarc_override - a local reason not to enforce the domain's
 * policy. An exemption never delivers a failing message to a recipient
 * who is not exempt: dmarc_exempt_recipients holds only when every
 * recipient is exempt, so the sender can still write to postmaster@ alone
 * and a forgery sent to bob@ and postmaster@ together is refused for both.
 * *PARTIAL gets the exempt recipients that did not hold, or NULL. */
static const char *engine_dmarc_override(struct session *s, const char **partial)
{
	const struct message *m = &s->msg;
	const char *exempt = NULL, *other = NULL;

	*partial = NULL;
	if (cidr_list_match(&s->cfg->trusted_fwd, s->client_ip))
		return "trusted forwarder";
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (!list_has(s->cfg->dmarc_exempt_recipients, m->rcpts[i].addr, true))
			other = other ? other : m->rcpts[i].addr;
		else if (exempt == NULL)
			exempt = m->rcpts[i].addr;
	}
	if (exempt == NULL)
		return NULL;
	if (other != NULL) {
		*partial = arena_printf(s->msg_arena,
					"exempt recipient %s, but %s is not: the policy applies "
					"to the message",
					exempt, other);
		return NULL;
	}
	return m->nrcpts == 1 ? arena_printf(s->msg_arena, "exempt recipient %s", exempt)
			      : arena_printf(s->msg_arena, "exempt recipients (%zu, all of them)",
					     m->nrcpts);
}

/* engine_dmarc_record - the outcome into the results, for the headers,
 * the report and the summary */
static void engine_dmarc_record(struct session *s, const char *domain,
				const struct dmarc_outcome *o)
{
	struct dmarc_result *d = &s->msg.results.dmarc;

	d->result = o->result;
	d->from_domain = domain;
	d->policy = dmarc_policy_name(o->policy);
	d->policy_tag = o->policy_tag;
	d->testing = o->testing;
	d->disposition = dmarc_policy_name(o->disposition);
	d->why_policy = o->why_policy;
	d->record_domain = o->record_domain;
	d->org_domain = o->org_domain;
	d->reason = o->reason;
	d->ignored = o->ignored;
}

/* engine_auth_dmarc - the author, the policy, the verdict; not for outbound
 * mail */
int engine_auth_dmarc(struct session *s, enum gh_action *a, struct verdict *v)
{
	struct message *m = &s->msg;
	struct results *r = &m->results;
	struct author au;
	struct dmarc_outcome o;
	struct dmarc_input in;
	const char *override, *partial;

	*a = GH_ACT_CONTINUE;
	if (s->dns == NULL || m->outbound)
		return GH_OK;
	if (session_author(s, &au) != GH_OK)
		return GH_ERR_NOMEM;
	if (au.status == AUTHOR_EMPTY && m->from_parsed && m->from.is_null) {
		/* A bounce ("From: MAILER-DAEMON <>", MAIL FROM <>): there is
		 * no author domain to protect, so there is no DMARC result to
		 * enforce; not a malformed author. */
		r->dmarc.result = AR_NONE;
		r->dmarc.reason = "bounce with an empty From address";
		return session_add_check(s, "dmarc.from", "none", r->dmarc.reason);
	}
	if (au.status != AUTHOR_OK) {
		/* Any other From without one author keeps its answer; an empty
		 * address outside a bounce reads as no usable address. */
		enum author_status st = au.status == AUTHOR_EMPTY ? AUTHOR_UNPARSEABLE : au.status;
		enum gh_action fa;

		r->dmarc.result = AR_PERMERROR;
		r->dmarc.reason = author_status_text(st);
		if (session_add_check(s, "dmarc.from", "fail", author_status_text(st)) != GH_OK)
			return GH_ERR_NOMEM;
		fa = policy_fault(s, GH_PH_EOM, FAULT_BAD_FROM, author_status_text(st));
		*a = fa == GH_ACT_QUARANTINE ? GH_ACT_CONTINUE : fa;
		return GH_OK;
	}
	in = (struct dmarc_input){
		.from_domain = au.domain,
		.spf = r->spf_mailfrom.result,
		.spf_domain = engine_auth_alabel_name(
			s, r->spf_mailfrom.domain ? r->spf_mailfrom.domain : ""),
		.dkim = r->dkim,
		.ndkim = r->ndkim,
	};
	if (in.spf_domain == NULL)
		return GH_ERR_NOMEM;
	if (dmarc_evaluate(s->dns, &s->dns_budget, s->msg_arena, &in, &o) != 0)
		return GH_ERR_NOMEM;
	if (o.result == AR_FAIL && o.disposition == DMARC_P_NONE &&
	    list_has(s->cfg->dmarc_reject_when_none, au.domain, false)) {
		o.disposition = DMARC_P_REJECT; /* local: p=none treated as reject */
		o.why_policy = "p=none treated as reject (dmarc_reject_when_none)";
	}
	m->dmarc_dkim_aligned = o.result == AR_PASS && o.dkim_aligned;
	engine_dmarc_record(s, au.domain, &o);
	/* the whole outcome, for the aggregate report at the message's end */
	{
		struct dmarc_outcome *keep = arena_alloc(s->msg_arena, sizeof(*keep));

		if (keep == NULL)
			return GH_ERR_NOMEM;
		*keep = o;
		m->dmarc = keep;
	}
	session_log(s->log, s, LOG_DEBUG, "dmarc %s: %s %s=%s disposition=%s (%s)%s%s", au.domain,
		    ar_result_name(o.result), o.policy_tag ? o.policy_tag : "p",
		    r->dmarc.policy ? r->dmarc.policy : "-",
		    r->dmarc.disposition ? r->dmarc.disposition : "-", o.reason ? o.reason : "-",
		    o.ignored ? "; ignored: " : "", o.ignored ? o.ignored : "");
	if (o.result == AR_FAIL && o.disposition != DMARC_P_NONE) {
		override = engine_dmarc_override(s, &partial);
		if (partial != NULL) {
			session_log(s->log, s, LOG_NOTICE, "dmarc %s: %s", au.domain, partial);
			if (session_add_check(s, "dmarc.override", "fail", partial) != GH_OK)
				return GH_ERR_NOMEM;
		}
		if (override != NULL) {
			r->dmarc.disposition = "none";
			r->dmarc.override = override;
			session_log(s->log, s, LOG_NOTICE, "dmarc %s: %s not enforced: %s",
				    au.domain, dmarc_policy_name(o.disposition), override);
			if (session_add_check(s, "dmarc.override", "pass", override) != GH_OK)
				return GH_ERR_NOMEM;
			return GH_OK;
		}
	}
	/* Decided here, applied by the caller after the eom rules (an accept
	 * rule keeps DMARC from refusing). */
	*a = policy_dmarc(s, &o, au.domain, v);
	return GH_OK;
}
