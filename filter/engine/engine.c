/*
 * engine.c - one entry point per SMTP phase (see engine.h)
 *
 * Each phase does the same three things: refuse to go on if the message or
 * connection is already decided, run the checks of the phase, and hand any
 * finding to policy. The foundation's checks are the sanity checks; SPF,
 * DKIM, DMARC and rules plug in at the phases named in DESIGN.md without any
 * change to the callers.
 */
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "mail/address.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "conf/config.h"
#include "mail/author.h"
#include "auth/authres.h"
#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "mail/mime.h"
#include "util/gh.h"
#include "util/log.h"
#include "engine/policy.h"
#include "engine/sanity.h"
#include "engine/session.h"
#include "auth/spf.h"

/* engine_internal - our own failure; never an accept of what policy would refuse */
static enum gh_action engine_internal(struct session *s, enum gh_phase phase,
				      const char *what)
{
	s->internal_error = true;
	session_log(s->log, s, LOG_ERR, "internal error at %s: %s",
		 verdict_phase_name(phase), what);
	return policy_fault(s, phase, FAULT_INTERNAL, NULL);
}

/* engine_continue - nothing decided: answer continue */
static enum gh_action engine_continue(struct session *s)
{
	memset(&s->reply, 0, sizeof(s->reply));
	return GH_ACT_CONTINUE;
}

/* engine_decided - the message already has a final verdict: repeat it */
static bool engine_decided(struct session *s, enum gh_action *out)
{
	if (verdict_is_final(s->conn_verdict.action)) {
		s->reply = s->conn_verdict;
		*out = s->reply.action;
		return true;
	}
	if (s->msg.active && verdict_is_final(s->msg.verdict.action)) {
		s->reply = s->msg.verdict;
		*out = s->reply.action;
		return true;
	}
	return false;
}

/* engine_finish - a message-level decision was taken: log the summary now,
 * with the time it took; the memory stays until the message is reset */
static enum gh_action engine_finish(struct session *s, enum gh_action a)
{
	if (verdict_is_final(a) && s->msg.active && verdict_is_final(s->msg.verdict.action))
		session_message_end_log(s);
	return a;
}

/* engine_rules - the rules of PHASE; an internal failure goes through policy */
static enum gh_action engine_rules(struct session *s, enum gh_phase phase,
				   const struct address *rcpt)
{
	bool failed = false;
	enum gh_action a = engine_rules_phase(s, phase, rcpt, &failed);

	return failed ? engine_internal(s, phase, "rules: out of memory") : a;
}

enum gh_action engine_connect(struct session *s, const char *host, const char *ip)
{
	enum gh_action a;

	s->client_host = arena_strdup(s->conn_arena, host ? host : "unknown");
	s->client_ip = arena_strdup(s->conn_arena, ip ? ip : "unknown");
	if (s->client_host == NULL || s->client_ip == NULL)
		return engine_internal(s, GH_PH_CONNECT, "out of memory");
	session_log(s->log, s, LOG_DEBUG, "connect from %s [%s]", s->client_host, s->client_ip);
	if (verdict_is_final(a = engine_rules(s, GH_PH_CONNECT, NULL)))
		return a;
	return engine_continue(s);
}

enum gh_action engine_helo(struct session *s, const char *helo)
{
	enum gh_action a;

	/* EHLO/HELO ends any transaction (RFC 5321 4.1.4), also one whose end
	 * of message was answered: its verdict must not answer this HELO. */
	if (s->msg.active)
		session_message_end(s, "helo");
	if (engine_decided(s, &a))
		return a;
	/* A client may say HELO again; the latest name is the one in force. */
	s->helo = arena_strdup(s->conn_arena, helo ? helo : "");
	s->helo_count++;
	if (s->helo == NULL)
		return engine_internal(s, GH_PH_HELO, "out of memory");
	session_log(s->log, s, LOG_DEBUG, "helo %s", s->helo);
	if (verdict_is_final(a = engine_rules(s, GH_PH_HELO, NULL)))
		return a;
	return engine_continue(s);
}

