/*
 * fuzz_outbound_tables.c - libFuzzer target: the outbound table parsers.
 * The input is read as a login map in both formats (Postfix's and
 * gatehouse's) and, split at its first "\n--\n", as an OpenDKIM KeyTable and
 * SigningTable (plain and refile:, keys not loaded from disk). Invariants: a
 * parse that reports no error succeeds and one that reports errors fails;
 * every error names the file and a line ("NAME:N: ..."); lookups on what
 * parsed never crash and a key a lookup returns is one of the table's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/dkim_tables.h"
#include "outbound/login_map.h"
#include "util/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_errors_named(const struct diag *errs, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < errs->n; i++)
		if (strncmp(errs->lines[i], name, n) != 0 || errs->lines[i][n] != ':')
			abort();
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
		}
		diag_clear(&errs);
		dkim_tables_free(t);
	}
	return 0;
}
