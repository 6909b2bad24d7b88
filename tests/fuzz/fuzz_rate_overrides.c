/*
 * fuzz_rate_overrides.c - libFuzzer target: the ratelimit_overrides file
 * (rate_overrides.c) and the counter names it and `gatehouse ratelimit`
 * read (rate_overrides_key_canon). The input is one overrides file, loaded
 * from a memfd named /proc/self/fd/N; its first line is also read as a
 * counter name on its own, with and without the kind.
 *
 * Invariants:
 *   1. the load fails exactly when it reported errors, and every error is
 *      "PATH:LINE: message" with LINE between 1 and the input's last line;
 *   2. a table that loaded is sorted without a counter twice, each counter
 *      already in the limiter's form (canonicalizing it again gives it
 *      back), found by rate_overrides_find, its limit within rate_spec.h's
 *      bounds;
 *   3. a counter name that canonicalizes is a fixed point: its canonical
 *      form canonicalizes to itself, and the kind is kept as written;
 *   4. the engine's spelling of the first line as a value of each scope
 *      (rate_overrides_value) exists, is empty only for an empty value
 *      (an empty one would be no counter, and no limit), is its own
 *      spelling, and is what the file and the CLI would name.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/rate_overrides.h"
#include "util/arena.h"
#include "util/diag.h"

#include "fuzz_memfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_memfd fz_file = FZ_MEMFD_INIT;
static const char *fz_path = ""; /* the memfd's name, once written */

/* fz_check_errors - invariant 1 */
static void fz_check_errors(int rc, const struct diag *errs, size_t nlines)
{
	size_t plen = strlen(fz_path);

	if ((rc != 0) != (errs->n > 0))
		abort();
	for (size_t i = 0; i < errs->n; i++) {
		const char *e = errs->lines[i];
		char *end;
		unsigned long line;

		if (strncmp(e, fz_path, plen) != 0 || e[plen] != ':')
			abort();
		line = strtoul(e + plen + 1, &end, 10);
		if (end == e + plen + 1 || *end != ':' || line < 1 || line > nlines) {
			fprintf(stderr, "fuzz_rate_overrides: %s (file of %zu lines)\n", e, nlines);
			abort();
		}
	}
}

/* fz_check_table - invariant 2 */
static void fz_check_table(const struct rate_overrides *o)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct rate_override *r = &o->v[i];
		const struct rate_spec *s = &r->spec;
		char *again = NULL;

		if (i > 0 && strcmp(o->v[i - 1].key, r->key) >= 0)
			abort();
		if (rate_overrides_key_canon(r->key, false, &again) != NULL ||
		    strcmp(again, r->key) != 0) {
			fprintf(stderr, "fuzz_rate_overrides: %s canonicalizes to %s\n", r->key,
				again ? again : "(error)");
			abort();
		}
		free(again);
		if (rate_overrides_find(o, r->key) != s || r->line == 0)
			abort();
		if (s->set && (s->count < 1 || s->count > RATE_SPEC_MAX_COUNT || s->period_s < 1 ||
			       s->period_s > RATE_SPEC_MAX_PERIOD_S || s->burst < 1 ||
			       s->burst > RATE_SPEC_MAX_COUNT))
			abort();
	}
}

/* fz_check_name - invariant 3 for KEY */
static void fz_check_name(const char *key, bool kind_optional)
{
	char *canon = NULL, *again = NULL;

	if (rate_overrides_key_canon(key, kind_optional, &canon) != NULL) {
		if (canon != NULL)
			abort();
		return;
	}
	if (rate_overrides_key_canon(canon, kind_optional, &again) != NULL ||
	    strcmp(canon, again) != 0) {
		fprintf(stderr, "fuzz_rate_overrides: %s -> %s -> %s\n", key, canon,
			again ? again : "(error)");
		abort();
	}
	if ((strncmp(key, "msg:", 4) == 0) != (strncmp(canon, "msg:", 4) == 0) ||
	    (strncmp(key, "rcpt:", 5) == 0) != (strncmp(canon, "rcpt:", 5) == 0))
		abort();
	free(canon);
	free(again);
}

/* fz_check_value - invariant 4 for VALUE */
static void fz_check_value(const char *value)
{
	static const char *const scopes[] = { "login", "domain", "client" };
	struct arena *a = arena_new();

	if (a == NULL)
		abort();
	for (int i = 0; i < 3; i++) {
		const char *v = rate_overrides_value(a, scopes[i], value), *again;
		char *key = NULL, *canon = NULL;

		if (v == NULL || (*v == '\0') != (*value == '\0'))
			abort();
		again = rate_overrides_value(a, scopes[i], v);
		if (again == NULL || strcmp(again, v) != 0) {
			fprintf(stderr, "fuzz_rate_overrides: %s %s -> %s -> %s\n", scopes[i], value, v,
				again ? again : "NULL");
			abort();
		}
		/* what the file names, when it takes the value, is this spelling */
		if (asprintf(&key, "msg:%s:%s", scopes[i], value) < 0)
			abort();
		if (rate_overrides_key_canon(key, false, &canon) == NULL &&
		    strcmp(canon + strlen("msg:") + strlen(scopes[i]) + 1, v) != 0)
			abort();
		free(key);
		free(canon);
	}
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rate_overrides o;
	struct diag errs = { 0 };
	size_t nlines = 0;
	char *first;
	int rc;

	if (size > 65536)
		return 0;
	for (size_t i = 0; i < size; i++)
		nlines += data[i] == '\n';
	if (size > 0 && data[size - 1] != '\n')
		nlines++;
	fz_path = fz_memfd_write(&fz_file, "overrides", data, size);
	rc = rate_overrides_load(fz_path, &o, &errs);
	fz_check_errors(rc, &errs, nlines);
	if (rc == 0)
		fz_check_table(&o);
	else if (o.n != 0 || o.v != NULL)
		abort();
	rate_overrides_free(&o);
	diag_clear(&errs);

	first = strndup((const char *)data, size);
	if (first == NULL)
		abort();
	first[strcspn(first, "\n")] = '\0';
	fz_check_name(first, false);
	fz_check_name(first, true);
	fz_check_value(first);
	free(first);
	return 0;
}
