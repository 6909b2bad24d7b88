/*
 * check_ratelimit.c - rate limits: the N/PERIOD syntax, GCRA with time
 * injected (no sleeps), the in-process store (bounds, idle eviction,
 * threads), the limiter, and the engine at RCPT and end of message.
 */
#include <pthread.h>

#include "conf/rate_overrides.h"
#include "util/arena.h"
#include "conf/rate_spec.h"
#include "outbound/gcra.h"
#include "outbound/ratelimit.h"
#include "outbound/rl_mem.h"
#include "unit.h"
#include "util/gh.h"

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)

static struct rate_spec spec(const char *text)
{
	struct rate_spec r;

	ck_assert_msg(rate_spec_parse(text, &r) == NULL, "%s does not parse", text);
	return r;
}

START_TEST(spec_parses)
{
	struct rate_spec r = spec("200/1h");

	ck_assert(r.set);
	ck_assert_int_eq(r.count, 200);
	ck_assert_int_eq(r.period_s, 3600);
	ck_assert_int_eq(r.burst, 200);
	r = spec("5000/1d burst 500");
	ck_assert_int_eq(r.count, 5000);
	ck_assert_int_eq(r.period_s, 86400);
	ck_assert_int_eq(r.burst, 500);
	r = spec("10/30s");
	ck_assert_int_eq(r.period_s, 30);
	r = spec("3/5m");
	ck_assert_int_eq(r.period_s, 300);
	r = spec("");
	ck_assert(!r.set);
	r = spec("none");
	ck_assert(!r.set);
}
END_TEST

START_TEST(spec_refuses)
{
	static const char *const bad[] = { "200",	  "200/",	 "200/h",    "200/1",
					   "200/1w",	  "0/1h",	 "-1/1h",    "200/0s",
					   "200/1h burst", "200/1h burst 0", "200/1h x", "200/367d",
					   "99999999999/1h", "200/1hburst 5", "/1h" };
	struct rate_spec r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rate_spec_parse(bad[i], &r) != NULL, "%s parsed", bad[i]);
	ck_assert_ptr_null(rate_spec_check_redis("unix:/run/redis.sock"));
	ck_assert_ptr_null(rate_spec_check_redis("127.0.0.1:6379"));
	ck_assert_ptr_null(rate_spec_check_redis(""));
	ck_assert_ptr_nonnull(rate_spec_check_redis("unix:relative"));
	ck_assert_ptr_nonnull(rate_spec_check_redis("localhost"));
	ck_assert_ptr_nonnull(rate_spec_check_redis("localhost:99999"));
}
END_TEST

/* A bad limit in a file is a FILE:LINE error at load. */
START_TEST(spec_config_error_has_line)
{
	struct diag errs = { 0 };
	char *path = NULL;
	struct config *c =
		unit_config_text("ratelimit_login = 200/1h\nratelimit_client = 5/1w\n", &errs, &path);

	ck_assert_ptr_null(c);
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0], path) != NULL && strstr(errs.lines[0], ":2") != NULL,
		      "%s", errs.lines[0]);
	diag_clear(&errs);
	unit_remove_file(path);
}
END_TEST

/* B at once, then one every T; over any span S at most B + S/T. */
START_TEST(gcra_burst_then_rate)
{
	struct rate_spec r = spec("60/1m burst 5");
	struct gcra_limit lim;
	int64_t tat = 0, now = T0;
	int passed = 0;

	gcra_limit_from_spec(&r, &lim);
	ck_assert_int_eq(lim.interval_us, SEC);
	for (int i = 0; i < 10; i++)
		if (gcra_wait_us(tat, now, &lim, 1) == 0) {
			tat = gcra_charge(tat, now, &lim, 1);
			passed++;
		}
	ck_assert_int_eq(passed, 5);
	ck_assert_int_eq(gcra_wait_us(tat, now, &lim, 1), SEC);
	ck_assert_int_eq(gcra_available(tat, now, &lim), 0);
	/* half a second later: still one wait of half a second */
	ck_assert_int_eq(gcra_wait_us(tat, now + SEC / 2, &lim, 1), SEC / 2);
	ck_assert_int_eq(gcra_wait_us(tat, now + SEC, &lim, 1), 0);
	ck_assert_int_eq(gcra_available(tat, now + 3 * SEC, &lim), 3);
	/* idle long enough: a fresh key again */
	ck_assert_int_eq(gcra_available(tat, now + 60 * SEC, &lim), 5);
}
END_TEST

