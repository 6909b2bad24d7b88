/*
 * fuzz_dmarc.c - libFuzzer target: DMARC evaluation (dmarc.c's RFC 9989
 * tree walk, dmarc_record.c) on a DNS fixture the input writes. Lines:
 *   1: the author (From) domain, as the engine gives it (lower case)
 *   2: the SPF result of MAIL FROM: "p" for pass, anything else not, then
 *      a space and the SPF domain
 *   3: the domains of DKIM signatures, space-separated; "!" before a
 *      domain makes it a failed one
 *   4-: "OWNER REST": OWNER's TXT record holding REST (every byte allowed),
 *      or, when REST is A, TIMEOUT or SERVFAIL, that (OWNER of letters,
 *      digits, '.', '-', '_'; other lines are left out)
 *
 * Invariants, against what the fixture holds: the result is pass, fail,
 * none or temperror, always with a reason; temperror only with a TIMEOUT
 * or SERVFAIL in the fixture; none without a policy, and whenever no
 * _dmarc record at the author domain or a parent starts with v=DMARC1; a
 * record domain is the author domain or a parent with such a record; the
 * organizational domain is the author domain or a parent; the author
 * domain's own record gives tag p, np only when nothing exists at or
 * under the author domain (RFC 8020); pass exactly with an aligned pass,
 * SPF alignment only on an SPF pass, DKIM's on a passing signature, and a
 * domain other than the author's only where the walk gives both the same
 * organizational domain; fail applies the policy, one level milder under
 * t=y; the queries stay within the walks' bound (8 per walk); and a second
 * evaluation says exactly what the first said. The fixture is a memfd,
 * the resolver is the input's (fuzz_dnsfix.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "dns/dns.h"
#include "fuzz_dnsfix.h"
#include "mail/results.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_DKIM 8
#define FZ_MAX_LINES 32

static struct fz_dnsfix fz_fix = { .file = FZ_MEMFD_INIT };
static struct dns_resolver *fz_dns;

static void fz_cleanup(void) __attribute__((destructor));
static void fz_cleanup(void)
{
	fz_dnsfix_free(&fz_fix);
}

/* One fixture line as the input wrote it. */
struct fz_rec {
	char owner[256]; /* without a trailing dot */
	const uint8_t *rest;
	size_t len;
	enum { REC_TXT, REC_A, REC_FAULT } kind;
};

struct fz_input {
	char from[256], spf_domain[256];
	bool spf_pass;
	char dkim[FZ_MAX_DKIM][256];
	bool dkim_pass[FZ_MAX_DKIM];
	size_t ndkim;
	struct fz_rec rec[FZ_MAX_LINES];
	size_t nrec;
};

/* fz_line - the next line of DATA at *OFF: its length, *OFF advanced */
static const uint8_t *fz_line(const uint8_t *data, size_t size, size_t *off, size_t *len)
{
	const uint8_t *p = data + *off, *nl;

	if (*off >= size)
		return NULL;
	nl = memchr(p, '\n', size - *off);
	*len = nl ? (size_t)(nl - p) : size - *off;
	*off += *len + (nl != NULL);
	return p;
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* fz_name - LEN bytes of P as a name into OUT (lower case when LOWER);
 * false when empty, too long or holding other characters */
static bool fz_name(const uint8_t *p, size_t len, char *out, bool lower)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char(p[i]))
			return false;
		out[i] = (char)(lower && p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	}
	out[len] = '\0';
	if (out[len - 1] == '.')
		out[len - 1] = '\0';
	return out[0] != '\0';
}

static bool fz_parse(const uint8_t *data, size_t size, struct fz_input *in)
{
	size_t off = 0, len;
	const uint8_t *p;

	memset(in, 0, sizeof(*in));
	if ((p = fz_line(data, size, &off, &len)) == NULL || !fz_name(p, len, in->from, true))
		return false;
	if ((p = fz_line(data, size, &off, &len)) == NULL)
		return false;
	in->spf_pass = len > 0 && p[0] == 'p';
	if (len < 2 || !fz_name(p + 2, len - 2, in->spf_domain, true))
		in->spf_domain[0] = '\0';
	if ((p = fz_line(data, size, &off, &len)) == NULL)
		return false;
	for (size_t i = 0; i < len && in->ndkim < FZ_MAX_DKIM;) {
		size_t j = i;
		bool pass = true;

		while (j < len && p[j] != ' ')
			j++;
		if (j > i && p[i] == '!') {
			pass = false;
			i++;
		}
		if (j > i && fz_name(p + i, j - i, in->dkim[in->ndkim], true))
			in->dkim_pass[in->ndkim++] = pass;
		i = j + 1;
	}
	while (in->nrec < FZ_MAX_LINES && (p = fz_line(data, size, &off, &len)) != NULL) {
		struct fz_rec *r = &in->rec[in->nrec];
		const uint8_t *sp = memchr(p, ' ', len);
		size_t olen = sp ? (size_t)(sp - p) : len;

		if (sp == NULL || !fz_name(p, olen, r->owner, false))
			continue;
		r->rest = sp + 1;
		r->len = len - olen - 1;
		if (r->len == 1 && r->rest[0] == 'A')
			r->kind = REC_A;
		else if ((r->len == 7 && memcmp(r->rest, "TIMEOUT", 7) == 0) ||
			 (r->len == 8 && memcmp(r->rest, "SERVFAIL", 8) == 0))
			r->kind = REC_FAULT;
		else
			r->kind = REC_TXT;
		in->nrec++;
	}
	return true;
}

