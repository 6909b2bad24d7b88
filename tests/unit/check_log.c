/*
 * check_log.c - logging: log_kv quoting and escaping (spaces, quotes,
 * backslashes, '=', CR/LF and other control bytes as \xNN, empty and NULL
 * values), level filtering, the session and queue id on session lines, the
 * one summary line per message with its keys, and that text from the
 * network can never start a log line of its own.
 */
#include "util/strbuf.h"
#include "unit.h"

/* log_test_kv - what log_kv appends for KEY=VALUE (static buffer per call) */
static const char *log_test_kv(const char *key, const char *value)
{
	static char out[512];
	struct strbuf sb;

	strbuf_init(&sb);
	log_kv(&sb, key, value);
	ck_assert(!sb.failed);
	snprintf(out, sizeof(out), "%s", strbuf_cstr(&sb));
	strbuf_free(&sb);
	return out;
}

START_TEST(log_kv_escaping)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "plain", " k=plain" },
		{ "user@example.org", " k=user@example.org" },
		{ "-", " k=-" },
		{ NULL, " k=-" },
		{ "", " k=\"\"" },
		{ "two words", " k=\"two words\"" },
		{ "say \"hi\"", " k=\"say \\\"hi\\\"\"" },
		{ "back\\slash", " k=\"back\\\\slash\"" },
		{ "a=b", " k=\"a=b\"" },
		{ "line\nbreak", " k=\"line\\x0abreak\"" },
		{ "cr\rlf\r\n", " k=\"cr\\x0dlf\\x0d\\x0a\"" },
		{ "tab\there", " k=\"tab\\x09here\"" },
		{ "esc\x1b[31m", " k=\"esc\\x1b[31m\"" },
		{ "del\x7f", " k=\"del\\x7f\"" },
		{ "caf\xc3\xa9", " k=caf\xc3\xa9" },
		{ "x action=accept", " k=\"x action=accept\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = log_test_kv("k", cases[i].value);

		ck_assert_msg(strcmp(got, cases[i].want) == 0, "value %zu: got [%s], want [%s]",
			      i, got, cases[i].want);
	}
}
END_TEST

START_TEST(log_kv_appends)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, "session=t.1");
	log_kv(&sb, "ip", "192.0.2.1");
	log_kv(&sb, "from", NULL);
	log_kv(&sb, "helo", "evil host");
	ck_assert_str_eq(strbuf_cstr(&sb), "session=t.1 ip=192.0.2.1 from=- helo=\"evil host\"");
	strbuf_free(&sb);
}
END_TEST

START_TEST(log_levels_filter)
{
	struct unit_log ul;

	unit_log_open(&ul, LOG_WARNING);
	log_msg(&ul.log, LOG_ERR, "an error %d", 1);
	log_msg(&ul.log, LOG_WARNING, "a warning");
	log_msg(&ul.log, LOG_INFO, "info hidden");
	log_msg(&ul.log, LOG_DEBUG, "debug hidden");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "gatehouse error: an error 1\n"));
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "gatehouse warning: a warning\n"));
	ck_assert_ptr_null(strstr(unit_log_text(&ul), "hidden"));
	ck_assert_uint_eq(unit_count(unit_log_text(&ul), "\n"), 2);
	/* a reload lowers the level */
	log_set_level(&ul.log, LOG_DEBUG);
	log_msg(&ul.log, LOG_DEBUG, "debug shown");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "gatehouse debug: debug shown\n"));
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_sink_none_and_null)
{
	struct unit_log ul;

	/* a NONE sink writes nothing, even with a stream at hand */
	unit_log_open(&ul, LOG_DEBUG);
	ul.log.sink = LOG_SINK_NONE;
	log_msg(&ul.log, LOG_ERR, "to nowhere");
	ck_assert_str_eq(unit_log_text(&ul), "");
	ul.log.sink = LOG_SINK_STDERR;
	log_msg(&ul.log, LOG_ERR, "somewhere");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "somewhere"));
	/* no logger at all is allowed */
	log_msg(NULL, LOG_ERR, "no logger");
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_msg_one_line)
{
	struct unit_log ul;

	unit_log_open(&ul, LOG_DEBUG);
	log_msg(&ul.log, LOG_ERR, "reload: %s", "bad\nsecond line\r\x01");
	ck_assert_uint_eq(unit_count(unit_log_text(&ul), "\n"), 1);
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "bad\\x0asecond line\\x0d\\x01\n"));
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_session_lines)
{
	struct unit_log ul;
	struct session *s;

	unit_log_open(&ul, LOG_DEBUG);
	s = unit_session(unit_config_defaults(), &ul.log);
	session_log(&ul.log, s, LOG_INFO, "before any message");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "info: session=t before any message\n"));
	ck_assert_int_eq(session_message_begin(s), 0);
	session_log(&ul.log, s, LOG_INFO, "in a message");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "info: session=t.1 in a message\n"));
	session_set_qid(s, "4BxYz1234");
	session_log(&ul.log, s, LOG_INFO, "with a qid %s", "line\nbreak");
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul),
				     "info: session=t.1 qid=4BxYz1234 with a qid line\\x0abreak\n"));
	session_free(s);
	unit_log_close(&ul);
}
END_TEST

/* log_test_summary - the summary line in TEXT (the one with " ms="), copied */
static char *log_test_summary(const char *text)
{
	const char *p = strstr(text, " ms=");
	const char *start, *end;

	ck_assert_msg(p != NULL, "no summary line in [%s]", text);
	ck_assert_msg(strstr(p + 1, " ms=") == NULL, "two summary lines in [%s]", text);
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	ck_assert(end != NULL);
	return strndup(start, (size_t)(end - start));
}

