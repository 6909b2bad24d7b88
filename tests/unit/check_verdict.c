/*
 * check_verdict.c - verdicts: action and phase names, SMTP and enhanced
 * status code validation per action (5xx/5.x.x for reject, 4xx/4.x.x for
 * tempfail), verdict_set leaving V alone on a bad code, and control
 * characters in the reply text replaced so a reply stays one line.
 */
#include "util/arena.h"
#include "unit.h"
#include "mail/verdict.h"

START_TEST(verdict_names)
{
	ck_assert_str_eq(verdict_action_name(GH_ACT_CONTINUE), "continue");
	ck_assert_str_eq(verdict_action_name(GH_ACT_ACCEPT), "accept");
	ck_assert_str_eq(verdict_action_name(GH_ACT_REJECT), "reject");
	ck_assert_str_eq(verdict_action_name(GH_ACT_TEMPFAIL), "tempfail");
	ck_assert_str_eq(verdict_action_name(GH_ACT_DISCARD), "discard");
	ck_assert_str_eq(verdict_action_name(GH_ACT_QUARANTINE), "quarantine");
	ck_assert_str_eq(verdict_phase_name(GH_PH_CONNECT), "connect");
	ck_assert_str_eq(verdict_phase_name(GH_PH_HELO), "helo");
	ck_assert_str_eq(verdict_phase_name(GH_PH_MAIL), "mail");
	ck_assert_str_eq(verdict_phase_name(GH_PH_RCPT), "rcpt");
	ck_assert_str_eq(verdict_phase_name(GH_PH_DATA), "data");
	ck_assert_str_eq(verdict_phase_name(GH_PH_HEADER), "header");
	ck_assert_str_eq(verdict_phase_name(GH_PH_EOH), "eoh");
	ck_assert_str_eq(verdict_phase_name(GH_PH_BODY), "body");
	ck_assert_str_eq(verdict_phase_name(GH_PH_EOM), "eom");
	ck_assert_str_eq(verdict_phase_name((enum gh_phase)99), "none");
	ck_assert(!verdict_is_final(GH_ACT_CONTINUE));
	ck_assert(verdict_is_final(GH_ACT_ACCEPT));
	ck_assert(verdict_is_final(GH_ACT_REJECT));
	ck_assert(verdict_is_final(GH_ACT_TEMPFAIL));
	ck_assert(verdict_is_final(GH_ACT_DISCARD));
	ck_assert(verdict_is_final(GH_ACT_QUARANTINE));
}
END_TEST

static const struct {
	enum gh_action action;
	const char *code;
	bool ok;
} verdict_codes[] = {
	{ GH_ACT_REJECT, "550", true }, { GH_ACT_REJECT, "501", true },
	{ GH_ACT_REJECT, "554", true }, { GH_ACT_REJECT, "552", true },
	{ GH_ACT_REJECT, "450", false }, { GH_ACT_REJECT, "250", false },
	{ GH_ACT_REJECT, "560", false }, { GH_ACT_REJECT, "5a0", false },
	{ GH_ACT_REJECT, "55", false }, { GH_ACT_REJECT, "5500", false },
	{ GH_ACT_REJECT, "", false }, { GH_ACT_REJECT, NULL, false },
	{ GH_ACT_REJECT, "55x", false },
	{ GH_ACT_TEMPFAIL, "451", true }, { GH_ACT_TEMPFAIL, "452", true },
	{ GH_ACT_TEMPFAIL, "421", true }, { GH_ACT_TEMPFAIL, "550", false },
	{ GH_ACT_TEMPFAIL, "4", false }, { GH_ACT_TEMPFAIL, "461", false },
	/* actions without a reply take no code at all */
	{ GH_ACT_ACCEPT, "250", false }, { GH_ACT_DISCARD, "550", false },
	{ GH_ACT_QUARANTINE, "550", false }, { GH_ACT_CONTINUE, "451", false },
};

START_TEST(verdict_smtp_codes)
{
	for (size_t i = 0; i < sizeof(verdict_codes) / sizeof(verdict_codes[0]); i++)
		ck_assert_msg(verdict_smtp_code_ok(verdict_codes[i].action, verdict_codes[i].code) ==
			      verdict_codes[i].ok, "%s %s: expected %s",
			      verdict_action_name(verdict_codes[i].action),
			      verdict_codes[i].code ? verdict_codes[i].code : "(null)",
			      verdict_codes[i].ok ? "valid" : "invalid");
}
END_TEST

static const struct {
	enum gh_action action;
	const char *ecode;
	bool ok;
} verdict_ecodes[] = {
	{ GH_ACT_REJECT, "5.7.1", true }, { GH_ACT_REJECT, "5.1.3", true },
	{ GH_ACT_REJECT, "5.123.456", true }, { GH_ACT_REJECT, "5.0.0", true },
	{ GH_ACT_REJECT, "4.7.1", false }, { GH_ACT_REJECT, "2.0.0", false },
	{ GH_ACT_REJECT, "5.7", false }, { GH_ACT_REJECT, "5.7.", false },
	{ GH_ACT_REJECT, "5..1", false }, { GH_ACT_REJECT, "5.1234.1", false },
	{ GH_ACT_REJECT, "5.1.1234", false }, { GH_ACT_REJECT, "5.7.1x", false },
	{ GH_ACT_REJECT, "5.7.1.2", false }, { GH_ACT_REJECT, "57.1", false },
	{ GH_ACT_REJECT, "5.a.1", false }, { GH_ACT_REJECT, " 5.7.1", false },
	{ GH_ACT_REJECT, "", false }, { GH_ACT_REJECT, NULL, false },
	{ GH_ACT_TEMPFAIL, "4.3.0", true }, { GH_ACT_TEMPFAIL, "4.5.3", true },
	{ GH_ACT_TEMPFAIL, "5.3.0", false }, { GH_ACT_TEMPFAIL, "4.3", false },
	{ GH_ACT_ACCEPT, "2.0.0", false }, { GH_ACT_DISCARD, "5.7.1", false },
};