/* fz_load - the input's records into the process's resolver; false when
 * the fixture does not load (a name ldns refuses) */
static bool fz_load(const struct fz_input *in)
{
	struct strbuf sb;
	struct diag errs = { 0 };
	bool ok;

	strbuf_init(&sb);
	for (size_t k = 0; k < in->nrec; k++) {
		const struct fz_rec *r = &in->rec[k];

		if (r->kind == REC_A) {
			strbuf_printf(&sb, "%s. A 192.0.2.1\n", r->owner);
			continue;
		}
		if (r->kind == REC_FAULT) {
			strbuf_printf(&sb, "%s. %.*s\n", r->owner, (int)r->len,
				      (const char *)r->rest);
			continue;
		}
		strbuf_printf(&sb, "%s. TXT", r->owner);
		if (r->len == 0)
			strbuf_puts(&sb, " \"\"");
		for (size_t o = 0; o < r->len; o += 255) {
			size_t n = r->len - o < 255 ? r->len - o : 255;

			strbuf_puts(&sb, " \"");
			for (size_t i = 0; i < n; i++) {
				uint8_t c = r->rest[o + i];

				if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == ';')
					strbuf_printf(&sb, "\\%03u", c);
				else
					strbuf_putc(&sb, (char)c);
			}
			strbuf_putc(&sb, '"');
		}
		strbuf_putc(&sb, '\n');
	}
	if (sb.failed)
		abort();
	fz_dns = fz_dnsfix_load(&fz_fix, sb.data, sb.len, &errs);
	ok = fz_dns != NULL;
	strbuf_free(&sb);
	diag_clear(&errs);
	return ok;
}

/* is_self_or_parent - NAME is DOMAIN or one of its parents (DNS case) */
static bool is_self_or_parent(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n < d && domain[d - n - 1] == '.' && strcasecmp(domain + d - n, name) == 0;
}

/* has_record - the fixture holds a TXT record starting with v=DMARC1 at _dmarc.NAME */
static bool has_record(const struct fz_input *in, const char *name)
{
	for (size_t k = 0; k < in->nrec; k++) {
		const struct fz_rec *r = &in->rec[k];

		if (r->kind == REC_TXT && r->len >= 8 && memcmp(r->rest, "v=DMARC1", 8) == 0 &&
		    strncasecmp(r->owner, "_dmarc.", 7) == 0 && strcasecmp(r->owner + 7, name) == 0)
			return true;
	}
	return false;
}

