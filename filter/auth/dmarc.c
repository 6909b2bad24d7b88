/*
 * dmarc.c - DMARC policy discovery and alignment by the DNS tree walk of
 * RFC 9989 section 4.10 (see dmarc.h)
 *
 * One walk serves both questions RFC 9989 asks of the DNS: which record
 * applies to the author domain, and where an organization ends. It asks
 * _dmarc.<name> from the name itself towards its top label, shortening a
 * name of eight or more labels straight to seven, so it never asks more
 * than DMARC_MAX_WALK times; a record with psd=y or psd=n ends it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "dns/dns.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define WALK_LABELS 7 /* a longer name is cut to its last seven labels */

enum lookup { LOOKUP_FOUND, LOOKUP_NONE, LOOKUP_TEMP, LOOKUP_NOMEM };

/* lookup - the DMARC record at _dmarc.DOMAIN: records that do not start
 * with v=DMARC1 are not DMARC records; two or more are none (4.10.1) */
static enum lookup lookup(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
			  const char *domain, struct dmarc_record *rec, const char **why)
{
	struct strbuf name, txt;
	struct dns_result res;
	struct dmarc_record one;
	int records = 0;

	strbuf_init(&name);
	strbuf_printf(&name, "_dmarc.%s", domain);
	if (name.failed) {
		strbuf_free(&name);
		return LOOKUP_NOMEM;
	}
	dns_query(dns, strbuf_cstr(&name), DNS_T_TXT, b, &res);
	strbuf_free(&name);
	if (res.status == DNS_TEMPFAIL) {
		*why = res.why ? res.why : "DNS failure";
		dns_result_free(&res);
		return LOOKUP_TEMP;
	}
	for (size_t i = 0; res.status == DNS_ANSWER && i < res.n; i++) {
		const char *w = NULL;

		strbuf_init(&txt);
		if (dns_rdata_txt(&res.rr[i], &txt) == 0 && txt.len >= 8 &&
		    strncmp(txt.data, "v=DMARC1", 8) == 0) {
			if (dmarc_record_parse(arena, txt.data, txt.len, &one, &w) == 0) {
				if (++records == 1)
					*rec = one;
			} else if (one.valid) {
				strbuf_free(&txt);
				dns_result_free(&res);
				return LOOKUP_NOMEM; /* valid, but no memory for the note */
			} else {
				*why = arena_printf(arena,
						    "_dmarc.%s: v=DMARC1 without ';' after it "
						    "is no DMARC record",
						    domain);
			}
		}
		strbuf_free(&txt);
	}
	dns_result_free(&res);
	if (records == 1)
		return LOOKUP_FOUND;
	if (records > 1)
		*why = arena_printf(arena, "more than one DMARC record at _dmarc.%s", domain);
	return LOOKUP_NONE;
}

struct found {
	const char *domain;
	struct dmarc_record rec;
};

struct walk {
	struct found found[DMARC_MAX_WALK];
	size_t n;
	const char *why; /* DNS failure that ended the walk, or a note */
	bool temp;	 /* the walk ended early on a DNS failure */
};

/* next_name - NAME without its left-most label, or cut to its last seven
 * labels when it has more than seven; NULL after the top label */
static const char *next_name(const char *name)
{
	size_t labels = 1;
	const char *p;

	for (p = name; *p; p++)
		labels += *p == '.';
	if (labels <= 1)
		return NULL;
	if (labels <= WALK_LABELS)
		return strchr(name, '.') + 1;
	for (p = name; labels > WALK_LABELS; p = strchr(p, '.') + 1)
		labels--;
	return p;
}

/* walk - the tree walk from DOMAIN (4.10.1): the records found, longest
 * name first; stops at psd=y or psd=n, after the top label, or at a DNS
 * failure (W->temp). -1 when memory ran out. */
static int walk(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
		const char *domain, struct walk *w)
{
	memset(w, 0, sizeof(*w));
	for (const char *name = domain; name != NULL && *name; name = next_name(name)) {
		struct dmarc_record rec;
		const char *why = NULL;

		switch (lookup(dns, b, arena, name, &rec, &why)) {
		case LOOKUP_NOMEM:
			return -1;
		case LOOKUP_TEMP:
			w->temp = true;
			w->why = arena_printf(arena, "DNS: _dmarc.%s: %s", name, why);
			return w->why != NULL ? 0 : -1;
		case LOOKUP_NONE:
			if (why != NULL && w->why == NULL && name == domain)
				w->why = why;
			continue;
		case LOOKUP_FOUND:
			break;
		}
		w->found[w->n].domain = name;
		w->found[w->n++].rec = rec;
		if (rec.psd == 'y' || rec.psd == 'n' || w->n == DMARC_MAX_WALK)
			break;
	}
	return 0;
}

