/*
 * check_engine_metrics.c - gatehouse's own families (engine_metrics.c):
 * every message counted exactly once whatever ended it (accepted at eom,
 * refused at MAIL, at end of header, every recipient refused, aborted,
 * the connection closed, a second message on the connection), with the
 * verdict label the header defines; the phase label values are
 * verdict_phase_name()'s and the DNS outcome values dns.h's; rate-limit
 * refusals, store failures, sender mismatches, signatures, reloads and
 * connections land on the label values README lists.
 */
#include "dns/dns.h"
#include "engine/engine_metrics.h"
#include "outbound/dkim_key.h"
#include "outbound/ratelimit.h"
#include "util/metrics.h"
#include "util/strbuf.h"
#include "unit.h"

static struct logger quiet;

/* em_session - a connected session counting into EM */
static struct session *em_session(const struct engine_metrics *em, const char *cfg_text)
{
	struct session *s;

	unit_log_none(&quiet);
	s = unit_session(cfg_text ? unit_config_ok(cfg_text) : unit_config_defaults(), &quiet);
	s->metrics = em;
	unit_connect(s);
	return s;
}

/* em_total - every message counted, whatever its labels */
static int64_t em_total(const struct engine_metrics *em)
{
	int64_t n = 0;

	for (unsigned d = 0; d < 2; d++)
		for (unsigned v = 0; v <= EM_V_ABORTED; v++)
			n += metrics_value(em->messages, d, v);
	return n;
}

/* em_accepted_message - one whole message through to eom */
static void em_accepted_message(struct session *s)
{
	unit_envelope(s, "<a@example.org>", "<b@example.net>");
	ck_assert_int_eq(unit_header(s, "From", "A <a@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eom(s), GH_ACT_ACCEPT);
}

START_TEST(em_accept_once)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, NULL);

	em_accepted_message(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_ACCEPT), 1);
	/* the message's end (a new MAIL FROM, the close) does not count it again */
	engine_abort(s);
	session_free(s);
	ck_assert_int_eq(em_total(em), 1);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_two_messages)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, NULL);

	em_accepted_message(s);
	em_accepted_message(s);
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_ACCEPT), 2);
	ck_assert_int_eq(em_total(em), 2);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_reject_at_mail)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, NULL);

	ck_assert_int_eq(unit_mail(s, "<not an address>"), GH_ACT_REJECT);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_REJECT), 1);
	/* the MTA ends the transaction; the next one is counted on its own */
	engine_abort(s);
	em_accepted_message(s);
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_REJECT), 1);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_ACCEPT), 1);
	ck_assert_int_eq(em_total(em), 2);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_reject_no_from)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, NULL);

	unit_envelope(s, "<a@example.org>", "<b@example.net>");
	ck_assert_int_eq(unit_header(s, "Subject", "no From"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_REJECT);
	ck_assert_int_eq(engine_eom(s), GH_ACT_REJECT); /* repeated, not counted again */
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_REJECT), 1);
	ck_assert_int_eq(em_total(em), 1);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_every_rcpt_refused)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, "max_recipients = 1\n");

	/* one bad recipient refused 5xx, then the MTA gives up (RSET) */
	ck_assert_int_eq(unit_mail(s, "<a@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<bad address>"), GH_ACT_REJECT);
	engine_abort(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_REJECT), 1);
	/* recipients over max_recipients are tempfailed; with the first one
	 * accepted the message goes on, and a close without eom is aborted */
	ck_assert_int_eq(unit_mail(s, "<a@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<b@example.net>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<c@example.net>"), GH_ACT_TEMPFAIL);
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_ABORTED), 1);
	ck_assert_int_eq(em_total(em), 2);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_aborted)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s = em_session(em, NULL);

	unit_envelope(s, "<a@example.org>", "<b@example.net>");
	engine_abort(s);
	/* MAIL FROM alone, then a new MAIL FROM: the first one ended unanswered */
	ck_assert_int_eq(unit_mail(s, "<a@example.org>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_mail(s, "<a@example.org>"), GH_ACT_CONTINUE);
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 0, EM_V_ABORTED), 3);
	ck_assert_int_eq(em_total(em), 3);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_outbound_direction)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct session *s;
	const char *argv[] = { "<a@example.org>", NULL };

	unit_log_none(&quiet);
	s = unit_session(unit_config_defaults(), &quiet);
	s->metrics = em;
	unit_connect(s);
	ck_assert_int_eq(engine_mail(s, argv, "alice"), GH_ACT_CONTINUE); /* authenticated */
	engine_abort(s);
	session_free(s);
	ck_assert_int_eq(metrics_value(em->messages, 1, EM_V_ABORTED), 1);
	ck_assert_int_eq(em_total(em), 1);
	engine_metrics_free(em);
}
END_TEST

