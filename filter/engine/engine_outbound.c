/*
 * engine_outbound.c - the sender identity check and DKIM signing at the
 * SMTP phases (see engine_outbound.h)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "auth/dkim_canon.h"
#include "conf/config.h"
#include "engine/engine_metrics.h"
#include "engine/engine_outbound.h"
#include "engine/session.h"
#include "outbound/addr_list.h"
#include "outbound/dkim_keycheck.h"
#include "outbound/dkim_signer.h"
#include "outbound/dkim_tables.h"
#include "outbound/outbound.h"
#include "util/arena.h"
#include "util/gh.h"
#include "util/log.h"

/* RFC 5322 2.1.1: a line longer than this may be rewrapped on the way */
#define OUTBOUND_MAX_LINE 998

struct outbound_msg {
	struct dkim_body *body; /* NULL until the first body chunk of mail to sign */
	bool body_failed;
	bool no_sign;		  /* a check said "accept, but never sign" */
	const char *mail_from_id; /* MAIL FROM\'s check: "pass", "fail"; NULL: none */
	const char *sign_addr;	  /* the From address that passed (arena) */
	unsigned char bh[32];
	bool bh_done;
};

void engine_outbound_msg_free(struct outbound_msg *m)
{
	if (m == NULL)
		return;
	dkim_body_free(m->body);
	free(m);
}

static struct outbound_msg *engine_obm(struct session *s)
{
	if (s->msg.obm == NULL)
		s->msg.obm = calloc(1, sizeof(*s->msg.obm));
	return s->msg.obm;
}

static const struct outbound_tables *engine_tables(const struct session *s)
{
	return s->cfg->outbound;
}

/* engine_outbound_refuse - ACTION (sender_mismatch_action or
 * dkim_long_line_action) for WHY: a refusal into reply and msg.verdict, or
 * for "unsigned" a note that this message is not signed */
static enum gh_action engine_outbound_refuse(struct session *s, int action, enum gh_phase ph,
					     const char *source, const char *code,
					     const char *ecode, const char *text)
{
	struct outbound_msg *om = engine_obm(s);

	if (strcmp(source, "sender") == 0) /* every identity mismatch comes here */
		engine_metrics_mismatch(s->metrics, (enum gh_action)action);
	if (om == NULL)
		return GH_ACT_TEMPFAIL;
	if (action == GH_ACT_CONTINUE) {
		om->no_sign = true;
		return GH_ACT_CONTINUE;
	}
	if (action == GH_ACT_TEMPFAIL) {
		code = "451";
		ecode = "4.7.1";
	}
	if (verdict_set(&s->msg.verdict, s->msg_arena, (enum gh_action)action, ph, code, ecode,
			text, source) != 0)
		return GH_ACT_TEMPFAIL;
	s->reply = s->msg.verdict;
	return s->reply.action;
}

/* engine_identity - may the message's login (or internal mail) use ADDR,
 * named by FIELD? CONTINUE, or the configured answer to a mismatch */
static enum gh_action engine_identity(struct session *s, const char *field, const char *addr,
				      enum gh_phase ph, bool *passed)
{
	const struct message *m = &s->msg;
	struct login_map_why why;
	enum outbound_identity_result r = outbound_identity(engine_tables(s), s->cfg, m->auth_login,
							    addr, &why);
	const char *login = m->auth_login ? m->auth_login : "(internal)";
	char *detail, *text;

	if (strcmp(field, "MAIL FROM") == 0 && r != OUTBOUND_ID_NONE && engine_obm(s) != NULL)
		s->msg.obm->mail_from_id = r == OUTBOUND_ID_PASS ? "pass" : "fail";
	if (r == OUTBOUND_ID_NONE) {
		*passed = false;
		return session_add_check(s, "sender", "none", field) == GH_OK ? GH_ACT_CONTINUE
									      : GH_ACT_TEMPFAIL;
	}
	detail = why.file == NULL ? arena_printf(s->msg_arena, "%s <%s> login=%s: no map line",
						 field, addr, login)
		 : why.line > 0	  ? arena_printf(s->msg_arena, "%s <%s> login=%s by %s:%lu", field,
						 addr, login, why.file, why.line)
				: arena_printf(s->msg_arena, "%s <%s> login=%s by %s", field, addr,
					       login, why.file);
	if (detail == NULL ||
	    session_add_check(s, "sender", r == OUTBOUND_ID_PASS ? "pass" : "fail", detail) !=
		    GH_OK)
		return GH_ACT_TEMPFAIL;
	if (r == OUTBOUND_ID_PASS) {
		*passed = true;
		return GH_ACT_CONTINUE;
	}
	*passed = false;
	session_log(s->log, s, LOG_NOTICE, "sender mismatch: %s", detail);
	text = arena_printf(s->msg_arena, "%s <%s> is not an address %s may use", field, addr,
			    m->auth_login ? m->auth_login : "this host");
	if (text == NULL)
		return GH_ACT_TEMPFAIL;
	return engine_outbound_refuse(s, s->cfg->sender_mismatch_action, ph, "sender", "550",
				      "5.7.1", text);
}

