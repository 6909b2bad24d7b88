/*
 * rule_ast.h - the parsed form of rule files, before and after compiling
 *
 * The parser (rules/parse.c) builds these nodes in the rule set's arena; the
 * compiler (rules/compile.c) fills in the compiled regexes, the list lookups
 * and each rule's phase; the evaluator (rules/eval.c) walks them. Nodes are
 * immutable once the rule set is built, and shared read-only by every
 * thread. A `define` is a subtree that several rules point to: the nodes
 * form a graph without cycles, and every walk over it must either be
 * bounded by a node's `size` or remember what it has seen (nested defines
 * double the paths per level). So each node carries what its subtree needs
 * (phase, need, size) from the moment it is built.
 *
 * Grammar (whitespace and newlines are free; `#` comments):
 *   file      := item*
 *   item      := "rule" NAME "{" "when" expr action+ "}"
 *              | "define" NAME "=" expr
 *              | "list" NAME "=" ( "{" values "}" | "file" STRING )
 *   expr      := and ("or" and)*
 *   and       := unary ("and" unary)*
 *   unary     := "not" unary | "(" expr ")" | DEFINE-NAME | predicate
 *   predicate := TARGET                       (yes/no targets)
 *              | "dkim.pass" [STRING]
 *              | TARGET ("~" | "!~") REGEX
 *              | TARGET ("==" | "!=") value
 *              | TARGET ("==" | "!=") TARGET   (text targets: any value of one
 *                                              equals one of the other's)
 *              | TARGET ["not"] "in" ( "{" values "}" | LIST-NAME )
 *              | TARGET ("<" | "<=" | ">" | ">=") WORD
 *   action    := "accept" | "discard" | "monitor" | "quarantine" [STRING]
 *              | ("reject" | "tempfail") [CODE [ENHANCED]] [STRING]
 *              | "add-header" STRING STRING
 */
#ifndef RULE_AST_H
#define RULE_AST_H

#include <stdbool.h>
#include <stddef.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "rules/rule_target.h"
#include "util/cidr.h"

enum rnode_kind { RN_AND, RN_OR, RN_NOT, RN_PRED };

enum rule_op {
	ROP_TRUE,  /* a yes/no target on its own */
	ROP_MATCH, /* ~ (negated: !~) */
	ROP_EQ,	   /* == (negated: !=), ASCII case-insensitive for text */
	ROP_IN,	   /* in (negated: not in) */
	ROP_LT,
	ROP_LE,
	ROP_GT,
	ROP_GE
};

struct rule_regex {
	const char *pattern, *flags;
	pcre2_code *code;
	unsigned id;		    /* index among all regexes of the rule set */
	enum rule_target_id target; /* what it is matched against */
	int pf_slot;		    /* prefilter database it is in, or -1: always PCRE2 */
	unsigned pf_id;		    /* its id in that database */
	unsigned line, col;	    /* where the pattern starts (after the /) */
};

struct rule_list {
	const char *name;   /* NULL for an inline list */
	const char **items; /* sorted, ASCII lower case, unique */
	size_t n;
	struct cidr_list cidrs; /* the same items as networks, when used with client.ip */
	bool cidrs_ready;
	unsigned line, col;
	const char *file;
};

struct rnode {
	enum rnode_kind kind;
	struct rnode *l, *r; /* AND/OR: both; NOT: l */
	/* RN_PRED */
	struct rule_target_ref tgt;
	enum rule_kind tkind;
	enum rule_op op;
	bool negate;
	struct rule_regex *re;
	const char *str;	    /* ROP_EQ on text, dkim.pass domain */
	struct rule_target_ref rhs; /* ROP_EQ with another target (rhs_target) */
	bool rhs_target;
	long long num; /* numeric comparisons and ROP_EQ on numbers */
	struct rule_list *list;
	unsigned line, col;
	/* of the subtree, set when the node is built */
	enum gh_phase phase;	 /* when everything under it is known */
	unsigned need;		 /* enum rule_need bits of its targets */
	unsigned long long size; /* nodes with every define written out; saturates */
	unsigned def_slot;	 /* a define's root: 1 + its answer's cache slot; else 0 */
};

#endif
