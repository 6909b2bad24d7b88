/*
 * policy.c - findings to replies (see policy.h)
 *
 * The reply codes follow RFC 5321 and RFC 3463: syntax errors in an
 * envelope address are 501 with 5.1.7 (sender) or 5.1.3 (recipient); too many
 * recipients is 452 4.5.3 so the sender retries the rest; a malformed message
 * is 550 5.6.0; an oversized header 552 5.3.4; a missing From is a policy
 * refusal 550 5.7.1; our own failures are 451 4.3.0.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "auth/dmarc.h"
#include "conf/config.h"
#include "engine/policy.h"
#include "engine/session.h"
#include "mail/results.h"
#include "util/arena.h"
#include "util/log.h"

struct policy_row {
	const char *check;
	enum gh_action action;
	const char *code, *ecode, *text;
	bool per_recipient; /* refuses one recipient, not the message */
};

static const struct policy_row policy_rows[] = {
	[FAULT_BAD_MAIL_FROM] = { "sanity.envelope_from", GH_ACT_REJECT, "501", "5.1.7",
				  "Bad sender address syntax", false },
	[FAULT_BAD_RCPT] = { "sanity.envelope_rcpt", GH_ACT_REJECT, "501", "5.1.3",
			     "Bad recipient address syntax", true },
	[FAULT_TOO_MANY_RCPTS] = { "sanity.recipients", GH_ACT_TEMPFAIL, "452", "4.5.3",
				   "Too many recipients in one transaction, send the rest later",
				   true },
	[FAULT_HEADER_NUL] = { "sanity.header", GH_ACT_REJECT, "550", "5.6.0",
			       "Message header contains a NUL byte", false },
	[FAULT_HEADER_NAME] = { "sanity.header", GH_ACT_REJECT, "550", "5.6.0",
				"Malformed header field name", false },
	[FAULT_HEADER_LINE_LONG] = { "sanity.header", GH_ACT_REJECT, "550", "5.6.0",
				     "Header line too long (RFC 5322 section 2.1.1)", false },
	[FAULT_TOO_MANY_HEADERS] = { "sanity.header", GH_ACT_REJECT, "552", "5.3.4",
				     "Too many header fields", false },
	[FAULT_HEADERS_TOO_BIG] = { "sanity.header", GH_ACT_REJECT, "552", "5.3.4",
				    "Message header too large", false },
	[FAULT_NO_FROM] = { "sanity.from", GH_ACT_REJECT, "550", "5.7.1",
			    "Message has no From header (RFC 5322 section 3.6)", false },
	[FAULT_BAD_FROM] = { "dmarc.from", GH_ACT_REJECT, "550", "5.7.1",
			     "No single author to authenticate", false },
	[FAULT_INTERNAL] = { "internal", GH_ACT_TEMPFAIL, "451", "4.3.0",
			     "Temporary local problem, please try again later", false },
};

const char *policy_fault_check_name(enum policy_fault fault)
{
	return policy_rows[fault].check;
}

/* policy_enabled - does the configuration turn this finding into a reply? */
static bool policy_enabled(const struct config *c, enum policy_fault fault)
{
	switch (fault) {
	case FAULT_BAD_MAIL_FROM:
	case FAULT_BAD_RCPT:
		return c->reject_bad_envelope;
	case FAULT_NO_FROM:
		return c->require_from;
	case FAULT_BAD_FROM:
		return c->dmarc_bad_from_action != GH_ACT_CONTINUE;
	case FAULT_INTERNAL:
		return c->on_internal_error == CONFIG_ON_ERROR_TEMPFAIL;
	default:
		return true; /* limits are disabled by raising them */
	}
}

/* policy_action - the row's action, unless the configuration overrides it */
static enum gh_action policy_action(const struct config *c, enum policy_fault fault)
{
	if (fault == FAULT_NO_FROM)
		return (enum gh_action)c->require_from_action;
	if (fault == FAULT_BAD_FROM)
		return (enum gh_action)c->dmarc_bad_from_action;
	return policy_rows[fault].action;
}