/* engine_rough_address - PATH that failed RFC 5321 as local@domain anyway:
 * brackets off, split at the last '@', domain lower-cased */
static int engine_rough_address(struct session *s, const char *path, struct address *a)
{
	size_t len = strlen(path);
	const char *at;
	char *addr;

	if (len >= 2 && path[0] == '<' && path[len - 1] == '>') {
		path++;
		len -= 2;
	}
	addr = arena_memdup(s->msg_arena, path, len);
	if (addr == NULL)
		return GH_ERR_NOMEM;
	at = strrchr(addr, '@');
	a->addr = addr;
	a->is_null = len == 0;
	a->local = at ? arena_memdup(s->msg_arena, addr, (size_t)(at - addr)) : addr;
	a->domain = at ? arena_strdup(s->msg_arena, at + 1) : "";
	if (a->local == NULL || a->domain == NULL)
		return GH_ERR_NOMEM;
	for (char *p = (char *)a->domain; *p; p++)
		if ((unsigned char)*p < 0x80)
			*p = (char)tolower((unsigned char)*p);
	return GH_OK;
}

/* engine_spf_one - evaluate one identity into DST */
static int engine_spf_one(struct session *s, const struct spf_query *q, enum spf_which which,
			  struct spf_identity *dst)
{
	struct spf_outcome o;
	int rc = spf_check(s->dns, &s->dns_budget, s->msg_arena, q, which, &o);

	dst->result = o.result;
	dst->domain = o.domain;
	dst->reason = o.reason;
	dst->explanation = o.explanation;
	session_log(s->log, s, LOG_DEBUG, "spf %s %s: %s (%s)", o.identity, o.domain ? o.domain : "-",
		 ar_result_name(o.result), o.reason ? o.reason : "-");
	return rc;
}

/* engine_spf - SPF for HELO and MAIL FROM, unless the mail is outbound,
 * comes from a trusted forwarder or there is no resolver */
static int engine_spf(struct session *s)
{
	struct message *m = &s->msg;
	struct spf_query q = {
		.client_ip = s->client_ip,
		.helo = s->helo ? s->helo : "",
		.mailfrom = m->from.is_null ? "" : m->from.addr,
		.receiver = s->cfg->authserv_id,
	};
	struct spf_outcome o;

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
		o.sender = m->from.is_null ? arena_printf(s->msg_arena, "postmaster@%s", q.helo) :
			   m->from.addr;
		m->received_spf = o.sender ? spf_received_header(s->msg_arena, &o, &q,
								 s->cfg->authserv_id) : NULL;
		if (m->received_spf == NULL)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}

/* engine_spf_policy - answer the SPF results: at MAIL, at each RCPT, or held
 * for eom (quarantine), as configured */
static enum gh_action engine_spf_policy(struct session *s)
{
	struct message *m = &s->msg;
	const char *sender = m->from.is_null ? "<>" : m->from.addr;
	enum gh_phase at = (enum gh_phase)s->cfg->spf_reject_at;
	struct verdict v;
	enum gh_action a = GH_ACT_CONTINUE;

	if (m->results.spf_helo.result != AR_UNSET && !m->from.is_null)
		a = policy_spf(s, true, &m->results.spf_helo, s->client_ip, sender, at, &v);
	if (!verdict_is_final(a))
		a = policy_spf(s, false, &m->results.spf_mailfrom, s->client_ip, sender, at, &v);
	if (!verdict_is_final(a) || verdict_is_final(m->verdict.action))
		return verdict_is_final(m->verdict.action) ? m->verdict.action : engine_continue(s);
	if (a == GH_ACT_QUARANTINE) {
		m->pending = v;
		return engine_continue(s);
	}
	if (at == GH_PH_MAIL) {
		s->reply = m->verdict = v;
		return engine_finish(s, a);
	}
	m->rcpt_refusal = v;
	return engine_continue(s);
}

