/*
 * eval.c - is a rule's condition true for this message? (see rule.h)
 *
 * Values come from the caller's provider, one target at a time, only when a
 * rule needs them: `and`/`or` short-circuit, so a rule on `inbound and body`
 * never asks for the body of outbound mail. A body pattern first asks the
 * prefilter (one Hyperscan pass per message and target finds every pattern
 * that may match) and runs PCRE2 only when it may.
 *
 * Three answers, not two: a pattern that hits a PCRE2 limit has none, and
 * calling it "no match" would let anyone who can make a regex backtrack walk
 * past a reject rule. So the logic is Kleene's: unknown stays unknown unless
 * the other side of an and/or decides.
 *
 * A define's answer is cached in the scratch (one slot per define, valid for
 * one round: see rule_scratch_forget), since a define named twice in one
 * condition, nested N deep, is otherwise evaluated 2^N times.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rules/rule.h"
#include "rules/rule_prefilter.h"

/* How many cheap steps (a comparison, a list lookup) between two reads of
 * the clock; a PCRE2 match or a prefilter scan always reads it after. */
#define EVAL_CLOCK_EVERY 64

struct rule_scratch {
	const struct ruleset *rs;
	pcre2_match_data *md;
	hs_scratch_t *hs[2];
	unsigned char *cand[2]; /* candidate bits, one per prefiltered pattern */
	bool scanned[2];	/* this message's text has been scanned */
	bool scan_failed[2];	/* ... and the scan failed: no pattern has an answer */
	/* define answers, by slot: valid when def_round[slot] == round */
	signed char *def_answer;
	const char **def_why; /* for RULE_UNKNOWN: on_limit's WHAT */
	unsigned *def_round;
	unsigned round;
};

struct rule_scratch *rule_scratch_new(const struct ruleset *rs)
{
	struct rule_scratch *sc = calloc(1, sizeof(*sc));
	size_t nd = (size_t)rs->ndef_slots + 1; /* slots are 1-based */

	if (sc == NULL)
		return NULL;
	sc->rs = rs;
	sc->round = 1;
	if ((sc->md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (sc->def_answer = calloc(nd, sizeof(*sc->def_answer))) == NULL ||
	    (sc->def_why = calloc(nd, sizeof(*sc->def_why))) == NULL ||
	    (sc->def_round = calloc(nd, sizeof(*sc->def_round))) == NULL)
		goto fail;
	for (int i = 0; i < 2; i++) {
		const struct rule_prefilter *pf = rs->pf[i];

		if (pf == NULL)
			continue;
		if (hs_clone_scratch(pf->proto, &sc->hs[i]) != HS_SUCCESS ||
		    (sc->cand[i] = calloc(pf->n / 8 + 1, 1)) == NULL)
			goto fail;
	}
	return sc;
fail:
	rule_scratch_free(sc);
	return NULL;
}

void rule_scratch_free(struct rule_scratch *sc)
{
	if (sc == NULL)
		return;
	pcre2_match_data_free(sc->md);
	for (int i = 0; i < 2; i++) {
		if (sc->hs[i] != NULL)
			hs_free_scratch(sc->hs[i]);
		free(sc->cand[i]);
	}
	free(sc->def_answer);
	free(sc->def_why);
	free(sc->def_round);
	free(sc);
}

struct rule_scratch *rule_scratch_for(struct rule_scratch *sc, const struct ruleset *rs)
{
	if (sc != NULL && sc->rs == rs)
		return sc;
	rule_scratch_free(sc);
	return rule_scratch_new(rs);
}

void rule_scratch_forget(struct rule_scratch *sc)
{
	if (sc == NULL)
		return;
	if (++sc->round == 0) { /* wrapped: every slot's round may look current */
		memset(sc->def_round, 0, ((size_t)sc->rs->ndef_slots + 1) * sizeof(*sc->def_round));
		sc->round = 1;
	}
}

void rule_scratch_reset(struct rule_scratch *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < 2; i++)
		sc->scanned[i] = sc->scan_failed[i] = false;
	rule_scratch_forget(sc);
}

unsigned long long rule_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* overtime - has the deadline passed? EXPENSIVE: a step that may have taken
 * long was just done, so read the clock now, not at the next round number */
static bool overtime(struct rule_eval_state *st, bool expensive)
{
	if (st->deadline_ns == 0)
		return false;
	if (!expensive && ++st->ticks < EVAL_CLOCK_EVERY)
		return false;
	st->ticks = 0;
	return rule_clock_ns() >= st->deadline_ns;
}

const char *rule_action_name(enum rule_action a)
{
	switch (a) {
	case RA_NONE:
		return "add-header";
	case RA_MONITOR:
		return "monitor";
	case RA_ACCEPT:
		return "accept";
	case RA_REJECT:
		return "reject";
	case RA_TEMPFAIL:
		return "tempfail";
	case RA_DISCARD:
		return "discard";
	case RA_QUARANTINE:
		return "quarantine";
	}
	return "?";
}