START_TEST(verdict_enhanced_codes)
{
	for (size_t i = 0; i < sizeof(verdict_ecodes) / sizeof(verdict_ecodes[0]); i++)
		ck_assert_msg(verdict_enhanced_code_ok(verdict_ecodes[i].action,
						       verdict_ecodes[i].ecode) == verdict_ecodes[i].ok,
			      "%s %s: expected %s", verdict_action_name(verdict_ecodes[i].action),
			      verdict_ecodes[i].ecode ? verdict_ecodes[i].ecode : "(null)",
			      verdict_ecodes[i].ok ? "valid" : "invalid");
}
END_TEST

START_TEST(verdict_set_valid)
{
	struct arena *a = arena_new();
	struct verdict v;

	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_EOH, "550", "5.7.1",
				     "no thanks", "sanity.from"), 0);
	ck_assert_int_eq(v.action, GH_ACT_REJECT);
	ck_assert_int_eq(v.phase, GH_PH_EOH);
	ck_assert_str_eq(v.smtp_code, "550");
	ck_assert_str_eq(v.enhanced_code, "5.7.1");
	ck_assert_str_eq(v.text, "no thanks");
	ck_assert_str_eq(v.source, "sanity.from");

	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_TEMPFAIL, GH_PH_RCPT, "452", "4.5.3",
				     "later", "sanity.recipients"), 0);
	ck_assert_str_eq(v.smtp_code, "452");
	ck_assert_str_eq(v.enhanced_code, "4.5.3");

	/* an action without a reply carries no codes, whatever was passed */
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_ACCEPT, GH_PH_EOM, NULL, NULL, NULL,
				     NULL), 0);
	ck_assert_int_eq(v.action, GH_ACT_ACCEPT);
	ck_assert_str_eq(v.smtp_code, "");
	ck_assert_str_eq(v.enhanced_code, "");
	ck_assert_ptr_null(v.text);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_DISCARD, GH_PH_EOM, "550", "5.7.1",
				     "dropped", "rule"), 0);
	ck_assert_str_eq(v.smtp_code, "");
	ck_assert_str_eq(v.text, "dropped");
	arena_free(a);
}
END_TEST

START_TEST(verdict_set_refuses_mismatch)
{
	struct arena *a = arena_new();
	struct verdict v;
	struct verdict before;

	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_EOH, "550", "5.7.1",
				     "first", "x"), 0);
	before = v;
	/* each wrong combination fails and leaves V as it was */
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_MAIL, "451", "5.7.1",
				     "t", "y"), -1);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_MAIL, "550", "4.7.1",
				     "t", "y"), -1);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_TEMPFAIL, GH_PH_MAIL, "550", "5.7.1",
				     "t", "y"), -1);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_TEMPFAIL, GH_PH_MAIL, "451", "5.3.0",
				     "t", "y"), -1);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_TEMPFAIL, GH_PH_MAIL, NULL, "4.3.0",
				     "t", "y"), -1);
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_MAIL, "550", NULL,
				     "t", "y"), -1);
	ck_assert(memcmp(&v, &before, sizeof(v)) == 0);
	arena_free(a);
}
END_TEST

START_TEST(verdict_text_control_chars)
{
	struct arena *a = arena_new();
	const char *in = "line one\r\n250 fake\rx\ty\x01z\x7f!";
	struct verdict v;

	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_HEADER, "550", "5.6.0",
				     in, "sanity.header"), 0);
	ck_assert_str_eq(v.text, "line one  250 fake x y z !");
	ck_assert_ptr_nonnull(v.reason);
	ck_assert(strpbrk(v.reason, "\r\n") == NULL);
	/* the text is a copy in the arena: the caller's string is untouched */
	ck_assert_ptr_ne(v.text, in);
	ck_assert(strchr(in, '\n') != NULL);
	/* UTF-8 is not a control character */
	ck_assert_int_eq(verdict_set(&v, a, GH_ACT_REJECT, GH_PH_HEADER, "550", "5.6.0",
				     "caf\xc3\xa9", NULL), 0);
	ck_assert_str_eq(v.text, "caf\xc3\xa9");
	arena_free(a);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, verdict_names);
	tcase_add_test(tc, verdict_smtp_codes);
	tcase_add_test(tc, verdict_enhanced_codes);
	tcase_add_test(tc, verdict_set_valid);
	tcase_add_test(tc, verdict_set_refuses_mismatch);
	tcase_add_test(tc, verdict_text_control_chars);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(verdict_suite());
}