/* No edge burst: a steady sender at the limit never gets a double window. */
START_TEST(gcra_no_window_edge)
{
	struct rate_spec r = spec("10/1m");
	struct gcra_limit lim;
	int64_t tat = 0, now = T0;
	int passed = 0;

	gcra_limit_from_spec(&r, &lim);
	/* try once a second for 3 minutes: 10 at once, then one per 6 s */
	for (int s = 0; s < 180; s++, now += SEC)
		if (gcra_wait_us(tat, now, &lim, 1) == 0) {
			tat = gcra_charge(tat, now, &lim, 1);
			passed++;
		}
	/* the burst at 0 s, then at 6, 12, ... 174 s */
	ck_assert_int_eq(passed, 10 + 29);
}
END_TEST

START_TEST(gcra_many_events)
{
	struct rate_spec r = spec("100/1h burst 10");
	struct gcra_limit lim;

	gcra_limit_from_spec(&r, &lim);
	ck_assert_int_eq(gcra_wait_us(0, T0, &lim, 10), 0);
	ck_assert_int_eq(gcra_wait_us(0, T0, &lim, 11), 36 * SEC);
	/* a charge over the limit still counts, and clamps instead of overflowing */
	ck_assert(gcra_charge(0, T0, &lim, 1L << 40) <= T0 + GCRA_MAX_AHEAD_US);
}
END_TEST

static struct rl_item item(const char *key, const char *text, long n)
{
	struct rl_item it = { .key = key, .n = n };
	struct rate_spec r = spec(text);

	gcra_limit_from_spec(&r, &it.limit);
	return it;
}

START_TEST(mem_check_and_charge)
{
	struct rl_mem *m = rl_mem_new(1000);
	struct rl_item it = item("msg:login:a", "2/1h", 1);
	struct rl_mem_stats st;

	ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0, false), GH_OK);
	ck_assert_int_eq(it.wait_us, 0);
	rl_mem_stats(m, &st);
	ck_assert_uint_eq(st.keys, 0); /* a check stores nothing */
	ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0, true), GH_OK);
	ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0, true), GH_OK);
	ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0, false), GH_OK);
	ck_assert_int_eq(it.wait_us, 1800 * SEC);
	ck_assert_int_eq(rl_mem_get(m, "msg:login:a"), T0 + 3600 * SEC);
	ck_assert(rl_mem_reset(m, "msg:login:a"));
	ck_assert(!rl_mem_reset(m, "msg:login:a"));
	ck_assert_int_eq(rl_mem_get(m, "msg:login:a"), 0);
	rl_mem_free(m);
}
END_TEST

/* Bounded: never more than the cap; idle counters go first and losslessly. */
START_TEST(mem_bounded_idle_first)
{
	struct rl_mem *m = rl_mem_new(640);
	struct rl_mem_stats st;
	char key[32];

	/* 640 busy counters (1/1d: busy all day) */
	for (int i = 0; i < 640; i++) {
		struct rl_item it = item(key, "1/1d", 1);

		snprintf(key, sizeof(key), "busy:%d", i);
		ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0, true), GH_OK);
	}
	/* 5000 counters that are idle a second later (1000/1s) */
	for (int i = 0; i < 5000; i++) {
		struct rl_item it = item(key, "1000/1s", 1);

		snprintf(key, sizeof(key), "idle:%d", i);
		ck_assert_int_eq(rl_mem_apply(m, &it, 1, T0 + SEC + i * 10 * SEC, true), GH_OK);
	}
	rl_mem_stats(m, &st);
	ck_assert_uint_le(st.keys, 640);
	ck_assert_uint_gt(st.evicted_idle, 4000);
	rl_mem_free(m);
}
END_TEST

