/*
 * rate_overrides.c - per-counter rate limits from a file (see rate_overrides.h)
 *
 * Read whole, checked line by line, sorted once for bsearch: the file is an
 * admin's list of exceptions, read at load and looked up at every RCPT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/rate_overrides.h"
#include "util/diag.h"

/* rate_overrides_key_check - KIND:SCOPE:VALUE with a known kind and scope */
static const char *rate_overrides_key_check(const char *key)
{
	static const char *const kinds[] = { "msg:", "rcpt:" };
	static const char *const scopes[] = { "login:", "domain:", "client:" };

	for (int k = 0; k < 2; k++) {
		size_t kl = strlen(kinds[k]);

		if (strncmp(key, kinds[k], kl) != 0)
			continue;
		for (int s = 0; s < 3; s++) {
			size_t sl = strlen(scopes[s]);

			if (strncmp(key + kl, scopes[s], sl) == 0)
				return key[kl + sl] != '\0' ? NULL : "the counter names no value";
		}
		return "expected a scope after the kind: login:, domain: or client:";
	}
	return "expected a counter KIND:SCOPE:VALUE, e.g. msg:login:alice (kind msg or rcpt)";
}

static int rate_overrides_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rate_override *)a)->key,
		      ((const struct rate_override *)b)->key);
}

/* rate_overrides_line - one line (comment and ends trimmed by the caller)
 * into OUT; NULL or the reason */
static const char *rate_overrides_line(char *line, unsigned long lineno, struct rate_overrides *out,
				       size_t *cap)
{
	char *key = line, *limit = line;
	const char *why;
	struct rate_spec spec;

	while (*limit != '\0' && !isspace((unsigned char)*limit))
		limit++;
	if (*limit != '\0')
		*limit++ = '\0';
	while (isspace((unsigned char)*limit))
		limit++;
	if ((why = rate_overrides_key_check(key)) != NULL)
		return why;
	if (*limit == '\0')
		return "expected a limit after the counter: N/PERIOD [burst B] or none";
	if ((why = rate_spec_parse(limit, &spec)) != NULL)
		return why;
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct rate_override *v = realloc(out->v, ncap * sizeof(*v));

		if (v == NULL)
			return "out of memory";
		out->v = v;
		*cap = ncap;
	}
	out->v[out->n].key = strdup(key);
	if (out->v[out->n].key == NULL)
		return "out of memory";
	out->v[out->n].spec = spec;
	out->v[out->n].line = lineno;
	out->n++;
	return NULL;
}

int rate_overrides_load(const char *path, struct rate_overrides *out, struct diag *errs)
{
	FILE *fp;
	char *line = NULL;
	size_t len = 0, cap = 0, before = errs ? errs->n : 0;
	unsigned long lineno = 0;
	ssize_t got;
	int failed = 0;

	out->v = NULL;
	out->n = 0;
	if (path[0] == '\0')
		return 0;
	fp = fopen(path, "r");
	if (fp == NULL) {
		diag_pushf(errs, "%s:0: ratelimit_overrides: %s", path, strerror(errno));
		return -1;
	}
	while ((got = getline(&line, &len, fp)) >= 0) {
		char *p = line, *hash = strchr(line, '#'), *end;
		const char *why;

		lineno++;
		if (hash != NULL)
			*hash = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0')
			continue;
		if ((why = rate_overrides_line(p, lineno, out, &cap)) != NULL) {
			diag_at(errs, path, lineno, 0, "%s", why);
			failed = 1;
		}
	}
	free(line);
	fclose(fp);
	if (!failed && out->n > 1) {
		qsort(out->v, out->n, sizeof(*out->v), rate_overrides_cmp);
		for (size_t i = 1; i < out->n; i++)
			if (strcmp(out->v[i - 1].key, out->v[i].key) == 0) {
				diag_at(errs, path,
					out->v[i].line > out->v[i - 1].line ? out->v[i].line
									    : out->v[i - 1].line,
					0, "%s is listed twice (also on line %lu)", out->v[i].key,
					out->v[i].line > out->v[i - 1].line ? out->v[i - 1].line
									    : out->v[i].line);
				failed = 1;
			}
	}
	if (failed || (errs != NULL && errs->n > before)) {
		rate_overrides_free(out);
		return -1;
	}
	return 0;
}

void rate_overrides_free(struct rate_overrides *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].key);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

const struct rate_spec *rate_overrides_find(const struct rate_overrides *o, const char *key)
{
	struct rate_override k = { .key = (char *)key };
	const struct rate_override *hit;

	if (o == NULL || o->n == 0)
		return NULL;
	hit = bsearch(&k, o->v, o->n, sizeof(*o->v), rate_overrides_cmp);
	return hit ? &hit->spec : NULL;
}
