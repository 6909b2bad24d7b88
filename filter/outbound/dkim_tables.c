/*
 * dkim_tables.c - OpenDKIM's KeyTable and SigningTable (see dkim_tables.h)
 *
 * Both tables stay arrays in file order (a refile: table is matched in that
 * order) with an index beside each: key names, so a SigningTable line finds
 * its keys without a pass over the KeyTable (a provider with 100,000
 * domains would otherwise take minutes to reload), and a plain table's
 * patterns, so each of a lookup's candidate keys is one probe. The first
 * line with a pattern wins, as in OpenDKIM; later ones stay in the array.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/dkim_tables.h"
#include "outbound/table_file.h"
#include "util/diag.h"
#include "util/strindex.h"

struct sign_entry {
	char *pattern; /* lower case */
	size_t keys[DKIM_TABLES_MAX_KEYS];
	size_t nkeys;
};

struct dkim_tables {
	struct dkim_key *keys;
	size_t nkeys;
	struct sign_entry *sign;
	size_t nsign;
	struct strindex key_names, patterns; /* patterns: plain tables only */
	bool refile;
	/* while parsing */
	const char *dir; /* KeyTable's directory, for relative key paths */
	bool load_keys;
	long min_bits;
	struct diag *warns;
};

void dkim_tables_free(struct dkim_tables *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nkeys; i++)
		dkim_key_clear(&t->keys[i]);
	for (size_t i = 0; i < t->nsign; i++)
		free(t->sign[i].pattern);
	strindex_clear(&t->key_names);
	strindex_clear(&t->patterns);
	free(t->keys);
	free(t->sign);
	free(t);
}

static void dkim_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool dkim_selector_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

