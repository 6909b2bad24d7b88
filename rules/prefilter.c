/*
 * prefilter.c - Hyperscan databases over the body patterns (see rule_prefilter.h)
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rule_build.h"
#include "rules/rule_prefilter.h"
#include "util/arena.h"

int rule_prefilter_slot(int target_id)
{
	return target_id == TGT_BODY ? 0 : target_id == TGT_BODY_RAW ? 1 : -1;
}

/* hs_flags - Hyperscan flags for a pattern, or -1 when it cannot take it */
static int hs_flags(const struct rule_regex *re)
{
	int fl = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH;

	for (const char *f = re->flags; *f; f++)
		switch (*f) {
		case 'i':
			fl |= HS_FLAG_CASELESS;
			break;
		case 'm':
			fl |= HS_FLAG_MULTILINE;
			break;
		case 's':
			fl |= HS_FLAG_DOTALL;
			break;
		default:
			return -1; /* x and u: PCRE2 only (see the header) */
		}
	return fl;
}

/* build_slot - the database for one slot; patterns it refuses stay PCRE2-only */
static int build_slot(struct rule_build *b, int slot)
{
	struct rule_prefilter *pf;
	struct rule_regex **members;
	const char **exprs;
	unsigned *flags, *ids;
	unsigned n = 0;
	hs_compile_error_t *err = NULL;
	hs_database_t *db = NULL;

	members = calloc(b->nregex + 1, sizeof(*members));
	exprs = calloc(b->nregex + 1, sizeof(*exprs));
	flags = calloc(b->nregex + 1, sizeof(*flags));
	ids = calloc(b->nregex + 1, sizeof(*ids));
	if (!members || !exprs || !flags || !ids)
		goto out;
	for (size_t i = 0; i < b->nregex; i++) {
		struct rule_regex *re = b->regexes[i];
		hs_expr_info_t *info = NULL;
		int fl;

		if (rule_prefilter_slot((int)re->target) != slot || (fl = hs_flags(re)) < 0)
			continue;
		/* A quick check first: one bad pattern would fail the whole compile. */
		if (hs_expression_info(re->pattern, (unsigned)fl, &info, &err) != HS_SUCCESS) {
			hs_free_compile_error(err);
			err = NULL;
			continue;
		}
		if (info->min_width == 0) {
			free(info); /* matches the empty string: every text is a candidate */
			continue;
		}
		free(info);
		members[n] = re;
		exprs[n] = re->pattern;
		flags[n] = (unsigned)fl;
		ids[n] = n;
		n++;
	}
	/* What the quick check passes may still fail in the full compile: drop
	 * the pattern it names and try again. */
	while (n > 0 && hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, &db, &err) !=
				HS_SUCCESS) {
		int bad = err ? err->expression : -1;

		hs_free_compile_error(err);
		err = NULL;
		if (bad < 0 || (unsigned)bad >= n) {
			n = 0; /* no database: PCRE2 for all */
			break;
		}
		memmove(&members[bad], &members[bad + 1],
			(n - (unsigned)bad - 1) * sizeof(*members));
		memmove(&exprs[bad], &exprs[bad + 1], (n - (unsigned)bad - 1) * sizeof(*exprs));
		memmove(&flags[bad], &flags[bad + 1], (n - (unsigned)bad - 1) * sizeof(*flags));
		n--;
	}
	if (n > 0 && db != NULL) {
		pf = arena_alloc(b->a, sizeof(*pf));
		if (pf == NULL) {
			hs_free_database(db);
			goto out;
		}
		memset(pf, 0, sizeof(*pf));
		pf->db = db;
		pf->n = n;
		if (hs_alloc_scratch(db, &pf->proto) != HS_SUCCESS) {
			hs_free_database(db);
			goto out;
		}
		for (unsigned i = 0; i < n; i++) {
			members[i]->pf_slot = slot;
			members[i]->pf_id = i;
		}
		b->rs->pf[slot] = pf;
	}
out:
	free(members);
	free(exprs);
	free(flags);
	free(ids);
	return 0;
}

int rule_prefilter_build(struct rule_build *b)
{
	if (hs_valid_platform() != HS_SUCCESS)
		return 0; /* no SSSE3: PCRE2 alone, same answers */
	for (int slot = 0; slot < 2; slot++)
		if (build_slot(b, slot) != 0)
			return -1;
	return 0;
}

void rule_prefilter_free(struct ruleset *rs)
{
	for (int slot = 0; slot < 2; slot++) {
		if (rs->pf[slot] == NULL)
			continue;
		hs_free_scratch(rs->pf[slot]->proto);
		hs_free_database(rs->pf[slot]->db);
		rs->pf[slot] = NULL;
	}
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	unsigned char *cand = ctx;

	(void)from;
	(void)to;
	(void)flags;
	cand[id / 8] |= (unsigned char)(1u << (id % 8));
	return 0;
}

int rule_prefilter_scan(const struct rule_prefilter *pf, hs_scratch_t *scratch, const char *text,
			size_t len, unsigned char *cand)
{
	if (len > UINT_MAX)
		return -1;
	return hs_scan(pf->db, text, (unsigned)len, 0, scratch, on_match, cand) == HS_SUCCESS ? 0
											      : -1;
}
