/*
 * check_rfc2047.c - runs of encoded-words joined so GMime decodes them whole
 *
 * The cases are what mail programs send (long subjects and names split into
 * padded base64 words) and what must stay as it is (single words, words
 * separated by text, malformed words).
 */
#include <check.h>
#include <gmime/gmime.h>

#include "mail/author.h"
#include "mail/rfc2047.h"
#include "unit.h"

/* decoded - VALUE joined, then decoded by GMime as the rules see it */
static char *decoded(const char *value)
{
	char *j = rfc2047_join_words(value);
	char *d = g_mime_utils_header_decode_text(NULL, j);

	g_free(j);
	return d;
}

static void expect(const char *value, const char *want)
{
	char *got = decoded(value);

	ck_assert_str_eq(got, want);
	g_free(got);
}

START_TEST(split_base64_words)
{
	expect("=?UTF-8?B?Y2Fmw6k=?= =?UTF-8?B?IGF1IGxhaXQ=?=", "café au lait");
	expect("=?UTF-8?B?Y2Fmw6k=?=\n =?UTF-8?B?IGF1IGxhaXQ=?=", "café au lait");
	expect("=?UTF-8?B?WW91ciA=?=\t=?UTF-8?B?QmFuaw==?=", "Your Bank");
}
END_TEST

START_TEST(mixed_charsets_and_encodings)
{
	expect("=?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?IGF1IGxhaXQ=?=", "café au lait");
	expect("=?UTF-8?Q?a?= =?UTF-8?Q?b?= =?UTF-8?Q?c?=", "abc");
}
END_TEST

START_TEST(text_between_words_kept)
{
	expect("Re: =?UTF-8?Q?caf=C3=A9?= time", "Re: café time");
	expect("=?UTF-8?Q?a?= and =?UTF-8?Q?b?=", "a and b");
	expect("plain subject", "plain subject");
	expect("", "");
}
END_TEST

START_TEST(malformed_words_untouched)
{
	char *j;

	j = rfc2047_join_words("=?UTF-8?X?abc?= =?UTF-8?B?YQ==?=");
	ck_assert_str_eq(j, "=?UTF-8?X?abc?= =?UTF-8?B?YQ==?=");
	g_free(j);
	j = rfc2047_join_words("=? =?");
	ck_assert_str_eq(j, "=? =?");
	g_free(j);
	j = rfc2047_join_words("=?UTF-8?B?unterminated =?UTF-8?B?YQ==?=");
	ck_assert_str_eq(j, "=?UTF-8?B?unterminated =?UTF-8?B?YQ==?=");
	g_free(j);
}
END_TEST

START_TEST(quoted_parameter)
{
	char *j = rfc2047_join_words("attachment; filename=\"=?UTF-8?B?aW52b2ljZSA=?= =?UTF-8?B?MjAyNC5leGU=?=\"");
	GMimeContentDisposition *cd = g_mime_content_disposition_parse(NULL, j);

	ck_assert_ptr_nonnull(cd);
	ck_assert_str_eq(g_mime_content_disposition_get_parameter(cd, "filename"), "invoice 2024.exe");
	g_object_unref(cd);
	g_free(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc = tcase_create("join");

	author_lib_init();
	tcase_add_test(tc, split_base64_words);
	tcase_add_test(tc, mixed_charsets_and_encodings);
	tcase_add_test(tc, text_between_words_kept);
	tcase_add_test(tc, malformed_words_untouched);
	tcase_add_test(tc, quoted_parameter);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
