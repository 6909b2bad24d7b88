/*
 * check_metrics.c - the metrics primitive (util/metrics.c): specs refused
 * with a reason, counters and gauges over closed label sets, histogram
 * buckets, the exposition text byte for byte (HELP/TYPE, escaping,
 * cumulative buckets, _sum/_count), named families and their overflow, a
 * NULL family and out-of-range indexes counting nothing, totals copied in
 * at each write that never go back, and exact totals when several threads
 * count at once.
 */
#include <pthread.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "util/diag.h"
#include "util/hostport.h"
#include "util/metrics.h"
#include "util/strbuf.h"
#include "unit.h"

static const char *const dirs[] = { "inbound", "outbound", NULL };
static const char *const verdicts[] = { "accept", "reject", "tempfail", NULL };

/* metrics_text - M's exposition as a malloc'd string */
static char *metrics_text(const struct metrics *m)
{
	struct strbuf sb;
	char *s;

	strbuf_init(&sb);
	metrics_write(m, &sb);
	ck_assert(!sb.failed);
	s = strdup(strbuf_cstr(&sb));
	strbuf_free(&sb);
	return s;
}

/* refused - SPEC is refused, with a line naming the metric in ERRS */
static void refused(struct metrics *m, const struct metrics_spec *spec, const char *why)
{
	struct diag errs = { 0 };

	ck_assert_ptr_null(metrics_register(m, spec, &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0], why) != NULL, "got '%s', wanted '%s'", errs.lines[0],
		      why);
	diag_clear(&errs);
}

