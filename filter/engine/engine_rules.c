/*
 * engine_rules.c - rules in the engine: target values and actions (see engine_rules.h)
 *
 * The provider turns a session into target values on demand. Values that
 * cost something (decoded headers, address parsing, the body) are computed
 * once per message and cached in the message arena; envelope values are
 * read straight from the session.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "conf/config.h"
#include "engine/engine_outbound.h"
#include "engine/engine_rules.h"
#include "engine/sanity.h"
#include "engine/session.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "rules/rule.h"
#include "util/arena.h"
#include "util/gh.h"
#include "util/log.h"

struct rule_cache_entry {
	enum rule_target_id id;
	const char *arg;
	struct rule_values v;
};

/* vals - a growing list of values in the message arena */
struct vals {
	struct arena *a;
	const char **s;
	size_t *len;
	size_t n, cap, lcap;
	bool failed;
};

static void vals_add(struct vals *b, const char *s, size_t len)
{
	if (b->failed || s == NULL)
		return;
	if (b->n == b->cap) {
		size_t c2 = b->cap;

		b->s = arena_grow(b->a, b->s, &b->cap, sizeof(*b->s));
		b->len = arena_grow(b->a, b->len, &c2, sizeof(*b->len));
		if (b->s == NULL || b->len == NULL) {
			b->failed = true;
			return;
		}
	}
	b->s[b->n] = s;
	b->len[b->n++] = len;
}

static void vals_str(struct vals *b, const char *s)
{
	if (s != NULL)
		vals_add(b, s, strlen(s));
}

/* vals_gstr - a GLib string copied into the arena, then freed */
static void vals_gstr(struct vals *b, char *g)
{
	if (g == NULL)
		return;
	vals_str(b, arena_strdup(b->a, g));
	g_free(g);
}

static void vals_out(struct vals *b, struct rule_values *out)
{
	out->n = b->n;
	out->s = b->s;
	out->len = b->len;
}

/* unfolded_value - a header value unfolded, encoded-word runs joined (g_free) */
static char *unfolded_value(const struct header_field *h)
{
	char *raw = g_strndup(h->value, h->value_len); /* stops at a NUL: test mode only */
	char *unfolded = g_mime_utils_header_unfold(raw);
	char *joined = rfc2047_join_words(unfolded ? unfolded : raw);

	g_free(raw);
	g_free(unfolded);
	return joined;
}

/* decoded_value - a header value unfolded, RFC 2047 decoded to UTF-8 (g_free) */
static char *decoded_value(const struct header_field *h)
{
	char *v = unfolded_value(h);
	char *dec = g_mime_utils_header_decode_text(NULL, v);

	g_free(v);
	return dec;
}

/* addr_parts - one mailbox's address, local part, domain or display name */
static void addr_parts(struct vals *b, InternetAddress *ia, enum rule_target_id id)
{
	if (INTERNET_ADDRESS_IS_GROUP(ia)) {
		InternetAddressList *m = internet_address_group_get_members(
			INTERNET_ADDRESS_GROUP(ia));

		for (int i = 0; m && i < internet_address_list_length(m); i++)
			addr_parts(b, internet_address_list_get_address(m, i), id);
		return;
	}
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
		return;
	const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
	const char *at = addr ? strrchr(addr, '@') : NULL;

	switch (id) {
	case TGT_ADDR_ADDRESS:
		vals_str(b, arena_strdup(b->a, addr ? addr : ""));
		break;
	case TGT_ADDR_LOCAL:
		vals_str(b, at ? arena_memdup(b->a, addr, (size_t)(at - addr))
			       : arena_strdup(b->a, addr ? addr : ""));
		break;
	case TGT_ADDR_DOMAIN: {
		char *d = arena_strdup(b->a, at ? at + 1 : "");

		for (char *c = d; c && *c; c++)
			*c = (char)tolower((unsigned char)*c);
		vals_str(b, d);
		break;
	}
	default:
		vals_str(b, arena_strdup(b->a, internet_address_get_name(ia)
						       ? internet_address_get_name(ia)
						       : ""));
		break;
	}
}

