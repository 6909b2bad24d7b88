/*
 * report.c - the test-mode report in JSON (jansson) and text (see report.h)
 */
#include <stdlib.h>
#include <string.h>

#include "engine/report.h"
#include "engine/session.h"
#include "mail/results.h"

/* jstr - a JSON string, or null for NULL; jansson validates UTF-8, so bytes
 * that are not UTF-8 (possible in test input) are shown as \xNN */
static json_t *jstr(const char *s)
{
	json_t *j;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j == NULL) {
		size_t n = strlen(s);
		char *esc = malloc(n * 4 + 1), *o = esc;

		if (esc == NULL)
			return json_null();
		for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
			if (*p >= 0x80)
				o += sprintf(o, "\\x%02X", *p);
			else
				*o++ = (char)*p;
		}
		*o = '\0';
		j = json_string(esc);
		free(esc);
	}
	return j ? j : json_null();
}

static json_t *jresult(enum ar_result r)
{
	return jstr(ar_result_name(r));
}

static json_t *verdict_json(const struct verdict *v)
{
	bool reply = v->smtp_code[0] != '\0';

	return json_pack(
		"{s:s, s:o, s:o, s:o, s:s, s:o}", "action",
		verdict_action_name(v->action == GH_ACT_CONTINUE ? GH_ACT_ACCEPT : v->action),
		"smtp_code", reply ? json_string(v->smtp_code) : json_null(), "enhanced_code",
		reply ? json_string(v->enhanced_code) : json_null(), "text", jstr(v->text), "phase",
		verdict_phase_name(v->phase), "by", jstr(v->source));
}

static json_t *spf_identity_json(const struct spf_identity *id)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "result", jresult(id->result), "domain",
			 jstr(id->domain), "reason", jstr(id->reason), "explanation",
			 jstr(id->explanation));
}

static json_t *results_json_spf(const struct results *r)
{
	return json_pack("{s:o, s:o}", "helo", spf_identity_json(&r->spf_helo), "mailfrom",
			 spf_identity_json(&r->spf_mailfrom));
}

static json_t *results_json_dkim(const struct results *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->ndkim; i++) {
		const struct dkim_result *d = &r->dkim[i];

		json_array_append_new(a,
				      json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "result",
						jresult(d->result), "domain", jstr(d->domain),
						"selector", jstr(d->selector), "algorithm",
						jstr(d->algorithm), "reason", jstr(d->reason), "b",
						jstr(d->b), "key_bits", (json_int_t)d->key_bits));
	}
	return a;
}

/* dmarc_json - the result, the policy applied and why (RFC 9989) */
static json_t *dmarc_json(const struct dmarc_result *d)
{
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "result",
			      jresult(d->result), "from_domain", jstr(d->from_domain), "policy",
			      jstr(d->policy), "policy_tag", jstr(d->policy_tag), "disposition",
			      jstr(d->disposition), "testing", d->testing, "why_policy",
			      jstr(d->why_policy), "record_domain", jstr(d->record_domain));

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "org_domain", jstr(d->org_domain));
	json_object_set_new(o, "reason", jstr(d->reason));
	json_object_set_new(o, "ignored", jstr(d->ignored));
	json_object_set_new(o, "override", jstr(d->override));
	return o;
}

static json_t *results_json_rules(const struct results *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->nrules; i++) {
		const struct rule_hit *h = &r->rules[i];

		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:I}", "name", jstr(h->name),
						   "action", jstr(h->action), "file", jstr(h->file),
						   "line", (json_int_t)h->line));
	}
	return a;
}

static json_t *results_json_checks(const struct results *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->nchecks; i++) {
		const struct check_record *c = &r->checks[i];

		json_array_append_new(a,
				      json_pack("{s:o, s:o, s:o}", "name", jstr(c->name), "result",
						jstr(c->result), "detail", jstr(c->detail)));
	}
	return a;
}

