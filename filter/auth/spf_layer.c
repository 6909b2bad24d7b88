/*
 * spf.c - SPF on libspf2 over the shared resolver (see spf.h)
 *
 * libspf2 asks its DNS layer for every record it needs; ours answers from
 * dns_query() and counts on the way, because libspf2 does not enforce
 * RFC 7208 section 4.6.4 itself:
 *  - every TXT query after the first one (include, redirect) and every
 *    A, AAAA, MX or PTR query that is not the address lookup of a name an
 *    MX or PTR answer gave is one DNS-querying term; the eleventh is a
 *    permerror;
 *  - a term whose query finds nothing (NXDOMAIN or no records) is a void
 *    lookup; the third is a permerror;
 *  - an MX answer with more than 10 names is a permerror;
 *  - any DNS failure is a temperror (libspf2 calls it "invalid").
 * A layer refuses to answer once a limit is hit, so libspf2 stops asking.
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>

#include "util/arena.h"
#include "dns/dns.h"
#include "auth/spf.h"
#include "auth/spf_macro.h"
#include "auth/spf_record.h"
#include "util/strbuf.h"

#define SPF_MAX_DNS_TERMS 10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOID 2
#define SPF_MAX_MX 10
#define SPF_MAX_PTR 10
#define SPF_MAX_SECONDARY 64	/* MX/PTR names remembered for the count */

struct spf_layer_ctx {
	struct dns_resolver *dns;
	struct dns_budget *budget;
	bool first_txt_seen;
	unsigned terms, voids;
	char *secondary[SPF_MAX_SECONDARY];	/* names from MX/PTR answers */
	size_t nsecondary;
	const char *limit;	/* set once a limit is exceeded: the reason */
	const char *dns_error;	/* set once a query failed temporarily */
	const char *syntax;	/* set once an evaluated record is malformed */
	bool v6;		/* the client's address family, for /0 rewrites */
	char *exp_spec;		/* exp= of the identity's own record, or NULL */
	bool top_redirect;	/* that record hands over with redirect= */
	SPF_server_t *server;	/* for checking what libspf2 compiles */
	SPF_request_t *req;
	bool top_truncated;	/* libspf2 dropped mechanisms of the identity's record */
	bool other_truncated;	/* ... of an included or redirected record */
};

/* spf_mechanisms - mechanisms in a normalized record (its terms but redirect=) */
static int spf_mechanisms(const char *norm)
{
	int n = 0;

	for (const char *p = norm + 6; *p; ) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len > 0 && memchr(p, '=', len) == NULL)
			n++;
		p += len;
	}
	return n;
}

/*
 * spf_fits_libspf2 - libspf2 compiles a record into a buffer of 511 bytes
 * (SPF_MAX_MECH_LEN) and silently drops the mechanisms that do not fit,
 * "-all" included: a big record would then give a wrong result. Compile
 * it once here and compare the count; a record that does not fit is a
 * permerror with that reason, never a silently different answer.
 */
static bool spf_fits_libspf2(struct spf_layer_ctx *cx, const char *norm)
{
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	bool fits = true;

	if (cx->server == NULL || cx->req == NULL || strlen(norm) < 64)
		return true;	/* short records always fit */
	resp = SPF_response_new(cx->req);
	if (resp == NULL)
		return true;
	if (SPF_record_compile(cx->server, resp, &rec, norm) == SPF_E_SUCCESS && rec != NULL)
		fits = rec->num_mech >= spf_mechanisms(norm);
	if (rec != NULL)
		SPF_record_free(rec);
	SPF_response_free(resp);
	return fits;
}

static void spf_ctx_free(struct spf_layer_ctx *cx)
{
	free(cx->exp_spec);
	for (size_t i = 0; i < cx->nsecondary; i++)
		free(cx->secondary[i]);
}

/* spf_take_secondary - NAME came from an MX or PTR answer and this is its
 * address lookup: not a term of its own. The exemption is used up, so a
 * later a:NAME in the record counts as RFC 4.6.4 says. */
