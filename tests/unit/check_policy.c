/*
 * check_policy.c - findings to replies: every fault's action, SMTP code,
 * enhanced code and check name, details appended to the text, per-recipient
 * faults leaving the message undecided, faults the configuration turns off
 * (recorded only), require_from_action's alternatives, and the sanity checks
 * that produce the faults (line length with LF and CRLF folding, names,
 * counts, sizes, From fields).
 */
#include "util/arena.h"
#include "engine/policy.h"
#include "engine/sanity.h"
#include "unit.h"

static const struct {
	enum policy_fault fault;
	enum gh_action action;
	const char *code, *ecode, *check;
	bool per_recipient;
} policy_rows[] = {
	{ FAULT_BAD_MAIL_FROM, GH_ACT_REJECT, "501", "5.1.7", "sanity.envelope_from", false },
	{ FAULT_BAD_RCPT, GH_ACT_REJECT, "501", "5.1.3", "sanity.envelope_rcpt", true },
	{ FAULT_TOO_MANY_RCPTS, GH_ACT_TEMPFAIL, "452", "4.5.3", "sanity.recipients", true },
	{ FAULT_HEADER_NUL, GH_ACT_REJECT, "550", "5.6.0", "sanity.header", false },
	{ FAULT_HEADER_NAME, GH_ACT_REJECT, "550", "5.6.0", "sanity.header", false },
	{ FAULT_HEADER_LINE_LONG, GH_ACT_REJECT, "550", "5.6.0", "sanity.header", false },
	{ FAULT_TOO_MANY_HEADERS, GH_ACT_REJECT, "552", "5.3.4", "sanity.header", false },
	{ FAULT_HEADERS_TOO_BIG, GH_ACT_REJECT, "552", "5.3.4", "sanity.header", false },
	{ FAULT_NO_FROM, GH_ACT_REJECT, "550", "5.7.1", "sanity.from", false },
	{ FAULT_INTERNAL, GH_ACT_TEMPFAIL, "451", "4.3.0", "internal", false },
};

/* policy_test_session - a session with a message begun, on CFG_TEXT or defaults */
static struct session *policy_test_session(const char *cfg_text)
{
	static struct logger quiet;
	struct session *s;

	unit_log_none(&quiet);
	s = unit_session(cfg_text ? unit_config_ok(cfg_text) : unit_config_defaults(), &quiet);
	ck_assert_int_eq(session_message_begin(s), 0);
	return s;
}

START_TEST(policy_every_fault)
{
	for (size_t i = 0; i < sizeof(policy_rows) / sizeof(policy_rows[0]); i++) {
		struct session *s = policy_test_session(NULL);
		enum gh_action a = policy_fault(s, GH_PH_HEADER, policy_rows[i].fault, "the detail");

		ck_assert_msg(a == policy_rows[i].action, "fault %d: %s", policy_rows[i].fault,
			      verdict_action_name(a));
		ck_assert_int_eq(s->reply.action, policy_rows[i].action);
		ck_assert_int_eq(s->reply.phase, GH_PH_HEADER);
		ck_assert_str_eq(s->reply.smtp_code, policy_rows[i].code);
		ck_assert_str_eq(s->reply.enhanced_code, policy_rows[i].ecode);
		ck_assert_str_eq(s->reply.source, policy_rows[i].check);
		ck_assert_str_eq(policy_fault_check_name(policy_rows[i].fault), policy_rows[i].check);
		/* the detail follows the fixed text */
		ck_assert_msg(strstr(s->reply.text, ": the detail") != NULL, "%s", s->reply.text);
		ck_assert_uint_gt(strlen(s->reply.text), strlen(": the detail"));
		/* a recipient fault refuses the recipient, not the message */
		ck_assert_int_eq(s->msg.verdict.action,
				 policy_rows[i].per_recipient ? GH_ACT_CONTINUE : policy_rows[i].action);
		session_free(s);
	}
}
END_TEST

START_TEST(policy_no_detail)
{
	struct session *s = policy_test_session(NULL);

	ck_assert_int_eq(policy_fault(s, GH_PH_EOH, FAULT_NO_FROM, NULL), GH_ACT_REJECT);
	ck_assert_str_eq(s->reply.text, "Message has no From header (RFC 5322 section 3.6)");
	session_free(s);
}
END_TEST