/* org_of - the organizational domain of DOMAIN after a complete walk
 * (4.10.2): where psd=n was found; the name one label below a psd=y
 * record; else the record with the fewest labels; else DOMAIN itself */
static const char *org_of(const char *domain, const struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct found *f = &w->found[i];

		if (f->rec.psd == 'n')
			return f->domain;
		if (f->rec.psd == 'y' && f->domain != domain) {
			/* the label just left of the suffix F->domain */
			const char *p = f->domain - 1; /* the '.' before it */

			while (p > domain && p[-1] != '.')
				p--;
			return p;
		}
	}
	return w->n > 0 ? w->found[w->n - 1].domain : domain;
}

int dmarc_org_domain(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
		     const char *domain, const char **out, const char **why)
{
	struct walk w;

	*out = NULL;
	*why = NULL;
	if (walk(dns, b, arena, domain, &w) != 0)
		return -1;
	if (w.temp) {
		*why = w.why;
		return -1;
	}
	*out = org_of(domain, &w);
	return 0;
}

/* ends_with_label - NAME is SUFFIX or a name under it */
static bool ends_with_label(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n == k)
		return strcasecmp(name, suffix) == 0;
	return n > k && name[n - k - 1] == '.' && strcasecmp(name + n - k, suffix) == 0;
}

enum align { ALIGN_NO, ALIGN_YES, ALIGN_TEMP, ALIGN_NOMEM };

/* aligned - does D align with the author domain in MODE ('s': the same
 * name; 'r': the same organizational domain, ORG being the author's) */
static enum align aligned(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
			  char mode, const char *d, const char *from, const char *org,
			  const char **why)
{
	const char *dorg;

	if (d == NULL || *d == '\0')
		return ALIGN_NO;
	if (strcasecmp(d, from) == 0)
		return ALIGN_YES;
	if (mode == 's')
		return ALIGN_NO;
	if (org == NULL)
		return ALIGN_TEMP; /* *WHY was set by the failed walk */
	/* org(D) is D or a parent of it: unless ORG is one, no walk can
	 * make them equal, and no query is spent */
	if (!ends_with_label(d, org))
		return ALIGN_NO;
	if (dmarc_org_domain(dns, b, arena, d, &dorg, why) != 0)
		return *why != NULL ? ALIGN_TEMP : ALIGN_NOMEM;
	return strcasecmp(dorg, org) == 0 ? ALIGN_YES : ALIGN_NO;
}