static bool spf_take_secondary(struct spf_layer_ctx *cx, const char *name)
{
	for (size_t i = 0; i < cx->nsecondary; i++)
		if (strcasecmp(cx->secondary[i], name) == 0) {
			free(cx->secondary[i]);
			cx->secondary[i] = cx->secondary[--cx->nsecondary];
			return true;
		}
	return false;
}

static void spf_remember_secondary(struct spf_layer_ctx *cx, const char *name)
{
	if (cx->nsecondary < SPF_MAX_SECONDARY) {
		char *copy = strdup(name);

		if (copy != NULL)
			cx->secondary[cx->nsecondary++] = copy;
	}
}

/* spf_rr_fill - our answer as libspf2 records; false when out of memory */
static bool spf_rr_fill(SPF_dns_rr_t *rr, const struct dns_result *res, ns_type type,
			struct spf_layer_ctx *cx, bool top)
{
	int n = 0;

	for (size_t i = 0; i < res->n; i++) {
		const struct dns_rdata *d = &res->rr[i];

		/* RFC 4.6.4: only the first 10 PTR names are looked at; more
		 * is not an error (unlike MX) */
		if (type == ns_t_ptr && n >= SPF_MAX_PTR)
			break;
		size_t pos = 0;
		char *name = NULL;

		switch (type) {
		case ns_t_a:
			if (d->len != sizeof(struct in_addr))
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, sizeof(struct in_addr)) != SPF_E_SUCCESS)
				return false;
			memcpy(&rr->rr[n]->a, d->data, sizeof(struct in_addr));
			break;
		case ns_t_aaaa:
			if (d->len != sizeof(struct in6_addr))
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, sizeof(struct in6_addr)) != SPF_E_SUCCESS)
				return false;
			memcpy(&rr->rr[n]->aaaa, d->data, sizeof(struct in6_addr));
			break;
		case ns_t_txt: {
			struct strbuf sb;
			const char *text, *why = NULL;
			char *norm = NULL;
			size_t tlen;
			bool ok;

			strbuf_init(&sb);
			if (dns_rdata_txt(d, &sb) != 0) {
				strbuf_free(&sb);
				continue;	/* malformed rdata: not a record */
			}
			text = sb.data ? sb.data : "";
			tlen = sb.len;
			if (spf_record_is_spf(text, tlen)) {
				/* libspf2 gets the checked, normalized record
				 * (spf_record.h says why) */
				char *exp = NULL;
				bool redirect = false;

				norm = spf_record_normalize(text, tlen, cx->v6, &exp, &redirect, &why);
				if (top && norm != NULL && cx->exp_spec == NULL) {
					cx->exp_spec = exp;	/* RFC 6.2: the explanation of this record */
					cx->top_redirect = redirect;
					exp = NULL;
				}
				free(exp);
				if (norm == NULL) {
					if (strcmp(why, "out of memory") == 0) {
						strbuf_free(&sb);
						return false;
					}
					if (cx->syntax == NULL)
						cx->syntax = why;
					/* the result is permerror either way; libspf2
					 * (whose parser has had CVEs) never sees it */
					text = "v=spf1";
					tlen = 6;
				} else {
					text = norm;
					tlen = strlen(norm);
					if (!spf_fits_libspf2(cx, norm)) {
						if (top)
							cx->top_truncated = true;
						else
							cx->other_truncated = true;
					}
				}
			}
			ok = SPF_dns_rr_buf_realloc(rr, n, tlen + 1) == SPF_E_SUCCESS;
			if (ok) {
				memcpy(rr->rr[n]->txt, text, tlen);
				rr->rr[n]->txt[tlen] = '\0';
			}
			free(norm);
			strbuf_free(&sb);
			if (!ok)
				return false;
			break;
		}
		case ns_t_mx:
		case ns_t_ptr:
			pos = type == ns_t_mx ? 2 : 0;
			name = dns_rdata_name(d, &pos);
			if (name == NULL)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, n, strlen(name) + 1) != SPF_E_SUCCESS) {
				free(name);
				return false;
			}
			strcpy(type == ns_t_mx ? rr->rr[n]->mx : rr->rr[n]->ptr, name);
			spf_remember_secondary(cx, name);
			free(name);
			break;
		default:
			continue;
		}
		n++;
	}
	rr->num_rr = n;
	return true;
}

