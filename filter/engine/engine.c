/*
 * engine.c - one entry point per SMTP phase (see engine.h)
 *
 * Each phase does the same three things: refuse to go on if the message or
 * connection is already decided, run the checks of the phase, and hand any
 * finding to policy. The checks themselves live beside it: sanity.c,
 * engine_auth.c (SPF, DKIM, DMARC), engine_rules.c; the header edits of end
 * of message in engine_edits.c.
 *
 * Contract: this file alone turns what SPF and DMARC ask for into the
 * message's verdict slots; which module writes which slot is listed in
 * session.h, the steps of end of message in engine.h.
 */
#include <ctype.h>
#include <string.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "engine/engine_auth.h"
#include "engine/engine_edits.h"
#include "engine/engine_outbound.h"
#include "engine/engine_ratelimit.h"
#include "engine/engine_report.h"
#include "engine/engine_rules.h"
#include "engine/policy.h"
#include "engine/sanity.h"
#include "engine/session.h"
#include "mail/address.h"
#include "mail/mime.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "util/gh.h"
#include "util/log.h"

/* engine_internal - our own failure; never an accept of what policy would refuse */
static enum gh_action engine_internal(struct session *s, enum gh_phase phase, const char *what)
{
	s->internal_error = true;
	session_log(s->log, s, LOG_ERR, "internal error at %s: %s", verdict_phase_name(phase),
		    what);
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
	if (verdict_is_final(a) && s->msg.active && verdict_is_final(s->msg.verdict.action)) {
		engine_report_eom(s); /* DMARC aggregate reports: only after an evaluation */
		session_message_end_log(s);
	}
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

/* engine_command - an SMTP command begins: its DNS waits, whatever the
 * message's budget has left, end within dns_command_budget_ms, so that no
 * single milter reply (HELO checks included, which run outside any message)
 * waits past the MTA's reply timeout */
static void engine_command(struct session *s)
{
	dns_budget_command(&s->dns_budget, s->cfg->dns_command_budget_ms);
}

enum gh_action engine_connect(struct session *s, const char *host, const char *ip)
{
	enum gh_action a;

	engine_command(s);
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

	engine_command(s);
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

/* engine_spf_policy - answer the SPF results: at MAIL, at each RCPT, or held
 * for eom (quarantine; and every MAIL FROM answer with spf_reject_at =
 * dmarc, whose HELO answers still come at RCPT), as configured */
static enum gh_action engine_spf_policy(struct session *s)
{
	struct message *m = &s->msg;
	enum gh_phase at = (enum gh_phase)s->cfg->spf_reject_at;
	struct verdict v;
	enum gh_action a = engine_auth_spf_policy(s, at, &v);

	if (!verdict_is_final(a) || verdict_is_final(m->verdict.action))
		return verdict_is_final(m->verdict.action) ? m->verdict.action : engine_continue(s);
	if (at == GH_PH_EOM && v.phase == GH_PH_EOM) {
		m->spf_deferred = v; /* decided at eom, after DMARC */
		return engine_continue(s);
	}
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

enum gh_action engine_mail(struct session *s, const char *const *argv, const char *auth_login)
{
	struct message *m;
	const char *path = argv && argv[0] ? argv[0] : "";
	const char *why = NULL;
	enum gh_action a;

	engine_command(s);
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
	m->outbound = m->auth_login != NULL ||
		      cidr_list_match(&s->cfg->internal_nets, s->client_ip);
	if (verdict_is_final(a = engine_outbound_mail(s))) /* daemon name, MAIL FROM's owner */
		return engine_finish(s, a);
	if (engine_auth_spf(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_MAIL, "out of memory"));
	if (verdict_is_final(a = engine_rules(s, GH_PH_MAIL, NULL)))
		return engine_finish(s, a);
	if (engine_rules_accepted(s))
		return engine_continue(s); /* an accept rule: SPF only marks */
	return engine_spf_policy(s);
}

enum gh_action engine_rcpt(struct session *s, const char *const *argv)
{
	const char *path = argv && argv[0] ? argv[0] : "";
	struct message *m = &s->msg;
	struct address rcpt;
	const char *why = NULL;
	enum gh_action a;
	bool failed;