enum gh_action engine_mail(struct session *s, const char *const *argv,
			   const char *auth_login)
{
	struct message *m;
	const char *path = argv && argv[0] ? argv[0] : "";
	const char *why = NULL;
	enum gh_action a;

	session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	m = &s->msg;
	if (auth_login != NULL && *auth_login != '\0') {
		m->auth_login = arena_strdup(s->msg_arena, auth_login);
		if (m->auth_login == NULL)
			return engine_finish(s, engine_internal(s, GH_PH_MAIL, "out of memory"));
	}
	if (address_parse_path(s->msg_arena, path, strlen(path), true, &m->from, &why) != 0) {
		session_log(s->log, s, LOG_INFO, "bad MAIL FROM %s: %s", path, why);
		if (session_add_check(s, "sanity.envelope_from", "fail", why) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_MAIL, "out of memory"));
		a = policy_fault(s, GH_PH_MAIL, FAULT_BAD_MAIL_FROM, why);
		if (verdict_is_final(a))
			return engine_finish(s, a);
		/* Recorded only (reject_bad_envelope = no): the other checks
		 * still judge what the sender wrote, split at its last '@'. */
		if (engine_rough_address(s, path, &m->from) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_MAIL, "out of memory"));
	}
	m->from_parsed = true;
	session_log(s->log, s, LOG_DEBUG, "mail from <%s>%s%s", m->from.addr,
		 m->auth_login ? " auth=" : "", m->auth_login ? m->auth_login : "");
	m->outbound = m->auth_login != NULL || cidr_list_match(&s->cfg->internal_nets, s->client_ip);
	if (engine_spf(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_MAIL, "out of memory"));
	if (verdict_is_final(a = engine_rules(s, GH_PH_MAIL, NULL)))
		return engine_finish(s, a);
	if (engine_rules_accepted(s))
		return engine_continue(s);	/* an accept rule: SPF only marks */
	return engine_spf_policy(s);
}

enum gh_action engine_rcpt(struct session *s, const char *const *argv)
{
	const char *path = argv && argv[0] ? argv[0] : "";
	struct message *m = &s->msg;
	struct address rcpt;
	const char *why = NULL;
	enum gh_action a;

	if (!m->active)
		session_message_begin(s);	/* RCPT without MAIL: an MTA quirk, not ours to fail on */
	if (engine_decided(s, &a))
		return a;
	m->rcpts_seen++;
	if (address_parse_path(s->msg_arena, path, strlen(path), false, &rcpt, &why) != 0) {
		session_log(s->log, s, LOG_INFO, "bad RCPT TO %s: %s", path, why);
		if (session_add_check(s, "sanity.envelope_rcpt", "fail", why) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_RCPT, "out of memory"));
		a = policy_fault(s, GH_PH_RCPT, FAULT_BAD_RCPT, why);
		if (a != GH_ACT_CONTINUE) {
			m->rcpts_rejected++;
			return engine_finish(s, a);
		}
		/* recorded only: keep the recipient as the MTA gave it */
		rcpt.addr = arena_strdup(s->msg_arena, path);
		rcpt.local = rcpt.domain = "";
		if (rcpt.addr == NULL)
			return engine_finish(s, engine_internal(s, GH_PH_RCPT, "out of memory"));
	}
	a = engine_rules(s, GH_PH_RCPT, &rcpt);
	if (verdict_is_final(a))
		return engine_finish(s, a);	/* a reject or tempfail here is this recipient's only */
	if (verdict_is_final(m->rcpt_refusal.action) && !engine_rules_accepted(s)) {
		/* Decided at MAIL (SPF), answered here so that the refusal is
		 * tied to recipients, as spf_reject_at = rcpt asks. */
		m->rcpts_rejected++;
		s->reply = m->verdict = m->rcpt_refusal;
		return engine_finish(s, s->reply.action);
	}
	if (s->cfg->max_recipients > 0 && m->nrcpts >= (size_t)s->cfg->max_recipients) {
		m->rcpts_rejected++;
		return policy_fault(s, GH_PH_RCPT, FAULT_TOO_MANY_RCPTS, NULL);
	}
	if (session_add_rcpt(s, &rcpt) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_RCPT, "out of memory"));
	session_log(s->log, s, LOG_DEBUG, "rcpt to <%s>", rcpt.addr);
	return engine_continue(s);
}

