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
 * Answers: yes, no, or unknown. A pattern that hits a PCRE2 limit (match,
 * depth, heap) or whose prefilter scan failed has no answer: it is reported
 * through on_limit with the rule, counted in rule_eval_state.limit_hits, and
 * the condition is unknown unless the rest decides it (`x or unknown` is yes
 * when x is, `x and unknown` no when x is; `not unknown` is unknown). What an
 * unknown rule means (a fault for a rule that refuses, no match for one that
 * accepts) is the caller's decision, not the evaluator's.
 *
 * Cost: a define is a subtree shared by every rule that names it, so the
 * evaluator caches its answer in the scratch until rule_scratch_forget();
 * nested defines then cost their size once, not once per path. The size a
 * rule set would have with every define written out is bounded at load
 * (rule_limits.max_size). Evaluation stops at the caller's deadline.
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

/* The budget a rule set gets without one (rules_max_size's default). */
#define RULE_DEFAULT_MAX_SIZE 1000000UL

struct rule_limits {
	unsigned long match_limit, depth_limit, heap_limit_kb;
	bool no_prefilter; /* PCRE2 alone (for measuring the prefilter) */
	/* conditions (and, or, not, comparisons) all rules may hold with every
	 * define written out; 0: RULE_DEFAULT_MAX_SIZE */
	unsigned long max_size;
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
	unsigned ndef_slots;	      /* defines whose answers are cached */
	unsigned long long size;      /* conditions with every define written out */
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
	/* on_limit - rule R's pattern has no answer: WHAT is "match limit",
	 * "depth limit", "heap limit", "JIT stack limit", "matching error" or
	 * "prefilter failure"; may be NULL */
	void (*on_limit)(void *ctx, const struct rule *r, const char *what);
};

struct rule_scratch;

/* rule_scratch_new / _free - per-session match state for RS */
struct rule_scratch *rule_scratch_new(const struct ruleset *rs);
void rule_scratch_free(struct rule_scratch *);
/* rule_scratch_for - SC if it was made for RS, else a new one (SC freed) */
struct rule_scratch *rule_scratch_for(struct rule_scratch *sc, const struct ruleset *rs);
/* rule_scratch_reset - a new message: forget the prefilter's results and the
 * cached answers of defines */
void rule_scratch_reset(struct rule_scratch *);
/* rule_scratch_forget - values may have changed (another phase, another
 * recipient): forget the cached answers of defines */
void rule_scratch_forget(struct rule_scratch *);

struct rule_eval_state {
	const struct ruleset *rs;
	struct rule_scratch *scratch; /* NULL: no prefilter, no define cache */
	const struct rule_provider *p;
	unsigned limit_hits;
	/* CLOCK_MONOTONIC nanoseconds after which evaluation stops with
	 * RULE_OVERTIME; 0: no deadline */
	unsigned long long deadline_ns;
	/* out: why the last rule_eval() answered RULE_UNKNOWN (on_limit's WHAT) */
	const char *unknown_why;
	unsigned ticks; /* cheap steps since the clock was last read */
};

enum rule_answer {
	RULE_FAILED = -1, /* the provider failed (out of memory) */
	RULE_NO = 0,
	RULE_YES = 1,
	RULE_UNKNOWN = 2, /* a pattern has no answer and the rest does not decide */
	RULE_OVERTIME = 3 /* the deadline passed before the answer */
};

/* rule_eval - does R's condition hold? */
enum rule_answer rule_eval(struct rule_eval_state *st, const struct rule *r);
/* rule_clock_ns - CLOCK_MONOTONIC in nanoseconds, the deadline's clock */
unsigned long long rule_clock_ns(void);

/* rule_action_name - "reject", "monitor", ... ("add-header" for RA_NONE) */
const char *rule_action_name(enum rule_action a);

#endif