enum gh_action policy_fault(struct session *s, enum gh_phase phase, enum policy_fault fault,
			    const char *detail)
{
	const struct policy_row *row = &policy_rows[fault];
	enum gh_action action = policy_action(s->cfg, fault);
	const char *text = row->text, *code = row->code, *ecode = row->ecode;
	char ecode4[sizeof(((struct verdict *)0)->enhanced_code)];
	struct verdict v;

	if (!policy_enabled(s->cfg, fault)) {
		session_log(s->log, s, fault == FAULT_INTERNAL ? LOG_ERR : LOG_INFO,
			    "%s: %s%s%s: recorded only (configuration)", row->check, row->text,
			    detail ? ": " : "", detail ? detail : "");
		return GH_ACT_CONTINUE;
	}
	if (detail != NULL) {
		const char *t = arena_printf(s->msg_arena, "%s: %s", row->text, detail);

		if (t != NULL)
			text = t;
	}
	if (action == GH_ACT_TEMPFAIL && code[0] == '5') {
		/* Configured to tempfail what is normally refused: same
		 * subject and detail, transient class (RFC 3463). */
		snprintf(ecode4, sizeof(ecode4), "4%s", ecode + 1);
		code = "451";
		ecode = ecode4;
	}
	if (verdict_set(&v, s->msg_arena, action, phase, code, ecode, text, row->check) != 0) {
		/* Only out of memory gets here (the rows are valid): answer
		 * with the static tempfail, which needs no memory. */
		v.action = GH_ACT_TEMPFAIL;
		v.phase = phase;
		snprintf(v.smtp_code, sizeof(v.smtp_code), "451");
		snprintf(v.enhanced_code, sizeof(v.enhanced_code), "4.3.0");
		v.text = v.reason = policy_rows[FAULT_INTERNAL].text;
		v.source = "internal";
	}
	if (v.action == GH_ACT_QUARANTINE && s->msg.active) {
		/* The MTA can hold a message only at end of message: remember
		 * the decision and go on; engine_eom applies it. */
		s->msg.pending = v;
		memset(&s->reply, 0, sizeof(s->reply));
		return GH_ACT_CONTINUE;
	}
	s->reply = v;
	if (!row->per_recipient && s->msg.active)
		s->msg.verdict = v;
	return v.action;
}

/* policy_spf_codes - the reply for ACTION from the base codes of a result:
 * a 5xx result answered with tempfail becomes 451 4.x.x, a 4xx result
 * answered with reject 550 5.x.x (RFC 3463: same subject and detail) */
static void policy_spf_codes(enum gh_action action, const char **code, const char **ecode,
			     char *buf, size_t len)
{
	if (action == GH_ACT_TEMPFAIL && (*code)[0] == '5') {
		snprintf(buf, len, "4%s", *ecode + 1);
		*code = "451";
		*ecode = buf;
	} else if (action == GH_ACT_REJECT && (*code)[0] == '4') {
		snprintf(buf, len, "5%s", *ecode + 1);
		*code = "550";
		*ecode = buf;
	}
}

enum gh_action policy_spf(struct session *s, bool helo, const struct spf_identity *id,
			  const char *client_ip, const char *sender, enum gh_phase phase,
			  struct verdict *v)
{
	const struct config *c = s->cfg;
	const char *code, *ecode, *text, *dom = id->domain ? id->domain : "?";
	char ebuf[sizeof(v->enhanced_code)];
	int action;

