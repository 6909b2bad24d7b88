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

/* rate_overrides_lower - ASCII letters of COPY in lower case; COPY */
static char *rate_overrides_lower(char *copy)
{
	for (char *p = copy; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return copy;
}

const char *rate_overrides_value(struct arena *arena, const char *scope, const char *value)
{
	const char *out, *why;
	char text[INET6_ADDRSTRLEN], *copy;
	size_t len;

	if (strcmp(scope, "domain") == 0) {
		/* trailing dots first, so that "d.", "d.." and "d" are one
		 * domain whether libidn2 takes the name or not */
		len = strlen(value);
		while (len > 0 && value[len - 1] == '.')
			len--;
		if ((copy = arena_memdup(arena, value, len)) == NULL)
			return NULL;
		if (len == 0)
			return arena_strdup(arena, value); /* all dots: as it is */
		switch (idn_domain(arena, copy, &out, &why)) {
		case IDN_OK:
			/* a name that maps to nothing (U+FF0E alone) keeps its
			 * bytes: an empty value would be no counter at all */
			if (*out != '\0')
				return out;
			break;
		case IDN_INVALID:
			break;
		default:
			return NULL;
		}
		return rate_overrides_lower(copy);
	}
	if (strcmp(scope, "client") == 0)
		return arena_strdup(
			arena, cidr_ip_canon(value, text, sizeof(text)) != NULL ? text : value);
	return rate_overrides_lower(arena_strdup(arena, value));
}

const char *rate_overrides_key_canon(const char *key, bool kind_optional, char **out)
{
	static const char *const kinds[] = { "msg:", "rcpt:" };
	static const char *const scopes[] = { "login:", "domain:", "client:" };
	static const char *const names[] = { "login", "domain", "client" };
	const char *kind = "", *rest = key, *raw, *value, *why = NULL;
	char text[INET6_ADDRSTRLEN];
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
	raw = rest + strlen(scopes[s]);
	if (*raw == '\0')
		return "the counter names no value";
	if ((arena = arena_new()) == NULL)
		return "out of memory";
	/* the engine's spelling (rate_overrides_value); refused here are only
	 * values it never charges, which would load and never apply */
	value = rate_overrides_value(arena, names[s], raw);
	if (value == NULL)
		why = "out of memory";
	else if (s == 1 && strchr(value, '@') != NULL)
		why = "the domain counter names an address: write the domain after its '@'";
	else if (s == 2 && strcmp(value, "unknown") != 0 &&
		 cidr_ip_canon(value, text, sizeof(text)) == NULL)
		why = "the client counter names no IP address (one address, no brackets, no "
		      "/prefix), nor unknown (mail without a client address)";
	else if (asprintf(out, "%s%s%s", kind, scopes[s], value) < 0) {
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
