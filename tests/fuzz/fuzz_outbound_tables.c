/*
 * fuzz_outbound_tables.c - libFuzzer target: the outbound table parsers.
 * The input is read as a login map in both formats (Postfix's and
 * gatehouse's) and, split at its first "\n--\n", as an OpenDKIM KeyTable and
 * SigningTable (plain and refile:, keys not loaded from disk). Invariants: a
 * parse that reports no error succeeds and one that reports errors fails;
 * every error names the file and a line ("NAME:N: ..."); lookups on what
 * parsed never crash and a key a lookup returns is one of the table's.
 * When a table parsed without errors, each of its lines is looked up again
 * (split by table_file.h, the loaders' own reader): a login map owns its
 * exact addresses (and, in gatehouse's format, @domains) for the first
 * login of the line and names a line; a plain SigningTable signs
 * "x@DOMAIN" for each domain line. The lookups go through the index, so this
 * checks it against the lines themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/dkim_tables.h"
#include "outbound/login_map.h"
#include "outbound/table_file.h"
#include "util/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_errors_named(const struct diag *errs, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < errs->n; i++)
		if (strncmp(errs->lines[i], name, n) != 0 || errs->lines[i][n] != ':')
			abort();
}

struct fuzz_reprobe {
	const struct login_map *m;
	const struct dkim_tables *t;
	enum login_map_format f;
};

/* fuzz_reprobe_line - KEY VALUE of a table that parsed: its first pair is found */
static int fuzz_reprobe_line(void *ctx, const char *file, unsigned long line, const char *key,
			     const char *value, struct diag *errs)
{
	const struct fuzz_reprobe *r = ctx;
	const char *p = value;
	int oom = 0;
	char *w = table_file_next_word(&p, &oom), *addr = NULL;
	const char *pat = r->t != NULL || r->f == LOGIN_MAP_POSTFIX ? key : w;
	const char *at;

	(void)file;
	(void)line;
	(void)errs;
	if (w == NULL || strpbrk(pat, "*?[") != NULL)
		goto out;
	at = strchr(pat, '@');
	if (r->t != NULL) {
		const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];

		if (at == NULL && asprintf(&addr, "x@%s", pat) >= 0 &&
		    dkim_tables_lookup(r->t, addr, keys) == 0)
			abort();
	} else if (at != NULL && (at != pat || r->f == LOGIN_MAP_GATEHOUSE)) {
		/* Postfix's "@domain" is not probed: an exact key decides alone */
		struct login_map_why why;

		if (asprintf(&addr, "%s%s", at == pat ? "x" : "", pat) >= 0 &&
		    (!login_map_owns(r->m, r->f == LOGIN_MAP_POSTFIX ? w : key, addr, &why) ||
		     why.file == NULL || why.line == 0))
			abort();
	}
out:
	free(addr);
	free(w);
	return 0;
}

static void fuzz_map(const char *text, size_t size, enum login_map_format f)
{
	static const char *const probes[][2] = { { "alice", "alice@example.org" },
						 { "bob", "bob+x@example.org" },
						 { "", "@" },
						 { "x", "a@b" } };
	struct login_map *m = login_map_new();
	struct diag errs = { 0 };
	int rc;

	if (m == NULL)
		abort();
	rc = login_map_parse(m, "map", text, size, f, &errs);
	if ((rc == 0) != (errs.n == 0))
		abort();
	fuzz_errors_named(&errs, "map");
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct login_map_why why;

		if (login_map_owns(m, probes[i][0], probes[i][1], &why) && why.file == NULL)
			abort();
	}
	if (rc == 0) {
		struct fuzz_reprobe r = { m, NULL, f };

		table_file_parse("map", text, size, fuzz_reprobe_line, &r, NULL);
	}
	diag_clear(&errs);
	login_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *sep = size >= 4 ? memmem(text, size, "\n--\n", 4) : NULL;
	size_t kl = sep ? (size_t)(sep - text) : size;
	const char *st = sep ? sep + 4 : "";
	size_t sl = sep ? size - kl - 4 : 0;

	fuzz_map(text, size, LOGIN_MAP_POSTFIX);
	fuzz_map(text, size, LOGIN_MAP_GATEHOUSE);
	for (int refile = 0; refile < 2; refile++) {
		struct diag errs = { 0 };
		struct dkim_tables *t =
			dkim_tables_parse("kt", text, kl, "st", st, sl, refile, 0, 1024, &errs, NULL);
		const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];

		if ((t != NULL) != (errs.n == 0))
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strncmp(errs.lines[i], "kt:", 3) != 0 && strncmp(errs.lines[i], "st:", 3) != 0)
				abort();
		if (t != NULL) {
			size_t n = dkim_tables_lookup(t, "alice@mail.example.org", keys);

			if (n > DKIM_TABLES_MAX_KEYS)
				abort();
			for (size_t i = 0; i < n; i++) {
				size_t k;

				for (k = 0; k < dkim_tables_nkeys(t) && dkim_tables_key(t, k) != keys[i];
				     k++)
					;
				if (k == dkim_tables_nkeys(t))
					abort();
			}
			dkim_tables_lookup(t, "x@y", keys);
			if (!refile) {
				struct fuzz_reprobe r = { NULL, t, LOGIN_MAP_POSTFIX };

				table_file_parse("st", st, sl, fuzz_reprobe_line, &r, NULL);
			}
		}
		diag_clear(&errs);
		dkim_tables_free(t);
	}
	return 0;
}