/* edits_json - headers_added, headers_removed and headers_changed into OBJ */
static void edits_json(json_t *obj, const struct message *m)
{
	json_t *added = json_array(), *removed = json_array(), *changed = json_array();

	for (size_t i = 0; i < m->nedits; i++) {
		const struct hdr_edit *e = &m->edits[i];

		switch (e->op) {
		case HDR_ADD:
		case HDR_INSERT:
			json_array_append_new(
				added,
				json_pack("{s:o, s:o, s:I}", "name", jstr(e->name), "value",
					  jstr(e->value), "position",
					  (json_int_t)(e->op == HDR_ADD ? -1 : (long)e->index)));
			break;
		case HDR_REMOVE:
			json_array_append_new(removed,
					      json_pack("{s:o, s:I}", "name", jstr(e->name),
							"index", (json_int_t)e->index));
			break;
		case HDR_CHANGE:
			json_array_append_new(changed,
					      json_pack("{s:o, s:I, s:o}", "name", jstr(e->name),
							"index", (json_int_t)e->index, "value",
							jstr(e->value)));
			break;
		}
	}
	json_object_set_new(obj, "headers_added", added);
	json_object_set_new(obj, "headers_removed", removed);
	json_object_set_new(obj, "headers_changed", changed);
}

static json_t *envelope_json(const struct session *s, const struct report_rcpt *rcpts,
			     size_t nrcpts)
{
	const struct message *m = &s->msg;
	json_t *a = json_array();

	for (size_t i = 0; a && i < nrcpts; i++) {
		const struct verdict *v = &rcpts[i].reply;
		bool refused = v->action == GH_ACT_REJECT || v->action == GH_ACT_TEMPFAIL;

		json_array_append_new(
			a, json_pack("{s:o, s:s, s:o, s:o, s:o}", "address", jstr(rcpts[i].address),
				     "action", refused ? verdict_action_name(v->action) : "accept",
				     "smtp_code", refused ? json_string(v->smtp_code) : json_null(),
				     "enhanced_code",
				     refused ? json_string(v->enhanced_code) : json_null(), "text",
				     jstr(refused ? v->text : NULL)));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "ip", jstr(s->client_ip), "host",
			 jstr(s->client_host), "helo", jstr(s->helo), "auth", jstr(m->auth_login),
			 "from", jstr(m->from_parsed ? m->from.addr : NULL), "rcpts", a,
			 "direction", m->outbound ? "outbound" : "inbound");
}

json_t *report_json(const struct session *s, const struct verdict *final,
		    const struct report_rcpt *rcpts, size_t nrcpts)
{
	const struct results *r = &s->msg.results;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "session", jstr(s->msg.id[0] ? s->msg.id : s->id));
	json_object_set_new(o, "verdict", verdict_json(final));
	json_object_set_new(o, "envelope", envelope_json(s, rcpts, nrcpts));
	json_object_set_new(o, "spf", results_json_spf(r));
	json_object_set_new(o, "dkim", results_json_dkim(r));
	json_object_set_new(o, "dmarc", dmarc_json(&r->dmarc));
	json_object_set_new(o, "dns_queries", json_integer((json_int_t)s->dns_budget.queries));
	json_object_set_new(o, "rules", results_json_rules(r));
	json_object_set_new(o, "checks", results_json_checks(r));
	edits_json(o, &s->msg);
	json_object_set_new(o, "size",
			    json_pack("{s:I, s:I}", "header_bytes", (json_int_t)s->msg.header_bytes,
				      "body_bytes", (json_int_t)s->msg.body_bytes));
	return o;
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