struct mem_thread {
	struct rl_mem *m;
	int id;
};

static void *mem_thread_run(void *arg)
{
	struct mem_thread *t = arg;
	char key[32];

	for (int i = 0; i < 20000; i++) {
		struct rl_item it[2] = { item("msg:login:shared", "1000000/1d", 1),
					 item(key, "10/1m", 1) };

		snprintf(key, sizeof(key), "k:%d:%d", t->id, i % 500);
		rl_mem_apply(t->m, it, 2, T0, true);
	}
	return NULL;
}

/* Eight threads charging one shared counter and their own: nothing lost. */
START_TEST(mem_threads)
{
	struct rl_mem *m = rl_mem_new(100000);
	struct mem_thread t[8];
	pthread_t th[8];
	struct rl_item shared = item("msg:login:shared", "1000000/1d", 1);
	struct rl_mem_stats st;

	for (int i = 0; i < 8; i++) {
		t[i] = (struct mem_thread){ m, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, mem_thread_run, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	/* 160000 events at T0 of T = 86400 us each */
	ck_assert_int_eq(rl_mem_get(m, "msg:login:shared"), T0 + 160000LL * shared.limit.interval_us);
	rl_mem_stats(m, &st);
	ck_assert_uint_eq(st.keys, 1 + 8 * 500);
	rl_mem_free(m);
}
END_TEST

static struct ratelimit *limiter(void)
{
	struct ratelimit_options o = { .redis = "", .max_keys = 10000 };
	struct ratelimit *rl = ratelimit_new(&o, NULL);

	ck_assert_ptr_nonnull(rl);
	return rl;
}

/* Messages and recipients; a reload's new limit applies to the old counters. */
START_TEST(limiter_scopes_and_reload)
{
	struct ratelimit *rl = limiter();
	struct ratelimit_limits l = { 0 };
	struct ratelimit_subject subj = { .value = { "alice", "example.org", NULL } };
	struct ratelimit_answer a;

	l.msg[RATELIMIT_LOGIN] = spec("3/1h");
	l.rcpt[RATELIMIT_DOMAIN] = spec("10/1h");
	ck_assert(ratelimit_active(&l, &subj));
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 2, T0, &a), GH_OK);
		ck_assert(!a.refused);
		ck_assert_int_eq(ratelimit_charge(rl, &l, &subj, 2, T0, &a), GH_OK);
	}
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.refused);
	ck_assert_str_eq(a.kind, "msg");
	ck_assert_int_eq(a.scope, RATELIMIT_LOGIN);
	ck_assert_str_eq(a.value, "alice");
	ck_assert_int_eq(a.wait_us, 1200 * SEC);
	ck_assert_int_eq(a.available, 0);
	/* 10 minutes later the old limit still refuses (one message per 20 min) */
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0 + 600 * SEC, &a), GH_OK);
	ck_assert(a.refused);
	/* a reload doubles the login limit: the same counter, read with the
	 * new one, has room now; nothing was reset */
	l.msg[RATELIMIT_LOGIN] = spec("6/1h");
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 5, T0 + 600 * SEC, &a), GH_OK);
	ck_assert(!a.refused);
	/* 6 recipients charged at T0 of 10/1h: 6 more at T0+600 s do not fit */
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 6, T0 + 600 * SEC, &a), GH_OK);
	ck_assert(a.refused);
	ck_assert_str_eq(a.kind, "rcpt");
	ck_assert_int_eq(a.scope, RATELIMIT_DOMAIN);
	ck_assert_str_eq(a.value, "example.org");
	/* another login of the same domain shares only the domain's counter */
	subj.value[RATELIMIT_LOGIN] = "bob";
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 4, T0, &a), GH_OK);
	ck_assert(!a.refused);
	ratelimit_free(rl);
}
END_TEST