enum gh_action engine_data(struct session *s)
{
	enum gh_action a;

	if (engine_decided(s, &a))
		return a;
	if (s->msg.active && s->msg.nrcpts == 0 && s->msg.rcpts_rejected > 0) {
		/* Every recipient was refused: the message is refused with the
		 * last refusal. An MTA never gets here (it sends no DATA without
		 * recipients); test mode does. */
		s->msg.verdict = s->reply;
		return engine_finish(s, s->reply.action);
	}
	return engine_continue(s);
}

enum gh_action engine_unknown(struct session *s, const char *command)
{
	enum gh_action a;

	if (engine_decided(s, &a))
		return a;
	session_log(s->log, s, LOG_DEBUG, "unknown command: %.80s", command ? command : "");
	return engine_continue(s);
}

/* engine_dkim_start - begin verification with the message's first header
 * field; inbound mail only (outbound mail is signed, not verified) */
static int engine_dkim_start(struct session *s)
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

enum gh_action engine_header(struct session *s, const char *name,
			     const char *value, size_t len)
{
	struct message *m = &s->msg;
	const char *detail = NULL;
	enum gh_action a;
	int fault;

	if (!m->active)
		session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	m->header_bytes += strlen(name) + len + 3;	/* name ": " value CRLF, roughly */
	fault = sanity_header(s, name, value, len, &detail);
	if (fault != SANITY_OK) {
		session_log(s->log, s, LOG_INFO, "header fault: %s", detail ? detail : "");
		if (session_add_check(s, policy_fault_check_name(fault), "fail", detail) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
		a = policy_fault(s, GH_PH_HEADER, fault, detail);
		if (a != GH_ACT_CONTINUE)
			return engine_finish(s, a);
	}
	if (engine_dkim_start(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
	if (session_add_header(s, name, value, len) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
	/* A field libopendkim cannot take only costs that message its DKIM
	 * results (each signature then reports why); it is not an error. */
	if (s->msg.dkim != NULL)
		(void)dkim_msg_header(s->msg.dkim, name, value, len);
	return engine_continue(s);
}

enum gh_action engine_eoh(struct session *s)
{
	const char *detail = NULL;
	enum gh_action a;
	int fault;

	if (!s->msg.active)
		session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	s->msg.eoh_seen = true;
	if (s->msg.dkim != NULL)
		(void)dkim_msg_eoh(s->msg.dkim);
	fault = sanity_eoh(s, &detail);
	if (session_add_check(s, "sanity.from", fault == SANITY_OK ? "pass" : "fail",
			      fault == SANITY_OK ? NULL : "no From header") != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOH, "out of memory"));
	if (fault != SANITY_OK)
		return engine_finish(s, policy_fault(s, GH_PH_EOH, fault, detail));
	if (verdict_is_final(a = engine_rules(s, GH_PH_EOH, NULL)))
		return engine_finish(s, a);
	return engine_continue(s);
}

enum gh_action engine_body(struct session *s, const unsigned char *chunk, size_t len)
{
	enum gh_action a;

	if (!s->msg.active)
		session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	s->msg.body_bytes += len;
	if (s->msg.dkim != NULL)
		(void)dkim_msg_body(s->msg.dkim, chunk, len);
	if (engine_rules_body(s, chunk, len) != 0)
		return engine_finish(s, engine_internal(s, GH_PH_BODY, "rules: out of memory"));
	for (const unsigned char *p = chunk; (p = memchr(p, 0, len - (size_t)(p - chunk))) != NULL; p++) {
		s->msg.body_nul_bytes++;
		if ((size_t)(p - chunk) + 1 >= len)
			break;
	}
	return engine_continue(s);
}

/* engine_status_edits - remove arriving copies of our status header (from
 * the highest index down, so removing one does not renumber the next), then
 * put ours on top */
static int engine_status_edits(struct session *s)
{
	const char *name = s->cfg->status_header;
	unsigned count = 0;
	const char *value;

	if (name == NULL || *name == '\0')
		return GH_OK;
	for (size_t i = 0; i < s->msg.nheaders; i++)
		if (sanity_is_header(s->msg.headers[i].name, name))
			count++;
	for (unsigned idx = count; idx >= 1; idx--)
		if (session_add_edit(s, HDR_REMOVE, name, NULL, idx) != GH_OK)
			return GH_ERR_NOMEM;
	value = arena_printf(s->msg_arena, "%s (gatehouse %s); session=%s",
			     s->cfg->authserv_id, GH_VERSION, s->msg.id);
	if (value == NULL)
		return GH_ERR_NOMEM;
	return session_add_edit(s, HDR_INSERT, name, value, 0);
}

/* list_has - LIST ("a, b c") contains WORD, ignoring ASCII case; a list
 * item ending in '@' matches WORD's local part (WORD is local@domain) */
static bool list_has(const char *list, const char *word, bool local_parts)
{
	const char *p = list;

	while (*p) {
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (local_parts && p[len - 1] == '@') {
			const char *at = strrchr(word, '@');

			if (at != NULL && (size_t)(at - word) == len - 1 && strncasecmp(word, p, len - 1) == 0)
				return true;
		} else if (strlen(word) == len && strncasecmp(word, p, len) == 0) {
			return true;
		}
		p += len;
	}
	return false;
}

/* engine_dmarc_override - a local reason not to enforce the domain's policy */
static const char *engine_dmarc_override(struct session *s)
{
	const struct message *m = &s->msg;

	if (cidr_list_match(&s->cfg->trusted_fwd, s->client_ip))
		return "trusted forwarder";
	for (size_t i = 0; i < m->nrcpts; i++)
		if (list_has(s->cfg->dmarc_exempt_recipients, m->rcpts[i].addr, true))
			return arena_printf(s->msg_arena, "exempt recipient %s", m->rcpts[i].addr);
	return NULL;
}

/* engine_dmarc - RFC 7489 at end of message: the author, the policy, the
 * verdict; not for outbound mail */
static enum gh_action engine_dmarc(struct session *s, struct verdict *dv)
{
	struct message *m = &s->msg;
	struct results *r = &m->results;
	struct author au;
	struct dmarc_outcome o;
	struct dmarc_input in;
	const char *override;
	struct verdict v;
	enum gh_action a;

	if (s->dmarc == NULL || s->dns == NULL || m->outbound)
		return GH_ACT_CONTINUE;
	if (author_find(m->headers, m->nheaders, s->msg_arena, &au) != GH_OK)
		return engine_internal(s, GH_PH_EOM, "out of memory");
	if (au.status != AUTHOR_OK) {
		r->dmarc.result = AR_PERMERROR;
		if (session_add_check(s, "dmarc.from", "fail", author_status_text(au.status)) != GH_OK)
			return engine_internal(s, GH_PH_EOM, "out of memory");
		a = policy_fault(s, GH_PH_EOM, FAULT_BAD_FROM, author_status_text(au.status));
		return a == GH_ACT_QUARANTINE ? GH_ACT_CONTINUE : a;
	}
	in = (struct dmarc_input){
		.from_domain = au.domain,
		.spf = r->spf_mailfrom.result,
		.spf_domain = r->spf_mailfrom.domain,
		.dkim = r->dkim, .ndkim = r->ndkim,
		.roll = arc4random_uniform(100),
	};
	if (dmarc_evaluate(s->dmarc, s->dns, &s->dns_budget, s->msg_arena, &in, &o) != 0)
		return engine_internal(s, GH_PH_EOM, "out of memory");
	if (o.result == AR_FAIL && o.policy == DMARC_P_NONE &&
	    list_has(s->cfg->dmarc_reject_when_none, au.domain, false)) {
		o.disposition = DMARC_P_REJECT;	/* local: p=none treated as reject */
		o.reason = arena_printf(s->msg_arena, "%s (p=none treated as reject)", o.reason);
	}
	r->dmarc.result = o.result;
	r->dmarc.from_domain = au.domain;
	r->dmarc.policy = dmarc_policy_name(o.policy);
	r->dmarc.disposition = dmarc_policy_name(o.disposition);
	session_log(s->log, s, LOG_DEBUG, "dmarc %s: %s p=%s disposition=%s (%s)", au.domain,
		 ar_result_name(o.result), r->dmarc.policy ? r->dmarc.policy : "-",
		 r->dmarc.disposition ? r->dmarc.disposition : "-", o.reason ? o.reason : "-");
	if (o.result == AR_FAIL && o.disposition != DMARC_P_NONE &&
	    (override = engine_dmarc_override(s)) != NULL) {
		r->dmarc.disposition = "none";
		r->dmarc.override = override;
		session_log(s->log, s, LOG_NOTICE, "dmarc %s: %s not enforced: %s", au.domain,
			 dmarc_policy_name(o.disposition), override);
		if (session_add_check(s, "dmarc.override", "pass", override) != GH_OK)
			return engine_internal(s, GH_PH_EOM, "out of memory");
		return GH_ACT_CONTINUE;
	}
	/* Decided here, applied by the caller after the eom rules (an accept
	 * rule keeps DMARC from refusing). */
	a = policy_dmarc(s, &o, au.domain, &v);
	*dv = v;
	return a;
}

/* engine_remove_claims - delete the incoming NAME fields whose claimant, as
 * CLAIMANT reads it, is our authserv-id; from the highest index down, so no
 * deletion renumbers the next (the bug class of CVE-2022-48521) */
static int engine_remove_claims(struct session *s, const char *name,
				const char *(*claimant)(struct arena *, const char *, size_t))
{
	struct message *m = &s->msg;
	const char *id = s->cfg->authserv_id;
	unsigned idx = 0, *forged = NULL;
	size_t nforged = 0, cap = 0;

	for (size_t i = 0; i < m->nheaders; i++) {
		const char *claim;

		if (!sanity_is_header(m->headers[i].name, name))
			continue;
		idx++;
		claim = claimant(s->msg_arena, m->headers[i].value, m->headers[i].value_len);
		if (claim == NULL || strcasecmp(claim, id) != 0)
			continue;	/* someone else's: kept */
		if (nforged == cap && (forged = arena_grow(s->msg_arena, forged, &cap,
							   sizeof(*forged))) == NULL)
			return GH_ERR_NOMEM;
		forged[nforged++] = idx;
	}
	for (size_t k = nforged; k > 0; k--)
		if (session_add_edit(s, HDR_REMOVE, name, NULL, forged[k - 1]) != GH_OK)
			return GH_ERR_NOMEM;
	if (nforged > 0)
		session_log(s->log, s, LOG_NOTICE, "removed %zu %s field(s) claiming to be from %s",
			 nforged, name, id);
	return GH_OK;
}

/* engine_authres_edits - forged Authentication-Results and Received-SPF
 * out, ours in (inbound only) */
static int engine_authres_edits(struct session *s)
{
	struct message *m = &s->msg;
	struct authres_input in;
	const char **vals;
	size_t nvals;

	if (engine_remove_claims(s, "Authentication-Results", authres_authserv_id) != GH_OK ||
	    engine_remove_claims(s, "Received-SPF", authres_received_spf_receiver) != GH_OK)
		return GH_ERR_NOMEM;
	/* Ours only for inbound mail, and only where checks could run at
	 * all (a resolver): the daemon and test mode always have one. */
	if (m->outbound || s->dns == NULL)
		return GH_OK;
	in = (struct authres_input){
		.authserv_id = s->cfg->authserv_id, .r = &m->results,
		.mailfrom = m->from_parsed && !m->from.is_null ? m->from.addr : NULL,
		.helo = s->helo,
	};
	if (authres_build(s->msg_arena, &in, &vals, &nvals) != 0)
		return GH_ERR_NOMEM;
	for (size_t k = nvals; k > 0; k--)
		if (session_add_edit(s, HDR_INSERT, "Authentication-Results", vals[k - 1], 0) != GH_OK)
			return GH_ERR_NOMEM;
	return GH_OK;
}

/* engine_spf_edits - our Received-SPF on top (RFC 7208 9.1: prepended) */
static int engine_spf_edits(struct session *s)
{
	if (s->msg.received_spf == NULL)
		return GH_OK;
	return session_add_edit(s, HDR_INSERT, "Received-SPF", s->msg.received_spf, 0);
}

enum gh_action engine_eom(struct session *s)
{
	struct message *m = &s->msg;
	struct verdict dv;
	enum gh_action a, da;

	if (!m->active)
		session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	if (!m->eoh_seen) {
		/* Some MTAs skip EOH for a message without a body separator. */
		a = engine_eoh(s);
		if (verdict_is_final(a))
			return a;
	}
	if (m->dkim != NULL) {
		struct results *r = &m->results;

		if (dkim_msg_eom(m->dkim, &s->dns_budget, s->msg_arena, &r->dkim, &r->ndkim) != 0)
			return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
		for (size_t i = 0; i < r->ndkim; i++)
			session_log(s->log, s, LOG_DEBUG, "dkim d=%s s=%s a=%s: %s%s%s",
				 r->dkim[i].domain ? r->dkim[i].domain : "-",
				 r->dkim[i].selector ? r->dkim[i].selector : "-",
				 r->dkim[i].algorithm ? r->dkim[i].algorithm : "-",
				 ar_result_name(r->dkim[i].result),
				 r->dkim[i].reason ? ": " : "", r->dkim[i].reason ? r->dkim[i].reason : "");
	}
	if (m->mime != NULL && mime_walk_finish(m->mime) != 0)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "rules: out of memory"));
	if (m->mime != NULL && mime_walk_truncated(m->mime) != NULL &&
	    session_add_check(s, "mime.truncated", "fail", mime_walk_truncated(m->mime)) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	memset(&dv, 0, sizeof(dv));
	da = engine_dmarc(s, &dv);
	if (verdict_is_final(m->verdict.action))	/* a fault: no single author, or ours */
		return engine_finish(s, m->verdict.action);
	if (verdict_is_final(a = engine_rules(s, GH_PH_EOM, NULL)))
		return engine_finish(s, a);
	if (!engine_rules_accepted(s)) {
		if (da == GH_ACT_QUARANTINE) {
			if (!verdict_is_final(m->pending.action))
				m->pending = dv;
		} else if (verdict_is_final(da)) {
			s->reply = m->verdict = dv;
			return engine_finish(s, da);
		}
	}
	/* A held message gets the same header edits: it is delivered as is
	 * when someone releases it. */
	if (engine_spf_edits(s) != GH_OK || engine_status_edits(s) != GH_OK ||
	    engine_authres_edits(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	if (verdict_is_final(m->pending.action)) {
		m->verdict = m->pending;
		m->verdict.phase = GH_PH_EOM;
		s->reply = m->verdict;
	} else {
		memset(&m->verdict, 0, sizeof(m->verdict));
		m->verdict.action = GH_ACT_ACCEPT;
		m->verdict.phase = GH_PH_EOM;
		s->reply = m->verdict;
	}
	return engine_finish(s, m->verdict.action);
}

void engine_abort(struct session *s)
{
	if (s->msg.active)
		session_message_end(s, "abort");
}