/* spf_has_suffix - NAME ends with SUFFIX (ASCII case-insensitive); its length before it */
static bool spf_has_suffix(const char *name, const char *suffix, size_t *base_len)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n > k + 0 && name[n - 1] == '.')
		n--;	/* a trailing dot is the same name */
	if (n <= k || strncasecmp(name + n - k, suffix, k) != 0)
		return false;
	*base_len = n - k;
	return true;
}

/* spf_any_address - does NAME have an address of TYPE? the status of the answer */
static enum dns_status spf_any_address(struct spf_layer_ctx *cx, const char *name, int type)
{
	struct dns_result res;
	enum dns_status st;

	dns_query(cx->dns, name, type, cx->budget, &res);
	st = res.status;
	if (st == DNS_TEMPFAIL)
		cx->dns_error = res.why ? res.why : "DNS failure";
	dns_result_free(&res);
	return st;
}

/*
 * spf_synth - answer one of spf_record.h's synthetic names: NAME is
 * BASE + suffix; the answer is one A record when the condition holds, the
 * status of the underlying lookup when it does not. *VOID tells whether the
 * underlying term found nothing at all (a void lookup, RFC 4.6.4).
 */
static enum dns_status spf_synth(struct spf_layer_ctx *cx, const char *base, int kind, bool *void_)
{
	struct dns_result mx;
	enum dns_status st = DNS_NODATA;

	*void_ = false;
	if (kind == DNS_T_AAAA) {
		st = spf_any_address(cx, base, DNS_T_AAAA);
		*void_ = st == DNS_NXDOMAIN || st == DNS_NODATA;
		return st;
	}
	dns_query(cx->dns, base, DNS_T_MX, cx->budget, &mx);
	if (mx.status != DNS_ANSWER) {
		if (mx.status == DNS_TEMPFAIL)
			cx->dns_error = mx.why ? mx.why : "DNS failure";
		*void_ = mx.status == DNS_NXDOMAIN || mx.status == DNS_NODATA;
		st = mx.status;
		dns_result_free(&mx);
		return st;
	}
	if (mx.n > SPF_MAX_MX) {
		cx->limit = "more than 10 MX names (RFC 7208 4.6.4)";
		dns_result_free(&mx);
		return DNS_PERMFAIL;
	}
	for (size_t i = 0; i < mx.n && st != DNS_ANSWER && cx->dns_error == NULL; i++) {
		size_t pos = 2;
		char *host = dns_rdata_name(&mx.rr[i], &pos);

		if (host != NULL && spf_any_address(cx, host, kind) == DNS_ANSWER)
			st = DNS_ANSWER;
		free(host);
	}
	dns_result_free(&mx);
	return st;
}

/* spf_synth_rr - the libspf2 answer for a synthetic name */
static SPF_dns_rr_t *spf_synth_rr(SPF_dns_server_t *layer, struct spf_layer_ctx *cx,
				  const char *domain, ns_type type, size_t base_len, int kind)
{
	char *base = strndup(domain, base_len);
	SPF_dns_rr_t *rr;
	enum dns_status st;
	bool void_;

	if (base == NULL)
		return NULL;
	st = type == ns_t_a ? spf_synth(cx, base, kind, &void_) : DNS_NODATA;
	free(base);
	if (type != ns_t_a)
		void_ = false;
	if (st == DNS_ANSWER) {
		rr = SPF_dns_rr_new_init(layer, domain, type, 0, NETDB_SUCCESS);
		if (rr != NULL && SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) == SPF_E_SUCCESS) {
			rr->rr[0]->a.s_addr = htonl(INADDR_LOOPBACK);
			rr->num_rr = 1;
		}
		return rr;
	}
	if (void_ && ++cx->voids > SPF_MAX_VOID)
		cx->limit = "more than 2 void lookups (RFC 7208 4.6.4)";
	return SPF_dns_rr_new_init(layer, domain, type, 0,
				   st == DNS_TEMPFAIL ? TRY_AGAIN : NO_DATA);
}