/* Redis configured but absent: local fallback counts, tempfail refuses,
 * accept lets through; never a hang (the socket does not exist). */
START_TEST(limiter_redis_down_fallbacks)
{
	struct ratelimit_options o = { .redis = "unix:/nonexistent/redis.sock",
				       .redis_timeout_ms = 100,
				       .max_keys = 1000 };
	struct ratelimit *rl = ratelimit_new(&o, NULL);
	struct ratelimit_limits l = { 0 };
	struct ratelimit_subject subj = { .value = { "alice", NULL, NULL } };
	struct ratelimit_answer a;

	ck_assert_ptr_nonnull(rl);
	l.msg[RATELIMIT_LOGIN] = spec("1/1h");
	l.fallback = RATELIMIT_FALLBACK_LOCAL;
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.local && !a.refused && !a.failed);
	ck_assert(a.redis_changed); /* the first failure is news */
	ck_assert_int_eq(ratelimit_charge(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(!a.redis_changed); /* the second is not */
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.local && a.refused);
	l.fallback = RATELIMIT_FALLBACK_ACCEPT;
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.local && !a.refused && !a.failed);
	l.fallback = RATELIMIT_FALLBACK_TEMPFAIL;
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.failed);
	ratelimit_free(rl);
}
END_TEST

/* Per-counter limits from a file: sorted, looked up, "none"; bad lines
 * and a counter listed twice are FILE:LINE errors. */
START_TEST(overrides_load)
{
	const char *text = "# exceptions\n"
			   "msg:login:newsletter  20000/1d burst 2000  # the bulk account\n"
			   "\n"
			   "rcpt:domain:example.net none\n"
			   "msg:login:trainee 2/1h\n";
	char *path = unit_write_file(text, strlen(text));
	struct rate_overrides o;
	struct diag errs = { 0 };
	const struct rate_spec *r;

	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), 0);
	ck_assert_uint_eq(o.n, 3);
	r = rate_overrides_find(&o, "msg:login:newsletter");
	ck_assert(r != NULL && r->set && r->count == 20000 && r->burst == 2000);
	r = rate_overrides_find(&o, "rcpt:domain:example.net");
	ck_assert(r != NULL && !r->set);
	ck_assert_ptr_null(rate_overrides_find(&o, "msg:login:alice"));
	rate_overrides_free(&o);
	unit_remove_file(path);

	text = "msg:login:a 2/1h\nlogin:b 2/1h\nmsg:user:c 1/1h\nmsg:login:d\nmsg:login:e 2/1w\n"
	       "msg:login:a 3/1h\n";
	path = unit_write_file(text, strlen(text));
	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), -1);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_uint_eq(errs.n, 4); /* lines 2-5; the duplicate is checked once the rest parse */
	for (size_t i = 0; i < errs.n; i++) {
		char want[600];

		snprintf(want, sizeof(want), "%s:%zu: ", path, i + 2);
		ck_assert_msg(strncmp(errs.lines[i], want, strlen(want)) == 0, "%s", errs.lines[i]);
	}
	diag_clear(&errs);
	unit_remove_file(path);
	text = "msg:login:a 2/1h\nrcpt:login:a 2/1h\nmsg:login:a 3/1h\n";
	path = unit_write_file(text, strlen(text));
	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0], ":3: msg:login:a is listed twice (also on line 1)"),
		      "%s", errs.lines[0]);
	diag_clear(&errs);
	unit_remove_file(path);
}
END_TEST

