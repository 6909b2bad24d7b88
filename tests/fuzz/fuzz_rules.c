/*
 * fuzz_rules.c - libFuzzer target: the rule language from text to verdicts.
 * The input is one rule file. It must load or fail with "FILE:LINE:COL:
 * message" lines, never crash or leak; when it loads, every rule is
 * evaluated against a fixed mock message twice, with the scratch (the
 * Hyperscan prefilter and the cache of define answers) and without (PCRE2
 * alone, every define evaluated where it is named). The answers must agree,
 * except that PCRE2 alone may say "unknown" (a pattern at its limit) where
 * the prefilter knew the pattern cannot match; and asking again in the same
 * round (from the cache) must give the scratch's answer again. The size
 * budget keeps the evaluation without a cache bounded.
 *
 * Inputs naming an absolute list file ("/...") are skipped: `list x = file
 * "/dev/zero"` would only test the machine. Relative names resolve under a
 * directory that does not exist. Inputs over 16 KB are skipped: rule files
 * are small, and the fuzzer's time is better spent on structure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "rules/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Tight limits: a catastrophic pattern costs little, and still takes the limit path. */
static const struct rule_limits fz_lim = { 20000, 2000, 1024, false, 20000 };

/* The mock message: two values for most text targets, so any/none semantics run. */
static const char *const fz_text[] = { "Hello World from mx.example.org", "bob@Example.NET" };
static const size_t fz_text_len[] = { 31, 15 };
static const char fz_body[] =
	"Dear customer,\nyour account 4111 1111 1111 1111 is on hold; wire transfer now.\n"
	"caf\xc3\xa9 \xff\xfe invalid bytes \x00 and a NUL\r\nunsubscribe\n";
static const char *const fz_body_v[] = { fz_body };
static const size_t fz_body_len[] = { sizeof(fz_body) - 1 };
static const char *const fz_ip[] = { "192.0.2.7" };
static const size_t fz_ip_len[] = { 9 };

static int fz_get(void *ctx, const struct rule_target_ref *t, struct rule_values *out)
{
	const struct rule_target_info *ti = rule_target_info(t->id);

	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (ti == NULL)
		abort();	/* the parser made a node for a target that does not exist */
	switch (ti->kind) {
	case RK_BOOL:
		out->yes = t->id == TGT_INBOUND ||
			   (t->id == TGT_DKIM_PASS && (t->arg == NULL || strcasecmp(t->arg, "example.org") == 0));
		break;
	case RK_NUM:
		out->num = t->id == TGT_SIZE ? 52000 : 3;
		break;
	case RK_IP:
		out->n = 1;
		out->s = fz_ip;
		out->len = fz_ip_len;
		break;
	case RK_TEXT:
		if (t->id == TGT_BODY || t->id == TGT_BODY_RAW) {
			out->n = 1;
			out->s = fz_body_v;
			out->len = fz_body_len;
		} else if (t->id != TGT_AUTH) {	/* one target with no value at all */
			out->n = 2;
			out->s = fz_text;
			out->len = fz_text_len;
		}
		break;
	}
	return 0;
}

static void fz_on_limit(void *ctx, const struct rule *r, const char *what)
{
	(void)ctx;
	if (r == NULL || what == NULL)
		abort();
}

/* fz_eval - every rule, with SC and without; they must agree */
static void fz_eval(const struct ruleset *rs, struct rule_scratch *sc)
{
	const struct rule_provider p = { NULL, fz_get, fz_on_limit };

	rule_scratch_reset(sc);
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule_eval_state with = { rs, sc, &p, 0 }, without = { rs, NULL, &p, 0 };
		enum rule_answer a = rule_eval(&with, &rs->rules[i]);
		enum rule_answer b = rule_eval(&without, &rs->rules[i]);
		enum rule_answer again = rule_eval(&with, &rs->rules[i]);

		if ((a != b && b != RULE_UNKNOWN) || a == RULE_FAILED || a == RULE_OVERTIME ||
		    b == RULE_FAILED || b == RULE_OVERTIME || again != a ||
		    (a == RULE_UNKNOWN && with.unknown_why == NULL)) {
			fprintf(stderr, "rule %s (line %u): scratch %d (again %d), PCRE2 alone %d\n",
				rs->rules[i].name, rs->rules[i].line, a, again, b);
			abort();
		}
	}
}

/* fz_check_errors - every line is "t.rules:LINE:COL: message" or the overflow note */
static void fz_check_errors(const struct diag *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		unsigned line, col;
		int used = 0;

		if (strcmp(errs->lines[i], "(more rule errors not shown)") == 0)
			continue;
		if (sscanf(errs->lines[i], "t.rules:%u:%u: %n", &line, &col, &used) != 2 || used == 0 ||
		    line == 0 || col == 0 || errs->lines[i][used] == '\0') {
			fprintf(stderr, "malformed error line: %s\n", errs->lines[i]);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag errs = { 0 };
	struct ruleset *rs;
	struct rule_scratch *sc;

	if (size > 16384 || memmem(data, size, "\"/", 2) != NULL)
		return 0;
	rs = ruleset_load_text("t.rules", "/nonexistent-gatehouse-fuzz", (const char *)data, size,
			       &fz_lim, &errs);
	if (rs == NULL) {
		if (errs.n == 0)
			abort();	/* a failure must say why */
		fz_check_errors(&errs);
		diag_clear(&errs);
		return 0;
	}
	if (errs.n != 0)
		abort();	/* loaded, yet complained */
	if ((sc = rule_scratch_new(rs)) == NULL)
		abort();
	fz_eval(rs, sc);
	fz_eval(rs, sc);	/* a second message on the same scratch */
	rule_scratch_free(sc);
	ruleset_free(rs);
	return 0;
}