/* header_values - the values of header-derived targets */
static void header_values(struct session *s, const struct rule_target_ref *t, struct vals *b)
{
	const struct message *m = &s->msg;
	const char *name = t->id == TGT_SUBJECT ? "Subject" : t->arg;

	for (size_t i = 0; i < m->nheaders; i++) {
		const struct header_field *h = &m->headers[i];

		if (!sanity_is_header(h->name, name))
			continue;
		if (t->id == TGT_RAWHEADER) {
			vals_add(b, h->value, h->value_len);
		} else if (t->id == TGT_HEADER || t->id == TGT_SUBJECT) {
			vals_gstr(b, decoded_value(h));
		} else {
			/* GMime decodes the display names itself: decoding first
			 * would let an encoded comma or quote change the structure. */
			char *dec = unfolded_value(h);
			InternetAddressList *l = dec ? internet_address_list_parse(NULL, dec)
						     : NULL;

			for (int k = 0; l && k < internet_address_list_length(l); k++)
				addr_parts(b, internet_address_list_get_address(l, k), t->id);
			if (l != NULL)
				g_object_unref(l);
			g_free(dec);
		}
	}
}

static const char *result_word(enum ar_result r)
{
	const char *w = ar_result_name(r);

	return w ? w : "";
}

/* rcpt_values - the recipient being decided at RCPT, else every accepted one */
static void rcpt_values(struct session *s, enum rule_target_id id, struct vals *b)
{
	const struct message *m = &s->msg;
	size_t n = m->rule_phase == GH_PH_RCPT ? (m->rule_rcpt ? 1 : 0) : m->nrcpts;

	for (size_t i = 0; i < n; i++) {
		const struct address *a = m->rule_phase == GH_PH_RCPT ? m->rule_rcpt : &m->rcpts[i];

		vals_str(b, id == TGT_RCPT ? a->addr : id == TGT_RCPT_LOCAL ? a->local : a->domain);
	}
}

/* cached - targets worth computing once per message */
static bool cached(enum rule_target_id id)
{
	return id == TGT_HEADER || id == TGT_SUBJECT ||
	       (id >= TGT_ADDR_ADDRESS && id <= TGT_ADDR_DISPLAY);
}