enum gh_action engine_outbound_mail(struct session *s)
{
	struct message *m = &s->msg;
	const char *dn;
	bool passed;

	if (!m->outbound && s->macro != NULL &&
	    (dn = s->macro(s->macro_ctx, "{daemon_name}")) != NULL &&
	    outbound_daemon_is_outbound(engine_tables(s), dn))
		m->outbound = true;
	/* A snapshot without outbound tables (config_load() alone: unit tests,
	 * fuzzers) has no outbound policy; snapshot_load() always builds them. */
	if (!m->outbound || engine_tables(s) == NULL)
		return GH_ACT_CONTINUE;
	if (m->from.is_null || m->from.addr[0] == '\0') {
		if (m->auth_login == NULL || s->cfg->sender_allow_null)
			return GH_ACT_CONTINUE;
		session_add_check(s, "sender", "fail", "MAIL FROM <> from an authenticated client");
		return engine_outbound_refuse(s, s->cfg->sender_mismatch_action, GH_PH_MAIL,
					      "sender", "550", "5.7.1",
					      "a null sender (MAIL FROM:<>) is not accepted from "
					      "an authenticated client");
	}
	return engine_identity(s, "MAIL FROM", m->from.addr, GH_PH_MAIL, &passed);
}

const char *engine_outbound_identity(const struct session *s)
{
	const struct outbound_msg *om = s->msg.obm;

	return om != NULL && om->mail_from_id != NULL ? om->mail_from_id : "none";
}

/* engine_will_sign - outbound mail that may get a signature at all */
static bool engine_will_sign(const struct session *s)
{
	const struct outbound_tables *t = engine_tables(s);

	if (!s->msg.outbound || t == NULL || t->dkim == NULL)
		return false;
	if (s->msg.auth_login == NULL && !s->cfg->internal_sign)
		return false;
	return s->msg.obm == NULL || !s->msg.obm->no_sign;
}

void engine_outbound_body(struct session *s, const unsigned char *chunk, size_t len)
{
	struct outbound_msg *om;

	if (!engine_will_sign(s) || (om = engine_obm(s)) == NULL || om->body_failed)
		return;
	if (om->body == NULL &&
	    (om->body = dkim_body_new(s->cfg->dkim_body_canonicalization, NULL)) == NULL)
		om->body_failed = true;
	else if (dkim_body_update(om->body, chunk, len) != 0)
		om->body_failed = true;
}

/* engine_header_ids - every address of each FIELD header against the login;
 * the first From address that passes is the signing identity */
static enum gh_action engine_header_ids(struct session *s, const char *field)
{
	struct message *m = &s->msg;
	struct outbound_msg *om = engine_obm(s);

	if (om == NULL)
		return GH_ACT_TEMPFAIL;
	for (size_t i = 0; i < m->nheaders; i++) {
		const char **addrs = NULL;
		size_t n = 0;
		char *text;
		enum gh_action a;
		bool passed;

		if (strcasecmp(m->headers[i].name, field) != 0)
			continue;
		if (addr_list_parse(s->msg_arena, m->headers[i].value, &addrs, &n) != 0) {
			if (m->auth_login == NULL &&
			    (engine_tables(s) == NULL || engine_tables(s)->internal == NULL))
				continue; /* internal, unchecked: sanity and DMARC judge it */
			text = arena_printf(s->msg_arena, "%s has no usable address", field);
			session_add_check(s, "sender", "fail", text ? text : field);
			return engine_outbound_refuse(s, s->cfg->sender_mismatch_action, GH_PH_EOM,
						      "sender", "550", "5.7.1",
						      text ? text : "unusable sender address");
		}
		for (size_t k = 0; k < n; k++) {
			if (verdict_is_final(
				    a = engine_identity(s, field, addrs[k], GH_PH_EOM, &passed)))
				return a;
			if (strcasecmp(field, "From") == 0 && om->sign_addr == NULL &&
			    (passed || m->auth_login == NULL))
				om->sign_addr = addrs[k];
		}
	}
	return GH_ACT_CONTINUE;
}

enum gh_action engine_outbound_eom(struct session *s)
{
	struct message *m = &s->msg;
	struct outbound_msg *om;
	enum gh_action a;
	size_t longest = 0;

