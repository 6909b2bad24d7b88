/*
 * spf.c - the SPF check: libspf2 evaluates, this file decides (see spf.h)
 *
 * spf_check() hands libspf2 one identity, with our DNS layer (spf_layer.c)
 * answering every question, and turns what libspf2 and the layer report
 * into exactly one of RFC 7208's seven results.
 *
 * Which result wins. Several things can be known at the end of one
 * evaluation; spf_check() takes the first of these that applies:
 *  1. No evaluation at all: an identity that is not a multi-label domain,
 *     a sender libspf2 refuses or a client address it cannot take gives
 *     none before any DNS question (out of memory: temperror).
 *  2. The layer stopped evaluation: our strict record check found a
 *     syntax error (permerror), a lookup limit of RFC 7208 4.6.4 was
 *     exceeded (permerror), or a DNS query failed (temperror). These beat
 *     whatever libspf2 answered, because libspf2 never saw the truth: it
 *     got a bare "v=spf1" in place of the malformed record and "no
 *     recovery" for every question after the stop, so its result is an
 *     artefact. The layer stops at the first of the three, so at most one
 *     is set and the first to happen wins, as in RFC 7208 4.6 where
 *     evaluation ends at the first error; the order of the tests below
 *     (syntax, limit, DNS) is only a tie-break.
 *  3. libspf2 returned no response: temperror (out of memory).
 *  4. A record libspf2 compiled only partly (the layer notices; libspf2
 *     keeps the leading mechanisms and drops the rest): permerror if it
 *     was an included or redirected record, whatever libspf2 answered,
 *     since the response does not tell a match in that record's kept part
 *     from a fall-through past it; if it was the identity's own record,
 *     permerror only when nothing matched (libspf2 fell off the end of the
 *     kept part) - a match in the kept part stands, because the first
 *     match decides and the dropped mechanisms come after it. 2 wins over
 *     4: the layer's stop happened in evaluation libspf2 really did, which
 *     a full evaluation reaches the same way (the kept part comes first);
 *     only after a fall-through past a cut-short included record may the
 *     path differ, and then both answers are errors, never a pass or fail
 *     the full record would not give.
 *  5. A loopback client: libspf2 passes 127/8 and ::1 before asking DNS,
 *     without looking at any record, so nothing of 2 to 4 can apply; a
 *     pass nobody checked is not a pass: none.
 *  6. libspf2's result. Its "invalid" with a DNS error is a temperror (the
 *     layer normally sees the failure first, in 2); any other "invalid"
 *     is a permerror; the other six map one to one.
 * An explanation never changes the result: only a fail gets one, from the
 * identity's own exp= (not when that record redirected), and anything
 * wrong with it leaves the fail without an explanation (RFC 7208 6.2).
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <spf2/spf.h>

#include "auth/spf.h"
#include "auth/spf_layer.h"
#include "auth/spf_macro.h"
#include "auth/spf_servers.h"
#include "dns/dns.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "util/strbuf.h"

/* spf_identity_domain - the domain the identity names, or NULL when it has none */
static bool spf_domain_ok(const char *d)
{
	size_t len = strlen(d);
	const char *dot = strchr(d, '.');

	/* RFC 7208 4.3: a domain that is not a multi-label FQDN gives none;
	 * a trailing dot ("tld.") does not make a second label */
	if (len == 0 || len > 253 || d[0] == '[' || dot == NULL || dot == d + len - 1 ||
	    d[0] == '.' || strstr(d, "..") != NULL)
		return false;
	for (const char *p = d; *p; p++)
		if ((unsigned char)*p <= 32 || *p == 127)
			return false;
	return true;
}

/* spf_client_ip - IPv4-mapped IPv6 ("::ffff:192.0.2.1") as plain IPv4 */
static const char *spf_client_ip(struct arena *arena, const char *ip, bool *v6)
{
	char buf[INET6_ADDRSTRLEN];

	*v6 = strchr(ip, ':') != NULL;
	if (*v6 && cidr_ip_canon(ip, buf, sizeof(buf)) != NULL && strchr(buf, ':') == NULL) {
		*v6 = false;
		return arena_strdup(arena, buf);
	}
	return ip;
}

static enum ar_result spf_map(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return AR_PASS;
	case SPF_RESULT_FAIL:
		return AR_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return AR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return AR_NEUTRAL;
	case SPF_RESULT_NONE:
		return AR_NONE;
	case SPF_RESULT_TEMPERROR:
		return AR_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return AR_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		return AR_PERMERROR; /* refined by the caller */
	}
}

static void spf_set(struct spf_outcome *out, enum ar_result r, const char *reason)
{
	out->result = r;
	out->reason = reason;
}

/*
 * spf_explain - the explanation of a fail (RFC 7208 6.2): the TXT record
 * named by the identity's exp=, macro-expanded; NULL when anything about it
 * is wrong (no record, several, bad syntax, DNS trouble): the fail stands,
 * only without an explanation.
 */