static int provide(void *ctx, const struct rule_target_ref *t, struct rule_values *out)
{
	struct session *s = ctx;
	struct message *m = &s->msg;
	const struct results *r = &m->results;
	struct vals b = { .a = s->msg_arena };
	size_t tlen;

	memset(out, 0, sizeof(*out));
	if (cached(t->id))
		for (size_t i = 0; i < m->nrcache; i++)
			if (m->rcache[i].id == t->id &&
			    (m->rcache[i].arg == t->arg ||
			     (m->rcache[i].arg && t->arg &&
			      strcasecmp(m->rcache[i].arg, t->arg) == 0))) {
				*out = m->rcache[i].v;
				return 0;
			}
	switch (t->id) {
	case TGT_CLIENT_IP:
		vals_str(&b, s->client_ip);
		break;
	case TGT_CLIENT_HOST:
		vals_str(&b, s->client_host);
		break;
	case TGT_HELO:
		vals_str(&b, s->helo ? s->helo : "");
		break;
	case TGT_AUTH:
		vals_str(&b, m->auth_login ? m->auth_login : "");
		break;
	case TGT_AUTHENTICATED:
		out->yes = m->auth_login != NULL;
		break;
	case TGT_INBOUND:
		out->yes = !m->outbound;
		break;
	case TGT_OUTBOUND:
		out->yes = m->outbound;
		break;
	case TGT_MACRO: {
		char *name = strlen(t->arg) == 1 ? (char *)t->arg
						 : arena_printf(s->msg_arena, "{%s}", t->arg);
		const char *v = s->macro && name ? s->macro(s->macro_ctx, name) : NULL;

		if (v != NULL)
			vals_str(&b, arena_strdup(s->msg_arena, v));
		break;
	}
	case TGT_MAIL_FROM:
		vals_str(&b, m->from_parsed && !m->from.is_null ? m->from.addr : "");
		break;
	case TGT_MAIL_FROM_LOCAL:
		vals_str(&b, m->from_parsed && m->from.local ? m->from.local : "");
		break;
	case TGT_MAIL_FROM_DOMAIN:
		vals_str(&b, m->from_parsed && m->from.domain ? m->from.domain : "");
		break;
	case TGT_RCPT:
	case TGT_RCPT_LOCAL:
	case TGT_RCPT_DOMAIN:
		rcpt_values(s, t->id, &b);
		break;
	case TGT_RCPT_COUNT:
		out->num = (long long)m->nrcpts;
		break;
	case TGT_HEADER_COUNT:
		for (size_t i = 0; i < m->nheaders; i++)
			out->num += sanity_is_header(m->headers[i].name, t->arg);
		break;
	case TGT_HEADER:
	case TGT_RAWHEADER:
	case TGT_SUBJECT:
	case TGT_ADDR_ADDRESS:
	case TGT_ADDR_LOCAL:
	case TGT_ADDR_DOMAIN:
	case TGT_ADDR_DISPLAY:
		header_values(s, t, &b);
		break;
	case TGT_BODY:
		if (m->mime != NULL) {
			const char *text = mime_walk_text(m->mime, &tlen);

			vals_add(&b, text, tlen);
		}
		break;
	case TGT_BODY_RAW:
		vals_add(&b, strbuf_cstr(&m->raw_body), m->raw_body.len);
		break;
	case TGT_BODY_TRUNCATED:
		out->yes = m->raw_truncated ||
			   (m->mime != NULL && mime_walk_truncated(m->mime) != NULL);
		break;
	case TGT_ATT_NAME:
	case TGT_ATT_TYPE:
	case TGT_ATT_COUNT: {
		size_t n = 0;
		const struct mime_attachment *a = m->mime ? mime_walk_attachments(m->mime, &n)
							  : NULL;

		out->num = (long long)n;
		for (size_t i = 0; t->id != TGT_ATT_COUNT && i < n; i++)
			vals_str(&b, t->id == TGT_ATT_NAME ? a[i].filename : a[i].type);
		break;
	}
	case TGT_SIZE:
		out->num = (long long)(m->header_bytes + m->body_bytes);
		break;
	case TGT_SPF_MAILFROM:
		vals_str(&b, result_word(r->spf_mailfrom.result));
		break;
	case TGT_SPF_HELO:
		vals_str(&b, result_word(r->spf_helo.result));
		break;
	case TGT_DKIM_PASS:
		for (size_t i = 0; i < r->ndkim; i++)
			out->yes |= r->dkim[i].result == AR_PASS &&
				    (t->arg == NULL ||
				     (r->dkim[i].domain &&
				      strcasecmp(r->dkim[i].domain, t->arg) == 0));
		break;
	case TGT_DKIM_RESULT:
	case TGT_DKIM_DOMAIN:
		for (size_t i = 0; i < r->ndkim; i++)
			vals_str(&b, t->id == TGT_DKIM_RESULT ? result_word(r->dkim[i].result)
				     : r->dkim[i].domain      ? r->dkim[i].domain
							      : "");
		break;
	case TGT_DMARC_RESULT:
		vals_str(&b, result_word(r->dmarc.result));
		break;
	case TGT_DMARC_POLICY:
		vals_str(&b, r->dmarc.policy ? r->dmarc.policy : "");
		break;
	case TGT_DMARC_DOMAIN:
		vals_str(&b, r->dmarc.from_domain ? r->dmarc.from_domain : "");
		break;
	case TGT_IDENTITY_MAIL_FROM:
		vals_str(&b, engine_outbound_identity(s));
		break;
	case TGT_COUNT_:
		break;
	}
	if (b.failed)
		return -1;
	vals_out(&b, out);
	if (cached(t->id)) {
		if (m->nrcache == m->rcache_cap &&
		    (m->rcache = arena_grow(s->msg_arena, m->rcache, &m->rcache_cap,
					    sizeof(*m->rcache))) == NULL)
			return 0; /* not cached: computed again next time */
		m->rcache[m->nrcache++] = (struct rule_cache_entry){ t->id, t->arg, *out };
	}
	return 0;
}

static void on_limit(void *ctx, const struct rule *r, const char *what)
{
	struct session *s = ctx;

	s->msg.rule_limit_hits++;
	session_log(s->log, s, LOG_WARNING, "rule %s (%s:%u): a pattern has no answer: %s", r->name,
		    r->file, r->line, what);
	(void)session_add_check(s, "rules.limit", "fail",
				arena_printf(s->msg_arena, "rule %s: %s", r->name, what));
}