/* An override replaces the directive's limit for that counter only. */
START_TEST(limiter_overrides)
{
	const char *text = "msg:login:bulk 100/1h\nmsg:login:new 1/1h\nmsg:login:free none\n"
			   "msg:login:solo 1/1h\n";
	char *path = unit_write_file(text, strlen(text));
	struct rate_overrides o;
	struct ratelimit *rl = limiter();
	struct ratelimit_limits l = { 0 };
	struct ratelimit_subject subj = { .value = { NULL, NULL, NULL } };
	struct ratelimit_answer a;
	static const char *const who[] = { "alice", "bulk", "new", "free" };
	static const int passed_want[] = { 3, 10, 1, 10 };

	ck_assert_int_eq(rate_overrides_load(path, &o, NULL), 0);
	l.msg[RATELIMIT_LOGIN] = spec("3/1h");
	l.overrides = &o;
	for (int w = 0; w < 4; w++) {
		int passed = 0;

		subj.value[RATELIMIT_LOGIN] = who[w];
		for (int i = 0; i < 10; i++) {
			ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
			if (a.refused)
				continue;
			passed++;
			ck_assert_int_eq(ratelimit_charge(rl, &l, &subj, 1, T0, &a), GH_OK);
		}
		ck_assert_msg(passed == passed_want[w], "%s: %d passed", who[w], passed);
	}
	/* an override applies even where the directive sets no limit */
	l.msg[RATELIMIT_LOGIN] = spec("");
	subj.value[RATELIMIT_LOGIN] = "solo";
	ck_assert(ratelimit_active(&l, &subj));
	ck_assert_int_eq(ratelimit_charge(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert_int_eq(ratelimit_check(rl, &l, &subj, 1, T0, &a), GH_OK);
	ck_assert(a.refused && a.spec->count == 1);
	ratelimit_free(rl);
	rate_overrides_free(&o);
	unit_remove_file(path);
}
END_TEST

/* accepted_message - DATA, a From, end of header and of message: accepted
 * (and charged) */
static void accepted_message(struct session *s)
{
	ck_assert_int_eq(engine_data(s), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_header(s, "From", "a@example.org"), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eoh(s), GH_ACT_CONTINUE);
	ck_assert_int_eq(engine_eom(s), GH_ACT_ACCEPT);
}

/* A counter in the file is stored as the limiter names it, so an override
 * written with capitals, U-labels or a long IPv6 form is the one mail is
 * charged to; what names no countable value is FILE:LINE. */
START_TEST(overrides_canonical_keys)
{
	const char *text = "msg:domain:Example.ORG 1/1h\n"
			   "rcpt:domain:B\xc3\x9c" "CHER.example 2/1h\n"
			   "msg:client:2001:DB8:0:0::7 3/1h\n"
			   "msg:client:192.0.2.7 4/1h\n"
			   "msg:login:Alice 5/1h\n"
			   "rcpt:client:::FFFF:192.0.2.9 6/1h\n";
	char *path = unit_write_file(text, strlen(text));
	struct rate_overrides o;
	struct diag errs = { 0 };
	const struct rate_spec *r;
	char *canon;

	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), 0);
	r = rate_overrides_find(&o, "msg:domain:example.org");
	ck_assert(r != NULL && r->count == 1);
	r = rate_overrides_find(&o, "rcpt:domain:xn--bcher-kva.example");
	ck_assert(r != NULL && r->count == 2);
	r = rate_overrides_find(&o, "msg:client:2001:db8::7");
	ck_assert(r != NULL && r->count == 3);
	r = rate_overrides_find(&o, "msg:client:192.0.2.7");
	ck_assert(r != NULL && r->count == 4);
	/* an IPv4-mapped address is the IPv4 client it maps */
	r = rate_overrides_find(&o, "rcpt:client:192.0.2.9");
	ck_assert(r != NULL && r->count == 6);
	/* a login without case, as the identity check compares it */
	ck_assert_ptr_nonnull(rate_overrides_find(&o, "msg:login:alice"));
	ck_assert_ptr_null(rate_overrides_find(&o, "msg:login:Alice"));
	rate_overrides_free(&o);
	unit_remove_file(path);

	/* two spellings of one counter are the same counter */
	text = "msg:domain:example.org 1/1h\nmsg:domain:EXAMPLE.org. 2/1h\n";
	path = unit_write_file(text, strlen(text));
	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0], ":2: msg:domain:example.org is listed twice (also on "
					    "line 1)"),
		      "%s", errs.lines[0]);
	diag_clear(&errs);
	unit_remove_file(path);

	/* values the engine never charges: each line refused, with its reason */
	text = "msg:client:192.0.2.0/24 1/1h\nmsg:client:[192.0.2.7] 1/1h\n"
	       "msg:client:mail.example.org 1/1h\nmsg:domain:a@b.example 1/1h\n"
	       "msg:domain: 1/1h\nmsg:login:a\0b 1/1h\n";
	path = unit_write_file(text, strlen(text) + 1 + strlen(text + strlen(text) + 1));
	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), -1);
	ck_assert_uint_eq(errs.n, 6);
	for (size_t i = 0; i < errs.n; i++) {
		static const char *const why[] = { "names no IP address", "names no IP address",
						   "names no IP address", "names an address",
						   "names no value", "NUL byte" };
		char want[600];

		snprintf(want, sizeof(want), "%s:%zu: ", path, i + 1);
		ck_assert_msg(strncmp(errs.lines[i], want, strlen(want)) == 0 &&
				      strstr(errs.lines[i], why[i]) != NULL,
			      "%s", errs.lines[i]);
	}
	diag_clear(&errs);
	unit_remove_file(path);

	/* what the engine does charge loads: mail without a client address,
	 * a name libidn2 refuses (kept as written, ASCII in lower case) */
	text = "msg:client:unknown none\nmsg:domain:XN--ZZ.example 1/1h\n";
	path = unit_write_file(text, strlen(text));
	ck_assert_int_eq(rate_overrides_load(path, &o, &errs), 0);
	ck_assert_ptr_nonnull(rate_overrides_find(&o, "msg:client:unknown"));
	ck_assert_ptr_nonnull(rate_overrides_find(&o, "msg:domain:xn--zz.example"));
	rate_overrides_free(&o);
	unit_remove_file(path);

	/* the CLI's form: the kind may be left out */
	ck_assert_ptr_null(rate_overrides_key_canon("domain:Example.ORG", true, &canon));
	ck_assert_str_eq(canon, "domain:example.org");
	free(canon);
	ck_assert_ptr_nonnull(rate_overrides_key_canon("domain:Example.ORG", false, &canon));
	ck_assert_ptr_null(canon);
	ck_assert_ptr_nonnull(rate_overrides_key_canon("alice", true, &canon));
	ck_assert_ptr_null(canon);
}
END_TEST

