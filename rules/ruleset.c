/*
 * ruleset.c - load rule files, compile, index by phase (see rule.h)
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/rule_build.h"
#include "rules/rule_prefilter.h"
#include "util/arena.h"
#include "util/diag.h"

#define RULE_FILE_MAX (16 * 1024 * 1024) /* a rule file larger than this is a mistake */

void rule_build_error(struct rule_build *b, const char *file, unsigned line, unsigned col,
		      const char *fmt, ...)
{
	va_list ap;

	if (b->nerrors++ >= RULE_MAX_ERRORS) {
		if (b->nerrors == RULE_MAX_ERRORS + 1)
			diag_push(b->errs, "(more rule errors not shown)");
		return;
	}
	va_start(ap, fmt);
	diag_vat(b->errs, file, line, col, fmt, ap);
	va_end(ap);
}

/* ruleset_index - phases and the per-phase lists */
static int ruleset_index(struct rule_build *b)
{
	struct ruleset *rs = b->rs;

	rs->rules = b->rules;
	rs->nrules = b->nrules;
	rs->regexes = b->regexes;
	rs->nregex = b->nregex;
	rs->ndef_slots = b->ndef_slots;
	rs->size = b->size;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];

		r->phase = r->when->phase; /* derived as the parser built it (rule_ast.h) */
		rs->need |= r->when->need;
		/* Header edits belong to a message: a rule that adds one and
		 * could be decided at connect or helo is decided at MAIL, for
		 * each message of the connection. */
		if (r->nheaders > 0 && r->phase < GH_PH_MAIL)
			r->phase = GH_PH_MAIL;
		rs->nby_phase[r->phase]++;
	}
	for (int ph = 0; ph <= GH_PH_EOM; ph++) {
		size_t k = 0;

		if (rs->nby_phase[ph] == 0)
			continue;
		rs->by_phase[ph] = arena_alloc(b->a, rs->nby_phase[ph] * sizeof(*rs->by_phase[ph]));
		if (rs->by_phase[ph] == NULL)
			return -1;
		for (size_t i = 0; i < rs->nrules; i++)
			if (rs->rules[i].phase == (enum gh_phase)ph)
				rs->by_phase[ph][k++] = &rs->rules[i];
	}
	return 0;
}

static struct ruleset *ruleset_new(struct rule_build *b, const struct rule_limits *lim,
				   struct diag *errs)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));

	memset(b, 0, sizeof(*b));
	if (rs == NULL || (rs->arena = arena_new()) == NULL ||
	    (rs->mctx = pcre2_match_context_create(NULL)) == NULL) {
		diag_push(errs, "rules: out of memory");
		ruleset_free(rs);
		return NULL;
	}
	pcre2_set_match_limit(rs->mctx, (uint32_t)lim->match_limit);
	pcre2_set_depth_limit(rs->mctx, (uint32_t)lim->depth_limit);
	pcre2_set_heap_limit(rs->mctx, (uint32_t)lim->heap_limit_kb);
	b->rs = rs;
	b->a = rs->arena;
	b->lim = lim;
	b->errs = errs;
	return rs;
}

/* ruleset_finish - index and prefilter, or free everything on any error */
static struct ruleset *ruleset_finish(struct rule_build *b)
{
	struct ruleset *rs = b->rs;

	/* Regexes compiled before an error are owned by the set: hand them over
	 * before any early free. */
	rs->regexes = b->regexes;
	rs->nregex = b->nregex;
	if (b->nerrors > 0) {
		ruleset_free(rs);
		return NULL;
	}
	if (ruleset_index(b) != 0 || (!b->lim->no_prefilter && rule_prefilter_build(b) != 0)) {
		diag_push(b->errs, "rules: out of memory");
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

struct ruleset *ruleset_load_text(const char *file, const char *basedir, const char *text,
				  size_t len, const struct rule_limits *lim, struct diag *errs)
{
	struct rule_build b;

	if (ruleset_new(&b, lim, errs) == NULL)
		return NULL;
	b.rs->nfiles = 1;
	rule_parse_file(&b, file, basedir, text, len);
	return ruleset_finish(&b);
}

static int has_suffix(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 6 && strcmp(d->d_name + n - 6, ".rules") == 0;
}

/* name order in bytes, not the locale's: the order must not change with LANG */
static int byte_order(const struct dirent **x, const struct dirent **y)
{
	return strcmp((*x)->d_name, (*y)->d_name);
}

/* read_file - all of PATH into a malloc'd buffer; NULL with errno */
static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	char *buf;

	if (fp == NULL)
		return NULL;
	if (fstat(fileno(fp), &st) != 0 || st.st_size > RULE_FILE_MAX) {
		fclose(fp);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(fp);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

struct ruleset *ruleset_load(const char *dir, const struct rule_limits *lim, struct diag *errs)
{
	struct rule_build b;
	struct dirent **names = NULL;
	int n;

	if (ruleset_new(&b, lim, errs) == NULL)
		return NULL;
	n = scandir(dir, &names, has_suffix, byte_order);
	if (n < 0) {
		rule_build_error(&b, dir, 0, 0, "cannot read the rules directory: %s",
				 strerror(errno));
		return ruleset_finish(&b);
	}
	for (int i = 0; i < n; i++) {
		char *path = arena_printf(b.a, "%s/%s", dir, names[i]->d_name);
		size_t len = 0;
		char *text = path ? read_file(path, &len) : NULL;

		if (text == NULL)
			rule_build_error(&b, path ? path : dir, 0, 0, "cannot read: %s",
					 strerror(errno));
		else
			rule_parse_file(&b, path, dir, text, len);
		free(text);
		free(names[i]);
	}
	free(names);
	b.rs->nfiles = (size_t)n;
	return ruleset_finish(&b);
}

void ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	rule_prefilter_free(rs);
	for (size_t i = 0; i < rs->nregex; i++)
		pcre2_code_free(rs->regexes[i]->code);
	for (size_t i = 0; i < rs->ncidr_lists; i++)
		cidr_list_free(&rs->cidr_lists[i]->cidrs);
	pcre2_match_context_free(rs->mctx);
	arena_free(rs->arena);
	free(rs);
}

const struct rule *const *rules_at(const struct ruleset *rs, enum gh_phase phase, size_t *n)
{
	*n = rs && phase <= GH_PH_EOM ? rs->nby_phase[phase] : 0;
	return *n ? (const struct rule *const *)rs->by_phase[phase] : NULL;
}