/* unknown - pattern RE of rule R has no answer (WHAT says why) */
static enum rule_answer unknown(struct rule_eval_state *st, const struct rule *r, const char *what)
{
	st->limit_hits++;
	st->unknown_why = what;
	if (st->p->on_limit != NULL)
		st->p->on_limit(st->p->ctx, r, what);
	return RULE_UNKNOWN;
}

/* may_match - the prefilter's answer for RE on TEXT: NO only when RE
 * certainly does not match, UNKNOWN when the scan failed */
static enum rule_answer may_match(struct rule_eval_state *st, const struct rule *r,
				  const struct rule_regex *re, const char *text, size_t len)
{
	struct rule_scratch *sc = st->scratch;
	int slot = re->pf_slot;

	if (slot < 0 || sc == NULL || sc->hs[slot] == NULL)
		return RULE_YES;
	if (!sc->scanned[slot]) {
		const struct rule_prefilter *pf = st->rs->pf[slot];

		memset(sc->cand[slot], 0, pf->n / 8 + 1);
		sc->scan_failed[slot] = rule_prefilter_scan(pf, sc->hs[slot], text, len,
							    sc->cand[slot]) != 0;
		sc->scanned[slot] = true;
	}
	/* A failed scan says nothing; PCRE2 over every pattern instead would
	 * cost what the prefilter exists to avoid, under whatever made it fail
	 * (memory, most likely): no answer, like a PCRE2 limit. */
	if (sc->scan_failed[slot])
		return unknown(st, r, "prefilter failure");
	return (sc->cand[slot][re->pf_id / 8] & (1u << (re->pf_id % 8))) ? RULE_YES : RULE_NO;
}

/* regex_match - PCRE2 under the rule set's limits; a limit is no answer */
static enum rule_answer regex_match(struct rule_eval_state *st, const struct rule *r,
				    const struct rule_regex *re, const char *text, size_t len)
{
	pcre2_match_data *md = st->scratch ? st->scratch->md : NULL;
	bool own = md == NULL;
	int rc;

	if (own && (md = pcre2_match_data_create(1, NULL)) == NULL)
		return RULE_FAILED;
	rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, 0, 0, md, st->rs->mctx);
	if (own)
		pcre2_match_data_free(md);
	if (rc >= 0)
		return RULE_YES;
	if (rc == PCRE2_ERROR_NOMATCH)
		return RULE_NO;
	return unknown(st, r,
		       rc == PCRE2_ERROR_MATCHLIMIT	  ? "match limit"
		       : rc == PCRE2_ERROR_DEPTHLIMIT	  ? "depth limit"
		       : rc == PCRE2_ERROR_HEAPLIMIT	  ? "heap limit"
		       : rc == PCRE2_ERROR_JIT_STACKLIMIT ? "JIT stack limit"
							  : "matching error");
}

static int cmp_key(const void *k, const void *item)
{
	return strcmp(k, *(const char *const *)item);
}

