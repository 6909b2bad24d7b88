/*
 * check_report.c - the test-mode report: the JSON keys scripts rely on,
 * checks that did not run as null (never "none"), results and rule hits
 * when present, header edits split into added/removed/changed, recipients
 * with their replies, bytes that are not UTF-8 kept valid JSON, and the
 * text form's verdict line.
 */
#include <jansson.h>

#include "util/arena.h"
#include "engine/report.h"
#include "mail/results.h"
#include "unit.h"

/* report_test_accepted - a session whose message was accepted at eom */
static struct session *report_test_accepted(const char *helo)
{
	static struct logger quiet;
	struct session *s;

	unit_log_none(&quiet);
	s = unit_session(unit_config_defaults(), &quiet);
	ck_assert_int_eq(engine_connect(s, "mx.example.net", "192.0.2.1"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_helo(s, helo), GH_ACT_CONTINUE);
	unit_envelope(s, "<alice@example.org>", "<bob@example.net>");
	ck_assert_int_eq(unit_header(s, "From", "alice@example.org"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_header(s, "X-Gatehouse", "forged"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_body(s, (const unsigned char *)"hi\r\n", 4), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eom(s), GH_ACT_ACCEPT);
	return s;
}

/* report_test_path - the JSON value at a "/"-separated PATH of object keys */
static json_t *report_test_path(json_t *j, const char *path)
{
	char *copy = strdup(path), *save = NULL;

	for (char *k = strtok_r(copy, "/", &save); k && j; k = strtok_r(NULL, "/", &save))
		j = json_object_get(j, k);
	free(copy);
	ck_assert_msg(j != NULL, "no key %s", path);
	return j;
}

static void report_test_str(json_t *root, const char *path, const char *want)
{
	json_t *j = report_test_path(root, path);

	ck_assert_msg(json_is_string(j), "%s is not a string", path);
	ck_assert_str_eq(json_string_value(j), want);
}

static void report_test_null(json_t *root, const char *path)
{
	ck_assert_msg(json_is_null(report_test_path(root, path)), "%s is not null", path);
}

START_TEST(report_json_keys)
{
	struct session *s = report_test_accepted("mx.example.net");
	struct report_rcpt rcpt = { "bob@example.net", { 0 } };
	json_t *j = report_json(s, &s->msg.verdict, &rcpt, 1), *a;

	ck_assert_ptr_nonnull(j);
	report_test_str(j, "session", "t.1");
	report_test_str(j, "verdict/action", "accept");
	report_test_str(j, "verdict/phase", "eom");
	report_test_null(j, "verdict/smtp_code");
	report_test_null(j, "verdict/enhanced_code");
	report_test_null(j, "verdict/text");
	report_test_null(j, "verdict/by");
	report_test_str(j, "envelope/ip", "192.0.2.1");
	report_test_str(j, "envelope/host", "mx.example.net");
	report_test_str(j, "envelope/helo", "mx.example.net");
	report_test_null(j, "envelope/auth");
	report_test_str(j, "envelope/from", "alice@example.org");
	/* checks that did not run: null, not "none" */
	report_test_null(j, "spf/helo/result");
	report_test_null(j, "spf/mailfrom/result");
	report_test_null(j, "dmarc/result");
	ck_assert(json_is_array(report_test_path(j, "dkim")));
	ck_assert_uint_eq(json_array_size(report_test_path(j, "dkim")), 0);
	ck_assert_uint_eq(json_array_size(report_test_path(j, "rules")), 0);
	/* the sanity check that ran */
	a = report_test_path(j, "checks");
	ck_assert_uint_eq(json_array_size(a), 1);
	report_test_str(json_array_get(a, 0), "name", "sanity.from");
	report_test_str(json_array_get(a, 0), "result", "pass");
	report_test_null(json_array_get(a, 0), "detail");
	/* edits */
	a = report_test_path(j, "headers_added");
	ck_assert_uint_eq(json_array_size(a), 1);
	report_test_str(json_array_get(a, 0), "name", "X-Gatehouse");
	ck_assert_int_eq(json_integer_value(report_test_path(json_array_get(a, 0), "position")), 0);
	a = report_test_path(j, "headers_removed");
	ck_assert_uint_eq(json_array_size(a), 1);
	ck_assert_int_eq(json_integer_value(report_test_path(json_array_get(a, 0), "index")), 1);
	ck_assert_uint_eq(json_array_size(report_test_path(j, "headers_changed")), 0);
	/* recipients */
	a = report_test_path(j, "envelope/rcpts");
	ck_assert_uint_eq(json_array_size(a), 1);
	report_test_str(json_array_get(a, 0), "address", "bob@example.net");
	report_test_str(json_array_get(a, 0), "action", "accept");
	report_test_null(json_array_get(a, 0), "smtp_code");
	ck_assert_int_eq(json_integer_value(report_test_path(j, "size/body_bytes")), 4);
	json_decref(j);
	session_free(s);
}
END_TEST

START_TEST(report_json_results)
{
	struct session *s = report_test_accepted("mx.example.net");
	struct results *r = &s->msg.results;
	struct dkim_result dkim[2] = {
		{ AR_PASS, "example.org", "sel1", "rsa-sha256", NULL },
		{ AR_FAIL, "example.com", "sel2", "ed25519-sha256", "body hash mismatch" },
	};
	struct rule_hit hit = { "spam-words", "reject", "/etc/gatehouse/rules.d/x.rules", 12 };
	struct report_rcpt rcpts[2] = { { "bob@example.net", { 0 } }, { "bad@", { 0 } } };
	struct verdict final;
	json_t *j, *a;

	r->spf_helo.result = AR_NONE;
	r->spf_mailfrom.result = AR_SOFTFAIL;
	r->spf_mailfrom.domain = "example.org";
	r->dkim = dkim;
	r->ndkim = 2;
	r->dmarc.result = AR_FAIL;
	r->dmarc.from_domain = "example.org";
	r->dmarc.policy = "reject";
	r->rules = &hit;
	r->nrules = 1;
	ck_assert_int_eq(verdict_set(&rcpts[1].reply, s->msg_arena, GH_ACT_REJECT, GH_PH_RCPT,
				     "501", "5.1.3", "Bad recipient", "sanity.envelope_rcpt"), 0);
	ck_assert_int_eq(verdict_set(&final, s->msg_arena, GH_ACT_REJECT, GH_PH_EOM, "550",
				     "5.7.1", "DMARC policy", "dmarc"), 0);
	j = report_json(s, &final, rcpts, 2);
	report_test_str(j, "verdict/action", "reject");
	report_test_str(j, "verdict/smtp_code", "550");
	report_test_str(j, "verdict/enhanced_code", "5.7.1");
	report_test_str(j, "verdict/text", "DMARC policy");
	report_test_str(j, "verdict/by", "dmarc");
	report_test_str(j, "spf/helo/result", "none");
	report_test_str(j, "spf/mailfrom/result", "softfail");
	report_test_str(j, "spf/mailfrom/domain", "example.org");
	report_test_str(j, "dmarc/result", "fail");
	report_test_str(j, "dmarc/policy", "reject");
	report_test_null(j, "dmarc/disposition");
	a = report_test_path(j, "dkim");
	ck_assert_uint_eq(json_array_size(a), 2);
	report_test_str(json_array_get(a, 0), "result", "pass");
	report_test_null(json_array_get(a, 0), "reason");
	report_test_str(json_array_get(a, 1), "result", "fail");
	report_test_str(json_array_get(a, 1), "algorithm", "ed25519-sha256");
	report_test_str(json_array_get(a, 1), "reason", "body hash mismatch");
	a = report_test_path(j, "rules");
	ck_assert_uint_eq(json_array_size(a), 1);
	report_test_str(json_array_get(a, 0), "name", "spam-words");
	ck_assert_int_eq(json_integer_value(report_test_path(json_array_get(a, 0), "line")), 12);
	a = report_test_path(j, "envelope/rcpts");
	report_test_str(json_array_get(a, 1), "action", "reject");
	report_test_str(json_array_get(a, 1), "smtp_code", "501");
	report_test_str(json_array_get(a, 1), "enhanced_code", "5.1.3");
	report_test_str(json_array_get(a, 1), "text", "Bad recipient");
	json_decref(j);
	/* the results point at this test's stack: detach before freeing */
	memset(r, 0, sizeof(*r));
	session_free(s);
}
END_TEST

START_TEST(report_json_edit_kinds)
{
	struct session *s = report_test_accepted("mx.example.net");
	json_t *j, *a;

	ck_assert_int_eq(session_add_edit(s, HDR_ADD, "X-Added", "at the end", 0), 0);
	ck_assert_int_eq(session_add_edit(s, HDR_CHANGE, "Subject", "new subject", 1), 0);
	j = report_json(s, &s->msg.verdict, NULL, 0);
	a = report_test_path(j, "headers_added");
	ck_assert_uint_eq(json_array_size(a), 2);
	report_test_str(json_array_get(a, 1), "name", "X-Added");
	ck_assert_int_eq(json_integer_value(report_test_path(json_array_get(a, 1), "position")), -1);
	a = report_test_path(j, "headers_changed");
	ck_assert_uint_eq(json_array_size(a), 1);
	report_test_str(json_array_get(a, 0), "value", "new subject");
	ck_assert_int_eq(json_integer_value(report_test_path(json_array_get(a, 0), "index")), 1);
	ck_assert_uint_eq(json_array_size(report_test_path(j, "envelope/rcpts")), 0);
	json_decref(j);
	session_free(s);
}
END_TEST

START_TEST(report_json_not_utf8)
{
	struct session *s = report_test_accepted("bad\xff\xfe" "helo");
	json_t *j = report_json(s, &s->msg.verdict, NULL, 0);
	char *text;
	json_t *back;

	/* jansson refuses invalid UTF-8: the bytes are shown escaped */
	report_test_str(j, "envelope/helo", "bad\\xFF\\xFEhelo");
	text = json_dumps(j, 0);
	ck_assert_ptr_nonnull(text);
	back = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(back);
	json_decref(back);
	free(text);
	json_decref(j);
	session_free(s);
}
END_TEST

START_TEST(report_text_form)
{
	struct session *s = report_test_accepted("mx.example.net");
	struct report_rcpt rcpt = { "bob@example.net", { 0 } };
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	report_text(fp, s, &s->msg.verdict, &rcpt, 1);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(out, "session   t.1\n"));
	ck_assert_ptr_nonnull(strstr(out, "from      <alice@example.org>\n"));
	ck_assert_ptr_nonnull(strstr(out, "rcpt      bob@example.net  accept\n"));
	ck_assert_ptr_nonnull(strstr(out, "header-   X-Gatehouse #1\n"));
	ck_assert_ptr_nonnull(strstr(out, "header+   X-Gatehouse: "));
	ck_assert_ptr_nonnull(strstr(out, "\nverdict   accept (phase eom)\n"));
	free(out);
	session_free(s);
}
END_TEST

START_TEST(report_result_names)
{
	ck_assert_ptr_null(ar_result_name(AR_UNSET));
	ck_assert_str_eq(ar_result_name(AR_PASS), "pass");
	ck_assert_str_eq(ar_result_name(AR_FAIL), "fail");
	ck_assert_str_eq(ar_result_name(AR_SOFTFAIL), "softfail");
	ck_assert_str_eq(ar_result_name(AR_NEUTRAL), "neutral");
	ck_assert_str_eq(ar_result_name(AR_NONE), "none");
	ck_assert_str_eq(ar_result_name(AR_TEMPERROR), "temperror");
	ck_assert_str_eq(ar_result_name(AR_PERMERROR), "permerror");
	ck_assert_str_eq(ar_result_name(AR_POLICY), "policy");
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, report_json_keys);
	tcase_add_test(tc, report_json_results);
	tcase_add_test(tc, report_json_edit_kinds);
	tcase_add_test(tc, report_json_not_utf8);
	tcase_add_test(tc, report_text_form);
	tcase_add_test(tc, report_result_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(report_suite());
}
