/*
 * fuzz_dmarcrua.c - libFuzzer target: a DMARC record's reporting tags
 * (rua=, fo=) as dmarc_record_parse() and dmarc_rua_parse() read them
 * from the sender's DNS. The input is the record text; its rua= value is
 * also parsed on its own, and the whole input as a rua= value.
 *
 * Invariants: every destination kept is a mailbox local@domain whose bytes
 * are printable ASCII without white space, quotes, angle brackets, commas,
 * semicolons, '!' or '%' (it goes into a report mail's To: field and back
 * into the store's "mailto:...!size" form, so it must not be able to add a
 * recipient, a header or a size); its domain is the part after the last
 * '@', lower case, of letters, digits, '.' and '-', not starting with '.';
 * at most 16 are kept; fo= holds only 0, 1, d, s, ':' and spaces; a kept
 * destination written back in the store's form parses to the same
 * mailbox and size; and a second parse says exactly what the first said.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "util/arena.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check_uri(const struct dmarc_uri *u)
{
	const char *at = strrchr(u->mailbox, '@');

	if (at == NULL || at == u->mailbox || strcasecmp(at + 1, u->domain) != 0)
		abort();
	for (const char *p = u->mailbox; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>,;()[]\\:!%", *p) != NULL)
			abort();
	if (u->domain[0] == '\0' || u->domain[0] == '.' ||
	    strlen(u->domain) != strlen(at + 1))
		abort();
	for (const char *p = u->domain; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' ||
		      *p == '-'))
			abort();
}

/* fz_same - two parses of one value said the same */
static void fz_same(const struct dmarc_uri *a, size_t na, const struct dmarc_uri *b, size_t nb)
{
	if (na != nb)
		abort();
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].mailbox, b[i].mailbox) != 0 || strcmp(a[i].domain, b[i].domain) != 0 ||
		    a[i].max_size != b[i].max_size)
			abort();
}

static void fz_rua(struct arena *ar, const char *v, size_t len)
{
	struct dmarc_uri *u, *again, *back;
	size_t n, nagain, nback;
	struct strbuf notes, stored;

	strbuf_init(&notes);
	if (dmarc_rua_parse(ar, v, len, &u, &n, &notes) != 0) {
		strbuf_free(&notes);
		return; /* out of memory */
	}
	if (n > 16)
		abort();
	for (size_t i = 0; i < n; i++)
		fz_check_uri(&u[i]);
	if (dmarc_rua_parse(ar, v, len, &again, &nagain, NULL) == 0)
		fz_same(u, n, again, nagain);
	/* the form engine_report.c stores, read back by the report command */
	strbuf_init(&stored);
	for (size_t i = 0; i < n; i++) {
		strbuf_printf(&stored, "%smailto:%s", i ? "," : "", u[i].mailbox);
		if (u[i].max_size > 0)
			strbuf_printf(&stored, "!%llu", u[i].max_size);
	}
	if (!stored.failed &&
	    dmarc_rua_parse(ar, stored.data ? stored.data : "", stored.len, &back, &nback, NULL) == 0)
		fz_same(u, n, back, nback);
	strbuf_free(&stored);
	strbuf_free(&notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *ar = arena_new();
	struct dmarc_record r, r2;
	const char *why = NULL;
	char *text = malloc(size + 1);

	if (ar == NULL || text == NULL) {
		arena_free(ar);
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	fz_rua(ar, text, size);
	if (dmarc_record_parse(ar, text, size, &r, &why) == 0) {
		if (r.nrua > 16 || (r.nrua > 0) != (r.rua != NULL))
			abort();
		for (size_t i = 0; i < r.nrua; i++)
			fz_check_uri(&r.rua[i]);
		if (r.fo != NULL && (r.fo[0] == '\0' || strspn(r.fo, "01ds: ") != strlen(r.fo)))
			abort();
		if (dmarc_record_parse(ar, text, size, &r2, &why) != 0)
			abort();
		fz_same(r.rua, r.nrua, r2.rua, r2.nrua);
		if ((r.fo == NULL) != (r2.fo == NULL) || (r.fo && strcmp(r.fo, r2.fo) != 0))
			abort();
	}
	free(text);
	arena_free(ar);
	return 0;
}