/* The one spelling of a counter's value, which the engine charges and the
 * overrides file and the CLI name: every value has one, never empty. */
START_TEST(value_spellings)
{
	static const struct {
		const char *scope, *in, *want;
	} cases[] = {
		{ "login", "Alice@Example.ORG", "alice@example.org" },
		{ "login", "\xc3\x84rger", "\xc3\x84rger" }, /* ASCII case only, as login_map */
		{ "domain", "Example.ORG", "example.org" },
		{ "domain", "example.org..", "example.org" },
		{ "domain", "B\xc3\x9c" "CHER.example.", "xn--bcher-kva.example" },
		{ "domain", "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
		{ "domain", "\xef\xbc\x8e", "\xef\xbc\x8e" }, /* maps to nothing: kept */
		{ "domain", "XN--ZZ.example", "xn--zz.example" }, /* refused by libidn2 */
		{ "domain", "...", "..." },
		{ "client", "2001:DB8:0:0::7", "2001:db8::7" },
		{ "client", "::FFFF:192.0.2.9", "192.0.2.9" },
		{ "client", "unknown", "unknown" },
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v = rate_overrides_value(a, cases[i].scope, cases[i].in);

		ck_assert_msg(v != NULL && strcmp(v, cases[i].want) == 0, "%s %s -> %s",
			      cases[i].scope, cases[i].in, v ? v : "NULL");
		/* a spelling is its own spelling */
		ck_assert_str_eq(rate_overrides_value(a, cases[i].scope, v), v);
	}
	arena_free(a);
}
END_TEST

/* A sender domain that maps to nothing (a lone U+FF0E, which the address
 * parser takes) is still a counter, not a way past the limit. */
START_TEST(engine_domain_never_empty)
{
	struct config *cfg = unit_config_ok("ratelimit_sender_domain = 1/1h\n");
	struct unit_log ul;
	struct session *s;
	struct ratelimit *rl = limiter();
	const char *mail[] = { "<a@\xef\xbc\x8e>", NULL };

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(cfg, &ul.log);
	s->ratelimit = rl;
	unit_connect(s);
	ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_CONTINUE);
	accepted_message(s);
	ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_TEMPFAIL);
	session_free(s);
	ratelimit_free(rl);
	unit_log_close(&ul);
}
END_TEST