static const char *spf_explain(struct dns_resolver *dns, struct dns_budget *budget,
			       const char *exp_spec, struct arena *arena, const struct spf_query *q,
			       const char *ip, const struct spf_outcome *out)
{
	const char *at = strrchr(out->sender, '@');
	char *local = at ? arena_memdup(arena, out->sender, (size_t)(at - out->sender)) : NULL;
	struct spf_macro_env env = {
		.sender = out->sender,
		.local = local,
		.sender_domain = at ? at + 1 : "",
		.domain = out->domain,
		.client_ip = ip,
		.helo = q->helo,
		.receiver = q->receiver,
		.now = (long long)time(NULL),
	};
	struct strbuf name, raw, text;
	struct dns_result res = { 0 };
	const char *exp = NULL;

	strbuf_init(&name);
	strbuf_init(&raw);
	strbuf_init(&text);
	if (local == NULL ||
	    spf_macro_expand(&env, exp_spec, strlen(exp_spec), false, &name) != 0 || name.len == 0)
		goto done;
	dns_query(dns, strbuf_cstr(&name), DNS_T_TXT, budget, &res);
	if (res.status == DNS_ANSWER && res.n == 1 && dns_rdata_txt(&res.rr[0], &raw) == 0 &&
	    memchr(strbuf_cstr(&raw), '\0', raw.len) == NULL &&
	    spf_macro_expand(&env, strbuf_cstr(&raw), raw.len, true, &text) == 0)
		exp = arena_strdup(arena, strbuf_cstr(&text));
done:
	dns_result_free(&res);
	strbuf_free(&name);
	strbuf_free(&raw);
	strbuf_free(&text);
	return exp;
}

void spf_lib_init(void)
{
	/* libspf2 prints warnings and notes on stderr by default; gatehouse
	 * reports through its own results and logs. NULL means ignored. */
	SPF_warning_handler = NULL;
	SPF_info_handler = NULL;
	SPF_debug_handler = NULL;
}

int spf_check(struct spf_servers *servers, struct dns_resolver *dns, struct dns_budget *budget,
	      struct arena *arena, const struct spf_query *q, enum spf_which which,
	      struct spf_outcome *out)
{
	struct spf_layer cx;
	struct spf_lease *lease;
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	const char *helo = q->helo ? q->helo : "";
	const char *mailfrom = q->mailfrom ? q->mailfrom : "";
	const char *ip, *at;
	SPF_errcode_t qrc = SPF_E_SUCCESS;
	bool v6;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->identity = which == SPF_CHECK_HELO ? "helo" : "mailfrom";
	if (which == SPF_CHECK_HELO || *mailfrom == '\0') {
		out->domain = arena_strdup(arena, helo);
		out->sender = arena_printf(arena, "postmaster@%s", helo);
	} else {
		at = strrchr(mailfrom, '@');
		out->domain = arena_strdup(arena, at ? at + 1 : "");
		/* RFC 7208 4.3: no local part means "postmaster" */
		out->sender = at == mailfrom ? arena_printf(arena, "postmaster%s", mailfrom)
					     : arena_strdup(arena, mailfrom);
	}
	ip = spf_client_ip(arena, q->client_ip ? q->client_ip : "", &v6);
	if (out->domain == NULL || out->sender == NULL || ip == NULL) {
		spf_set(out, AR_TEMPERROR, "out of memory");
		return -1;
	}
	if (!spf_domain_ok(out->domain)) {
		spf_set(out, AR_NONE, "no SPF identity: not a fully qualified domain name");
		return 0;
	}

