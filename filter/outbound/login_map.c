/*
 * login_map.c - the login -> sender address map (see login_map.h)
 *
 * Entries are kept in file order in one array, so the line that decides is
 * the one Postfix would take. Two indexes find a lookup's entries without a
 * pass over the array: a hosting provider's map has one line per mailbox,
 * and at a million lines a pass cost a millisecond per lookup, three per
 * message. Entries under the same key are chained in file order (next):
 *  - by_key: Postfix-format entries by address or domain (one per login
 *    of the line; an address holds an '@', a domain key does not);
 *  - by_login: gatehouse-format entries by login (one per pattern).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/login_map.h"
#include "outbound/table_file.h"
#include "util/diag.h"
#include "util/strindex.h"

enum login_kind { LM_EXACT, LM_DOMAIN, LM_GLOB };

struct login_entry {
	enum login_kind kind;
	char *pattern; /* lower case; LM_DOMAIN without the '@' */
	char *login;   /* lower case */
	const char *file;
	unsigned long line;
	size_t next; /* the next entry under the same key, or STRINDEX_NONE */
};

struct login_map {
	struct login_entry *e;
	size_t n, cap;
	struct strindex by_key, by_login;
	char **files; /* the names entries point at */
	size_t nfiles;
};

struct login_map *login_map_new(void)
{
	return calloc(1, sizeof(struct login_map));
}

void login_map_free(struct login_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].pattern);
		free(m->e[i].login);
	}
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	strindex_clear(&m->by_key);
	strindex_clear(&m->by_login);
	free(m->files);
	free(m->e);
	free(m);
}

size_t login_map_size(const struct login_map *m)
{
	return m ? m->n : 0;
}

static void login_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* login_check_pattern - why PAT (lower case) is no usable address pattern, or NULL */
static const char *login_check_pattern(const char *pat, enum login_map_format f,
				       enum login_kind *kind)
{
	const char *at = strchr(pat, '@');

	if (at == NULL)
		return "not an address, @domain or pattern (no '@')";
	if (strchr(at + 1, '@') != NULL)
		return "more than one '@'";
	if (at[1] == '\0')
		return "no domain after '@'";
	if (f == LOGIN_MAP_GATEHOUSE && strpbrk(pat, "*?[") != NULL) {
		*kind = LM_GLOB;
		return NULL;
	}
	if (strpbrk(pat, "*?[") != NULL)
		return "Postfix's table keys are literal: '*', '?' and '[' have no meaning there";
	if (at[1] == '.' || at[strlen(at) - 1] == '.' || strstr(at, "..") != NULL)
		return "malformed domain";
	*kind = at == pat ? LM_DOMAIN : LM_EXACT;
	return NULL;
}

struct login_parse {
	struct login_map *m;
	enum login_map_format format;
	const char *file; /* owned by m->files */
};

static int login_add(struct login_parse *lp, enum login_kind kind, char *pattern, char *login,
		     unsigned long line)
{
	struct login_map *m = lp->m;
	struct strindex *x = lp->format == LOGIN_MAP_POSTFIX ? &m->by_key : &m->by_login;
	size_t prev;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct login_entry *e = realloc(m->e, cap * sizeof(*e));

		if (e == NULL)
			goto oom;
		m->e = e;
		m->cap = cap;
	}
	if (kind == LM_DOMAIN)
		memmove(pattern, pattern + 1, strlen(pattern));
	if (strindex_add(x, lp->format == LOGIN_MAP_POSTFIX ? pattern : login, m->n, &prev) != 0)
		goto oom;
	if (prev != STRINDEX_NONE)
		m->e[prev].next = m->n;
	m->e[m->n++] = (struct login_entry){ kind, pattern, login, lp->file, line, STRINDEX_NONE };
	return 0;
oom:
	free(pattern);
	free(login);
	return -1;
}

