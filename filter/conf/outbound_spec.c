/*
 * outbound_spec.c - value checks of the outbound directives (see outbound_spec.h)
 */
#include <ctype.h>
#include <string.h>

#include "conf/outbound_spec.h"
#include "mail/verdict.h"
#include "util/strlist.h"

const char *const outbound_spec_action_words[] = { "reject", "tempfail", "unsigned", NULL };
const char *const outbound_spec_canon_words[] = { "relaxed", "simple", NULL };

int outbound_spec_action_parse(const char *w)
{
	if (strcmp(w, "reject") == 0)
		return GH_ACT_REJECT;
	if (strcmp(w, "tempfail") == 0)
		return GH_ACT_TEMPFAIL;
	if (strcmp(w, "unsigned") == 0)
		return GH_ACT_CONTINUE;
	return -1;
}

int outbound_spec_canon_parse(const char *w)
{
	if (strcmp(w, "relaxed") == 0)
		return 1;
	if (strcmp(w, "simple") == 0)
		return 0;
	return -1;
}

const char *outbound_spec_check_path(const char *s)
{
	return *s == '\0' || *s == '/' ? NULL : "must be an absolute path";
}

const char *outbound_spec_check_signing_table(const char *s)
{
	if (strncmp(s, "refile:", 7) == 0)
		s += 7;
	else if (strchr(s, ':') != NULL)
		return "expected /PATH or refile:/PATH (no other OpenDKIM data sets)";
	return *s == '\0' || *s == '/' ? NULL : "must be an absolute path";
}

const char *outbound_spec_check_headers(const char *s)
{
	for (; *s; s++)
		if (*s != ',' && *s != ' ' && *s != '\t' &&
		    (!isgraph((unsigned char)*s) || *s == ':'))
			return "header field names separated by commas";
	return NULL;
}

const char *outbound_spec_check_patterns(const char *s)
{
	const char *cur = s, *w;
	size_t n;

	while (strlist_next(&cur, &w, &n))
		if (memchr(w, '@', n) == NULL)
			return "address patterns: user@domain, @domain or a glob such as *@domain";
	return NULL;
}