START_TEST(policy_detail_cannot_break_reply)
{
	struct session *s = policy_test_session(NULL);

	/* details carry network text: the reply stays one line */
	ck_assert_int_eq(policy_fault(s, GH_PH_HEADER, FAULT_HEADER_NAME,
				      "bad\r\n250 2.0.0 Ok: queued"), GH_ACT_REJECT);
	ck_assert(strpbrk(s->reply.text, "\r\n") == NULL);
	session_free(s);
}
END_TEST

START_TEST(policy_disabled_by_config)
{
	static const struct {
		const char *cfg;
		enum policy_fault fault;
	} off[] = {
		{ "reject_bad_envelope = no\n", FAULT_BAD_MAIL_FROM },
		{ "reject_bad_envelope = no\n", FAULT_BAD_RCPT },
		{ "require_from = no\n", FAULT_NO_FROM },
		{ "on_internal_error = accept\n", FAULT_INTERNAL },
	};

	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		struct session *s = policy_test_session(off[i].cfg);

		ck_assert_msg(policy_fault(s, GH_PH_MAIL, off[i].fault, "x") == GH_ACT_CONTINUE,
			      "%s did not turn fault %d off", off[i].cfg, off[i].fault);
		ck_assert_int_eq(s->reply.action, GH_ACT_CONTINUE);
		ck_assert_int_eq(s->msg.verdict.action, GH_ACT_CONTINUE);
		session_free(s);
	}
	/* limits are not switched off by those settings */
	{
		struct session *s = policy_test_session("reject_bad_envelope = no\nrequire_from = no\n");

		ck_assert_int_eq(policy_fault(s, GH_PH_HEADER, FAULT_HEADER_NUL, NULL),
				 GH_ACT_REJECT);
		session_free(s);
	}
}
END_TEST

START_TEST(policy_require_from_action)
{
	struct session *s;

	s = policy_test_session("require_from_action = tempfail\n");
	ck_assert_int_eq(policy_fault(s, GH_PH_EOH, FAULT_NO_FROM, NULL), GH_ACT_TEMPFAIL);
	ck_assert_str_eq(s->reply.smtp_code, "451");
	ck_assert_str_eq(s->reply.enhanced_code, "4.7.1");
	ck_assert_int_eq(s->msg.verdict.action, GH_ACT_TEMPFAIL);
	session_free(s);

	s = policy_test_session("require_from_action = discard\n");
	ck_assert_int_eq(policy_fault(s, GH_PH_EOH, FAULT_NO_FROM, NULL), GH_ACT_DISCARD);
	ck_assert_str_eq(s->reply.smtp_code, "");
	ck_assert_int_eq(s->msg.verdict.action, GH_ACT_DISCARD);
	session_free(s);

	/* quarantine waits for eom: nothing decided now, the decision held */
	s = policy_test_session("require_from_action = quarantine\n");
	ck_assert_int_eq(policy_fault(s, GH_PH_EOH, FAULT_NO_FROM, NULL), GH_ACT_CONTINUE);
	ck_assert_int_eq(s->reply.action, GH_ACT_CONTINUE);
	ck_assert_int_eq(s->msg.verdict.action, GH_ACT_CONTINUE);
	ck_assert_int_eq(s->msg.pending.action, GH_ACT_QUARANTINE);
	ck_assert_ptr_nonnull(s->msg.pending.reason);
	session_free(s);

	/* the other faults keep their own action */
	s = policy_test_session("require_from_action = discard\n");
	ck_assert_int_eq(policy_fault(s, GH_PH_HEADER, FAULT_HEADER_NUL, NULL), GH_ACT_REJECT);
	session_free(s);
}
END_TEST

/* policy_test_sanity - sanity_header on one field; returns the fault */
static int policy_test_sanity(struct session *s, const char *name, const char *value,
			      size_t len)
{
	const char *detail = NULL;
	int f = sanity_header(s, name, value, len, true, &detail);

	ck_assert(f == SANITY_OK ? detail == NULL : detail != NULL);
	return f;
}

