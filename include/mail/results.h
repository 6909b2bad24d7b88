/*
 * results.h - what the checks found, independent of what policy does with it
 *
 * One struct results per message gathers every check's outcome: SPF for HELO
 * and MAIL FROM, DKIM per signature, DMARC, rule hits, and the foundation's
 * sanity checks. Checks only write here; policy reads it to decide; the log
 * summary, test mode's report and Authentication-Results read it to describe.
 * Result words are RFC 8601's. AR_UNSET means the check did not run, which is
 * reported as null (JSON) or "-" (log), never as "none".
 *
 * Memory: strings live in the message arena.
 */
#ifndef RESULTS_H
#define RESULTS_H

#include <stdbool.h>
#include <stddef.h>

enum ar_result {
	AR_UNSET = 0,
	AR_PASS,
	AR_FAIL,
	AR_SOFTFAIL,
	AR_NEUTRAL,
	AR_NONE,
	AR_TEMPERROR,
	AR_PERMERROR,
	AR_POLICY
};

/* ar_result_name - RFC 8601 word, or NULL for AR_UNSET */
const char *ar_result_name(enum ar_result);

struct spf_identity {
	enum ar_result result;
	const char *domain;
	const char *reason;	 /* what matched or failed, one line */
	const char *explanation; /* from exp=, on fail */
};

struct dkim_result {
	enum ar_result result;
	const char *domain, *selector, *algorithm, *reason;
	const char *b;	   /* the first characters of b= (RFC 6008 header.b) */
	unsigned key_bits; /* 0 when the key was not loaded */
};

struct dmarc_result {
	enum ar_result result;
	const char *from_domain;   /* the author domain, A-labels */
	const char *policy;	   /* the published policy that applies ("reject") */
	const char *policy_tag;	   /* the tag it came from: "p", "sp" or "np" */
	bool testing;		   /* t=y: applied one level milder */
	const char *disposition;   /* what is applied to this message */
	const char *why_policy;	   /* why that tag and disposition, or NULL */
	const char *record_domain; /* where the record was found, or NULL */
	const char *org_domain;	   /* the author domain's organizational domain, or NULL */
	const char *reason;	   /* what the evaluation found, one line */
	const char *ignored;	   /* what the record's parser ignored, or NULL */
	const char *override;	   /* why the policy was not enforced, or NULL */
};

struct rule_hit {
	const char *name, *action, *file;
	unsigned line;
};

/* A sanity or housekeeping check: name, outcome word, and a detail line. */
struct check_record {
	const char *name;   /* "sanity.from" */
	const char *result; /* "pass", "fail", "skipped", ... */
	const char *detail; /* one human line, may be NULL */
};

struct results {
	struct spf_identity spf_helo, spf_mailfrom;
	bool dkim_checked; /* verification ran (an unsigned message has ndkim 0) */
	struct dkim_result *dkim;
	size_t ndkim, dkim_cap;
	struct dmarc_result dmarc;
	struct rule_hit *rules;
	size_t nrules, rules_cap;
	struct check_record *checks;
	size_t nchecks, checks_cap;
};

#endif
