/*
 * fuzz_rfc2047.c - libFuzzer target: rfc2047_join_words() alone (RFC 2047
 * encoded-word runs rewritten for GMime). The input, up to its first NUL,
 * is one header value.
 *
 * Invariants: a value without an encoded-word ("=?" ... "?=") comes back
 * byte for byte; joining is idempotent (a joined value has no run of two
 * adjacent encoded-words left, and the rest was kept as it was); the
 * result is at most four times the input's size plus one encoded-word's
 * frame (a word's text re-encoded as UTF-8 base64); and when GMime
 * decodes the value to valid UTF-8, it decodes the joined value to valid
 * UTF-8 as well.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mail/author.h"
#include "mail/rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_word(const char *s)
{
	const char *p = strstr(s, "=?");

	return p != NULL && strstr(p + 2, "?=") != NULL;
}

static bool decodes_to_utf8(const char *s)
{
	char *d = g_mime_utils_header_decode_text(NULL, s);
	bool ok = d == NULL || g_utf8_validate(d, -1, NULL);

	g_free(d);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char *in, *once, *twice;

	if (!ready) {
		author_lib_init(); /* g_mime_init() */
		ready = true;
	}
	if (size > 16384)
		return 0;
	in = malloc(size + 1);
	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	once = rfc2047_join_words(in);
	if (once == NULL)
		abort();
	if (!has_word(in) && strcmp(once, in) != 0)
		abort();
	if (strlen(once) > 4 * strlen(in) + 16)
		abort();
	twice = rfc2047_join_words(once);
	if (twice == NULL || strcmp(twice, once) != 0)
		abort();
	if (decodes_to_utf8(in) && !decodes_to_utf8(once))
		abort();
	g_free(twice);
	g_free(once);
	free(in);
	return 0;
}
