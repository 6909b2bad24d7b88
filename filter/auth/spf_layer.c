/*
 * spf_layer.c - the libspf2 DNS layer over the shared resolver (see spf_layer.h)
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
 * A layer refuses to answer once a limit is hit, a query failed or a record
 * was malformed, so libspf2 stops asking.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <spf2/spf.h>

#include "auth/spf_layer.h"
#include "auth/spf_record.h"
#include "dns/dns.h"
#include "util/strbuf.h"

#define SPF_MAX_DNS_TERMS 10 /* RFC 7208 4.6.4 */
#define SPF_MAX_VOID 2
#define SPF_MAX_MX 10
#define SPF_MAX_PTR 10

/* spf_mechanisms - what libspf2 counts as mechanisms in a normalized
 * record: every mechanism, and redirect=, which libspf2 compiles as a
 * mechanism too (a dropped redirect= would turn a fail into neutral); the
 * other modifiers are kept apart and never dropped */
static int spf_mechanisms(const char *norm)
{
	int n = 0;

	for (const char *p = norm + 6; *p;) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len > 0 && (memchr(p, '=', len) == NULL ||
				(len > 9 && strncasecmp(p, "redirect=", 9) == 0)))
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
static bool spf_fits_libspf2(struct spf_layer *cx, const char *norm)
{
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	bool fits = true;

	if (cx->server == NULL || cx->req == NULL || strlen(norm) < 64)
		return true; /* short records always fit */
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

void spf_layer_free(struct spf_layer *cx)
{
	free(cx->exp_spec);
	for (size_t i = 0; i < cx->nsecondary; i++)
		free(cx->secondary[i]);
}

/* spf_take_secondary - NAME came from an MX or PTR answer and this is its
 * address lookup: not a term of its own. The exemption is used up, so a
 * later a:NAME in the record counts as RFC 4.6.4 says. */
static bool spf_take_secondary(struct spf_layer *cx, const char *name)
{
	for (size_t i = 0; i < cx->nsecondary; i++)
		if (strcasecmp(cx->secondary[i], name) == 0) {
			free(cx->secondary[i]);
			cx->secondary[i] = cx->secondary[--cx->nsecondary];
			return true;
		}
	return false;
}

static void spf_remember_secondary(struct spf_layer *cx, const char *name)
{
	if (cx->nsecondary < SPF_LAYER_MAX_SECONDARY) {
		char *copy = strdup(name);

		if (copy != NULL)
			cx->secondary[cx->nsecondary++] = copy;
	}
}

/* spf_rr_fill - our answer as libspf2 records; false when out of memory */
static bool spf_rr_fill(SPF_dns_rr_t *rr, const struct dns_result *res, ns_type type,
			struct spf_layer *cx, bool top)
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
				continue; /* malformed rdata: not a record */
			}
			text = sb.data ? sb.data : "";
			tlen = sb.len;
			if (spf_record_is_spf(text, tlen)) {
				/* libspf2 gets the checked, normalized record
				 * (spf_record.h says why) */
				char *exp = NULL;
				bool redirect = false;

				norm = spf_record_normalize(text, tlen, cx->v6, &exp, &redirect,
							    &why);
				if (top && norm != NULL && cx->exp_spec == NULL) {
					cx->exp_spec =
						exp; /* RFC 6.2: the explanation of this record */
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
		n--; /* a trailing dot is the same name */
	if (n <= k || strncasecmp(name + n - k, suffix, k) != 0)
		return false;
	*base_len = n - k;
	return true;
}

/* spf_any_address - does NAME have an address of TYPE? the status of the answer */
static enum dns_status spf_any_address(struct spf_layer *cx, const char *name, int type)
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
static enum dns_status spf_synth(struct spf_layer *cx, const char *base, int kind, bool *void_)
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
static SPF_dns_rr_t *spf_synth_rr(SPF_dns_server_t *layer, struct spf_layer *cx, const char *domain,
				  ns_type type, size_t base_len, int kind)
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
		if (rr != NULL &&
		    SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) == SPF_E_SUCCESS) {
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

static SPF_dns_rr_t *spf_layer_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
				      int should_cache)
{
	struct spf_layer *cx = layer->hook;
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
	case DNS_PERMFAIL: /* a name no DNS can hold: nothing is there */
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

SPF_dns_server_t *spf_layer_init(struct spf_layer *cx, struct dns_resolver *dns,
				 struct dns_budget *budget, bool v6)
{
	memset(cx, 0, sizeof(*cx));
	cx->dns = dns;
	cx->budget = budget;
	cx->v6 = v6;
	cx->libspf2.lookup = spf_layer_lookup;
	cx->libspf2.name = "gatehouse";
	cx->libspf2.hook = cx;
	return &cx->libspf2;
}

void spf_layer_attach(struct spf_layer *cx, SPF_server_t *server, SPF_request_t *req)
{
	cx->server = server;
	cx->req = req;
}