START_TEST(metrics_bad_specs)
{
	static const double down[] = { 1, 0.5 };
	static const char *const none[] = { NULL };
	struct metrics *m = metrics_new();
	struct diag errs = { 0 };

	refused(m, &(struct metrics_spec){ METRICS_COUNTER, "9lives_total", "h" }, "metric name");
	refused(m, &(struct metrics_spec){ METRICS_COUNTER, "a-b_total", "h" }, "metric name");
	refused(m, &(struct metrics_spec){ METRICS_COUNTER, "x_total", NULL }, "help");
	refused(m,
		&(struct metrics_spec){ METRICS_COUNTER, "x_total", "h", { { "__x", dirs } } },
		"label name");
	refused(m, &(struct metrics_spec){ METRICS_COUNTER, "x_total", "h", { { "d", none } } },
		"closed set");
	refused(m,
		&(struct metrics_spec){ METRICS_HISTOGRAM, "x_seconds", "h", { { "le", dirs } },
					down, 1 },
		"label name");
	refused(m, &(struct metrics_spec){ METRICS_HISTOGRAM, "x_seconds", "h", .buckets = down,
					   .nbuckets = 2 },
		"ascending");
	refused(m, &(struct metrics_spec){ METRICS_HISTOGRAM, "x_seconds", "h" }, "buckets");
	refused(m,
		&(struct metrics_spec){ METRICS_GAUGE, "x", "h", { { "rule", NULL } },
					.named_max = 4 },
		"named family");
	ck_assert_ptr_nonnull(
		metrics_register(m, &(struct metrics_spec){ METRICS_COUNTER, "x_total", "h" }, &errs));
	refused(m, &(struct metrics_spec){ METRICS_COUNTER, "x_total", "h" }, "twice");
	ck_assert_uint_eq(errs.n, 0);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_counter_text)
{
	struct metrics *m = metrics_new();
	struct metrics_family *f = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_COUNTER, "gh_messages_total", "Messages, by verdict.",
					{ { "direction", dirs }, { "verdict", verdicts } } },
		NULL);
	char *text;

	ck_assert_ptr_nonnull(f);
	metrics_inc(f, 0, 0);
	metrics_add(f, 0, 0, 199);
	metrics_inc(f, 1, 2);
	metrics_inc(f, 2, 0); /* out of range: nothing */
	metrics_inc(f, 0, 3);
	ck_assert_int_eq(metrics_value(f, 0, 0), 200);
	ck_assert_int_eq(metrics_value(f, 1, 2), 1);
	ck_assert_int_eq(metrics_value(f, 9, 9), 0);
	text = metrics_text(m);
	ck_assert_str_eq(text, "# HELP gh_messages_total Messages, by verdict.\n"
			       "# TYPE gh_messages_total counter\n"
			       "gh_messages_total{direction=\"inbound\",verdict=\"accept\"} 200\n"
			       "gh_messages_total{direction=\"inbound\",verdict=\"reject\"} 0\n"
			       "gh_messages_total{direction=\"inbound\",verdict=\"tempfail\"} 0\n"
			       "gh_messages_total{direction=\"outbound\",verdict=\"accept\"} 0\n"
			       "gh_messages_total{direction=\"outbound\",verdict=\"reject\"} 0\n"
			       "gh_messages_total{direction=\"outbound\",verdict=\"tempfail\"} 1\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_gauge_text)
{
	struct metrics *m = metrics_new();
	struct metrics_family *g = metrics_register(
		m, &(struct metrics_spec){ METRICS_GAUGE, "gh_connections", "In use." }, NULL);
	char *text;

	metrics_gauge_add(g, 0, 0, 3);
	metrics_gauge_add(g, 0, 0, -5);
	ck_assert_int_eq(metrics_value(g, 0, 0), -2);
	text = metrics_text(m);
	ck_assert_str_eq(text, "# HELP gh_connections In use.\n"
			       "# TYPE gh_connections gauge\n"
			       "gh_connections -2\n");
	free(text);
	metrics_gauge_set(g, 0, 0, 7);
	ck_assert_int_eq(metrics_value(g, 0, 0), 7);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_histogram_text)
{
	static const double b[] = { 0.01, 0.1, 1 };
	static const char *const phases[] = { "mail", NULL };
	struct metrics *m = metrics_new();
	struct metrics_family *h = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_HISTOGRAM, "gh_seconds", "Time.",
					{ { "phase", phases } }, b, 3 },
		NULL);
	char *text;

	metrics_observe(h, 0, 0, 0.005);
	metrics_observe(h, 0, 0, 0.01); /* le is inclusive */
	metrics_observe(h, 0, 0, 0.5);
	metrics_observe(h, 0, 0, 4);
	ck_assert_int_eq(metrics_value(h, 0, 0), 4);
	text = metrics_text(m);
	ck_assert_str_eq(text, "# HELP gh_seconds Time.\n"
			       "# TYPE gh_seconds histogram\n"
			       "gh_seconds_bucket{phase=\"mail\",le=\"0.01\"} 2\n"
			       "gh_seconds_bucket{phase=\"mail\",le=\"0.1\"} 2\n"
			       "gh_seconds_bucket{phase=\"mail\",le=\"1\"} 3\n"
			       "gh_seconds_bucket{phase=\"mail\",le=\"+Inf\"} 4\n"
			       "gh_seconds_sum{phase=\"mail\"} 4.515\n"
			       "gh_seconds_count{phase=\"mail\"} 4\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_escaping)
{
	static const char *const odd[] = { "a\"b\\c\nd", NULL };
	struct metrics *m = metrics_new();
	struct metrics_family *f = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_COUNTER, "gh_odd_total", "back\\slash\nnew \"line\"",
					{ { "v", odd } } },
		NULL);
	struct metrics_family *n = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_COUNTER, "gh_rule_hits_total", "Hits.",
					{ { "rule", NULL } }, .named_max = 4 },
		NULL);
	char *text;

	metrics_inc(f, 0, 0);
	metrics_inc_named(n, "x\"}\n");
	text = metrics_text(m);
	ck_assert_str_eq(text, "# HELP gh_odd_total back\\\\slash\\nnew \"line\"\n"
			       "# TYPE gh_odd_total counter\n"
			       "gh_odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
			       "# HELP gh_rule_hits_total Hits.\n"
			       "# TYPE gh_rule_hits_total counter\n"
			       "gh_rule_hits_total{rule=\"x\\\"}\\n\"} 1\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_named_overflow)
{
	struct metrics *m = metrics_new();
	struct metrics_family *n = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_COUNTER, "gh_rule_hits_total", "Hits.",
					{ { "rule", NULL } }, .named_max = 3 },
		NULL);
	char *text;

	text = metrics_text(m); /* no name seen yet: no series */
	ck_assert_str_eq(text, "# HELP gh_rule_hits_total Hits.\n"
			       "# TYPE gh_rule_hits_total counter\n");
	free(text);
	metrics_inc_named(n, "spam");
	metrics_inc_named(n, "spam");
	metrics_inc_named(n, "ham");
	metrics_inc_named(n, "eggs");
	metrics_inc_named(n, "bacon"); /* a fourth name: the table holds three */
	metrics_inc_named(n, "toast");
	metrics_inc_named(n, "ham");
	ck_assert_uint_eq(metrics_value_named(n, "spam"), 2);
	ck_assert_uint_eq(metrics_value_named(n, "ham"), 2);
	ck_assert_uint_eq(metrics_value_named(n, "eggs"), 1);
	ck_assert_uint_eq(metrics_value_named(n, "bacon"), 0);
	text = metrics_text(m);
	ck_assert_ptr_nonnull(strstr(text, "gh_rule_hits_total{rule=\"_other\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "gh_rule_hits_total{rule=\"spam\"} 2\n"));
	ck_assert_ptr_null(strstr(text, "bacon"));
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(metrics_null_family)
{
	struct strbuf sb;

	metrics_inc(NULL, 0, 0);
	metrics_gauge_add(NULL, 0, 0, 1);
	metrics_observe(NULL, 0, 0, 1.0);
	metrics_inc_named(NULL, "x");
	ck_assert_int_eq(metrics_value(NULL, 0, 0), 0);
	strbuf_init(&sb);
	metrics_write(NULL, &sb);
	ck_assert_uint_eq(sb.len, 0);
	strbuf_free(&sb);
	metrics_free(NULL);
}
END_TEST

/* a module's own totals, as metrics_on_write copies them in */
struct totals {
	struct metrics_family *f;
	uint64_t now;
	unsigned calls;
};

static void totals_copy(void *ctx)
{
	struct totals *t = ctx;

	t->calls++;
	metrics_counter_raise(t->f, 0, 0, t->now);
}

START_TEST(metrics_on_write_raise)
{
	struct metrics *m = metrics_new();
	struct totals t = { 0 };
	char *text;

	t.f = metrics_register(
		m, &(struct metrics_spec){ METRICS_COUNTER, "gh_copied_total", "Copied." }, NULL);
	metrics_on_write(m, totals_copy, &t);
	t.now = 5;
	text = metrics_text(m);
	ck_assert_str_eq(text, "# HELP gh_copied_total Copied.\n"
			       "# TYPE gh_copied_total counter\n"
			       "gh_copied_total 5\n");
	free(text);
	/* an older total copied in late (two scrapes at once) does not take it back */
	metrics_counter_raise(t.f, 0, 0, 3);
	ck_assert_int_eq(metrics_value(t.f, 0, 0), 5);
	t.now = 9;
	free(metrics_text(m));
	ck_assert_int_eq(metrics_value(t.f, 0, 0), 9);
	ck_assert_uint_eq(t.calls, 2);
	metrics_counter_raise(NULL, 0, 0, 1);
	metrics_free(m);
}
END_TEST

#define THREADS 4
#define ROUNDS 100000

struct worker {
	struct metrics_family *c, *h, *n;
	unsigned id;
};

static void *metrics_worker(void *arg)
{
	struct worker *w = arg;
	static const char *const names[] = { "r0", "r1", "r2", "r3", "r4", "r5" };

	for (unsigned i = 0; i < ROUNDS; i++) {
		metrics_inc(w->c, i % 2, 0);
		metrics_observe(w->h, 0, 0, (double)(i % 3));
		metrics_inc_named(w->n, names[(i + w->id) % 6]);
	}
	return NULL;
}

START_TEST(metrics_threads_exact)
{
	static const double b[] = { 0.5, 1.5 };
	struct metrics *m = metrics_new();
	struct worker w[THREADS];
	pthread_t t[THREADS];
	uint64_t named = 0;

	w[0].c = metrics_register(
		m, &(struct metrics_spec){ METRICS_COUNTER, "c_total", "c", { { "d", dirs } } },
		NULL);
	w[0].h = metrics_register(
		m, &(struct metrics_spec){ METRICS_HISTOGRAM, "h", "h", .buckets = b, .nbuckets = 2 },
		NULL);
	w[0].n = metrics_register(
		m,
		&(struct metrics_spec){ METRICS_COUNTER, "n_total", "n", { { "rule", NULL } },
					.named_max = 64 },
		NULL);
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = w[0];
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, metrics_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(metrics_value(w[0].c, 0, 0), THREADS * ROUNDS / 2);
	ck_assert_int_eq(metrics_value(w[0].c, 1, 0), THREADS * ROUNDS / 2);
	ck_assert_int_eq(metrics_value(w[0].h, 0, 0), THREADS * ROUNDS);
	for (int i = 0; i < 6; i++) {
		char name[4] = { 'r', (char)('0' + i), 0 };

		named += metrics_value_named(w[0].n, name);
	}
	ck_assert_uint_eq(named, THREADS * ROUNDS); /* every name once in the table */
	{
		char *text = metrics_text(m);

		/* sum of 0, 1, 2 repeated: exact in binary floating point */
		ck_assert_ptr_nonnull(strstr(text, "h_sum 399996\n"));
		ck_assert_ptr_null(strstr(text, "_other"));
		free(text);
	}
	metrics_free(m);
}
END_TEST

/* metrics_listen: an address and port, or a port alone on loopback */
START_TEST(metrics_listen_grammar)
{
	struct sockaddr_storage sa;
	struct sockaddr_in *in = (struct sockaddr_in *)&sa;
	socklen_t len;
	const char *why = NULL;

	ck_assert_int_eq(hostport_parse("9112", &sa, &len, &why), 0);
	ck_assert_int_eq(in->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_uint_eq(ntohs(in->sin_port), 9112);
	ck_assert_int_eq(hostport_parse(":9113", &sa, &len, &why), 0);
	ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_uint_eq(ntohs(in->sin_port), 9113);
	ck_assert_int_eq(hostport_parse("0.0.0.0:9112", &sa, &len, &why), 0);
	ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), INADDR_ANY);
	ck_assert_int_eq(hostport_parse("[::1]:9112", &sa, &len, &why), 0);
	ck_assert_int_eq(sa.ss_family, AF_INET6);
	ck_assert_int_eq(hostport_parse("localhost:9112", &sa, &len, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(hostport_parse("70000", &sa, &len, &why), -1);
	ck_assert_int_eq(hostport_parse(":", &sa, &len, &why), -1);
	ck_assert_int_eq(hostport_parse("", &sa, &len, &why), -1);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, metrics_bad_specs);
	tcase_add_test(tc, metrics_counter_text);
	tcase_add_test(tc, metrics_gauge_text);
	tcase_add_test(tc, metrics_histogram_text);
	tcase_add_test(tc, metrics_escaping);
	tcase_add_test(tc, metrics_named_overflow);
	tcase_add_test(tc, metrics_null_family);
	tcase_add_test(tc, metrics_on_write_raise);
	tcase_add_test(tc, metrics_threads_exact);
	tcase_add_test(tc, metrics_listen_grammar);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(metrics_suite());
}