	/* our name, not this machine's, in libspf2's reasons; the server's
	 * other settings are spf_servers.h's */
	lease = spf_server_take(servers, spf_layer_init(&cx, dns, budget, v6), q->receiver);
	server = lease != NULL ? spf_lease_server(lease) : NULL;
	req = server ? SPF_request_new(server) : NULL;
	spf_layer_attach(&cx, server, req);
	if (req == NULL) {
		spf_set(out, AR_TEMPERROR, "out of memory");
		rc = -1;
		goto done;
	}
	if ((v6 ? SPF_request_set_ipv6_str(req, ip) : SPF_request_set_ipv4_str(req, ip)) !=
	    SPF_E_SUCCESS) {
		spf_set(out, AR_NONE, "no client address to check");
		goto done;
	}
	SPF_request_set_helo_dom(req, helo);
	if (SPF_request_set_env_from(req, out->sender) != 0) {
		spf_set(out, AR_NONE, "no SPF identity: the sender address has no usable domain");
		goto done;
	}
	qrc = SPF_request_query_mailfrom(req, &resp);
	out->dns_mechanisms = cx.terms;
	out->void_lookups = cx.voids;
	/* Which result wins: steps 2 to 6 at the top of this file, in order. */
	if (cx.syntax != NULL) {
		spf_set(out, AR_PERMERROR, arena_printf(arena, "SPF record syntax: %s", cx.syntax));
	} else if (cx.limit != NULL) {
		spf_set(out, AR_PERMERROR, cx.limit);
	} else if (cx.dns_error != NULL) {
		spf_set(out, AR_TEMPERROR, arena_printf(arena, "DNS: %s", cx.dns_error));
	} else if (resp == NULL) {
		spf_set(out, AR_TEMPERROR, "out of memory");
		rc = -1;
	} else {
		SPF_errcode_t err = SPF_response_errcode(resp);
		SPF_result_t r = SPF_response_result(resp);
		const char *comment = SPF_response_get_header_comment(resp);

		if (cx.other_truncated ||
		    (cx.top_truncated && SPF_response_reason(resp) == SPF_REASON_DEFAULT)) {
			/* A mechanism that matched in the part libspf2 kept gives
			 * the right answer; falling through a truncated record,
			 * or through an included one, would give a wrong one. */
			spf_set(out, AR_PERMERROR,
				"record too large for libspf2 (over 511 "
				"compiled bytes) and no mechanism in the part it kept matched");
			goto done;
		}
		if (SPF_response_reason(resp) == SPF_REASON_LOCALHOST) {
			/* libspf2 passes 127/8 and ::1 without evaluating the
			 * record; a pass nobody checked is not a pass. */
			spf_set(out, AR_NONE, "loopback client: SPF does not apply");
			goto done;
		}
		if (r == SPF_RESULT_INVALID && err == SPF_E_DNS_ERROR)
			spf_set(out, AR_TEMPERROR, "DNS failure");
		else
			spf_set(out, spf_map(r), NULL);
		if (err != SPF_E_SUCCESS && err != SPF_E_NOT_SPF)
			out->reason = arena_strdup(arena, SPF_strerror(err));
		else if (comment != NULL)
			out->reason = arena_strdup(arena, comment);
		if (out->reason == NULL && qrc != SPF_E_SUCCESS)
			out->reason = arena_strdup(arena, SPF_strerror(qrc));
		if (out->result == AR_FAIL && cx.exp_spec != NULL && !cx.top_redirect)
			out->explanation = spf_explain(dns, budget, cx.exp_spec, arena, q, ip, out);
	}
done:
	/* libspf2's free functions do not accept NULL (a sender libspf2
	 * refuses leaves RESP unset): guard each one */
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	spf_server_give(servers, lease);
	spf_layer_free(&cx);
	return rc;
}

/* spf_quote - VALUE as an RFC 5322 quoted-string, control characters dropped */
static void spf_quote(struct strbuf *sb, const char *value)
{
	strbuf_putc(sb, '"');
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p < 32 || *p == 127)
			continue;
		if (*p == '"' || *p == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
}

/* spf_comment - TEXT fit for a header comment: no parentheses, backslashes or controls */
static void spf_comment(struct strbuf *sb, const char *text)
{
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 32 || *p == 127 || *p == '(' || *p == ')' || *p == '\\')
			strbuf_putc(sb, ' ');
		else
			strbuf_putc(sb, *p);
	}
}

/* spf_dot_atom - TEXT is a dot-atom (RFC 5322 3.2.3) */
static bool spf_dot_atom(const char *text)
{
	if (*text == '\0' || *text == '.')
		return false;
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' ? p[1] == '.' || p[1] == '\0'
			     : !(isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			return false;
	}
	return true;
}

char *spf_received_header(struct arena *arena, const struct spf_outcome *out,
			  const struct spf_query *q, const char *receiver)
{
	struct strbuf sb;
	char *v;

	strbuf_init(&sb);
	strbuf_puts(&sb, ar_result_name(out->result) ? ar_result_name(out->result) : "none");
	strbuf_puts(&sb, " (");
	/* libspf2's reasons already start with "RECEIVER: "; ours do not */
	if (out->reason == NULL || strncmp(out->reason, receiver, strlen(receiver)) != 0) {
		spf_comment(&sb, receiver);
		strbuf_puts(&sb, ": ");
	}
	spf_comment(&sb, out->reason ? out->reason : "no reason given");
	strbuf_puts(&sb, ")\n\treceiver=");
	if (spf_dot_atom(receiver))
		strbuf_puts(&sb, receiver);
	else
		spf_quote(&sb, receiver); /* RFC 7208 9.1: dot-atom or quoted-string */
	strbuf_printf(&sb, "; client-ip=%s; envelope-from=", q->client_ip ? q->client_ip : "");
	spf_quote(&sb, out->sender ? out->sender : "");
	strbuf_puts(&sb, ";\n\thelo=");
	spf_quote(&sb, q->helo ? q->helo : "");
	strbuf_printf(&sb, "; identity=%s;", out->identity);
	v = sb.failed ? NULL : arena_strdup(arena, strbuf_cstr(&sb));
	strbuf_free(&sb);
	return v;
}