START_TEST(policy_sanity_line_length)
{
	struct session *s = policy_test_session("max_header_line_octets = 100\n");
	char v[400];

	/* "Subject: " + 91 = 100 */
	memset(v, 'x', sizeof(v));
	ck_assert_int_eq(policy_test_sanity(s, "Subject", v, 91), SANITY_OK);
	ck_assert_int_eq(policy_test_sanity(s, "Subject", v, 92), FAULT_HEADER_LINE_LONG);
	/* "Subject:" + 92 = 100 too, when there was no space (SMFIP_HDR_LEADSPC) */
	{
		const char *detail = NULL;

		ck_assert_int_eq(sanity_header(s, "Subject", v, 92, false, &detail), SANITY_OK);
		ck_assert_int_eq(sanity_header(s, "Subject", v, 93, false, &detail),
				 FAULT_HEADER_LINE_LONG);
	}
	/* continuation lines count from their own start; CR of CRLF is not counted */
	memcpy(v + 50, "\r\n", 2);
	memcpy(v + 152, "\n\t", 2);
	/* lines: 9+50 = 59, 100 ("xx..." from 52 to 151), then 1 + rest */
	ck_assert_int_eq(policy_test_sanity(s, "Subject", v, 200), SANITY_OK);
	v[152] = 'x';	/* join the second and third lines: 101+ */
	ck_assert_int_eq(policy_test_sanity(s, "Subject", v, 200), FAULT_HEADER_LINE_LONG);
	/* a bare CR is an ordinary byte */
	memset(v, 'x', sizeof(v));
	v[50] = '\r';
	ck_assert_int_eq(policy_test_sanity(s, "Subject", v, 92), FAULT_HEADER_LINE_LONG);
	session_free(s);
}
END_TEST

START_TEST(policy_sanity_names_and_nul)
{
	struct session *s = policy_test_session(NULL);

	ck_assert_int_eq(policy_test_sanity(s, "X-Ok_1.2", "v", 1), SANITY_OK);
	ck_assert_int_eq(policy_test_sanity(s, "", "v", 1), FAULT_HEADER_NAME);
	ck_assert_int_eq(policy_test_sanity(s, "A B", "v", 1), FAULT_HEADER_NAME);
	ck_assert_int_eq(policy_test_sanity(s, "A:B", "v", 1), FAULT_HEADER_NAME);
	ck_assert_int_eq(policy_test_sanity(s, "\x7f", "v", 1), FAULT_HEADER_NAME);
	ck_assert_int_eq(policy_test_sanity(s, "\xc3\xa9", "v", 1), FAULT_HEADER_NAME);
	ck_assert_int_eq(policy_test_sanity(s, "X", "a\0b", 3), FAULT_HEADER_NUL);
	/* NUL is checked within LEN only */
	ck_assert_int_eq(policy_test_sanity(s, "X", "ab", 2), SANITY_OK);
	ck_assert_int_eq(policy_test_sanity(s, "X", "", 0), SANITY_OK);
	session_free(s);
}
END_TEST

START_TEST(policy_sanity_from_fields)
{
	struct session *s = policy_test_session(NULL);
	const char *detail = NULL;

	ck_assert_int_eq(sanity_eoh(s, &detail), FAULT_NO_FROM);
	ck_assert_int_eq(session_add_header(s, "Sender", "a@example.org", 13, true), 0);
	ck_assert_int_eq(session_add_header(s, "Resent-From", "a@example.org", 13, true), 0);
	ck_assert_int_eq(sanity_eoh(s, &detail), FAULT_NO_FROM);
	ck_assert_int_eq(session_add_header(s, "from", "a@example.org", 13, true), 0);
	ck_assert_int_eq(sanity_eoh(s, &detail), SANITY_OK);
	ck_assert(sanity_is_header("X-GATEHOUSE", "X-Gatehouse"));
	ck_assert(!sanity_is_header("X-Gatehouse2", "X-Gatehouse"));
	ck_assert(!sanity_is_header("X-Gatehous", "X-Gatehouse"));
	session_free(s);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, policy_every_fault);
	tcase_add_test(tc, policy_no_detail);
	tcase_add_test(tc, policy_detail_cannot_break_reply);
	tcase_add_test(tc, policy_disabled_by_config);
	tcase_add_test(tc, policy_require_from_action);
	tcase_add_test(tc, policy_sanity_line_length);
	tcase_add_test(tc, policy_sanity_names_and_nul);
	tcase_add_test(tc, policy_sanity_from_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(policy_suite());
}
