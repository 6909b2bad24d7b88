/*
 * engine_report.c - one DMARC evaluation into the report recorder (see
 * engine_report.h)
 *
 * The entry is built from the message arena and copied into one heap block
 * (report_entry_dup) before it is queued: the arena is emptied when the
 * message ends, the writer thread writes later.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/dmarc.h"
#include "conf/config.h"
#include "engine/engine_report.h"
#include "engine/session.h"
#include "mail/author.h"
#include "report/report_recorder.h"
#include "report/report_store.h"
#include "util/arena.h"
#include "util/strbuf.h"

static const char *one_letter(char c)
{
	return c == 's' ? "s" : "r";
}

/* applied - RFC 9990's disposition for the message's verdict; NULL when
 * the message is not reported (tempfailed, or no verdict) */
static const char *applied(const struct message *m, bool pass)
{
	switch (m->verdict.action) {
	case GH_ACT_REJECT:
	case GH_ACT_DISCARD: /* not delivered, like a refusal */
		return "reject";
	case GH_ACT_QUARANTINE:
		return "quarantine";
	case GH_ACT_ACCEPT:
		return pass ? "pass" : "none";
	default:
		return NULL;
	}
}

/* reason - why APPLIED differs from what the domain asked (RFC 9990
 * PolicyOverrideType), into E */
static void reason(const struct session *s, const struct dmarc_outcome *o, const char *asked,
		   const char *app, struct report_entry *e)
{
	const struct dmarc_result *d = &s->msg.results.dmarc;

	if (strcmp(asked, app) == 0)
		return;
	if (d->override != NULL) {
		e->reason_type = strcmp(d->override, "trusted forwarder") == 0 ? "trusted_forwarder"
									       : "local_policy";
		e->reason_comment = d->override;
	} else if (o->testing && o->result == AR_FAIL &&
		   strcmp(app, dmarc_policy_name(o->disposition)) == 0 &&
		   o->disposition != o->policy) {
		e->reason_type = "policy_test_mode";
	} else {
		e->reason_type = "local_policy";
		if (o->result == AR_FAIL && o->disposition != o->policy && !o->testing)
			e->reason_comment = o->why_policy; /* dmarc_reject_when_none */
		else if (o->result == AR_FAIL && strcmp(app, "none") == 0)
			e->reason_comment = "delivered and marked (dmarc_reject_action or "
					    "dmarc_quarantine_action, or an accept rule)";
		else
			e->reason_comment = s->msg.verdict.source; /* who decided instead */
	}
}

/* envelope_to - the recipients' domain when they share one, else NULL */
static const char *envelope_to(const struct message *m)
{
	const char *d = NULL;

	for (size_t i = 0; i < m->nrcpts; i++) {
		const char *x = m->rcpts[i].domain;

		if (x == NULL || *x == '\0' || (d != NULL && strcasecmp(d, x) != 0))
			return NULL;
		d = x;
	}
	return d;
}

/* is_reporter - the message's From: is the reporter's own address */
static bool is_reporter(struct session *s)
{
	struct author au;
	const char *me = s->cfg->dmarc_report_email;

	return me != NULL && *me != '\0' && session_author(s, &au) == 0 && au.status == AUTHOR_OK &&
	       strcasecmp(au.address, me) == 0;
}

void engine_report_eom(struct session *s)
{
	struct message *m = &s->msg;
	const struct dmarc_outcome *o = m->dmarc;
	const struct dmarc_record *rec;
	const struct results *r = &m->results;
	struct report_entry e = { 0 }, *copy;
	struct report_dkim *dk;
	struct strbuf rua;
	const char *asked;

	if (s->report == NULL || m->report_done || o == NULL || o->record == NULL ||
	    (o->result != AR_PASS && o->result != AR_FAIL))
		return;
	m->report_done = true;
	rec = o->record;
	asked = o->result == AR_PASS ? "pass" : dmarc_policy_name(o->policy);
	if ((e.disposition = applied(m, o->result == AR_PASS)) == NULL || asked == NULL ||
	    is_reporter(s))
		return;
	e.t = (long long)time(NULL);
	e.source_ip = s->client_ip;
	e.header_from = r->dmarc.from_domain;
	e.envelope_from = m->from.is_null || m->from.domain == NULL || !*m->from.domain
				  ? NULL
				  : m->from.domain;
	e.envelope_to = envelope_to(m);
	e.policy_domain = o->record_domain;
	e.p = dmarc_policy_name(rec->p);
	e.sp = dmarc_policy_name(rec->sp);
	e.np = dmarc_policy_name(rec->np);
	e.adkim = one_letter(rec->adkim);
	e.aspf = one_letter(rec->aspf);
	e.testing = rec->testing ? "y" : "n";
	e.discovery = o->discovery;
	e.fo = rec->fo;
	e.dkim_aligned = o->result == AR_PASS && o->dkim_aligned ? "pass" : "fail";
	e.spf_aligned = o->result == AR_PASS && o->spf_aligned ? "pass" : "fail";
	reason(s, o, asked, e.disposition, &e);
	if (r->spf_mailfrom.result != AR_UNSET && r->spf_mailfrom.domain != NULL) {
		/* RFC 9990 knows one scope: mfrom (a bounce's is postmaster@HELO) */
		e.spf_domain = r->spf_mailfrom.domain;
		e.spf_scope = "mfrom";
		e.spf_result = ar_result_name(r->spf_mailfrom.result);
	}
	dk = r->ndkim > 0 ? arena_alloc(s->msg_arena, r->ndkim * sizeof(*dk)) : NULL;
	for (size_t i = 0; dk != NULL && i < r->ndkim; i++) {
		const struct dkim_result *x = &r->dkim[i];

		if (x->domain == NULL || x->selector == NULL || x->result == AR_UNSET)
			continue; /* the schema needs all three */
		dk[e.ndkim].domain = x->domain;
		dk[e.ndkim].selector = x->selector;
		dk[e.ndkim++].result = ar_result_name(x->result);
	}
	e.dkim = dk;
	strbuf_init(&rua);
	for (size_t i = 0; i < rec->nrua; i++) {
		strbuf_printf(&rua, "%smailto:%s", i ? "," : "", rec->rua[i].mailbox);
		if (rec->rua[i].max_size > 0)
			strbuf_printf(&rua, "!%llu", rec->rua[i].max_size);
	}
	e.rua = rua.len > 0 && !rua.failed ? strbuf_cstr(&rua) : NULL;
	copy = report_entry_dup(&e);
	strbuf_free(&rua);
	if (copy != NULL)
		(void)report_recorder_push(s->report, copy); /* a drop is counted there */
}