void report_text(FILE *fp, const struct session *s, const struct verdict *final,
		 const struct report_rcpt *rcpts, size_t nrcpts)
{
	const struct message *m = &s->msg;
	const struct results *r = &m->results;

	fprintf(fp, "session   %s\n", m->id[0] ? m->id : s->id);
	fprintf(fp, "client    %s [%s] helo=%s%s%s\n", s->client_host, s->client_ip,
		or_dash(s->helo), m->auth_login ? " auth=" : "",
		m->auth_login ? m->auth_login : "");
	fprintf(fp, "from      <%s>\n", m->from_parsed ? m->from.addr : "?");
	for (size_t i = 0; i < nrcpts; i++) {
		const struct verdict *v = &rcpts[i].reply;

		if (v->action == GH_ACT_REJECT || v->action == GH_ACT_TEMPFAIL)
			fprintf(fp, "rcpt      %s  %s %s %s %s\n", rcpts[i].address,
				verdict_action_name(v->action), v->smtp_code, v->enhanced_code,
				or_dash(v->text));
		else
			fprintf(fp, "rcpt      %s  accept\n", rcpts[i].address);
	}
	fprintf(fp, "spf       helo=%s mailfrom=%s (%s)\n",
		or_dash(ar_result_name(r->spf_helo.result)),
		or_dash(ar_result_name(r->spf_mailfrom.result)),
		m->outbound ? "outbound" : "inbound");
	if (r->spf_helo.reason)
		fprintf(fp, "  helo      %s: %s\n", or_dash(r->spf_helo.domain),
			r->spf_helo.reason);
	if (r->spf_mailfrom.reason)
		fprintf(fp, "  mailfrom  %s: %s\n", or_dash(r->spf_mailfrom.domain),
			r->spf_mailfrom.reason);
	if (r->spf_mailfrom.explanation)
		fprintf(fp, "  exp       %s\n", r->spf_mailfrom.explanation);
	for (size_t i = 0; i < r->ndkim; i++)
		fprintf(fp, "dkim      %s d=%s s=%s a=%s %s\n",
			or_dash(ar_result_name(r->dkim[i].result)), or_dash(r->dkim[i].domain),
			or_dash(r->dkim[i].selector), or_dash(r->dkim[i].algorithm),
			or_dash(r->dkim[i].reason));
	if (r->ndkim == 0)
		fprintf(fp, "dkim      -\n");
	fprintf(fp, "dmarc     %s", or_dash(ar_result_name(r->dmarc.result)));
	if (r->dmarc.policy)
		fprintf(fp, " %s=%s%s dis=%s", or_dash(r->dmarc.policy_tag), r->dmarc.policy,
			r->dmarc.testing ? " t=y" : "", or_dash(r->dmarc.disposition));
	if (r->dmarc.reason)
		fprintf(fp, " (%s)", r->dmarc.reason);
	fputc('\n', fp);
	if (r->dmarc.ignored)
		fprintf(fp, "  ignored   %s\n", r->dmarc.ignored);
	for (size_t i = 0; i < r->nrules; i++)
		fprintf(fp, "rule      %s %s (%s:%u)\n", r->rules[i].name, r->rules[i].action,
			r->rules[i].file, r->rules[i].line);
	for (size_t i = 0; i < r->nchecks; i++)
		fprintf(fp, "check     %-22s %s%s%s\n", r->checks[i].name, r->checks[i].result,
			r->checks[i].detail ? "  " : "",
			r->checks[i].detail ? r->checks[i].detail : "");
	for (size_t i = 0; i < m->nedits; i++) {
		const struct hdr_edit *e = &m->edits[i];

		if (e->op == HDR_REMOVE)
			fprintf(fp, "header-   %s #%u\n", e->name, e->index);
		else
			fprintf(fp, "header+   %s: %s\n", e->name, e->value);
	}
	fprintf(fp, "verdict   %s",
		verdict_action_name(final->action == GH_ACT_CONTINUE ? GH_ACT_ACCEPT
								     : final->action));
	if (final->smtp_code[0])
		fprintf(fp, " %s %s %s", final->smtp_code, final->enhanced_code,
			or_dash(final->text));
	fprintf(fp, " (phase %s)\n", verdict_phase_name(final->phase));
}
