/*
 * rule_prefilter.h - one pass over a large text for all of its patterns
 *
 * With 1,000 rules, running each body pattern over 50 KB of text one after
 * the other costs time for every rule, even ones that cannot match. A
 * Hyperscan database in prefilter mode holds every pattern of one target
 * (body, body.raw) and reports in a single scan which patterns may match;
 * PCRE2 then confirms only those. Prefilter mode guarantees no false
 * negatives (a superset of the real matches), so the answer is PCRE2's.
 * Patterns Hyperscan cannot take (the x and u flags, empty matches, some
 * constructs) have pf_slot -1 and always run in PCRE2. Without a CPU
 * Hyperscan supports, there is no database and everything runs in PCRE2.
 */
#ifndef RULE_PREFILTER_H
#define RULE_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <hs/hs.h>

struct rule_prefilter {
	hs_database_t *db;
	hs_scratch_t *proto; /* cloned per session */
	unsigned n;	     /* patterns in the database */
};

/* rule_prefilter_slot - the slot for a target id, or -1 if it is not prefiltered */
int rule_prefilter_slot(int target_id);

/*
 * rule_prefilter_scan - scan TEXT with PF, setting bit pf_id in CAND for each
 * pattern that may match. 0, or -1 when the scan failed (the caller then
 * treats every pattern as a candidate).
 */
int rule_prefilter_scan(const struct rule_prefilter *pf, hs_scratch_t *scratch, const char *text,
			size_t len, unsigned char *cand);

#endif