START_TEST(em_labels_match_vocabulary)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct timespec t;
	struct strbuf sb;
	char want[64];

	ck_assert_ptr_nonnull(em);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (int p = GH_PH_CONNECT; p <= GH_PH_EOM; p++)
		engine_metrics_phase(em, (enum gh_phase)p, &t);
	strbuf_init(&sb);
	metrics_write(em->reg, &sb);
	ck_assert(!sb.failed);
	for (int p = GH_PH_CONNECT; p <= GH_PH_EOM; p++) {
		snprintf(want, sizeof(want), "_count{phase=\"%s\"} 1\n",
			 verdict_phase_name((enum gh_phase)p));
		ck_assert_msg(strstr(strbuf_cstr(&sb), want) != NULL, "no %s", want);
	}
	for (int o = 0; o < DNS_NOUTCOMES; o++) {
		snprintf(want, sizeof(want), "{outcome=\"%s\"} 0\n", dns_outcome_names[o]);
		ck_assert_msg(strstr(strbuf_cstr(&sb), want) != NULL, "no %s", want);
	}
	ck_assert_ptr_null(dns_outcome_names[DNS_NOUTCOMES]);
	for (int v = GH_ACT_ACCEPT; v <= GH_ACT_QUARANTINE; v++) {
		snprintf(want, sizeof(want), "verdict=\"%s\"}", verdict_action_name((enum gh_action)v));
		ck_assert_msg(strstr(strbuf_cstr(&sb), want) != NULL, "no %s", want);
	}
	strbuf_free(&sb);
	engine_metrics_free(em);
	engine_metrics_free(NULL);
}
END_TEST

/* em_has - the exposition of EM holds LINE */
static void em_has(const struct engine_metrics *em, const char *line)
{
	struct strbuf sb;

	strbuf_init(&sb);
	metrics_write(em->reg, &sb);
	ck_assert_msg(strstr(strbuf_cstr(&sb), line) != NULL, "no line %s", line);
	strbuf_free(&sb);
}

START_TEST(em_outbound_labels)
{
	struct engine_metrics *em = engine_metrics_new(NULL);
	struct ratelimit_answer refused = { .refused = true, .kind = "rcpt",
					    .scope = RATELIMIT_DOMAIN };
	struct ratelimit_answer by_msg = { .refused = true, .kind = "msg",
					   .scope = RATELIMIT_LOGIN };
	struct ratelimit_answer local = { .local = true };
	struct dkim_key rsa = { .alg = DKIM_KEY_RSA_SHA256 }, ed = { .alg = DKIM_KEY_ED25519_SHA256 };

	engine_metrics_ratelimit(em, &refused, RATELIMIT_FALLBACK_LOCAL);
	engine_metrics_ratelimit(em, &by_msg, RATELIMIT_FALLBACK_LOCAL);
	engine_metrics_ratelimit(em, &local, RATELIMIT_FALLBACK_TEMPFAIL);
	engine_metrics_mismatch(em, GH_ACT_CONTINUE);
	engine_metrics_mismatch(em, GH_ACT_QUARANTINE);
	engine_metrics_signature(em, &rsa, "signed");
	engine_metrics_signature(em, &ed, "skipped");
	engine_metrics_signature(em, &ed, "failed");
	engine_metrics_reload(em, EM_RELOAD_FAILURE);
	engine_metrics_connections(em, 2);
	engine_metrics_connections(em, -1);
	em_has(em, "gatehouse_ratelimit_refused_total{limit=\"sender_domain_rcpt\"} 1\n");
	em_has(em, "gatehouse_ratelimit_refused_total{limit=\"login\"} 1\n");
	em_has(em, "gatehouse_ratelimit_store_failures_total{fallback=\"tempfail\"} 1\n");
	em_has(em, "gatehouse_sender_mismatches_total{action=\"accept\"} 1\n");
	em_has(em, "gatehouse_sender_mismatches_total{action=\"quarantine\"} 1\n");
	em_has(em, "gatehouse_dkim_signatures_total{algorithm=\"rsa-sha256\",outcome=\"signed\"} 1\n");
	em_has(em,
	       "gatehouse_dkim_signatures_total{algorithm=\"ed25519-sha256\",outcome=\"skipped\"} 1\n");
	em_has(em,
	       "gatehouse_dkim_signatures_total{algorithm=\"ed25519-sha256\",outcome=\"failed\"} 1\n");
	em_has(em, "gatehouse_config_reloads_total{outcome=\"failure\"} 1\n");
	em_has(em, "gatehouse_milter_connections 1\n");
	engine_metrics_free(em);
}
END_TEST

static Suite *engine_metrics_suite(void)
{
	Suite *s = suite_create("engine_metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, em_accept_once);
	tcase_add_test(tc, em_two_messages);
	tcase_add_test(tc, em_reject_at_mail);
	tcase_add_test(tc, em_reject_no_from);
	tcase_add_test(tc, em_every_rcpt_refused);
	tcase_add_test(tc, em_aborted);
	tcase_add_test(tc, em_outbound_direction);
	tcase_add_test(tc, em_labels_match_vocabulary);
	tcase_add_test(tc, em_outbound_labels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(engine_metrics_suite());
}
