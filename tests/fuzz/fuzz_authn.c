/*
 * fuzz_authn.c - libFuzzer target: the parsers issue 4 adds for hostile
 * input: a From header value (GMime, via author_find), a DMARC record
 * (dmarc_record_parse) and an incoming Authentication-Results value
 * (authres_authserv_id); and authres_build on results made from the input,
 * whose output must respect the line and header limits. Issue 11 adds the
 * DKIM-Signature tag-list check (dkim_sig_check: a field it accepts has a
 * valid d=, s= and b=) and the canonical body length counter (a relaxed
 * body is never longer than the simple one plus 2, and never negative).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "mail/author.h"
#include "auth/authres.h"
#include "auth/dkim_sig.h"
#include "auth/dmarc.h"
#include "engine/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int initialized;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	char *text;
	struct header_field h[2];
	struct author au;
	struct dmarc_record rec;
	const char *why;
	struct results r;
	struct dkim_result dk[3];
	const char **vals;
	size_t nvals;

	if (!initialized) {
		author_lib_init();
		initialized = 1;
	}
	if (a == NULL || (text = arena_memdup(a, data, size)) == NULL)
		abort();
	h[0].name = "From";
	h[0].value = text;
	h[0].value_len = size;
	if (author_find(h, 1, a, &au) != 0)
		abort();
	if (au.status == AUTHOR_OK && (au.domain == NULL || strchr(au.domain, '@') != NULL))
		abort();
	(void)dmarc_record_parse(a, text, size, &rec, &why);
	{
		struct dkim_sig_info si;
		struct dkim_bodylen bl = { 0 };
		long long simple, relaxed;

		if (dkim_sig_check(text, size, &si) != 0)
			abort();
		if (si.error == NULL && (si.domain == NULL || si.selector == NULL || si.b == NULL ||
					 strchr(si.domain, '.') == NULL))
			abort();
		dkim_sig_info_free(&si);
		dkim_bodylen_feed(&bl, data, size);
		simple = dkim_bodylen_total(&bl, false);
		relaxed = dkim_bodylen_total(&bl, true);
		if (relaxed < 0 || simple < 2 || relaxed > simple)
			abort();
	}
	(void)authres_authserv_id(a, text, size);

	/* results whose strings come from the input */
	memset(&r, 0, sizeof(r));
	memset(dk, 0, sizeof(dk));
	r.spf_mailfrom.result = AR_FAIL;
	r.spf_mailfrom.reason = text;
	r.spf_helo.result = AR_PASS;
	for (int i = 0; i < 3; i++) {
		dk[i].result = AR_PASS;
		dk[i].domain = text;
		dk[i].selector = text;
		dk[i].reason = text;
		dk[i].b = "abcdefgh";
	}
	r.dkim = dk;
	r.ndkim = 3;
	r.dmarc.result = AR_FAIL;
	r.dmarc.from_domain = text;
	r.dmarc.policy = "reject";
	{
		struct authres_input in = { "mx.example", &r, text, text };

		if (authres_build(a, &in, &vals, &nvals) != 0)
			abort();
		for (size_t i = 0; i < nvals; i++) {
			const char *line = vals[i];

			while (line != NULL) {
				const char *nl = strchr(line, '\n');
				size_t len = nl ? (size_t)(nl - line) : strlen(line);

				if (len > AUTHRES_MAX_LINE)
					abort();
				line = nl ? nl + 1 : NULL;
			}
		}
	}
	arena_free(a);
	return 0;
}
