/*
 * summary.c - the one key=value line per message (see summary.h)
 *
 * Built in a strbuf from the session's envelope, the check results and the
 * verdict; every value goes through log_kv() so a value from the network
 * cannot break the line or fake a key.
 */
#include <string.h>

#include "engine/session.h"
#include "engine/summary.h"
#include "mail/results.h"
#include "mail/verdict.h"
#include "util/log.h"
#include "util/strbuf.h"

/* summary_results - spf, dkim, dmarc, rules and sanity checks as key=value */
static void summary_results(struct strbuf *sb, const struct results *r)
{
	struct strbuf v;

	log_kv(sb, "spf_helo", ar_result_name(r->spf_helo.result));
	log_kv(sb, "spf", ar_result_name(r->spf_mailfrom.result));
	strbuf_init(&v);
	for (size_t i = 0; i < r->ndkim; i++)
		strbuf_printf(&v, "%s%s:%s", i ? "," : "",
			      r->dkim[i].domain ? r->dkim[i].domain : "?",
			      ar_result_name(r->dkim[i].result) ? ar_result_name(r->dkim[i].result)
								: "-");
	log_kv(sb, "dkim", r->ndkim ? strbuf_cstr(&v) : NULL);
	log_kv(sb, "dmarc", ar_result_name(r->dmarc.result));
	strbuf_reset(&v);
	for (size_t i = 0; i < r->nrules; i++)
		strbuf_printf(&v, "%s%s", i ? "," : "", r->rules[i].name);
	log_kv(sb, "rules", r->nrules ? strbuf_cstr(&v) : NULL);
	strbuf_reset(&v);
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].result, "pass") != 0)
			strbuf_printf(&v, "%s%s:%s", v.len ? "," : "", r->checks[i].name,
				      r->checks[i].result);
	log_kv(sb, "checks", v.len ? strbuf_cstr(&v) : NULL);
	strbuf_free(&v);
}

void summary_log(const struct logger *log, const struct session *s)
{
	const struct message *m = &s->msg;
	const struct verdict *v = &m->verdict;
	struct strbuf sb, rc;

	/* Every recipient refused at RCPT, where SPF's refusal answers each
	 * one alone (spf_reject_at = rcpt): that is what happened to the mail. */
	if (!verdict_is_final(v->action) && m->nrcpts == 0 && m->rcpts_rejected > 0 &&
	    verdict_is_final(m->rcpt_refusal.action))
		v = &m->rcpt_refusal;

	if (!log_wants(log, LOG_INFO))
		return;
	strbuf_init(&sb);
	strbuf_init(&rc);
	log_ids_prefix(&sb, session_log_id(s), session_log_qid(s));
	log_kv(&sb, "ip", s->client_ip);
	log_kv(&sb, "helo", s->helo);
	if (m->auth_login != NULL)
		log_kv(&sb, "auth", m->auth_login);
	log_kv(&sb, "from", m->from_parsed ? (m->from.is_null ? "<>" : m->from.addr) : NULL);
	for (size_t i = 0; i < m->nrcpts; i++)
		strbuf_printf(&rc, "%s%s", i ? "," : "", m->rcpts[i].addr);
	log_kv(&sb, "rcpts", m->nrcpts ? strbuf_cstr(&rc) : NULL);
	strbuf_printf(&sb, " nrcpt=%zu", m->nrcpts);
	if (m->rcpts_rejected)
		strbuf_printf(&sb, " rcpt_refused=%u", m->rcpts_rejected);
	strbuf_printf(&sb, " size=%zu+%llu", m->header_bytes, (unsigned long long)m->body_bytes);
	summary_results(&sb, &m->results);
	log_kv(&sb, "action",
	       v->action == GH_ACT_CONTINUE
		       ? (m->end_state && strcmp(m->end_state, "eom") == 0 ? "accept"
									   : m->end_state)
		       : verdict_action_name(v->action));
	if (v->action != GH_ACT_CONTINUE) {
		log_kv(&sb, "phase", verdict_phase_name(v->phase));
		if (v->smtp_code[0])
			strbuf_printf(&sb, " code=%s ecode=%s", v->smtp_code, v->enhanced_code);
		if (v->source)
			log_kv(&sb, "by", v->source);
		if (v->reason)
			log_kv(&sb, "reason", v->reason);
	}
	strbuf_printf(&sb, " ms=%ld", session_elapsed_ms(s));
	log_line(log, LOG_INFO, sb.failed ? "summary line lost: out of memory" : strbuf_cstr(&sb));
	strbuf_free(&rc);
	strbuf_free(&sb);
}