/* One sender domain is one counter, however MAIL FROM spells it: as
 * U-labels, as A-labels, with capitals outside ASCII. */
START_TEST(engine_domain_one_counter)
{
	struct config *cfg = unit_config_ok("ratelimit_sender_domain = 3/1h\n");
	struct unit_log ul;
	struct session *s;
	struct ratelimit *rl = limiter();
	const char *spellings[] = { "<a@b\xc3\xbc" "cher.example>", "<b@xn--bcher-kva.example>",
				    "<c@B\xc3\x9c" "CHER.EXAMPLE>", "<d@b\xc3\xbc" "cher.example>" };

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(cfg, &ul.log);
	s->ratelimit = rl;
	unit_connect(s);
	for (int i = 0; i < 4; i++) {
		const char *mail[] = { spellings[i], NULL };

		ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
		if (i == 3) {
			ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_TEMPFAIL);
			break;
		}
		ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_CONTINUE);
		accepted_message(s);
	}
	ck_assert_ptr_nonnull(
		strstr(unit_log_text(&ul), "ratelimit: refused key=msg:domain:xn--bcher-kva.example "));
	session_free(s);
	ratelimit_free(rl);
	unit_log_close(&ul);
}
END_TEST

/* One login is one counter, whatever case the client typed it in: the
 * identity check takes Alice for alice, and so does the limiter. */
START_TEST(engine_login_one_counter)
{
	struct config *cfg = unit_config_ok("ratelimit_login = 2/1h\n");
	struct unit_log ul;
	struct session *s;
	struct ratelimit *rl = limiter();
	const char *logins[] = { "Alice", "ALICE", "alice" };
	const char *mail[] = { "<a@example.org>", NULL };

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(cfg, &ul.log);
	s->ratelimit = rl;
	unit_connect(s);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(engine_mail(s, mail, logins[i]), GH_ACT_CONTINUE);
		if (i == 2) {
			ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_TEMPFAIL);
			break;
		}
		ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_CONTINUE);
		accepted_message(s);
	}
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "ratelimit: refused key=msg:login:alice "));
	session_free(s);
	ratelimit_free(rl);
	unit_log_close(&ul);
}
END_TEST

/* One client is one counter: an IPv4 client passed as IPv4-mapped IPv6
 * (an MTA listening on an IPv6 socket) is the IPv4 address. */
