/*
 * rfc2047.c - one encoded-word per run, for GMime (see rfc2047.h)
 *
 * This only finds encoded-words (=?charset?B|Q?text?=, no whitespace
 * inside, RFC 2047 2); decoding and encoding are GMime's and GLib's.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "mail/rfc2047.h"

/* word_end - if an encoded-word starts at P, the byte after its "?=" */
static const char *word_end(const char *p)
{
	const char *q;

	if (p[0] != '=' || p[1] != '?')
		return NULL;
	q = p + 2;
	while (*q && *q != '?' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
		q++; /* charset (and *language) */
	if (*q != '?' || q == p + 2 || !strchr("BbQq", q[1]) || q[1] == '\0' || q[2] != '?')
		return NULL;
	for (q += 3; *q && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n'; q++)
		if (q[0] == '?' && q[1] == '=')
			return q + 2;
	return NULL;
}

static const char *skip_fws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

char *rfc2047_join_words(const char *value)
{
	GString *out = g_string_sized_new(strlen(value) + 16);
	const char *p = value;

	while (*p) {
		const char *end = word_end(p), *next;
		GString *text;
		char *b64;

		if (end == NULL || (next = skip_fws(end), word_end(next) == NULL)) {
			/* not a run of two: copy through the end of this word, or one byte */
			size_t n = end ? (size_t)(end - p) : 1;

			g_string_append_len(out, p, (gssize)n);
			p += n;
			continue;
		}
		text = g_string_new(NULL);
		while (end != NULL) {
			char *word = g_strndup(p, (gsize)(end - p));
			char *dec = g_mime_utils_header_decode_text(NULL, word);

			g_string_append(text, dec ? dec : word);
			g_free(dec);
			g_free(word);
			next = skip_fws(end);
			if (word_end(next) == NULL)
				break;
			p = next;
			end = word_end(p);
		}
		b64 = g_base64_encode((const guchar *)text->str, text->len);
		g_string_append_printf(out, "=?UTF-8?B?%s?=", b64);
		g_free(b64);
		g_string_free(text, TRUE);
		p = end;
	}
	return g_string_free(out, FALSE);
}