/* expand - %{from} %{rcpt} %{ip} %{helo} %{rule} in TEXT */
static const char *expand(struct session *s, const struct rule *r, const char *text)
{
	const struct message *m = &s->msg;
	struct strbuf sb;
	const char *out;

	if (strchr(text, '%') == NULL)
		return text;
	strbuf_init(&sb);
	for (const char *c = text; *c; c++) {
		const char *v = NULL;
		size_t skip = 0;

		if (strncmp(c, "%{from}", 7) == 0)
			v = m->from_parsed ? (m->from.is_null ? "<>" : m->from.addr) : "", skip = 7;
		else if (strncmp(c, "%{rcpt}", 7) == 0)
			v = m->rule_rcpt ? m->rule_rcpt->addr
			    : m->nrcpts	 ? m->rcpts[0].addr
					 : "",
			skip = 7;
		else if (strncmp(c, "%{ip}", 5) == 0)
			v = s->client_ip ? s->client_ip : "", skip = 5;
		else if (strncmp(c, "%{helo}", 7) == 0)
			v = s->helo ? s->helo : "", skip = 7;
		else if (strncmp(c, "%{rule}", 7) == 0)
			v = r->name, skip = 7;
		if (v == NULL) {
			strbuf_putc(&sb, *c);
			continue;
		}
		/* only printable ASCII from the envelope reaches a reply or a header */
		for (const char *p = v; *p && sb.len < 512; p++)
			strbuf_putc(&sb, (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f
						 ? '?'
						 : *p);
		c += skip - 1;
	}
	out = sb.failed ? NULL : arena_strdup(s->msg_arena, strbuf_cstr(&sb));
	strbuf_free(&sb);
	return out;
}

static enum gh_action to_action(enum rule_action a)
{
	switch (a) {
	case RA_ACCEPT:
		return GH_ACT_ACCEPT;
	case RA_REJECT:
		return GH_ACT_REJECT;
	case RA_TEMPFAIL:
		return GH_ACT_TEMPFAIL;
	case RA_DISCARD:
		return GH_ACT_DISCARD;
	case RA_QUARANTINE:
		return GH_ACT_QUARANTINE;
	default:
		return GH_ACT_CONTINUE;
	}
}

/* record - the hit in results and the log, and its header edits */
static int record(struct session *s, const struct rule *r)
{
	struct results *res = &s->msg.results;

	session_log(s->log, s, r->action == RA_MONITOR ? LOG_NOTICE : LOG_INFO,
		    "rule %s (%s:%u) matched at %s: %s", r->name, r->file, r->line,
		    verdict_phase_name(s->msg.rule_phase), rule_action_name(r->action));
	if (s->msg.rule_phase <= GH_PH_HELO) {
		/* Copied: the rule set may be reloaded before the next message. */
		struct rule_hit h = { arena_strdup(s->conn_arena, r->name),
				      rule_action_name(r->action),
				      arena_strdup(s->conn_arena, r->file), r->line };

		if (h.name == NULL || h.file == NULL ||
		    (s->nconn_hits == s->conn_hits_cap &&
		     (s->conn_hits = arena_grow(s->conn_arena, s->conn_hits, &s->conn_hits_cap,
						sizeof(*s->conn_hits))) == NULL))
			return GH_ERR_NOMEM;
		s->conn_hits[s->nconn_hits++] = h;
		return GH_OK;
	}
	for (size_t i = 0; i < res->nrules; i++)
		if (strcmp(res->rules[i].name, r->name) == 0)
			goto edits; /* a rcpt rule hit again for another recipient */
	if (res->nrules == res->rules_cap &&
	    (res->rules = arena_grow(s->msg_arena, res->rules, &res->rules_cap,
				     sizeof(*res->rules))) == NULL)
		return GH_ERR_NOMEM;
	res->rules[res->nrules++] = (struct rule_hit){ r->name, rule_action_name(r->action),
						       r->file, r->line };
edits:
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *v = expand(s, r, r->headers[i].value);

		if (v == NULL || session_add_edit(s, HDR_ADD, r->headers[i].name, v, 0) != GH_OK)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}

/* refuses - does A refuse, hold or drop mail? Such a rule left without an
 * answer must not let the mail through. */
static bool refuses(enum rule_action a)
{
	return a == RA_REJECT || a == RA_TEMPFAIL || a == RA_DISCARD || a == RA_QUARANTINE;
}

struct rule_exemption {
	size_t at;	  /* the index the recipient gets in msg.rcpts, if accepted */
	const char *addr; /* its address (the pointer msg.rcpts[at] will hold) */
};

/* exempt - an accept rule at RCPT: this recipient only (see engine_rules.h) */
static int exempt(struct session *s, const struct address *rcpt)
{
	struct message *m = &s->msg;

	if (rcpt == NULL)
		return GH_OK;
	if (m->nrule_exempt == m->rule_exempt_cap &&
	    (m->rule_exempt = arena_grow(s->msg_arena, m->rule_exempt, &m->rule_exempt_cap,
					 sizeof(*m->rule_exempt))) == NULL)
		return GH_ERR_NOMEM;
	m->rule_exempt[m->nrule_exempt++] = (struct rule_exemption){ m->nrcpts, rcpt->addr };
	return GH_OK;
}

/* every_rcpt_exempt - each recipient the message still has was exempted */
static bool every_rcpt_exempt(const struct session *s)
{
	const struct message *m = &s->msg;
	size_t k = 0;

	for (size_t i = 0; i < m->nrule_exempt; i++)
		k += m->rule_exempt[i].at < m->nrcpts &&
		     m->rcpts[m->rule_exempt[i].at].addr == m->rule_exempt[i].addr;
	return m->nrcpts > 0 && k == m->nrcpts;
}

/* settle - the terminal answer A (reply V) at PHASE: the rules stop, and V
 * goes where PHASE and A put it */
static enum gh_action settle(struct session *s, enum gh_phase phase, enum gh_action a,
			     struct verdict *v, bool *failed)
{
	struct message *m = &s->msg;
	bool conn = phase <= GH_PH_HELO;
	bool one_rcpt = phase == GH_PH_RCPT && (a == GH_ACT_REJECT || a == GH_ACT_TEMPFAIL);

	if (conn)
		s->rules_done_conn = true;
	else if (!one_rcpt)
		m->rules_done = true; /* a refused recipient leaves the others to the rules */
	if (conn) {
		/* Connection-lived: copied out of the message arena, which is
		 * reset when each message ends. */
		bool had_text = v->text != NULL, had_reason = v->reason != NULL;

		v->text = v->text ? arena_strdup(s->conn_arena, v->text) : NULL;
		v->reason = v->reason ? arena_strdup(s->conn_arena, v->reason) : NULL;
		v->source = arena_strdup(s->conn_arena, v->source);
		if ((had_text && v->text == NULL) || (had_reason && v->reason == NULL) ||
		    v->source == NULL) {
			*failed = true;
			return GH_ACT_CONTINUE;
		}
	}
	if (conn && (a == GH_ACT_QUARANTINE || a == GH_ACT_DISCARD)) {
		s->conn_pending = *v; /* message actions: applied to each message at MAIL */
		return GH_ACT_CONTINUE;
	}
	if (a == GH_ACT_QUARANTINE) {
		m->pending = *v;
		return GH_ACT_CONTINUE;
	}
	s->reply = *v;
	if (conn)
		s->conn_verdict = *v;
	else if (one_rcpt)
		m->rcpts_rejected++; /* this recipient only */
	else
		m->verdict = *v;
	return a;
}

/* apply - R's terminal action at PHASE */
static enum gh_action apply(struct session *s, const struct rule *r, enum gh_phase phase,
			    bool *failed)
{
	struct message *m = &s->msg;
	enum gh_action a = to_action(r->action);
	const char *text;
	struct verdict v;

	if (a == GH_ACT_ACCEPT) {
		if (phase <= GH_PH_HELO) {
			s->rules_done_conn = s->rules_accepted_conn = true;
		} else if (phase == GH_PH_RCPT) {
			/* This recipient only: the others still get their rules
			 * and checks, whatever their order. */
			if (exempt(s, m->rule_rcpt) != GH_OK)
				*failed = true;
		} else {
			m->rules_done = m->rules_accepted = true;
		}
		return GH_ACT_CONTINUE;
	}
	text = r->text ? expand(s, r, r->text) : NULL;
	if ((r->text && text == NULL) ||
	    verdict_set(&v, s->msg_arena, a, phase, r->code[0] ? r->code : NULL,
			r->ecode[0] ? r->ecode : NULL, text,
			arena_printf(s->msg_arena, "rule:%s", r->name)) != 0) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	v.reason = v.text;
	return settle(s, phase, a, &v, failed);
}

/* undecided - R, which refuses, has no answer (WHY): rules_fault_action */
static enum gh_action undecided(struct session *s, const struct rule *r, enum gh_phase phase,
				const char *why, bool *failed)
{
	enum gh_action a = (enum gh_action)s->cfg->rules_fault_action;
	const char *text, *reason;
	struct verdict v;

	why = why ? why : "no answer";
	session_log(s->log, s, LOG_WARNING,
		    "rule %s (%s:%u) undecided at %s (%s): answered %s (rules_fault_action)",
		    r->name, r->file, r->line, verdict_phase_name(phase), why,
		    verdict_action_name(a));
	text = a == GH_ACT_TEMPFAIL
		       ? arena_printf(s->msg_arena,
				      "Rule %s could not be decided (%s); try again later", r->name,
				      why)
		       : arena_printf(s->msg_arena, "Rule %s could not be decided (%s)", r->name,
				      why);
	reason = arena_printf(s->msg_arena, "rule %s (%s:%u) undecided: %s", r->name, r->file,
			      r->line, why);
	if (text == NULL || reason == NULL ||
	    verdict_set(&v, s->msg_arena, a, phase,
			a == GH_ACT_TEMPFAIL ? "451"
			: a == GH_ACT_REJECT ? "550"
					     : NULL,
			a == GH_ACT_TEMPFAIL ? "4.7.1"
			: a == GH_ACT_REJECT ? "5.7.1"
					     : NULL,
			text, "rules.limit") != 0) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	v.reason = reason;
	return settle(s, phase, a, &v, failed);
}

/* overtime - the message's rules_budget_ms ran out at rule R: tempfail */
static enum gh_action overtime(struct session *s, const struct rule *r, enum gh_phase phase,
			       bool *failed)
{
	struct verdict v;
	const char *reason;

	session_log(s->log, s, LOG_WARNING,
		    "rule %s (%s:%u): the rules used up rules_budget_ms (%ld ms) at %s; tempfail",
		    r->name, r->file, r->line, s->cfg->rules_budget_ms, verdict_phase_name(phase));
	(void)session_add_check(s, "rules.budget", "fail",
				arena_printf(s->msg_arena, "rule %s: %ld ms used up", r->name,
					     s->cfg->rules_budget_ms));
	reason = arena_printf(s->msg_arena, "rule %s (%s:%u): rules_budget_ms used up", r->name,
			      r->file, r->line);
	if (reason == NULL || verdict_set(&v, s->msg_arena, GH_ACT_TEMPFAIL, phase, "451", "4.7.1",
					  "Rules took too long for this message; try again later",
					  "rules.budget") != 0) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	v.reason = reason;
	return settle(s, phase, GH_ACT_TEMPFAIL, &v, failed);
}

/* rules_off - no rule is decided any more: an accept or a terminal action
 * holds (after RCPT, an accept of every recipient counts as one) */
static bool rules_off(const struct session *s, enum gh_phase phase)
{
	const struct message *m = &s->msg;

	return s->rules_accepted_conn || s->rules_done_conn || m->rules_accepted || m->rules_done ||
	       (phase > GH_PH_RCPT && every_rcpt_exempt(s));
}

/* decide - one round: PHASE's rules in file order, the first terminal answer */
static enum gh_action decide(struct session *s, enum gh_phase phase, struct rule_eval_state *st,
			     bool *failed)
{
	const struct rule *const *list;
	size_t n;

	list = rules_at(st->rs, phase, &n);
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = list[i];

		switch (rule_eval(st, r)) {
		case RULE_FAILED:
			*failed = true;
			return GH_ACT_CONTINUE;
		case RULE_OVERTIME:
			return overtime(s, r, phase, failed);
		case RULE_UNKNOWN:
			if (refuses(r->action) && s->cfg->rules_fault_action != GH_ACT_CONTINUE)
				return undecided(s, r, phase, st->unknown_why, failed);
			session_log(s->log, s, LOG_WARNING,
				    "rule %s (%s:%u) undecided at %s (%s): counted as no match",
				    r->name, r->file, r->line, verdict_phase_name(phase),
				    st->unknown_why ? st->unknown_why : "no answer");
			continue;
		case RULE_NO:
			continue;
		case RULE_YES:
			break;
		}
		if (record(s, r) != GH_OK) {
			*failed = true;
			return GH_ACT_CONTINUE;
		}
		if (r->action == RA_MONITOR || r->action == RA_NONE)
			continue;
		return apply(s, r, phase, failed);
	}
	return GH_ACT_CONTINUE;
}

