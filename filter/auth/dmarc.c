/*
 * dmarc.c - DMARC policy discovery and alignment (see dmarc.h)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "auth/dmarc.h"
#include "dns/dns.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

struct dmarc_checker {
	psl_ctx_t *psl;
};

struct dmarc_checker *dmarc_checker_new(const char *psl_file, struct diag *errs)
{
	struct dmarc_checker *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->psl = psl_load_file(psl_file);
	if (c->psl == NULL) {
		diag_pushf(errs, "dmarc: cannot load the public suffix list %s", psl_file);
		free(c);
		return NULL;
	}
	return c;
}

void dmarc_checker_free(struct dmarc_checker *c)
{
	if (c == NULL)
		return;
	psl_free(c->psl);
	free(c);
}

const char *dmarc_org_domain(const struct dmarc_checker *c, struct arena *arena, const char *domain)
{
	const char *reg = psl_registrable_domain(c->psl, domain);

	return arena_strdup(arena, reg != NULL ? reg : domain);
}

/* aligned - A and B align in MODE ('s': same name; 'r': same organizational domain) */
static bool aligned(const struct dmarc_checker *c, struct arena *arena, char mode, const char *a,
		    const char *b)
{
	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return false;
	if (strcasecmp(a, b) == 0)
		return true;
	if (mode == 's')
		return false;
	return strcasecmp(dmarc_org_domain(c, arena, a), dmarc_org_domain(c, arena, b)) == 0;
}

enum lookup { LOOKUP_FOUND, LOOKUP_NONE, LOOKUP_TEMP, LOOKUP_BAD };

/* lookup - the DMARC record at _dmarc.DOMAIN (RFC 7489 6.6.3: exactly one) */
static enum lookup lookup(struct dns_resolver *dns, struct dns_budget *b, const char *domain,
			  struct dmarc_record *rec, const char **why)
{
	struct strbuf name, txt, found;
	struct dns_result res;
	enum lookup st = LOOKUP_NONE;
	int records = 0;

	strbuf_init(&name);
	strbuf_init(&found);
	strbuf_printf(&name, "_dmarc.%s", domain);
	dns_query(dns, strbuf_cstr(&name), DNS_T_TXT, b, &res);
	strbuf_free(&name);
	if (res.status == DNS_TEMPFAIL) {
		*why = res.why ? res.why : "DNS failure";
		dns_result_free(&res);
		return LOOKUP_TEMP;
	}
	for (size_t i = 0; res.status == DNS_ANSWER && i < res.n; i++) {
		strbuf_init(&txt);
		if (dns_rdata_txt(&res.rr[i], &txt) == 0 && txt.len >= 8 &&
		    strncmp(txt.data, "v=DMARC1", 8) == 0 &&
		    (txt.len == 8 || txt.data[8] == ';' || txt.data[8] == ' ' ||
		     txt.data[8] == '\t')) {
			records++;
			strbuf_reset(&found);
			strbuf_append(&found, txt.data, txt.len);
		}
		strbuf_free(&txt);
	}
	dns_result_free(&res);
	if (records == 1) {
		st = dmarc_record_parse(found.data, found.len, rec, why) == 0 ? LOOKUP_FOUND
									      : LOOKUP_BAD;
	} else if (records > 1) {
		*why = "more than one DMARC record"; /* 6.6.3: no policy */
		st = LOOKUP_NONE;
	}
	strbuf_free(&found);
	return st;
}

int dmarc_evaluate(const struct dmarc_checker *c, struct dns_resolver *dns, struct dns_budget *b,
		   struct arena *arena, const struct dmarc_input *in, struct dmarc_outcome *out)
{
	struct dmarc_record rec;
	const char *why = NULL, *org;
	enum lookup st;
	bool at_org = false;

	memset(out, 0, sizeof(*out));
	org = dmarc_org_domain(c, arena, in->from_domain);
	if (org == NULL)
		return -1;
	st = lookup(dns, b, in->from_domain, &rec, &why);
	out->record_domain = in->from_domain;
	if (st == LOOKUP_NONE && strcasecmp(org, in->from_domain) != 0) {
		st = lookup(dns, b, org, &rec, &why);
		out->record_domain = org;
		at_org = true;
	}
	switch (st) {
	case LOOKUP_TEMP:
		out->result = AR_TEMPERROR;
		out->reason = arena_printf(arena, "DNS: %s", why);
		return 0;
	case LOOKUP_BAD:
		out->result = AR_PERMERROR;
		out->reason = arena_printf(arena, "malformed DMARC record at _dmarc.%s: %s",
					   out->record_domain, why);
		return 0;
	case LOOKUP_NONE:
		out->result = AR_NONE;
		out->record_domain = NULL;
		out->reason = why ? why : "no DMARC record";
		return 0;
	case LOOKUP_FOUND:
		break;
	}
	/* 6.6.3: sp applies to a subdomain whose record came from its
	 * organizational domain */
	out->policy = at_org && rec.sp != DMARC_P_UNSET ? rec.sp : rec.p;
	out->spf_aligned = in->spf == AR_PASS &&
			   aligned(c, arena, rec.aspf, in->spf_domain, in->from_domain);
	for (size_t i = 0; i < in->ndkim && !out->dkim_aligned; i++)
		out->dkim_aligned = in->dkim[i].result == AR_PASS &&
				    aligned(c, arena, rec.adkim, in->dkim[i].domain,
					    in->from_domain);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = AR_PASS;
		out->disposition = DMARC_P_NONE;
		out->reason = out->dkim_aligned ? "aligned DKIM pass" : "aligned SPF pass";
		return 0;
	}
	out->result = AR_FAIL;
	out->reason = "neither SPF nor DKIM passed aligned with the From domain";
	out->disposition = out->policy;
	if ((int)in->roll >= rec.pct) {
		/* 6.6.4: outside pct the next weaker policy applies */
		out->disposition = out->policy == DMARC_P_REJECT ? DMARC_P_QUARANTINE
								 : DMARC_P_NONE;
	}
	return 0;
}