static SPF_dns_rr_t *spf_layer_lookup(SPF_dns_server_t *layer, const char *domain,
				      ns_type type, int should_cache)
{
	struct spf_layer_ctx *cx = layer->hook;
	size_t base_len;
	bool top = (type == ns_t_txt || type == ns_t_spf) && !cx->first_txt_seen;
	struct dns_result res;
	SPF_dns_rr_t *rr;
	bool term;

	(void)should_cache;
	if (cx->limit != NULL || cx->dns_error != NULL || cx->syntax != NULL)
		return SPF_dns_rr_new_init(layer, domain, type, 0, NO_RECOVERY);
	/* Is this query one of the ten DNS-querying terms? */
	if (type == ns_t_txt || type == ns_t_spf) {
		term = cx->first_txt_seen;
		cx->first_txt_seen = true;
	} else if (type == ns_t_a || type == ns_t_aaaa) {
		term = !spf_take_secondary(cx, domain);
	} else {
		term = true;
	}
	if (term && ++cx->terms > SPF_MAX_DNS_TERMS) {
		cx->limit = "more than 10 DNS-querying mechanisms (RFC 7208 4.6.4)";
		return SPF_dns_rr_new_init(layer, domain, type, 0, NO_RECOVERY);
	}
	if (spf_has_suffix(domain, SPF_SYNTH_AAAA, &base_len))
		return spf_synth_rr(layer, cx, domain, type, base_len, DNS_T_AAAA);
	if (spf_has_suffix(domain, SPF_SYNTH_MX4, &base_len))
		return spf_synth_rr(layer, cx, domain, type, base_len, DNS_T_A);
	if (spf_has_suffix(domain, SPF_SYNTH_MX6, &base_len))
		return spf_synth_rr(layer, cx, domain, type, base_len, DNS_T_AAAA);
	dns_query(cx->dns, domain, type, cx->budget, &res);
	switch (res.status) {
	case DNS_ANSWER:
		rr = SPF_dns_rr_new_init(layer, domain, type, 0, NETDB_SUCCESS);
		if (rr != NULL && !spf_rr_fill(rr, &res, type, cx, top)) {
			SPF_dns_rr_free(rr);
			rr = NULL;
		}
		if (rr != NULL && type == ns_t_mx && rr->num_rr > SPF_MAX_MX) {
			cx->limit = "more than 10 MX names (RFC 7208 4.6.4)";
			rr->herrno = NO_RECOVERY;
		}
		if (rr != NULL && rr->num_rr == 0)
			rr->herrno = NO_DATA;
		break;
	case DNS_NODATA:
		rr = SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
		break;
	case DNS_NXDOMAIN:
	case DNS_PERMFAIL:	/* a name no DNS can hold: nothing is there */
		rr = SPF_dns_rr_new_init(layer, domain, type, 0, HOST_NOT_FOUND);
		break;
	case DNS_TEMPFAIL:
	default:
		cx->dns_error = res.why ? res.why : "DNS failure";
		rr = SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
		break;
	}
	if (term && rr != NULL && (rr->herrno == NO_DATA || rr->herrno == HOST_NOT_FOUND) &&
	    ++cx->voids > SPF_MAX_VOID)
		cx->limit = "more than 2 void lookups (RFC 7208 4.6.4)";
	dns_result_free(&res);
	return rr;
}

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
	struct in6_addr a6;
	char buf[INET_ADDRSTRLEN];

	*v6 = strchr(ip, ':') != NULL;
	if (*v6 && inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6) &&
	    inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf)) != NULL) {
		*v6 = false;
		return arena_strdup(arena, buf);
	}
	return ip;
}