enum gh_action engine_rules_phase(struct session *s, enum gh_phase phase,
				  const struct address *rcpt, bool *failed)
{
	const struct ruleset *rs = s->cfg->rules;
	struct message *m = &s->msg;
	struct rule_provider p = { .ctx = s, .get = provide, .on_limit = on_limit };
	struct rule_eval_state st;
	unsigned long long t0, budget, used;
	bool per_msg = m->active && phase > GH_PH_HELO;
	enum gh_action a;
	size_t n;

	*failed = false;
	if (m->active && s->conn_pending.action == GH_ACT_DISCARD) {
		s->reply = m->verdict = s->conn_pending;
		return GH_ACT_DISCARD;
	}
	if (m->active && verdict_is_final(s->conn_pending.action) &&
	    !verdict_is_final(m->pending.action))
		m->pending = s->conn_pending;
	if (rules_at(rs, phase, &n) == NULL || rules_off(s, phase))
		return GH_ACT_CONTINUE;
	if ((s->rule_scratch = rule_scratch_for(s->rule_scratch, rs)) == NULL) {
		*failed = true;
		return GH_ACT_CONTINUE;
	}
	if (phase == GH_PH_EOM || phase == GH_PH_EOH)
		rule_scratch_reset(s->rule_scratch); /* the prefilter scans this message's body */
	else
		rule_scratch_forget(s->rule_scratch); /* another phase or recipient: defines anew */
	/* The budget is the message's, over all its phases; connect and helo,
	 * which belong to no message, get one each. */
	t0 = rule_clock_ns();
	budget = (unsigned long long)s->cfg->rules_budget_ms * 1000000ULL;
	used = per_msg ? m->rule_ns : 0;
	m->rule_phase = phase;
	m->rule_rcpt = rcpt;
	st = (struct rule_eval_state){ .rs = rs,
				       .scratch = s->rule_scratch,
				       .p = &p,
				       .deadline_ns = t0 + (used < budget ? budget - used : 0) };
	a = decide(s, phase, &st, failed);
	m->rule_rcpt = NULL;
	if (per_msg)
		m->rule_ns += rule_clock_ns() - t0;
	return a;
}

