/*
 * rate_overrides.c - per-counter rate limits from a file (see rate_overrides.h)
 *
 * Read whole, checked line by line, sorted once for bsearch: the file is an
 * admin's list of exceptions, read at load and looked up at every RCPT.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/rate_overrides.h"
#include "mail/idn.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "util/diag.h"

/* rate_overrides_value_canon - VALUE of SCOPE (index into the scopes) as
 * the limiter names it, in ARENA; NULL and *WHY when it names nothing the
 * limiter could count */
static const char *rate_overrides_value_canon(struct arena *arena, int scope, const char *value,
					      const char **why)
{
	const char *out, *idn_why;
	char *copy;
	char text[INET6_ADDRSTRLEN];
	int rc;

	if (*value == '\0') {
		*why = "the counter names no value";
		return NULL;
	}
	switch (scope) {
	case 1: /* domain: the MAIL FROM domain, A-labels in lower case */
		rc = idn_domain(arena, value, &out, &idn_why);
		if (rc < 0) {
			*why = "out of memory";
			return NULL;
		}
		if (rc != IDN_OK || *out == '\0' || strchr(out, '@') != NULL) {
			*why = "the domain counter names no valid domain";
			return NULL;
		}
		return out;
	case 2: /* client: one address, in the engine's spelling (cidr.h) */
		if (cidr_ip_canon(value, text, sizeof(text)) == NULL) {
			*why = "the client counter names no IP address (one address, no "
			       "brackets, no /prefix)";
			return NULL;
		}
		return arena_strdup(arena, text);
	default: /* login: lower case, as the identity check compares logins */
		copy = arena_strdup(arena, value);
		for (char *p = copy; p != NULL && *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (copy == NULL)
			*why = "out of memory";
		return copy;
	}
}

const char *rate_overrides_key_canon(const char *key, bool kind_optional, char **out)
{
	static const char *const kinds[] = { "msg:", "rcpt:" };
	static const char *const scopes[] = { "login:", "domain:", "client:" };
	const char *kind = "", *rest = key, *value, *why = NULL;
	struct arena *arena;
	int s;

	*out = NULL;
	for (int k = 0; k < 2; k++)
		if (strncmp(key, kinds[k], strlen(kinds[k])) == 0) {
			kind = kinds[k];
			rest = key + strlen(kind);
		}
	if (*kind == '\0' && !kind_optional)
		return "expected a counter KIND:SCOPE:VALUE, e.g. msg:login:alice (kind msg or "
		       "rcpt)";
	for (s = 0; s < 3; s++)
		if (strncmp(rest, scopes[s], strlen(scopes[s])) == 0)
			break;
	if (s == 3)
		return *kind != '\0' ? "expected a scope after the kind: login:, domain: or client:"
				     : "expected a counter [KIND:]SCOPE:VALUE, e.g. login:alice "
				       "(scope login, domain or client)";
	if ((arena = arena_new()) == NULL)
		return "out of memory";
	value = rate_overrides_value_canon(arena, s, rest + strlen(scopes[s]), &why);
	if (value != NULL && asprintf(out, "%s%s%s", kind, scopes[s], value) < 0) {
		*out = NULL;
		why = "out of memory";
	}
	arena_free(arena);
	return why;
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
	char *key = line, *limit = line, *canon;
	const char *why;
	struct rate_spec spec;

	while (*limit != '\0' && !isspace((unsigned char)*limit))
		limit++;
	if (*limit != '\0')
		*limit++ = '\0';
	while (isspace((unsigned char)*limit))
		limit++;
	if ((why = rate_overrides_key_canon(key, false, &canon)) != NULL)
		return why;
	if (*limit == '\0')
		why = "expected a limit after the counter: N/PERIOD [burst B] or none";
	else
		why = rate_spec_parse(limit, &spec);
	if (why != NULL) {
		free(canon);
		return why;
	}
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct rate_override *v = realloc(out->v, ncap * sizeof(*v));

		if (v == NULL) {
			free(canon);
			return "out of memory";
		}
		out->v = v;
		*cap = ncap;
	}
	out->v[out->n].key = canon;
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
		if ((size_t)got != strlen(line)) {
			/* getline keeps a NUL byte; everything after it would be lost */
			diag_at(errs, path, lineno, 0, "a NUL byte in the line");
			failed = 1;
			continue;
		}
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