/* login_line - one "KEY VALUE" line of either format */
static int login_line(void *ctx, const char *file, unsigned long line, const char *key,
		      const char *value, struct diag *errs)
{
	struct login_parse *lp = ctx;
	const char *addr_word = lp->format == LOGIN_MAP_POSTFIX ? key : NULL;
	const char *p = value;
	enum login_kind kind = LM_EXACT;
	const char *why;
	char *w, *k;
	int oom, nvalues = 0;

	if (*value == '\0') {
		diag_at(errs, file, line, 0, "'%s' has no value (%s)", key,
			lp->format == LOGIN_MAP_POSTFIX ? "expected: ADDRESS  login[, login...]"
							: "expected: LOGIN  address[, address...]");
		return 0;
	}
	if (addr_word != NULL) {
		if ((k = strdup(key)) == NULL)
			return -1;
		login_lower(k);
		if ((why = login_check_pattern(k, lp->format, &kind)) != NULL) {
			diag_at(errs, file, line, 0, "'%s': %s", key, why);
			free(k);
			return 0;
		}
		while ((w = table_file_next_word(&p, &oom)) != NULL) {
			char *pat = strdup(k);

			nvalues++;
			login_lower(w);
			if (pat == NULL) {
				free(w);
				free(k);
				return -1;
			}
			if (login_add(lp, kind, pat, w, line) != 0) {
				free(k);
				return -1;
			}
		}
		free(k);
		if (oom)
			return -1;
		if (nvalues == 0)
			diag_at(errs, file, line, 0, "'%s' has no login", key);
		return 0;
	}
	if (strchr(key, ',') != NULL) {
		diag_at(errs, file, line, 0, "'%s': one login per line", key);
		return 0;
	}
	while ((w = table_file_next_word(&p, &oom)) != NULL) {
		login_lower(w);
		if ((why = login_check_pattern(w, lp->format, &kind)) != NULL) {
			diag_at(errs, file, line, 0, "'%s': %s", w, why);
			free(w);
			continue;
		}
		if ((k = strdup(key)) == NULL) {
			free(w);
			return -1;
		}
		login_lower(k);
		if (login_add(lp, kind, w, k, line) != 0)
			return -1;
	}
	return oom ? -1 : 0;
}

int login_map_parse(struct login_map *m, const char *file, const char *text, size_t len,
		    enum login_map_format format, struct diag *errs)
{
	struct login_parse lp = { m, format, NULL };
	char **files = realloc(m->files, (m->nfiles + 1) * sizeof(*files));
	size_t before = errs ? errs->n : 0;

	if (files == NULL)
		return -1;
	m->files = files;
	if ((lp.file = m->files[m->nfiles] = strdup(file)) == NULL)
		return -1;
	m->nfiles++;
	if (table_file_parse(lp.file, text, len, login_line, &lp, errs) != 0) {
		diag_pushf(errs, "%s:0: out of memory", file);
		return -1;
	}
	return errs != NULL && errs->n > before ? -1 : 0;
}

int login_map_load(struct login_map *m, const char *path, enum login_map_format format,
		   struct diag *errs)
{
	size_t len;
	char *text = table_file_read(path, &len, errs);
	int rc;

	if (text == NULL)
		return -1;
	rc = login_map_parse(m, path, text, len, format, errs);
	free(text);
	return rc;
}

/* login_postfix_key - Postfix's lookup of KEY (an address, or a domain for
 * "@domain"): the lines with that key decide whether LOGIN is among its
 * owners; 1 yes, 0 no, -1 no such key */
static int login_postfix_key(const struct login_map *m, const char *key, const char *login,
			     struct login_map_why *why)
{
	size_t i = strindex_first(&m->by_key, key);

	if (i == STRINDEX_NONE)
		return -1;
	if (why != NULL)
		*why = (struct login_map_why){ m->e[i].file, m->e[i].line };
	for (; i != STRINDEX_NONE; i = m->e[i].next)
		if (strcmp(m->e[i].login, login) == 0) {
			if (why != NULL)
				*why = (struct login_map_why){ m->e[i].file, m->e[i].line };
			return 1;
		}
	return 0;
}

bool login_map_owns(const struct login_map *m, const char *login, const char *addr,
		    struct login_map_why *why)
{
	char *a = strdup(addr), *l = strdup(login), *at, *plus;
	bool owned = false;
	int r;

	if (why != NULL)
		*why = (struct login_map_why){ NULL, 0 };
	if (m == NULL || a == NULL || l == NULL || (at = strrchr(a, '@')) == NULL) {
		free(a);
		free(l);
		return false;
	}
	login_lower(a);
	login_lower(l);
	/* gatehouse format: any pattern of this login */
	for (size_t i = strindex_first(&m->by_login, l); i != STRINDEX_NONE && !owned;
	     i = m->e[i].next) {
		const struct login_entry *e = &m->e[i];

		owned = (e->kind == LM_EXACT && strcmp(e->pattern, a) == 0) ||
			(e->kind == LM_DOMAIN && strcmp(e->pattern, at + 1) == 0) ||
			(e->kind == LM_GLOB && fnmatch(e->pattern, a, 0) == 0);
		if (owned && why != NULL)
			*why = (struct login_map_why){ e->file, e->line };
	}
	/* Postfix format: address, address without +extension, @domain */
	if (!owned) {
		r = login_postfix_key(m, a, l, why);
		plus = strchr(a, '+');
		if (r < 0 && plus != NULL && plus < at) {
			char *bare = strdup(a);

			if (bare != NULL) {
				memmove(bare + (plus - a), bare + (at - a), strlen(at) + 1);
				r = login_postfix_key(m, bare, l, why);
				free(bare);
			}
		}
		if (r < 0)
			r = login_postfix_key(m, at + 1, l, why);
		owned = r == 1;
	}
	free(a);
	free(l);
	return owned;
}