/* any_record_up - a DMARC record at the author domain or a parent */
static bool any_record_up(const struct fz_input *in)
{
	for (const char *p = in->from; p != NULL; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
		if (*p != '\0' && has_record(in, p))
			return true;
	return false;
}

/* exists - anything at NAME or under it (RFC 8020: else NXDOMAIN) */
static bool exists(const struct fz_input *in, const char *name)
{
	for (size_t k = 0; k < in->nrec; k++)
		if (in->rec[k].kind != REC_FAULT && is_self_or_parent(name, in->rec[k].owner))
			return true; /* faults are dns.c's, libunbound never sees them */
	return false;
}

static bool has_fault(const struct fz_input *in)
{
	for (size_t k = 0; k < in->nrec; k++)
		if (in->rec[k].kind == REC_FAULT)
			return true;
	return false;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void fz_check(const struct fz_input *in, const struct dmarc_input *di,
		     const struct dmarc_outcome *o, unsigned queries, struct arena *a)
{
	size_t passes = 0;

	for (size_t i = 0; i < di->ndkim; i++)
		passes += di->dkim[i].result == AR_PASS;
	if (o->reason == NULL)
		abort();
	/* one walk for the author, one per aligning identity, and RFC 8020's A */
	if (queries > DMARC_MAX_WALK * (2 + passes) + 1)
		abort();
	switch (o->result) {
	case AR_TEMPERROR:
		if (!has_fault(in))
			abort();
		return;
	case AR_NONE:
		if (o->policy != DMARC_P_UNSET || o->record_domain != NULL || o->spf_aligned ||
		    o->dkim_aligned)
			abort();
		return;
	case AR_PASS:
	case AR_FAIL:
		break;
	default:
		abort();
	}
	if (!any_record_up(in) || o->record_domain == NULL ||
	    !is_self_or_parent(o->record_domain, in->from) || !has_record(in, o->record_domain))
		abort();
	if (o->org_domain != NULL && !is_self_or_parent(o->org_domain, in->from))
		abort();
	/* sp and np only from a record above the author domain (which
	 * gives p when it publishes no sp) */
	if (o->policy_tag == NULL ||
	    (strcmp(o->policy_tag, "p") != 0 && strcasecmp(o->record_domain, in->from) == 0))
		abort();
	if (strcmp(o->policy_tag, "np") == 0 && exists(in, in->from))
		abort();
	if ((o->result == AR_PASS) != (o->spf_aligned || o->dkim_aligned))
		abort();
	if (o->spf_aligned && (di->spf != AR_PASS || di->spf_domain == NULL))
		abort();
	if (o->dkim_aligned) {
		bool found = false;

		for (size_t i = 0; i < di->ndkim; i++)
			found |= di->dkim[i].result == AR_PASS &&
				 same_str(di->dkim[i].domain, o->dkim_aligned_domain);
		if (!found)
			abort();
	}
	/* relaxed alignment of another name: the walk gives both one
	 * organizational domain */
	for (int id = 0; id < 2; id++) {
		const char *d = id == 0 ? (o->spf_aligned ? di->spf_domain : NULL)
					: (o->dkim_aligned ? o->dkim_aligned_domain : NULL);
		const char *org = NULL, *why = NULL;
		struct dns_budget b = { 0 }; /* no SMTP command bound */

		if (d == NULL || strcasecmp(d, in->from) == 0)
			continue;
		dns_budget_start(&b, FZ_DNSFIX_BUDGET_MS);
		if (o->org_domain == NULL || dmarc_org_domain(fz_dns, &b, a, d, &org, &why) != 0 ||
		    strcasecmp(org, o->org_domain) != 0)
			abort();
	}
	if (o->result == AR_PASS && o->disposition != DMARC_P_NONE)
		abort();
	if (o->result == AR_FAIL) {
		enum dmarc_policy want = o->policy;

		if (o->testing)
			want = want == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
		if (o->disposition != want)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_input in;
	struct dkim_result dkim[FZ_MAX_DKIM];
	struct dmarc_input di = { 0 };
	struct dmarc_outcome o1, o2;
	struct dns_budget b1 = { 0 }, b2 = { 0 }; /* no SMTP command bound */
	struct arena *a;
	int rc1, rc2;

	if (size > 16384 || !fz_parse(data, size, &in))
		return 0;
	if (!fz_load(&in)) {
		fz_dnsfix_release(&fz_fix);
		return 0;
	}
	memset(dkim, 0, sizeof(dkim));
	for (size_t i = 0; i < in.ndkim; i++) {
		dkim[i].result = in.dkim_pass[i] ? AR_PASS : AR_FAIL;
		dkim[i].domain = in.dkim[i];
	}
	di.from_domain = in.from;
	di.spf = in.spf_pass ? AR_PASS : AR_FAIL;
	di.spf_domain = in.spf_domain[0] ? in.spf_domain : NULL;
	di.dkim = dkim;
	di.ndkim = in.ndkim;
	if ((a = arena_new()) == NULL)
		abort();
	dns_budget_start(&b1, FZ_DNSFIX_BUDGET_MS);
	rc1 = dmarc_evaluate(fz_dns, &b1, a, &di, &o1);
	dns_budget_start(&b2, FZ_DNSFIX_BUDGET_MS);
	rc2 = dmarc_evaluate(fz_dns, &b2, a, &di, &o2);
	if (rc1 != 0 || rc2 != 0)
		abort(); /* only when out of memory */
	fz_check(&in, &di, &o1, b1.queries, a);
	if (o1.result != o2.result || o1.policy != o2.policy || o1.testing != o2.testing ||
	    o1.disposition != o2.disposition || o1.spf_aligned != o2.spf_aligned ||
	    o1.dkim_aligned != o2.dkim_aligned || !same_str(o1.reason, o2.reason) ||
	    !same_str(o1.policy_tag, o2.policy_tag) ||
	    !same_str(o1.record_domain, o2.record_domain) ||
	    !same_str(o1.org_domain, o2.org_domain) || !same_str(o1.ignored, o2.ignored) ||
	    !same_str(o1.why_policy, o2.why_policy))
		abort();
	arena_free(a);
	fz_dnsfix_release(&fz_fix);
	return 0;
}