/* in_list - VALUE (any case) is one of L's items (stored lower case) */
static bool in_list(const struct rule_list *l, const char *value, size_t len)
{
	char small[256], *key;
	bool found;

	if (l->n == 0)
		return false;
	key = len < sizeof(small) ? small : malloc(len + 1);
	if (key == NULL || memchr(value, '\0', len) != NULL) {
		if (key != small)
			free(key);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		key[i] = (value[i] >= 'A' && value[i] <= 'Z') ? (char)(value[i] + 32) : value[i];
	key[len] = '\0';
	found = bsearch(key, l->items, l->n, sizeof(*l->items), cmp_key) != NULL;
	if (key != small)
		free(key);
	return found;
}

/* one_value - does the predicate hold for one text value? */
static enum rule_answer one_value(struct rule_eval_state *st, const struct rule *r,
				  const struct rnode *n, const char *s, size_t len)
{
	enum rule_answer a;

	switch (n->op) {
	case ROP_MATCH:
		if ((a = may_match(st, r, n->re, s, len)) != RULE_YES)
			return a;
		return regex_match(st, r, n->re, s, len);
	case ROP_EQ:
		return strlen(n->str) == len && strncasecmp(n->str, s, len) == 0;
	case ROP_IN:
		if (n->tkind == RK_IP)
			return memchr(s, '\0', len) == NULL && s[len] == '\0' &&
			       cidr_list_match(&n->list->cidrs, s);
		return in_list(n->list, s, len);
	default:
		return RULE_NO;
	}
}

/* eval_two_targets - TARGET == TARGET: some value of the left (V) equals,
 * ASCII case-insensitively, some value of the right */
static enum rule_answer eval_two_targets(struct rule_eval_state *st, const struct rnode *n,
					 const struct rule_values *v)
{
	struct rule_values w = { 0 };

	if (st->p->get(st->p->ctx, &n->rhs, &w) != 0)
		return RULE_FAILED;
	for (size_t i = 0; i < v->n; i++)
		for (size_t j = 0; j < w.n; j++)
			if (v->len[i] == w.len[j] && strncasecmp(v->s[i], w.s[j], v->len[i]) == 0)
				return RULE_YES;
	return RULE_NO;
}

/* eval_pred - one comparison; over several values it holds when it holds for
 * any of them (!~, != and `not in`: for none), unknown when no value says
 * yes and one has no answer */
static enum rule_answer eval_pred(struct rule_eval_state *st, const struct rule *r,
				  const struct rnode *n)
{
	struct rule_values v = { 0 };
	enum rule_answer hit = RULE_NO, a;

	if (overtime(st, false))
		return RULE_OVERTIME;
	if (st->p->get(st->p->ctx, &n->tgt, &v) != 0)
		return RULE_FAILED;
	switch (n->tkind) {
	case RK_BOOL:
		hit = v.yes;
		break;
	case RK_NUM:
		switch (n->op) {
		case ROP_EQ:
			hit = v.num == n->num;
			break;
		case ROP_LT:
			hit = v.num < n->num;
			break;
		case ROP_LE:
			hit = v.num <= n->num;
			break;
		case ROP_GT:
			hit = v.num > n->num;
			break;
		case ROP_GE:
			hit = v.num >= n->num;
			break;
		default:
			break;
		}
		break;
	case RK_TEXT:
	case RK_IP:
		if (n->rhs_target) {
			hit = eval_two_targets(st, n, &v);
			if (hit == RULE_FAILED)
				return hit;
			break;
		}
		for (size_t i = 0; i < v.n && hit != RULE_YES; i++) {
			a = one_value(st, r, n, v.s[i], v.len[i]);
			if (a == RULE_FAILED)
				return a;
			if (a != RULE_NO)
				hit = a; /* YES ends the loop; UNKNOWN holds unless one says yes */
			if (overtime(st, n->op == ROP_MATCH))
				return RULE_OVERTIME;
		}
		break;
	}
	if (n->negate && hit != RULE_UNKNOWN)
		hit = hit == RULE_YES ? RULE_NO : RULE_YES;
	return hit;
}

static enum rule_answer eval_node(struct rule_eval_state *st, const struct rule *r,
				  const struct rnode *n);

/* eval_logic - and, or, not in three values */
static enum rule_answer eval_logic(struct rule_eval_state *st, const struct rule *r,
				   const struct rnode *n)
{
	enum rule_answer a, b;
	/* the answer that decides an and (no) or an or (yes) on its own */
	enum rule_answer decides = n->kind == RN_AND ? RULE_NO : RULE_YES;

	switch (n->kind) {
	case RN_AND:
	case RN_OR:
		a = eval_node(st, r, n->l);
		if (a == decides || a == RULE_FAILED || a == RULE_OVERTIME)
			return a;
		b = eval_node(st, r, n->r);
		if (b == decides || b == RULE_FAILED || b == RULE_OVERTIME)
			return b;
		return a == RULE_UNKNOWN || b == RULE_UNKNOWN ? RULE_UNKNOWN : a;
	case RN_NOT:
		a = eval_node(st, r, n->l);
		return a == RULE_YES ? RULE_NO : a == RULE_NO ? RULE_YES : a;
	case RN_PRED:
		return eval_pred(st, r, n);
	}
	return RULE_FAILED;
}

static enum rule_answer eval_node(struct rule_eval_state *st, const struct rule *r,
				  const struct rnode *n)
{
	struct rule_scratch *sc = st->scratch;
	enum rule_answer a;

	if (n->def_slot == 0 || sc == NULL)
		return eval_logic(st, r, n);
	if (sc->def_round[n->def_slot] == sc->round) {
		a = (enum rule_answer)sc->def_answer[n->def_slot];
		if (a == RULE_UNKNOWN)
			st->unknown_why = sc->def_why[n->def_slot];
		return a;
	}
	a = eval_logic(st, r, n);
	if (a == RULE_FAILED || a == RULE_OVERTIME)
		return a; /* not an answer: the next rule tries again */
	sc->def_answer[n->def_slot] = (signed char)a;
	sc->def_why[n->def_slot] = a == RULE_UNKNOWN ? st->unknown_why : NULL;
	sc->def_round[n->def_slot] = sc->round;
	return a;
}

enum rule_answer rule_eval(struct rule_eval_state *st, const struct rule *r)
{
	st->unknown_why = NULL;
	if (overtime(st, true))
		return RULE_OVERTIME;
	return eval_node(st, r, r->when);
}