static enum ar_result spf_map(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return AR_PASS;
	case SPF_RESULT_FAIL: return AR_FAIL;
	case SPF_RESULT_SOFTFAIL: return AR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return AR_NEUTRAL;
	case SPF_RESULT_NONE: return AR_NONE;
	case SPF_RESULT_TEMPERROR: return AR_TEMPERROR;
	case SPF_RESULT_PERMERROR: return AR_PERMERROR;
	case SPF_RESULT_INVALID:
	default: return AR_PERMERROR;	/* refined by the caller */
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
static const char *spf_explain(struct spf_layer_ctx *cx, struct arena *arena,
			       const struct spf_query *q, const char *ip,
			       const struct spf_outcome *out)
{
	const char *at = strrchr(out->sender, '@');
	char *local = at ? arena_memdup(arena, out->sender, (size_t)(at - out->sender)) : NULL;
	struct spf_macro_env env = {
		.sender = out->sender, .local = local, .sender_domain = at ? at + 1 : "",
		.domain = out->domain, .client_ip = ip, .helo = q->helo,
		.receiver = q->receiver, .now = (long long)time(NULL),
	};
	struct strbuf name, raw, text;
	struct dns_result res = { 0 };
	const char *exp = NULL;

	strbuf_init(&name);
	strbuf_init(&raw);
	strbuf_init(&text);
	if (local == NULL || spf_macro_expand(&env, cx->exp_spec, strlen(cx->exp_spec), false,
					       &name) != 0 || name.len == 0)
		goto done;
	dns_query(cx->dns, strbuf_cstr(&name), DNS_T_TXT, cx->budget, &res);
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

int spf_check(struct dns_resolver *dns, struct dns_budget *budget, struct arena *arena,
	      const struct spf_query *q, enum spf_which which, struct spf_outcome *out)
{
	struct spf_layer_ctx cx = { .dns = dns, .budget = budget };
	SPF_dns_server_t layer = { 0 };
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
		out->sender = at == mailfrom ? arena_printf(arena, "postmaster%s", mailfrom) :
			      arena_strdup(arena, mailfrom);
	}
	ip = spf_client_ip(arena, q->client_ip ? q->client_ip : "", &v6);
	cx.v6 = v6;
	if (out->domain == NULL || out->sender == NULL || ip == NULL) {
		spf_set(out, AR_TEMPERROR, "out of memory");
		return -1;
	}
	if (!spf_domain_ok(out->domain)) {
		spf_set(out, AR_NONE, "no SPF identity: not a fully qualified domain name");
		return 0;
	}

	layer.lookup = spf_layer_lookup;
	layer.name = "gatehouse";
	layer.hook = &cx;
	server = SPF_server_new_dns(&layer, 0);
	if (server != NULL) {
		SPF_response_t *ignored = NULL;

		/* Our name, not this machine's, in libspf2's reasons; and no
		 * default explanation: libspf2's points at a site long gone, so
		 * only a domain's own exp= text is ever shown. */
		if (q->receiver != NULL && *q->receiver != '\0')
			SPF_server_set_rec_dom(server, q->receiver);
		SPF_server_set_explanation(server, "", &ignored);
		if (ignored != NULL)
			SPF_response_free(ignored);
		/* The limits are ours (the layer above counts as RFC 4.6.4
		 * says); libspf2's own would misfire on PTR and MX sets. */
		SPF_server_set_max_dns_mech(server, 100);
		SPF_server_set_max_dns_ptr(server, 100);
		SPF_server_set_max_dns_mx(server, 100);
	}
	req = server ? SPF_request_new(server) : NULL;
	cx.server = server;
	cx.req = req;
	if (req == NULL) {
		spf_set(out, AR_TEMPERROR, "out of memory");
		rc = -1;
		goto done;
	}
	if ((v6 ? SPF_request_set_ipv6_str(req, ip) : SPF_request_set_ipv4_str(req, ip)) != SPF_E_SUCCESS) {
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
			spf_set(out, AR_PERMERROR, "record too large for libspf2 (over 511 "
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
			out->explanation = spf_explain(&cx, arena, q, ip, out);
	}
done:
	/* libspf2's free functions do not accept NULL (a sender libspf2
	 * refuses leaves RESP unset): guard each one */
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	if (server != NULL)
		SPF_server_free(server);
	spf_ctx_free(&cx);
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
	spf_comment(&sb, receiver);
	strbuf_printf(&sb, "; client-ip=%s; envelope-from=", q->client_ip ? q->client_ip : "");
	spf_quote(&sb, out->sender ? out->sender : "");
	strbuf_puts(&sb, ";\n\thelo=");
	spf_quote(&sb, q->helo ? q->helo : "");
	strbuf_printf(&sb, "; identity=%s;", out->identity);
	v = sb.failed ? NULL : arena_strdup(arena, strbuf_cstr(&sb));
	strbuf_free(&sb);
	return v;
}
