/*
 * compile.c - regexes to PCRE2 code, lists to networks
 *
 * Patterns are compiled once per rule set, with JIT when the platform has
 * it (the interpreter is the fallback, with the same results). Flags:
 * i caseless, m multiline, s dotall, x extended, u UTF-8 with Unicode
 * properties; a u pattern also accepts invalid UTF-8 subjects (they simply
 * do not match there) instead of failing, since raw mail is not always
 * valid UTF-8.
 */
#include <string.h>

#include "rules/rule_build.h"
#include "util/arena.h"
#include "util/strbuf.h"

int rule_regex_compile(struct rule_build *b, struct rule_regex *re, const char *file)
{
	uint32_t opts = 0;
	int err;
	PCRE2_SIZE off;

	for (const char *f = re->flags; *f; f++)
		switch (*f) {
		case 'i':
			opts |= PCRE2_CASELESS;
			break;
		case 'm':
			opts |= PCRE2_MULTILINE;
			break;
		case 's':
			opts |= PCRE2_DOTALL;
			break;
		case 'x':
			opts |= PCRE2_EXTENDED;
			break;
		case 'u':
			opts |= PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
			break;
		}
	re->code = pcre2_compile((PCRE2_SPTR)re->pattern, strlen(re->pattern), opts, &err, &off,
				 NULL);
	if (re->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(err, msg, sizeof(msg));
		rule_build_error(b, file, re->line, re->col + (unsigned)off,
				 "bad regex: %s (at offset %zu)", (const char *)msg, (size_t)off);
		return -1;
	}
	/* Registered at once so the rule set frees it even if the rule fails. */
	if (b->nregex == b->regex_cap && (b->regexes = arena_grow(b->a, b->regexes, &b->regex_cap,
								  sizeof(*b->regexes))) == NULL) {
		pcre2_code_free(re->code);
		re->code = NULL;
		rule_build_error(b, file, re->line, re->col, "out of memory");
		return -1;
	}
	re->id = (unsigned)b->nregex;
	b->regexes[b->nregex++] = re;
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* else interpreted */
	return 0;
}

int rule_list_cidrs(struct rule_build *b, struct rule_list *l, const char *file, unsigned line,
		    unsigned col)
{
	struct ruleset *rs = b->rs;
	struct strbuf sb;
	const char *why = NULL;
	int rc;

	if (l->cidrs_ready)
		return 0;
	strbuf_init(&sb);
	for (size_t i = 0; i < l->n; i++) {
		if (strpbrk(l->items[i], ", \t") != NULL) {
			strbuf_free(&sb);
			rule_build_error(b, file, line, col,
					 "'%s' in the list is not an address or network",
					 l->items[i]);
			return -1;
		}
		strbuf_printf(&sb, "%s%s", i ? ", " : "", l->items[i]);
	}
	rc = cidr_list_parse(strbuf_cstr(&sb), &l->cidrs, &why);
	strbuf_free(&sb);
	if (rc != 0) {
		rule_build_error(b, file, line, col, "list for client.ip: %s", why);
		return -1;
	}
	if (rs->ncidr_lists == rs->cidr_lists_cap &&
	    (rs->cidr_lists = arena_grow(b->a, rs->cidr_lists, &rs->cidr_lists_cap,
					 sizeof(*rs->cidr_lists))) == NULL) {
		cidr_list_free(&l->cidrs);
		rule_build_error(b, file, line, col, "out of memory");
		return -1;
	}
	rs->cidr_lists[rs->ncidr_lists++] = l;
	l->cidrs_ready = true;
	return 0;
}