/* header_named - the first value of field NAME, NUL-terminated in the arena */
static const char *header_named(struct session *s, const char *name)
{
	for (size_t i = 0; i < s->msg.nheaders; i++)
		if (sanity_is_header(s->msg.headers[i].name, name))
			return arena_memdup(s->msg_arena, s->msg.headers[i].value,
					    s->msg.headers[i].value_len);
	return NULL;
}

int engine_rules_body(struct session *s, const unsigned char *chunk, size_t len)
{
	const struct ruleset *rs = s->cfg->rules;
	struct message *m = &s->msg;
	size_t limit = (size_t)s->cfg->body_scan_limit;

	if (rs == NULL || rules_off(s, GH_PH_BODY))
		return 0;
	if (rs->need & NEED_BODY_RAW) {
		size_t room = limit - m->raw_body.len;

		if (len > room)
			m->raw_truncated = true;
		strbuf_append(&m->raw_body, chunk, len < room ? len : room);
		if (m->raw_body.failed)
			return -1;
	}
	if (rs->need & NEED_BODY) {
		if (m->mime == NULL) {
			struct mime_limits lim = {
				.text_limit = limit,
				.max_depth = (unsigned)s->cfg->mime_max_depth,
				.max_parts = (unsigned)s->cfg->mime_max_parts,
			};

			m->mime = mime_walk_new(s->msg_arena, &lim, header_named(s, "Content-Type"),
						header_named(s, "Content-Transfer-Encoding"),
						header_named(s, "Content-Disposition"));
			if (m->mime == NULL)
				return -1;
		}
		if (mime_walk_feed(m->mime, chunk, len) != 0)
			return -1;
	}
	return 0;
}

bool engine_rules_accepted(const struct session *s)
{
	return s->rules_accepted_conn || s->msg.rules_accepted || every_rcpt_exempt(s);
}

bool engine_rules_exempt(const struct session *s, const struct address *rcpt)
{
	const struct message *m = &s->msg;

	if (s->rules_accepted_conn || m->rules_accepted)
		return true;
	for (size_t i = m->nrule_exempt; rcpt != NULL && i-- > 0;) /* the latest first */
		if (m->rule_exempt[i].addr == rcpt->addr)
			return true;
	return false;
}