/* dkim_keytable_line - "NAME domain:selector:path[:alg]" */
static int dkim_keytable_line(void *ctx, const char *file, unsigned long line, const char *key,
			      const char *value, struct diag *errs)
{
	struct dkim_tables *t = ctx;
	char *v = strdup(value), *f[5] = { 0 }, *p;
	struct dkim_key *k, *keys;
	int nf = 0, alg = DKIM_KEY_ANY, rc = 0;

	if (v == NULL)
		return -1;
	for (p = v; nf < 5; nf++) {
		f[nf] = p;
		if ((p = strchr(p, ':')) == NULL) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (strindex_first(&t->key_names, key) != STRINDEX_NONE) {
		diag_at(errs, file, line, 0, "key name '%s' is defined twice", key);
		goto out;
	}
	if (nf < 3 || nf > 4 || p != NULL) {
		diag_at(errs, file, line, 0,
			"'%s': expected domain:selector:keypath[:algorithm], got '%s'", key, value);
		goto out;
	}
	if (strcmp(f[0], "%") == 0 || strchr(f[0], '.') == NULL) {
		diag_at(errs, file, line, 0,
			"'%s': '%s' is not a signing domain (\"%%\" is not supported)", key, f[0]);
		goto out;
	}
	if (!dkim_selector_ok(f[1])) {
		diag_at(errs, file, line, 0, "'%s': '%s' is not a selector", key, f[1]);
		goto out;
	}
	if (*f[2] == '\0') {
		diag_at(errs, file, line, 0, "'%s': no key file", key);
		goto out;
	}
	if (nf == 4 && (alg = dkim_key_alg_parse(f[3])) < 0) {
		diag_at(errs, file, line, 0,
			"'%s': unknown algorithm '%s' (rsa-sha256 or ed25519-sha256)", key, f[3]);
		goto out;
	}
	keys = realloc(t->keys, (t->nkeys + 1) * sizeof(*keys));
	if (keys == NULL) {
		rc = -1;
		goto out;
	}
	t->keys = keys;
	k = &t->keys[t->nkeys];
	memset(k, 0, sizeof(*k));
	k->alg = alg == DKIM_KEY_ANY ? DKIM_KEY_RSA_SHA256 : (enum dkim_key_alg)alg;
	if ((k->name = strdup(key)) == NULL || (k->domain = strdup(f[0])) == NULL ||
	    (k->selector = strdup(f[1])) == NULL) {
		dkim_key_clear(k);
		rc = -1;
		goto out;
	}
	dkim_lower(k->domain);
	if (t->load_keys) {
		char *path = NULL;

		if (f[2][0] != '/' && t->dir != NULL && asprintf(&path, "%s/%s", t->dir, f[2]) < 0)
			path = NULL;
		if (dkim_key_load(k, path ? path : f[2], (enum dkim_key_alg)alg, t->min_bits, file,
				  line, errs, t->warns) != 0) {
			free(path);
			dkim_key_clear(k);
			goto out;
		}
		free(path);
	} else if ((k->path = strdup(f[2])) == NULL) {
		dkim_key_clear(k);
		rc = -1;
		goto out;
	}
	if (strindex_add(&t->key_names, k->name, t->nkeys, NULL) != 0) {
		dkim_key_clear(k);
		rc = -1;
		goto out;
	}
	t->nkeys++;
out:
	free(v);
	return rc;
}

/* dkim_plain_key_ok - a plain table's key may hold '*' only as "*" or
 * "user@*" (OpenDKIM's last two lookups); other globs need refile: */
static bool dkim_plain_key_ok(const char *key)
{
	const char *star = strchr(key, '*');
	size_t n = strlen(key);

	if (star == NULL || strcmp(key, "*") == 0)
		return true;
	return star == key + n - 1 && n >= 2 && key[n - 2] == '@' && strchr(key, '*') == star;
}

/* dkim_signtable_line - "PATTERN KEYNAME[, KEYNAME...]" */
static int dkim_signtable_line(void *ctx, const char *file, unsigned long line, const char *key,
			       const char *value, struct diag *errs)
{
	struct dkim_tables *t = ctx;
	struct sign_entry e = { 0 }, *sign;
	const char *p = value;
	char *w;
	int oom;
	bool algs[2] = { false, false };

	while ((w = table_file_next_word(&p, &oom)) != NULL) {
		size_t i = strindex_first(&t->key_names, w);

		if (i == STRINDEX_NONE)
			diag_at(errs, file, line, 0, "'%s': no key called '%s' in the KeyTable",
				key, w);
		else if (e.nkeys == DKIM_TABLES_MAX_KEYS)
			diag_at(errs, file, line, 0, "'%s': more than %d keys", key,
				DKIM_TABLES_MAX_KEYS);
		else if (algs[t->keys[i].alg])
			diag_at(errs, file, line, 0,
				"'%s': two %s keys (dual signing is one RSA and one Ed25519 key)",
				key, dkim_key_type_name(t->keys[i].alg));
		else {
			algs[t->keys[i].alg] = true;
			e.keys[e.nkeys++] = i;
		}
		free(w);
	}
	if (oom)
		return -1;
	if (*value == '\0') {
		diag_at(errs, file, line, 0, "'%s' names no key", key);
		return 0;
	}
	if (e.nkeys == 0)
		return 0;
	if (!t->refile && !dkim_plain_key_ok(key)) {
		diag_at(errs, file, line, 0,
			"'%s': a glob in a plain SigningTable (write refile:PATH for patterns)",
			key);
		return 0;
	}
	if ((e.pattern = strdup(key)) == NULL)
		return -1;
	dkim_lower(e.pattern);
	sign = realloc(t->sign, (t->nsign + 1) * sizeof(*sign));
	if (sign == NULL ||
	    (!t->refile && strindex_add(&t->patterns, e.pattern, t->nsign, NULL) != 0)) {
		if (sign != NULL)
			t->sign = sign;
		free(e.pattern);
		return -1;
	}
	t->sign = sign;
	t->sign[t->nsign++] = e;
	return 0;
}

struct dkim_tables *dkim_tables_parse(const char *kt_name, const char *kt_text, size_t kt_len,
				      const char *st_name, const char *st_text, size_t st_len,
				      int refile, int load_keys, long min_bits, struct diag *errs,
				      struct diag *warns)
{
	struct dkim_tables *t = calloc(1, sizeof(*t));
	size_t before = errs ? errs->n : 0;
	char *dir = NULL;
	const char *slash = strrchr(kt_name, '/');

	if (t == NULL)
		return NULL;
	t->refile = refile != 0;
	t->load_keys = load_keys != 0;
	t->min_bits = min_bits;
	t->warns = warns;
	if (slash != NULL && (dir = strndup(kt_name, (size_t)(slash - kt_name))) == NULL)
		goto fail;
	t->dir = dir;
	if (table_file_parse(kt_name, kt_text, kt_len, dkim_keytable_line, t, errs) != 0 ||
	    table_file_parse(st_name, st_text, st_len, dkim_signtable_line, t, errs) != 0) {
		diag_pushf(errs, "%s:0: out of memory", kt_name);
		goto fail;
	}
	if (errs != NULL && errs->n > before)
		goto fail;
	free(dir);
	t->dir = NULL;
	t->warns = NULL;
	return t;
fail:
	free(dir);
	dkim_tables_free(t);
	return NULL;
}

struct dkim_tables *dkim_tables_load(const char *keytable, const char *signtable, long min_bits,
				     struct diag *errs, struct diag *warns)
{
	int refile = strncmp(signtable, "refile:", 7) == 0;
	const char *st_path = refile ? signtable + 7 : signtable;
	size_t kl = 0, sl = 0;
	char *kt = table_file_read(keytable, &kl, errs);
	char *st = kt ? table_file_read(st_path, &sl, errs) : NULL;
	struct dkim_tables *t = NULL;

	if (kt != NULL && st != NULL)
		t = dkim_tables_parse(keytable, kt, kl, st_path, st, sl, refile, 1, min_bits, errs,
				      warns);
	free(kt);
	free(st);
	return t;
}

/* dkim_sign_find - the first entry whose pattern is exactly KEY (plain tables) */
static const struct sign_entry *dkim_sign_find(const struct dkim_tables *t, const char *key)
{
	size_t i = strindex_first(&t->patterns, key);

	return i == STRINDEX_NONE ? NULL : &t->sign[i];
}

/* dkim_plain_lookup - OpenDKIM's order for a plain (non-refile) table */
static const struct sign_entry *dkim_plain_lookup(const struct dkim_tables *t, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const struct sign_entry *e;
	size_t llen = (size_t)(at - addr);
	char *buf = malloc(strlen(addr) + 4);

	if (buf == NULL)
		return NULL;
	if ((e = dkim_sign_find(t, addr)) != NULL || (e = dkim_sign_find(t, at + 1)) != NULL)
		goto out;
	for (const char *d = strchr(at + 1, '.'); d != NULL; d = strchr(d + 1, '.')) {
		snprintf(buf, strlen(addr) + 4, "%.*s@%s", (int)llen, addr, d);
		if ((e = dkim_sign_find(t, buf)) != NULL || (e = dkim_sign_find(t, d)) != NULL)
			goto out;
	}
	snprintf(buf, strlen(addr) + 4, "%.*s@*", (int)llen, addr);
	if ((e = dkim_sign_find(t, buf)) == NULL)
		e = dkim_sign_find(t, "*");
out:
	free(buf);
	return e;
}

size_t dkim_tables_lookup(const struct dkim_tables *t, const char *addr,
			  const struct dkim_key **out)
{
	const struct sign_entry *e = NULL;
	char *a;

	if (t == NULL || strchr(addr, '@') == NULL || (a = strdup(addr)) == NULL)
		return 0;
	dkim_lower(a);
	if (t->refile) {
		for (size_t i = 0; i < t->nsign && e == NULL; i++)
			if (fnmatch(t->sign[i].pattern, a, 0) == 0)
				e = &t->sign[i];
	} else {
		e = dkim_plain_lookup(t, a);
	}
	free(a);
	if (e == NULL)
		return 0;
	for (size_t i = 0; i < e->nkeys; i++)
		out[i] = &t->keys[e->keys[i]];
	return e->nkeys;
}

size_t dkim_tables_nkeys(const struct dkim_tables *t)
{
	return t ? t->nkeys : 0;
}

const struct dkim_key *dkim_tables_key(const struct dkim_tables *t, size_t i)
{
	return &t->keys[i];
}
