/*
 * fuzz_spfrecord.c - libFuzzer target: the SPF record checker/normalizer
 * and the macro expander, both fed records and explanations from the
 * sender's DNS. Invariants: a record that normalizes re-normalizes to
 * itself (the output is valid and stable), and expansion stays bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spf_macro.h"
#include "auth/spf_record.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct spf_macro_env env = {
		.sender = "user@example.org", .local = "user", .sender_domain = "example.org",
		.domain = "example.org", .client_ip = "2001:db8::1", .helo = "mx.example.org",
		.receiver = "gatehouse.example", .now = 1700000000,
	};
	const char *text = (const char *)data;

	for (int v6 = 0; v6 < 2; v6++) {
		const char *why = NULL;
		char *exp = NULL, *again_exp = NULL;
		bool redirect;
		char *norm = spf_record_normalize(text, size, v6, &exp, &redirect, &why);

		if (norm == NULL) {
			if (why == NULL)
				abort();
		} else {
			char *again = spf_record_normalize(norm, strlen(norm), v6, &again_exp,
							   &redirect, &why);

			/* /0 rewrites, dropped modifiers: the output must itself be valid */
			if (again == NULL)
				abort();
			free(again);
		}
		free(norm);
		free(exp);
		free(again_exp);
	}
	for (int explain = 0; explain < 2; explain++) {
		struct strbuf out;

		strbuf_init(&out);
		if (spf_macro_expand(&env, text, size, explain, &out) == 0 &&
		    out.len > SPF_MACRO_MAX + 64)
			abort();
		strbuf_free(&out);
	}
	return 0;
}