	engine_command(s);
	if (!m->active)
		session_message_begin(s); /* RCPT without MAIL: an MTA quirk, not ours to fail on */
	if (engine_decided(s, &a)) {
		/* the MTA refuses this recipient with the answer repeated: count
		 * it, so the summary line says what the MTA refused */
		m->rcpts_seen++;
		if (a == GH_ACT_REJECT || a == GH_ACT_TEMPFAIL)
			m->rcpts_rejected++;
		return a;
	}
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
		return engine_finish(s, a); /* a reject or tempfail here is this recipient's only */
	if (verdict_is_final(m->rcpt_refusal.action) && !engine_rules_exempt(s, &rcpt)) {
		/* Decided at MAIL (SPF), answered here so that the refusal is
		 * tied to recipients, as spf_reject_at = rcpt asks: this one
		 * only, and an exempt one (a recipient accept rule) not at all. */
		m->rcpts_rejected++;
		s->reply = m->rcpt_refusal;
		return s->reply.action;
	}
	if (s->cfg->max_recipients > 0 && m->nrcpts >= (size_t)s->cfg->max_recipients) {
		m->rcpts_rejected++;
		return policy_fault(s, GH_PH_RCPT, FAULT_TOO_MANY_RCPTS, NULL);
	}
	a = engine_ratelimit_rcpt(s, &failed);
	if (failed)
		return engine_finish(s, engine_internal(s, GH_PH_RCPT, "ratelimit: out of memory"));
	if (verdict_is_final(a)) {
		m->rcpts_rejected++; /* this recipient only: the earlier ones stay */
		return a;
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

/* engine_header_field - one field, VALUE without the SP after the colon,
 * SPACE whether there was one */
static enum gh_action engine_header_field(struct session *s, const char *name, const char *value,
					  size_t len, bool space)
{
	struct message *m = &s->msg;
	const char *detail = NULL;
	enum gh_action a;
	int fault;

	if (!m->active)
		session_message_begin(s);
	if (engine_decided(s, &a))
		return a;
	/* "name:" [SP] value, and one octet for the line end (as always counted) */
	m->header_bytes += strlen(name) + 1 + space + len + 1;
	fault = sanity_header(s, name, value, len, space, &detail);
	if (fault != SANITY_OK) {
		session_log(s->log, s, LOG_INFO, "header fault: %s", detail ? detail : "");
		if (session_add_check(s, policy_fault_check_name(fault), "fail", detail) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
		a = policy_fault(s, GH_PH_HEADER, fault, detail);
		if (a != GH_ACT_CONTINUE)
			return engine_finish(s, a);
	}
	if (engine_auth_dkim_start(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
	if (session_add_header(s, name, value, len, space) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_HEADER, "out of memory"));
	engine_auth_dkim_header(s, name, value, len, space);
	return engine_continue(s);
}

enum gh_action engine_header(struct session *s, const char *name, const char *value, size_t len)
{
	return engine_header_field(s, name, value, len, true);
}

enum gh_action engine_header_raw(struct session *s, const char *name, const char *raw, size_t len)
{
	/* the one SP both MTAs take away without SMFIP_HDR_LEADSPC; a tab stays */
	bool space = len > 0 && raw[0] == ' ';

	return engine_header_field(s, name, raw + space, len - space, space);
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
	engine_auth_dkim_eoh(s);
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
	engine_auth_dkim_body(s, chunk, len);
	engine_outbound_body(s, chunk, len);
	if (engine_rules_body(s, chunk, len) != 0)
		return engine_finish(s, engine_internal(s, GH_PH_BODY, "rules: out of memory"));
	for (const unsigned char *p = chunk; (p = memchr(p, 0, len - (size_t)(p - chunk))) != NULL;
	     p++) {
		s->msg.body_nul_bytes++;
		if ((size_t)(p - chunk) + 1 >= len)
			break;
	}
	return engine_continue(s);
}

/* engine_spf_deferred - spf_reject_at = dmarc: MAIL FROM's SPF answer,
 * held since MAIL, meets DMARC's (DA, DV). A message that DMARC passed
 * through an aligned DKIM signature (a forward that kept its signature)
 * is not refused for SPF; otherwise DMARC's own refusal or tempfail comes
 * first (a DMARC temperror may hide a pass: the sender retries), then
 * SPF's answer takes DMARC's place. GH_OK or GH_ERR_NOMEM. */
static int engine_spf_deferred(struct session *s, enum gh_action *da, struct verdict *dv)
{
	struct message *m = &s->msg;
	const struct verdict *v = &m->spf_deferred;

	if (!verdict_is_final(v->action))
		return GH_OK;
	if (m->dmarc_dkim_aligned) {
		session_log(s->log, s, LOG_INFO,
			    "spf %s not applied: DMARC passed through an aligned DKIM signature",
			    verdict_action_name(v->action));
		return session_add_check(s, "spf.deferred", "pass",
					 "DMARC passed through an aligned DKIM signature");
	}
	if (session_add_check(s, "spf.deferred", "fail",
			      "no DMARC pass through an aligned DKIM signature") != GH_OK)
		return GH_ERR_NOMEM;
	if (*da == GH_ACT_REJECT || *da == GH_ACT_TEMPFAIL)
		return GH_OK;
	if (v->action == GH_ACT_QUARANTINE && *da == GH_ACT_QUARANTINE)
		return GH_OK;
	*da = v->action;
	*dv = *v;
	return GH_OK;
}

enum gh_action engine_eom(struct session *s)
{
	struct message *m = &s->msg;
	struct verdict dv;
	enum gh_action a, da;

	engine_command(s);
	if (!m->active)
		session_message_begin(s);
	if (engine_decided(s, &a)) /* 1 */
		return a;
	if (!m->eoh_seen) {
		/* 2. Some MTAs skip EOH for a message without a body separator. */
		a = engine_eoh(s);
		if (verdict_is_final(a))
			return a;
	}
	if (engine_auth_dkim_eom(s) != GH_OK) /* 3 */
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	/* 4. The rules' view of the body. */
	if (m->mime != NULL && mime_walk_finish(m->mime) != 0)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "rules: out of memory"));
	if (m->mime != NULL && mime_walk_truncated(m->mime) != NULL &&
	    session_add_check(s, "mime.truncated", "fail", mime_walk_truncated(m->mime)) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	/* 5. DMARC, decided now and applied at 7 */
	memset(&dv, 0, sizeof(dv));
	if (engine_auth_dmarc(s, &da, &dv) != GH_OK)
		da = engine_internal(s, GH_PH_EOM, "out of memory");
	if (verdict_is_final(m->verdict.action)) /* a fault: no single author, or ours */
		return engine_finish(s, m->verdict.action);
	if (verdict_is_final(a = engine_rules(s, GH_PH_EOM, NULL))) /* 6 */
		return engine_finish(s, a);
	if (!engine_rules_accepted(s)) { /* 7 */
		if (engine_spf_deferred(s, &da, &dv) != GH_OK)
			return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
		if (da == GH_ACT_QUARANTINE) {
			if (!verdict_is_final(m->pending.action))
				m->pending = dv;
		} else if (verdict_is_final(da)) {
			s->reply = m->verdict = dv;
			return engine_finish(s, da);
		}
	}
	if (verdict_is_final(a = engine_outbound_eom(s))) /* sender identity, long lines */
		return engine_finish(s, s->msg.verdict.action == a
						? a
						: engine_internal(s, GH_PH_EOM, "signing failed"));
	/* 8. A held message gets the same header edits: it is delivered as is
	 * when someone releases it. */
	if (engine_edits_eom(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	if (engine_outbound_sign(s) != GH_OK) /* after the last edit it must cover */
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "out of memory"));
	/* 9. The verdict: the held quarantine, or accept. */
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
	/* 10. Rate limits: the accepted message and its recipients are charged. */
	if (engine_ratelimit_eom(s) != GH_OK)
		return engine_finish(s, engine_internal(s, GH_PH_EOM, "ratelimit: out of memory"));
	/* metrics: counted with the summary line engine_finish writes */
	return engine_finish(s, m->verdict.action);
}

void engine_abort(struct session *s)
{
	if (s->msg.active)
		session_message_end(s, "abort");
}
