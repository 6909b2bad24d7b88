/*
 * rule_build.h - building a rule set: shared between the parser and compiler
 *
 * Internal to rules/. One struct rule_build collects what all files of a
 * rule set define (rules, named expressions, lists, regexes) so a later file
 * can use an earlier file's `define` and `list`, and collects every error as
 * "FILE:LINE:COL: message" (at most RULE_MAX_ERRORS, then a last line saying
 * there were more).
 */
#ifndef RULE_BUILD_H
#define RULE_BUILD_H

#include <stdarg.h>

#include "rules/rule.h"

#define RULE_MAX_ERRORS 100

struct rule_def {
	const char *name;
	struct rnode *node;
};

struct rule_build {
	struct ruleset *rs;
	struct arena *a; /* the rule set's arena */
	const struct rule_limits *lim;
	struct diag *errs;
	unsigned nerrors;
	struct rule_def *defs;
	size_t ndefs, defs_cap;
	struct rule_list **lists;
	size_t nlists, lists_cap;
	struct rule *rules;
	size_t nrules, rules_cap;
	struct rule_regex **regexes;
	size_t nregex, regex_cap;
	unsigned ndef_slots;	 /* defines numbered so far (their cache slots) */
	unsigned long long size; /* conditions of the rules so far, defines written out */
	bool over_budget;	 /* "too large" was reported: once is enough */
};

/* rule_build_error - record "FILE:LINE:COL: message" */
void rule_build_error(struct rule_build *b, const char *file, unsigned line, unsigned col,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* rule_parse_file - parse one file's TEXT into B; errors are recorded in B */
void rule_parse_file(struct rule_build *b, const char *file, const char *basedir, const char *text,
		     size_t len);

/* rule_regex_compile - compile RE with PCRE2 (JIT when possible); errors
 * point at the pattern's offset in FILE. 0 or -1. */
int rule_regex_compile(struct rule_build *b, struct rule_regex *re, const char *file);

/* rule_list_cidrs - L's items as networks (for client.ip); 0 or -1 (error
 * recorded at FILE:LINE:COL of the use) */
int rule_list_cidrs(struct rule_build *b, struct rule_list *l, const char *file, unsigned line,
		    unsigned col);

/* rule_prefilter_build - Hyperscan databases over the body targets' regexes */
int rule_prefilter_build(struct rule_build *b);
/* rule_prefilter_free - release RS's databases */
void rule_prefilter_free(struct ruleset *rs);

#endif
