/*
 * rule.h - rule sets: load, share, evaluate
 *
 * A rule set is every *.rules file of rules_dir, read in name order, parsed,
 * and compiled once (PCRE2 with JIT, plus a Hyperscan database per large
 * text target that prefilters all of its patterns in one pass). It is
 * immutable afterwards and lives inside a configuration snapshot, so a
 * reload that fails to compile keeps the running rules. Errors are reported
 * as "FILE:LINE:COL: message", every one of them, not just the first.
 *
 * Evaluation is driven by the engine, phase by phase: rules_at(RS, PHASE)
 * lists the rules decided at PHASE (in file order) and rule_eval() decides
 * one, reading target values through the caller's provider, so the rules
 * module knows nothing about sessions or libmilter.
 *
 * Time: every PCRE2 match runs under match/depth/heap limits; a pattern that
 * hits one counts as no match, is reported through on_limit with the rule,
 * and counted in rule_eval_state.limit_hits.
 *
 * Threads: a ruleset is read-only and shared; a struct rule_scratch (PCRE2
 * match data, Hyperscan scratch, the prefilter's per-message candidates)
 * belongs to one session and is reused across its messages.
 */
#ifndef RULE_H
#define RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/verdict.h"
#include "rules/rule_ast.h"
#include "rules/rule_target.h"

struct arena;
struct diag;

enum rule_action {
	RA_NONE,    /* only add-header: not terminal */
	RA_MONITOR, /* log and record the hit, change nothing */
	RA_ACCEPT,
	RA_REJECT,
	RA_TEMPFAIL,
	RA_DISCARD,
	RA_QUARANTINE
};

struct rule_header {
	const char *name, *value; /* value may hold %{...} variables */
};

struct rule {
	const char *name, *file;
	unsigned line;
	struct rnode *when;
	enum rule_action action;
	char code[4], ecode[16]; /* reject/tempfail; defaults filled in */
	const char *text;	 /* reply text or quarantine reason; may hold variables */
	struct rule_header *headers;
	size_t nheaders;
	enum gh_phase phase; /* when it is decided */
	unsigned index;	     /* position in file order */
};

struct rule_limits {
	unsigned long match_limit, depth_limit, heap_limit_kb;
	bool no_prefilter; /* PCRE2 alone (for measuring the prefilter) */
};

struct rule_prefilter;

struct ruleset {
	struct arena *arena;
	struct rule *rules;
	size_t nrules;
	const struct rule **by_phase[GH_PH_EOM + 1];
	size_t nby_phase[GH_PH_EOM + 1];
	size_t nfiles;
	unsigned need; /* enum rule_need bits */
	size_t nregex;
	struct rule_regex **regexes;
	struct rule_list **cidr_lists; /* lists holding parsed networks (to free) */
	size_t ncidr_lists, cidr_lists_cap;
	struct rule_prefilter *pf[2]; /* body, body.raw; NULL when none */
	pcre2_match_context *mctx;    /* the limits; read-only */
};

/*
 * ruleset_load - every *.rules file in DIR (name order). NULL with every
 * error appended to ERRS ("FILE:LINE:COL: message") when any file fails;
 * an empty directory gives an empty rule set.
 */
struct ruleset *ruleset_load(const char *dir, const struct rule_limits *lim, struct diag *errs);
/*
 * ruleset_load_text - the same for one file's text (tests, fuzzing); FILE
 * names it in errors and BASEDIR resolves `list ... = file "x"`.
 */
struct ruleset *ruleset_load_text(const char *file, const char *basedir, const char *text,
				  size_t len, const struct rule_limits *lim, struct diag *errs);
void ruleset_free(struct ruleset *);

/* rules_at - the rules decided at PHASE, file order; *N of them */
const struct rule *const *rules_at(const struct ruleset *rs, enum gh_phase phase, size_t *n);

/* Values of one target for one message, as the provider hands them over. */
struct rule_values {
	size_t n;
	const char *const *s; /* RK_TEXT/RK_IP: N strings */
	const size_t *len;    /* their lengths; each string is also NUL-terminated */
	long long num;	      /* RK_NUM */
	bool yes;	      /* RK_BOOL */
};

struct rule_provider {
	void *ctx;
	/* get - values of T into OUT (valid until the message ends); 0 or -1 (out of memory) */
	int (*get)(void *ctx, const struct rule_target_ref *t, struct rule_values *out);
	/* on_limit - rule R's pattern hit a PCRE2 limit (WHAT says which); may be NULL */
	void (*on_limit)(void *ctx, const struct rule *r, const char *what);
};

struct rule_scratch;

/* rule_scratch_new / _free - per-session match state for RS */
struct rule_scratch *rule_scratch_new(const struct ruleset *rs);
void rule_scratch_free(struct rule_scratch *);
/* rule_scratch_for - SC if it was made for RS, else a new one (SC freed) */
struct rule_scratch *rule_scratch_for(struct rule_scratch *sc, const struct ruleset *rs);
/* rule_scratch_reset - forget the previous message's prefilter results */
void rule_scratch_reset(struct rule_scratch *);

struct rule_eval_state {
	const struct ruleset *rs;
	struct rule_scratch *scratch;
	const struct rule_provider *p;
	unsigned limit_hits;
};

/* rule_eval - does R's condition hold? 1 yes, 0 no, -1 provider failure */
int rule_eval(struct rule_eval_state *st, const struct rule *r);

/* rule_action_name - "reject", "monitor", ... ("add-header" for RA_NONE) */
const char *rule_action_name(enum rule_action a);

#endif