	switch (id->result) {
	case AR_FAIL:
		action = helo ? c->spf_helo_fail : c->spf_mailfrom_fail;
		code = "550", ecode = "5.7.23";
		text = arena_printf(s->msg_arena,
				    "SPF fail: %s does not allow %s to send mail as %s", dom,
				    client_ip, sender);
		break;
	case AR_SOFTFAIL:
		action = helo ? c->spf_helo_softfail : c->spf_mailfrom_softfail;
		code = "550", ecode = "5.7.23";
		text = arena_printf(s->msg_arena,
				    "SPF softfail: %s probably does not allow %s to "
				    "send mail as %s",
				    dom, client_ip, sender);
		break;
	case AR_PERMERROR:
		action = helo ? c->spf_helo_permerror : c->spf_mailfrom_permerror;
		code = "550", ecode = "5.7.24";
		text = arena_printf(s->msg_arena,
				    "SPF permerror: the SPF record of %s is broken (%s)", dom,
				    id->reason ? id->reason : "no reason given");
		break;
	case AR_TEMPERROR:
		action = helo ? c->spf_helo_temperror : c->spf_mailfrom_temperror;
		code = "451", ecode = "4.4.3";
		text = arena_printf(s->msg_arena,
				    "SPF temperror: DNS failed while checking %s, "
				    "try again later",
				    dom);
		break;
	default:
		return GH_ACT_CONTINUE;
	}
	if (action == GH_ACT_CONTINUE)
		return GH_ACT_CONTINUE;
	if (text == NULL)
		return policy_fault(s, phase, FAULT_INTERNAL, NULL);
	if (id->result == AR_FAIL && c->spf_explanation_in_reply && id->explanation != NULL) {
		const char *t = arena_printf(s->msg_arena, "%s: %s", text, id->explanation);

		if (t != NULL)
			text = t;
	}
	policy_spf_codes((enum gh_action)action, &code, &ecode, ebuf, sizeof(ebuf));
	if (verdict_set(v, s->msg_arena, (enum gh_action)action, phase, code, ecode, text,
			helo ? "spf.helo" : "spf.mailfrom") != 0)
		return policy_fault(s, phase, FAULT_INTERNAL, NULL);
	return v->action;
}

enum gh_action policy_dmarc(struct session *s, const struct dmarc_outcome *o,
			    const char *from_domain, struct verdict *v)
{
	const struct config *c = s->cfg;
	const char *code, *ecode, *text;
	char ebuf[sizeof(v->enhanced_code)];
	int action;

	switch (o->result) {
	case AR_FAIL:
		if (o->disposition == DMARC_P_REJECT) {
			action = c->dmarc_reject_action;
			code = "550", ecode = "5.7.1";
			text = arena_printf(
				s->msg_arena,
				"DMARC: %s asks receivers to reject "
				"mail that fails its authentication, and this message does",
				from_domain);
		} else if (o->disposition == DMARC_P_QUARANTINE) {
			action = c->dmarc_quarantine_action;
			code = "550", ecode = "5.7.1";
			text = arena_printf(s->msg_arena,
					    "DMARC: %s asks receivers to quarantine "
					    "mail that fails its authentication",
					    from_domain);
		} else {
			return GH_ACT_CONTINUE;
		}
		break;
	case AR_TEMPERROR:
		action = c->dmarc_temperror_action;
		code = "451", ecode = "4.4.3";
		text = arena_printf(s->msg_arena,
				    "DMARC: DNS failed while looking up the policy "
				    "of %s, try again later",
				    from_domain);
		break;
	case AR_PERMERROR:
		action = c->dmarc_permerror_action;
		code = "550", ecode = "5.7.1";
		text = arena_printf(s->msg_arena, "DMARC: the policy of %s is malformed",
				    from_domain);
		break;
	default:
		return GH_ACT_CONTINUE;
	}
	if (action == GH_ACT_CONTINUE)
		return GH_ACT_CONTINUE;
	if (text == NULL)
		return policy_fault(s, GH_PH_EOM, FAULT_INTERNAL, NULL);
	policy_spf_codes((enum gh_action)action, &code, &ecode, ebuf, sizeof(ebuf));
	if (verdict_set(v, s->msg_arena, (enum gh_action)action, GH_PH_EOM, code, ecode, text,
			"dmarc") != 0)
		return policy_fault(s, GH_PH_EOM, FAULT_INTERNAL, NULL);
	return v->action;
}