START_TEST(log_summary_keys)
{
	struct unit_log ul;
	struct session *s;
	char *line;

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(unit_config_defaults(), &ul.log);
	unit_connect(s);
	unit_envelope(s, "<alice@example.org>", "<bob@example.net>");
	ck_assert_int_eq(unit_rcpt(s, "<carol@example.net>"), GH_ACT_CONTINUE);
	session_set_qid(s, "QID42");
	ck_assert_int_eq(unit_header(s, "From", "Alice <alice@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_header(s, "Subject", "hello"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_body(s, (const unsigned char *)"hi\r\n", 4), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eom(s), GH_ACT_ACCEPT);
	line = log_test_summary(unit_log_text(&ul));
	ck_assert_msg(strstr(line, "session=t.1 ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " qid=QID42 ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " ip=192.0.2.1 ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " helo=mx.example.net ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " from=alice@example.org ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " rcpts=bob@example.net,carol@example.net ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " nrcpt=2 ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " action=accept ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " spf=- ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " dmarc=- ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " ms=") != NULL, "%s", line);
	free(line);
	/* the message is over: closing the session writes no second summary */
	session_free(s);
	ck_assert_uint_eq(unit_count(unit_log_text(&ul), " ms="), 1);
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_summary_reject)
{
	struct unit_log ul;
	struct session *s;
	char *line;

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(unit_config_defaults(), &ul.log);
	unit_connect(s);
	unit_envelope(s, "<>", "<bob@example.net>");
	ck_assert_int_eq(unit_header(s, "Subject", "no from here"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_REJECT);
	line = log_test_summary(unit_log_text(&ul));
	ck_assert_msg(strstr(line, " from=<> ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " action=reject phase=eoh code=550 ecode=5.7.1 ") != NULL,
		      "%s", line);
	ck_assert_msg(strstr(line, " by=sanity.from ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " checks=sanity.from:fail ") != NULL, "%s", line);
	free(line);
	/* later calls repeat the verdict without a second summary */
	ck_assert_int_eq(engine_eom(s), GH_ACT_REJECT);
	engine_abort(s);
	session_free(s);
	ck_assert_uint_eq(unit_count(unit_log_text(&ul), " ms="), 1);
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_summary_abort)
{
	struct unit_log ul;
	struct session *s;
	char *line;

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(unit_config_defaults(), &ul.log);
	unit_connect(s);
	unit_envelope(s, "<a@example.org>", "<b@example.net>");
	engine_abort(s);
	line = log_test_summary(unit_log_text(&ul));
	ck_assert_msg(strstr(line, " action=abort ") != NULL, "%s", line);
	free(line);
	session_free(s);
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_no_injected_lines)
{
	struct unit_log ul;
	struct session *s;
	const char *evil = "evil\nJan  1 00:00:00 host gatehouse info: session=x action=accept\r";
	const char *text;
	char *line;

	unit_log_open(&ul, LOG_DEBUG);
	s = unit_session(unit_config_defaults(), &ul.log);
	ck_assert_int_eq(engine_connect(s, evil, "192.0.2.1"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_helo(s, evil), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_mail(s, "<a@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<b@example.org>"), GH_ACT_CONTINUE);
	session_set_qid(s, "Q\nfake=1");
	engine_unknown(s, evil);
	engine_abort(s);
	text = unit_log_text(&ul);
	/* every line is one of ours: each starts with a timestamp and
	 * "gatehouse", and none starts with the injected text */
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		ck_assert_msg(p[0] >= '0' && p[0] <= '9', "line starts [%.40s]", p);
		ck_assert_msg(strncmp(strchr(p, ' '), " gatehouse ", 11) == 0, "line [%.60s]", p);
	}
	ck_assert_ptr_null(strstr(text, "\nJan"));
	ck_assert_ptr_nonnull(strstr(text, "evil\\x0aJan"));
	line = log_test_summary(text);
	ck_assert_msg(strstr(line, " helo=\"evil\\x0aJan  1 00:00:00 host gatehouse info: "
				   "session=x action=accept\\x0d\" ") != NULL, "%s", line);
	ck_assert_msg(strstr(line, " qid=\"Q\\x0afake=1\" ") != NULL, "%s", line);
	free(line);
	session_free(s);
	unit_log_close(&ul);
}
END_TEST

START_TEST(log_parse_names)
{
	ck_assert_int_eq(log_level_parse("err"), LOG_ERR);
	ck_assert_int_eq(log_level_parse("warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_parse("notice"), LOG_NOTICE);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("DEBUG"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("loud"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	ck_assert_int_eq(log_facility_parse("mail"), LOG_MAIL);
	ck_assert_int_eq(log_facility_parse("local7"), LOG_LOCAL7);
	ck_assert_int_eq(log_facility_parse("kern"), -1);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, log_kv_escaping);
	tcase_add_test(tc, log_kv_appends);
	tcase_add_test(tc, log_levels_filter);
	tcase_add_test(tc, log_sink_none_and_null);
	tcase_add_test(tc, log_msg_one_line);
	tcase_add_test(tc, log_session_lines);
	tcase_add_test(tc, log_summary_keys);
	tcase_add_test(tc, log_summary_reject);
	tcase_add_test(tc, log_summary_abort);
	tcase_add_test(tc, log_no_injected_lines);
	tcase_add_test(tc, log_parse_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(log_suite());
}
