/*
 * dmarc.h - DMARC (RFC 9989): record syntax, policy discovery, alignment
 *
 * dmarc_record_parse() reads one "v=DMARC1; ..." record as RFC 9989 4.7
 * says: v=DMARC1 must come first (else it is no DMARC record); after it,
 * unknown tags, removed tags (pct, rf, ri) and tags with invalid values are
 * ignored, their defaults apply, and the record says what it ignored; a
 * record without a valid p= reads as p=none.
 *
 * dmarc_evaluate() finds the policy and the organizational domains by the
 * DNS tree walk of RFC 9989 4.10 (at most 8 queries per walk; psd=y and
 * psd=n end it), no public suffix list. The author domain's own record
 * gives p; a record found above it (its organizational domain's, or a
 * public suffix domain's) gives sp, or np when the author domain does not
 * exist (NXDOMAIN, RFC 8020). t=y (testing) applies the next milder
 * policy. Alignment: strict is the same name, relaxed the same
 * organizational domain. It decides nothing about the mail: policy.c does,
 * with local overrides.
 *
 * Every domain given in struct dmarc_input must already be in A-label form
 * and lower case (mail/idn.h): the same domain in U-labels and A-labels
 * must get one answer.
 *
 * Threads: no shared state; every call keeps its own. Memory: strings in
 * the result live in ARENA.
 */
#ifndef DMARC_H
#define DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/results.h"

struct arena;
struct dns_budget;
struct dns_resolver;

#define DMARC_MAX_WALK 8 /* queries of one tree walk (RFC 9989 4.10.1) */

enum dmarc_policy { DMARC_P_UNSET = 0, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

/* One rua= destination (RFC 9989 4.7; RFC 9990 "!size" read as RFC 7489
 * wrote it). Only mailto: URIs are kept: the one scheme RFC 9990 sends to. */
struct dmarc_uri {
	const char *mailbox;	     /* local@domain, %-escapes decoded */
	const char *domain;	     /* the part after the last '@', lower case */
	unsigned long long max_size; /* "!10m": bytes; 0 = no limit */
};

struct dmarc_record {
	bool valid;		     /* v=DMARC1 first: a DMARC record at all */
	enum dmarc_policy p, sp, np; /* sp, np UNSET: not published */
	char adkim, aspf;	     /* 'r' or 's' */
	char psd;		     /* 'y', 'n' or 'u' (the default) */
	bool testing;		     /* t=y */
	bool p_missing;		     /* no valid p=: read as p=none */
	const char *ignored;	     /* what was ignored and why; NULL if nothing */
	const char *fo;		     /* fo= as published (valid characters only), or NULL */
	struct dmarc_uri *rua;	     /* the usable rua= destinations, in ARENA */
	size_t nrua;
};

/* dmarc_record_parse - TEXT (LEN bytes) into OUT; 0, or -1 with *WHY when
 * it is no DMARC record (or memory ran out); OUT->ignored lives in ARENA */
int dmarc_record_parse(struct arena *arena, const char *text, size_t len, struct dmarc_record *out,
		       const char **why);
/*
 * dmarc_rua_parse - the value of a rua= tag (VALUE, LEN bytes: URIs
 * separated by commas) into *OUT (NOUT entries, in ARENA): the mailto:
 * URIs with an address that has a local part and a domain; every other
 * URI is left out and named in NOTES (when not NULL). 0, or -1 when
 * memory ran out. Untrusted DNS input: every byte is checked.
 */
struct strbuf;
int dmarc_rua_parse(struct arena *arena, const char *value, size_t len, struct dmarc_uri **out,
		    size_t *nout, struct strbuf *notes);
/* dmarc_policy_name - "none", "quarantine", "reject" (NULL for UNSET) */
const char *dmarc_policy_name(enum dmarc_policy p);

/*
 * dmarc_org_domain - the organizational domain of DOMAIN by the tree walk:
 * 0 with *OUT (in ARENA), or -1 when DNS failed (*WHY says how) or memory
 * ran out (*OUT NULL, *WHY NULL)
 */
int dmarc_org_domain(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
		     const char *domain, const char **out, const char **why);

struct dmarc_input {
	const char *from_domain; /* the author domain (A-labels, lower case) */
	enum ar_result spf;	 /* SPF result of the MAIL FROM identity */
	const char *spf_domain;	 /* its domain (MAIL FROM, or HELO for <>) */
	const struct dkim_result *dkim;
	size_t ndkim;
};

struct dmarc_outcome {
	enum ar_result result;	       /* pass, fail, none, temperror */
	enum dmarc_policy policy;      /* the published policy that applies (UNSET: none) */
	const char *policy_tag;	       /* "p", "sp" or "np": where it came from */
	bool testing;		       /* t=y: the policy is applied one level milder */
	enum dmarc_policy disposition; /* what the domain asks for this message */
	const char *record_domain;     /* where the record was found */
	const char *org_domain;	       /* the author domain's organizational domain */
	const char *why_policy;	       /* why that tag and disposition, or NULL */
	const char *ignored;	       /* what the record's parser ignored, or NULL */
	const char *reason;
	bool spf_aligned, dkim_aligned;
	const char *dkim_aligned_domain; /* d= of the aligned passing signature */
	/* for aggregate reports (RFC 9990): the record that applied, and how
	 * it was found ("treewalk": RFC 9989's; NULL without a record) */
	const struct dmarc_record *record;
	const char *discovery;
};

/* dmarc_evaluate - discover and evaluate; always fills OUT; -1 on OOM */
int dmarc_evaluate(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
		   const struct dmarc_input *in, struct dmarc_outcome *out);

#endif