/* milder - the policy t=y applies instead of P (4.7, "t") */
static enum dmarc_policy milder(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

/* author_exists - RFC 8020: only NXDOMAIN says a name does not exist.
 * 1, 0, or -1 with *WHY on DNS failure */
static int author_exists(struct dns_resolver *dns, struct dns_budget *b, const char *domain,
			 const char **why)
{
	struct dns_result res;
	int rc;

	dns_query(dns, domain, DNS_T_A, b, &res);
	if (res.status == DNS_TEMPFAIL) {
		*why = res.why ? res.why : "DNS failure";
		rc = -1;
	} else {
		rc = res.status != DNS_NXDOMAIN;
	}
	dns_result_free(&res);
	return rc;
}

/* choose_policy - which of p, sp and np applies (4.7, 4.10.1), into OUT */
static int choose_policy(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
			 const struct dmarc_input *in, const struct found *f,
			 struct dmarc_outcome *out)
{
	const char *why = NULL;
	int exists;

	if (strcasecmp(f->domain, in->from_domain) == 0) {
		out->policy = f->rec.p;
		out->policy_tag = "p";
		return 0;
	}
	if (f->rec.np != DMARC_P_UNSET) {
		exists = author_exists(dns, b, in->from_domain, &why);
		if (exists < 0) {
			out->result = AR_TEMPERROR;
			out->reason = arena_printf(arena, "DNS: %s: %s", in->from_domain, why);
			return -1;
		}
		if (!exists) {
			out->policy = f->rec.np;
			out->policy_tag = "np";
			out->why_policy = arena_printf(arena, "%s does not exist", in->from_domain);
			return 0;
		}
	}
	out->policy = f->rec.sp != DMARC_P_UNSET ? f->rec.sp : f->rec.p;
	out->policy_tag = f->rec.sp != DMARC_P_UNSET ? "sp" : "p";
	out->why_policy = arena_printf(arena, "record of %s", f->domain);
	return 0;
}

int dmarc_evaluate(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
		   const struct dmarc_input *in, struct dmarc_outcome *out)
{
	const struct found *f = NULL;
	const char *why = NULL;
	struct walk w;
	enum align al;
	bool temp = false;

	memset(out, 0, sizeof(*out));
	if (walk(dns, b, arena, in->from_domain, &w) != 0)
		return -1;
	if (w.n > 0 && strcasecmp(w.found[0].domain, in->from_domain) == 0)
		f = &w.found[0]; /* the author domain's own record, whatever is above */
	if (w.temp && f == NULL) {
		out->result = AR_TEMPERROR; /* the policy is unknown */
		out->reason = w.why;
		return out->reason != NULL ? 0 : -1;
	}
	/* after a failed walk only the author's own record is known, not its
	 * organizational domain: relaxed alignment then cannot be decided */
	out->org_domain = w.temp ? NULL : org_of(in->from_domain, &w);
	if (f == NULL) {
		/* the organizational domain's record, and failing that the
		 * public suffix domain's (the walk ends at psd=y) */
		for (size_t i = 0; i < w.n && f == NULL; i++)
			if (strcasecmp(w.found[i].domain, out->org_domain) == 0)
				f = &w.found[i];
		if (f == NULL && w.n > 0 && w.found[w.n - 1].rec.psd == 'y')
			f = &w.found[w.n - 1];
	}
	if (f == NULL) {
		out->result = AR_NONE;
		out->reason = w.why ? w.why : "no DMARC record";
		return 0;
	}
	out->record_domain = f->domain;
	out->ignored = f->rec.ignored;
	/* the walk lives on this stack: the report needs its own copy */
	{
		struct dmarc_record *rec = arena_alloc(arena, sizeof(*rec));

		if (rec == NULL)
			return -1;
		*rec = f->rec;
		out->record = rec;
		out->discovery = "treewalk";
	}
	out->testing = f->rec.testing;
	if (choose_policy(dns, b, arena, in, f, out) != 0)
		return out->reason != NULL ? 0 : -1;
	why = w.why;

	if (in->spf == AR_PASS) {
		al = aligned(dns, b, arena, f->rec.aspf, in->spf_domain, in->from_domain,
			     out->org_domain, &why);
		if (al == ALIGN_NOMEM)
			return -1;
		out->spf_aligned = al == ALIGN_YES;
		temp |= al == ALIGN_TEMP;
	}
	for (size_t i = 0; i < in->ndkim && !out->dkim_aligned; i++) {
		if (in->dkim[i].result != AR_PASS)
			continue;
		al = aligned(dns, b, arena, f->rec.adkim, in->dkim[i].domain, in->from_domain,
			     out->org_domain, &why);
		if (al == ALIGN_NOMEM)
			return -1;
		if (al == ALIGN_YES) {
			out->dkim_aligned = true;
			out->dkim_aligned_domain = in->dkim[i].domain;
		}
		temp |= al == ALIGN_TEMP;
	}
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = AR_PASS;
		out->disposition = DMARC_P_NONE;
		out->reason = out->dkim_aligned ? "aligned DKIM pass" : "aligned SPF pass";
		return 0;
	}
	if (temp) {
		/* a pass could not be ruled out */
		out->result = AR_TEMPERROR;
		out->reason = arena_printf(arena, "DNS: %s", why);
		return out->reason != NULL ? 0 : -1;
	}
	out->result = AR_FAIL;
	out->reason = "neither SPF nor DKIM passed aligned with the From domain";
	out->disposition = out->testing ? milder(out->policy) : out->policy;
	if (out->testing)
		out->why_policy = out->why_policy
					  ? arena_printf(
						    arena,
						    "%s; t=y: testing, applied one level milder",
						    out->why_policy)
					  : "t=y: testing, applied one level milder";
	return 0;
}
