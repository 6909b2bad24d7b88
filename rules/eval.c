/*
 * eval.c - is a rule's condition true for this message? (see rule.h)
 *
 * Values come from the caller's provider, one target at a time, only when a
 * rule needs them: `and`/`or` short-circuit, so a rule on `inbound and body`
 * never asks for the body of outbound mail. A body pattern first asks the
 * prefilter (one Hyperscan pass per message and target finds every pattern
 * that may match) and runs PCRE2 only when it may.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rule.h"
#include "rules/rule_prefilter.h"

struct rule_scratch {
	const struct ruleset *rs;
	pcre2_match_data *md;
	hs_scratch_t *hs[2];
	unsigned char *cand[2]; /* candidate bits, one per prefiltered pattern */
	bool scanned[2];	/* this message's text has been scanned */
	bool scan_failed[2];	/* ... and the scan failed: everything is a candidate */
};

struct rule_scratch *rule_scratch_new(const struct ruleset *rs)
{
	struct rule_scratch *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->rs = rs;
	if ((sc->md = pcre2_match_data_create(1, NULL)) == NULL)
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
	free(sc);
}

struct rule_scratch *rule_scratch_for(struct rule_scratch *sc, const struct ruleset *rs)
{
	if (sc != NULL && sc->rs == rs)
		return sc;
	rule_scratch_free(sc);
	return rule_scratch_new(rs);
}

void rule_scratch_reset(struct rule_scratch *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < 2; i++)
		sc->scanned[i] = sc->scan_failed[i] = false;
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

/* may_match - the prefilter's answer for RE on TEXT: false only when RE
 * certainly does not match */
static bool may_match(struct rule_eval_state *st, const struct rule_regex *re, const char *text,
		      size_t len)
{
	struct rule_scratch *sc = st->scratch;
	int slot = re->pf_slot;

	if (slot < 0 || sc == NULL || sc->hs[slot] == NULL)
		return true;
	if (!sc->scanned[slot]) {
		const struct rule_prefilter *pf = st->rs->pf[slot];

		memset(sc->cand[slot], 0, pf->n / 8 + 1);
		sc->scan_failed[slot] = rule_prefilter_scan(pf, sc->hs[slot], text, len,
							    sc->cand[slot]) != 0;
		sc->scanned[slot] = true;
	}
	return sc->scan_failed[slot] || (sc->cand[slot][re->pf_id / 8] & (1u << (re->pf_id % 8)));
}

/* regex_match - PCRE2 under the rule set's limits; a limit is no match */
static bool regex_match(struct rule_eval_state *st, const struct rule *r,
			const struct rule_regex *re, const char *text, size_t len)
{
	pcre2_match_data *md = st->scratch ? st->scratch->md : NULL;
	bool own = md == NULL;
	int rc;

	if (own && (md = pcre2_match_data_create(1, NULL)) == NULL)
		return false;
	rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, 0, 0, md, st->rs->mctx);
	if (own)
		pcre2_match_data_free(md);
	if (rc >= 0)
		return true;
	if (rc != PCRE2_ERROR_NOMATCH) {
		st->limit_hits++;
		if (st->p->on_limit != NULL)
			st->p->on_limit(st->p->ctx, r,
					rc == PCRE2_ERROR_MATCHLIMIT	   ? "match limit"
					: rc == PCRE2_ERROR_DEPTHLIMIT	   ? "depth limit"
					: rc == PCRE2_ERROR_HEAPLIMIT	   ? "heap limit"
					: rc == PCRE2_ERROR_JIT_STACKLIMIT ? "JIT stack limit"
									   : "matching error");
	}
	return false;
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
static bool one_value(struct rule_eval_state *st, const struct rule *r, const struct rnode *n,
		      const char *s, size_t len)
{
	switch (n->op) {
	case ROP_MATCH:
		return may_match(st, n->re, s, len) && regex_match(st, r, n->re, s, len);
	case ROP_EQ:
		return strlen(n->str) == len && strncasecmp(n->str, s, len) == 0;
	case ROP_IN:
		if (n->tkind == RK_IP)
			return memchr(s, '\0', len) == NULL && s[len] == '\0' &&
			       cidr_list_match(&n->list->cidrs, s);
		return in_list(n->list, s, len);
	default:
		return false;
	}
}

static int eval_pred(struct rule_eval_state *st, const struct rule *r, const struct rnode *n)
{
	struct rule_values v = { 0 };
	bool hit = false;

	if (st->p->get(st->p->ctx, &n->tgt, &v) != 0)
		return -1;
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
		for (size_t i = 0; i < v.n && !hit; i++)
			hit = one_value(st, r, n, v.s[i], v.len[i]);
		break;
	}
	return n->negate ? !hit : hit;
}

static int eval_node(struct rule_eval_state *st, const struct rule *r, const struct rnode *n)
{
	int a;

	switch (n->kind) {
	case RN_AND:
		if ((a = eval_node(st, r, n->l)) != 1)
			return a;
		return eval_node(st, r, n->r);
	case RN_OR:
		if ((a = eval_node(st, r, n->l)) != 0)
			return a;
		return eval_node(st, r, n->r);
	case RN_NOT:
		a = eval_node(st, r, n->l);
		return a < 0 ? a : !a;
	case RN_PRED:
		return eval_pred(st, r, n);
	}
	return -1;
}

int rule_eval(struct rule_eval_state *st, const struct rule *r)
{
	return eval_node(st, r, r->when);
}