START_TEST(engine_client_one_counter)
{
	struct config *cfg = unit_config_ok("ratelimit_client = 1/1h\n"
					    "internal_networks = 192.0.2.0/24\n");
	struct unit_log ul;
	struct session *s;
	struct ratelimit *rl = limiter();
	const char *ips[] = { "::ffff:192.0.2.9", "192.0.2.9" };
	const char *mail[] = { "<a@example.org>", NULL };

	unit_log_open(&ul, LOG_INFO);
	for (int i = 0; i < 2; i++) {
		s = unit_session(i == 0 ? config_ref(cfg) : cfg, &ul.log); /* one per session */
		s->ratelimit = rl;
		ck_assert_int_eq(engine_connect(s, "relay.example.org", ips[i]), GH_ACT_CONTINUE);
		ck_assert_int_eq(engine_helo(s, "relay.example.org"), GH_ACT_CONTINUE);
		ck_assert_int_eq(engine_mail(s, mail, NULL), GH_ACT_CONTINUE);
		if (i == 1) {
			ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_TEMPFAIL);
		} else {
			ck_assert_int_eq(unit_rcpt(s, "<r@example.net>"), GH_ACT_CONTINUE);
			accepted_message(s);
		}
		session_free(s);
	}
	ck_assert_ptr_nonnull(
		strstr(unit_log_text(&ul), "ratelimit: refused key=msg:client:192.0.2.9 "));
	ratelimit_free(rl);
	unit_log_close(&ul);
}
END_TEST

/* The engine: outbound login limit at RCPT, charged only for accepted mail. */
START_TEST(engine_rcpt_and_eom)
{
	struct config *cfg = unit_config_ok("ratelimit_login_rcpt = 3/1h\n");
	struct unit_log ul;
	struct session *s;
	struct ratelimit *rl = limiter();
	const char *mail[] = { "<a@example.org>", NULL };

	unit_log_open(&ul, LOG_INFO);
	s = unit_session(cfg, &ul.log);
	s->ratelimit = rl;
	unit_connect(s);
	/* a message refused at its end costs nothing: abort it */
	ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r1@example.net>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r2@example.net>"), GH_ACT_CONTINUE);
	engine_abort(s);
	/* four recipients: the 4th gets 451 4.7.1, the first three stay */
	ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r1@example.net>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r2@example.net>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r3@example.net>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r4@example.net>"), GH_ACT_TEMPFAIL);
	ck_assert_str_eq(s->reply.smtp_code, "451");
	ck_assert_str_eq(s->reply.enhanced_code, "4.7.1");
	ck_assert_ptr_nonnull(strstr(s->reply.text, "try again in 1200 s"));
	ck_assert_uint_eq(s->msg.nrcpts, 3);
	accepted_message(s);
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "ratelimit: refused key=rcpt:login:alice "
							   "limit=3/3600s burst=3 asked=4 "
							   "available=3 wait=1200s"));
	/* charged: the next message's first recipient waits */
	ck_assert_int_eq(engine_mail(s, mail, "alice"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r1@example.net>"), GH_ACT_TEMPFAIL);
	/* inbound mail (no login, not internal) is not limited */
	ck_assert_int_eq(unit_mail(s, "<x@example.com>"), GH_ACT_CONTINUE);
	ck_assert_int_eq(unit_rcpt(s, "<r1@example.net>"), GH_ACT_CONTINUE);
	session_free(s);
	ratelimit_free(rl);
	unit_log_close(&ul);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, spec_parses);
	tcase_add_test(tc, spec_refuses);
	tcase_add_test(tc, spec_config_error_has_line);
	tcase_add_test(tc, gcra_burst_then_rate);
	tcase_add_test(tc, gcra_no_window_edge);
	tcase_add_test(tc, gcra_many_events);
	tcase_add_test(tc, mem_check_and_charge);
	tcase_add_test(tc, mem_bounded_idle_first);
	tcase_add_test(tc, mem_threads);
	tcase_add_test(tc, limiter_scopes_and_reload);
	tcase_add_test(tc, limiter_redis_down_fallbacks);
	tcase_add_test(tc, overrides_load);
	tcase_add_test(tc, limiter_overrides);
	tcase_add_test(tc, overrides_canonical_keys);
	tcase_add_test(tc, value_spellings);
	tcase_add_test(tc, engine_domain_never_empty);
	tcase_add_test(tc, engine_domain_one_counter);
	tcase_add_test(tc, engine_login_one_counter);
	tcase_add_test(tc, engine_client_one_counter);
	tcase_add_test(tc, engine_rcpt_and_eom);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(ratelimit_suite());
}
