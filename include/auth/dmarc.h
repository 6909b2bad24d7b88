/*
 * dmarc.h - DMARC (RFC 7489): record syntax, policy discovery, alignment
 *
 * dmarc_record_parse() reads one "v=DMARC1; ..." record strictly: v first,
 * tags separated by ';', known tags with valid values (p, sp, adkim, aspf,
 * pct, fo, rf, ri, rua, ruf); unknown tags are ignored; anything else is
 * malformed, which dmarc_evaluate() reports as permerror.
 *
 * dmarc_evaluate() discovers the policy (_dmarc.<author domain>, then
 * _dmarc.<organizational domain> from the public suffix list by libpsl),
 * checks SPF and DKIM alignment (relaxed: same organizational domain;
 * strict: same domain) and returns the RFC 7489 result with the policy
 * that applies (p, or sp for a subdomain found through the organizational
 * record) and the disposition after pct. It decides nothing about the
 * mail: policy.c does, with local overrides.
 *
 * Threads: a struct dmarc_checker (the loaded public suffix list) is shared
 * read-only. Memory: strings in the result live in ARENA.
 */
#ifndef DMARC_H
#define DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/results.h"

struct arena;
struct dns_budget;
struct dns_resolver;
struct diag;

enum dmarc_policy { DMARC_P_UNSET = 0, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
	enum dmarc_policy p, sp; /* sp UNSET: as p */
	char adkim, aspf;	 /* 'r' or 's' */
	int pct;		 /* 0..100 */
};

/* dmarc_record_parse - TEXT (LEN bytes) into OUT; 0, or -1 with *WHY */
int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *out, const char **why);
/* dmarc_policy_name - "none", "quarantine", "reject" */
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_checker;

/* dmarc_checker_new - load the public suffix list at PSL_FILE; NULL with the reason in ERRS */
struct dmarc_checker *dmarc_checker_new(const char *psl_file, struct diag *errs);
void dmarc_checker_free(struct dmarc_checker *);
/* dmarc_org_domain - the organizational domain of DOMAIN (in ARENA); DOMAIN itself if none */
const char *dmarc_org_domain(const struct dmarc_checker *c, struct arena *arena,
			     const char *domain);

struct dmarc_input {
	const char *from_domain; /* the author domain (lower case) */
	enum ar_result spf;	 /* SPF result of the MAIL FROM identity */
	const char *spf_domain;	 /* its domain (MAIL FROM, or HELO for <>) */
	const struct dkim_result *dkim;
	size_t ndkim;
	unsigned roll; /* 0..99, for pct sampling */
};

struct dmarc_outcome {
	enum ar_result result;	       /* pass, fail, none, temperror, permerror */
	enum dmarc_policy policy;      /* the policy that applies (UNSET when none) */
	enum dmarc_policy disposition; /* after pct: what the domain asks for this message */
	const char *record_domain;     /* where the record was found */
	const char *reason;
	bool spf_aligned, dkim_aligned;
};

/* dmarc_evaluate - discover and evaluate; always fills OUT; -1 on OOM */
int dmarc_evaluate(const struct dmarc_checker *c, struct dns_resolver *dns, struct dns_budget *b,
		   struct arena *arena, const struct dmarc_input *in, struct dmarc_outcome *out);

#endif