	if (!m->outbound || engine_tables(s) == NULL)
		return GH_ACT_CONTINUE;
	if (verdict_is_final(a = engine_header_ids(s, "From")) ||
	    verdict_is_final(a = engine_header_ids(s, "Sender")))
		return a;
	if (!engine_will_sign(s) || (om = engine_obm(s)) == NULL)
		return GH_ACT_CONTINUE;
	if (om->body == NULL && !om->body_failed &&
	    (om->body = dkim_body_new(s->cfg->dkim_body_canonicalization, NULL)) == NULL)
		om->body_failed = true;
	if (om->body_failed || dkim_body_final(om->body, om->bh) != 0)
		return GH_ACT_TEMPFAIL; /* OpenSSL or memory: the caller's internal error */
	om->bh_done = true;
	longest = dkim_body_longest_line(om->body);
	for (size_t i = 0; i < m->nheaders; i++) {
		const char *v = m->headers[i].value, *end = v + m->headers[i].value_len;
		/* "Name:" and the space after it, where there was one */
		size_t first = strlen(m->headers[i].name) + 1 + m->headers[i].space;

		while (v < end) {
			const char *nl = memchr(v, '\n', (size_t)(end - v));
			size_t n = (size_t)((nl ? nl : end) - v) + first;

			if (n > longest)
				longest = n;
			first = 0;
			v = nl ? nl + 1 : end;
		}
	}
	if (longest > OUTBOUND_MAX_LINE) {
		char *text = arena_printf(s->msg_arena,
					  "a line of %zu octets (over 998) cannot be signed safely",
					  longest);

		session_add_check(s, "dkim.sign", "fail", text ? text : "line over 998 octets");
		return engine_outbound_refuse(s, s->cfg->dkim_long_line_action, GH_PH_EOM,
					      "dkim.sign", "550", "5.6.0",
					      text ? text : "line over 998 octets");
	}
	return GH_ACT_CONTINUE;
}

/* engine_edits_touch_signed - a header edit already queued changes a field
 * the signature would cover: signing now would sign what nobody receives */
static const char *engine_edits_touch_signed(const struct session *s)
{
	const struct outbound_tables *t = engine_tables(s);

	for (size_t i = 0; i < s->msg.nedits; i++)
		for (char **h = t->sign_headers; *h; h++)
			if (strcasecmp(s->msg.edits[i].name, *h) == 0)
				return *h;
	return NULL;
}

int engine_outbound_sign(struct session *s)
{
	struct message *m = &s->msg;
	struct outbound_msg *om = m->obm;
	const struct outbound_tables *t = engine_tables(s);
	const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];
	size_t nkeys;
	const char *touched;

	if (!engine_will_sign(s) || om == NULL || !om->bh_done)
		return GH_OK;
	if (om->sign_addr == NULL)
		return session_add_check(s, "dkim.sign", "none",
					 "no From address passed the check");
	nkeys = dkim_tables_lookup(t->dkim, om->sign_addr, keys);
	if (nkeys == 0)
		return session_add_check(
			s, "dkim.sign", "none",
			arena_printf(s->msg_arena, "no key for <%s>", om->sign_addr));
	if ((touched = engine_edits_touch_signed(s)) != NULL) {
		session_log(s->log, s, LOG_WARNING, "not signed: a header edit changes %s",
			    touched);
		return session_add_check(s, "dkim.sign", "fail",
					 "a header edit changes a signed field");
	}
	for (size_t i = 0; i < nkeys; i++) {
		const char *why = NULL;
		enum dkim_keycheck_result pub;
		struct dkim_sign_request r = {
			.key = keys[i],
			.headers = m->headers,
			.nheaders = m->nheaders,
			.sign = (const char *const *)t->sign_headers,
			.oversign = (const char *const *)t->oversign_headers,
			.body_hash = om->bh,
			.body_relaxed = s->cfg->dkim_body_canonicalization == 1,
			.now = time(NULL),
			.expire_s = s->cfg->dkim_signature_expire_s,
		};
		char *sig, *copy;
		char *detail;

		/* dkim_require_published: a key signs only once DNS publishes it
		 * (asked through the shared resolver, whose cache answers the
		 * following messages), so a rotation never sends unverifiable mail */
		if (s->cfg->dkim_require_published && s->dns != NULL &&
		    (pub = dkim_keycheck(s->dns, &s->dns_budget, keys[i], &why)) !=
			    DKIM_KEYCHECK_MATCH) {
			detail = arena_printf(s->msg_arena, "key %s not used: DNS says %s",
					      keys[i]->name, dkim_keycheck_name(pub));
			session_log(s->log, s, LOG_WARNING, "%s", detail ? detail : "key not used");
			engine_metrics_signature(s->metrics, keys[i], "skipped");
			if (session_add_check(s, "dkim.sign", "skipped", detail) != GH_OK)
				return GH_ERR_NOMEM;
			continue;
		}
		sig = dkim_sign_header(&r);
		if (sig == NULL) {
			session_log(s->log, s, LOG_ERR, "signing with key %s failed",
				    keys[i]->name);
			engine_metrics_signature(s->metrics, keys[i], "failed");
			if (session_add_check(s, "dkim.sign", "fail", keys[i]->name) != GH_OK)
				return GH_ERR_NOMEM;
			continue;
		}
		copy = arena_strdup(s->msg_arena, sig);
		free(sig);
		engine_metrics_signature(s->metrics, keys[i], "signed");
		detail = arena_printf(s->msg_arena, "d=%s s=%s a=%s for <%s>", keys[i]->domain,
				      keys[i]->selector, dkim_key_alg_name(keys[i]->alg),
				      om->sign_addr);
		if (copy == NULL || detail == NULL ||
		    session_add_edit(s, HDR_INSERT, "DKIM-Signature", copy, 0) != GH_OK ||
		    session_add_check(s, "dkim.sign", "pass", detail) != GH_OK)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}
