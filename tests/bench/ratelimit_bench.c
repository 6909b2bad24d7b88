/*
 * ratelimit_bench.c - what the rate limiter costs, and what its counters weigh
 *
 * usage: ratelimit_bench [-r unix:/path/redis.sock] [-k KEYS] TMPDIR
 *
 * 1. The limiter alone: ratelimit_check + ratelimit_charge for one message
 *    of 2 recipients from one of 10,000 logins, with a login limit on
 *    messages and recipients and a sender-domain limit (three counters):
 *    microseconds per message and checks per second, in process and, with
 *    -r, against Redis (one round trip for the check, one for the charge).
 * 2. Messages through the engine (a small outbound message, every phase,
 *    no DNS): messages per second without limits, with the limits in
 *    process and with them in Redis, in the same run.
 * 3. Memory: KEYS distinct counters (default 1,000,000) charged into the
 *    in-process store: resident memory before and after, bytes per key.
 * Prints Markdown table rows. Never fails on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "conf/rate_spec.h"
#include "engine/engine.h"
#include "engine/services.h"
#include "engine/session.h"
#include "outbound/ratelimit.h"
#include "outbound/rl_mem.h"
#include "util/diag.h"
#include "util/gh.h"
#include "util/log.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* rss_kb - resident memory of this process */
static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp != NULL) {
		if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(fp);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct rate_spec spec(const char *text)
{
	struct rate_spec r;

	if (rate_spec_parse(text, &r) != NULL)
		exit(2);
	return r;
}

/* limiter - N messages through check + charge; prints a row */
static void limiter(const char *label, const char *redis, unsigned n)
{
	struct ratelimit_options o = { .redis = redis, .redis_timeout_ms = 1000, .max_keys = 100000 };
	struct ratelimit *rl = ratelimit_new(&o, NULL);
	struct ratelimit_limits l = { 0 };
	struct ratelimit_answer a;
	char login[32];
	unsigned refused = 0, local = 0;
	double t0;

	if (rl == NULL)
		exit(2);
	l.msg[RATELIMIT_LOGIN] = spec("1000000/1h");
	l.rcpt[RATELIMIT_LOGIN] = spec("1000000/1h");
	l.msg[RATELIMIT_DOMAIN] = spec("1000000000/1h");
	t0 = now_us();
	for (unsigned i = 0; i < n; i++) {
		struct ratelimit_subject subj = { .value = { login, "bench.example", NULL } };

		snprintf(login, sizeof(login), "user%u", i % 10000);
		ratelimit_check(rl, &l, &subj, 2, wall_us(), &a);
		refused += a.refused;
		local += a.local;
		ratelimit_charge(rl, &l, &subj, 2, wall_us(), &a);
	}
	{
		double us = (now_us() - t0) / n;

		printf("| %-28s | %8.2f | %10.0f | %6u | %6u |\n", label, us, 2e6 / us, refused,
		       local);
	}
	ratelimit_free(rl);
}

/* engine_run - N small outbound messages through the engine with CONF */
static double engine_run(const char *conf, unsigned n)
{
	struct diag errs = { 0 };
	struct config *cfg = config_load(conf, &errs);
	struct services *svc = cfg ? services_new(cfg, NULL, &errs) : NULL;
	const char *mail[] = { "<sender@bench.example>", NULL };
	const char *rcpt1[] = { "<a@example.net>", NULL }, *rcpt2[] = { "<b@example.net>", NULL };
	const char body[] = "Hello,\r\nthe numbers are attached.\r\n";
	struct logger log;
	struct session *s;
	char login[32];
	double t0;

	if (cfg == NULL || svc == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		exit(2);
	}
	log_init(&log, LOG_SINK_STDERR, LOG_ERR, 0);
	s = session_new("bench", NULL, cfg, &log);
	services_attach(svc, s);
	engine_connect(s, "client.bench.example", "192.0.2.10");
	engine_helo(s, "client.bench.example");
	t0 = now_us();
	for (unsigned i = 0; i < n; i++) {
		snprintf(login, sizeof(login), "user%u", i % 10000);
		engine_mail(s, mail, login);
		engine_rcpt(s, rcpt1);
		engine_rcpt(s, rcpt2);
		engine_data(s);
		engine_header(s, "From", "<sender@bench.example>", 22);
		engine_header(s, "Subject", "numbers", 7);
		engine_eoh(s);
		engine_body(s, (const unsigned char *)body, sizeof(body) - 1);
		engine_eom(s);
		session_message_end(s, "eom");
	}
	t0 = now_us() - t0;
	session_free(s);
	services_free(svc);
	diag_clear(&errs);
	return n / (t0 / 1e6);
}

static void write_conf(const char *path, const char *zone, const char *extra)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		exit(2);
	fprintf(fp, "dns_fixture = \"%s\"\nspf_received_header = no\n%s", zone, extra);
	fclose(fp);
}

/* memory - KEYS distinct counters into the in-process store */
static void memory(unsigned long keys)
{
	struct rl_mem *m = rl_mem_new(keys);
	struct rl_mem_stats st;
	struct rl_item it = { .n = 1 };
	struct rate_spec r = spec("100/1d");
	char key[48];
	long before = rss_kb(), after;
	double t0 = now_us(), us;

	gcra_limit_from_spec(&r, &it.limit);
	it.key = key;
	for (unsigned long i = 0; i < keys; i++) {
		snprintf(key, sizeof(key), "msg:login:user%07lu@example.org", i);
		rl_mem_apply(m, &it, 1, wall_us(), true);
	}
	us = (now_us() - t0) / keys;
	after = rss_kb();
	rl_mem_stats(m, &st);
	printf("| %9lu | %9zu | %8.1f | %9.0f | %6.2f |\n", keys, st.keys,
	       (after - before) / 1024.0, (after - before) * 1024.0 / keys, us);
	rl_mem_free(m);
}

int main(int argc, char **argv)
{
	const char *redis = NULL;
	unsigned long keys = 1000000;
	char zone[1100], none[1100], mem[1100], red[1100], extra[1400];
	const char *limits = "ratelimit_login = 1000000/1h\nratelimit_login_rcpt = 1000000/1h\n"
			     "ratelimit_sender_domain = 1000000000/1h\n";
	int opt;

	while ((opt = getopt(argc, argv, "r:k:")) != -1) {
		if (opt == 'r')
			redis = optarg;
		else if (opt == 'k')
			keys = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: ratelimit_bench [-r unix:/path] [-k KEYS] TMPDIR\n");
		return 2;
	}
	snprintf(zone, sizeof(zone), "%s/empty.zone", argv[optind]);
	snprintf(none, sizeof(none), "%s/none.conf", argv[optind]);
	snprintf(mem, sizeof(mem), "%s/mem.conf", argv[optind]);
	snprintf(red, sizeof(red), "%s/redis.conf", argv[optind]);
	fclose(fopen(zone, "w"));
	write_conf(none, zone, "");
	write_conf(mem, zone, limits);
	snprintf(extra, sizeof(extra), "%sratelimit_redis = \"%s\"\n", limits, redis ? redis : "");
	write_conf(red, zone, extra);

	printf("\n1. The limiter alone: check + charge of one message (2 recipients, 3 counters)\n\n");
	printf("| %-28s | %8s | %10s | %7s | %6s |\n", "store", "us/msg", "calls/s", "refused",
	       "local");
	printf("|------------------------------|----------|------------|--------|--------|\n");
	limiter("in process", "", 500000);
	if (redis != NULL)
		limiter("Redis (unix socket)", redis, 50000);

	printf("\n2. Messages through the engine (small outbound message, 2 recipients)\n\n");
	printf("| %-28s | %10s |\n", "limits", "msgs/s");
	printf("|------------------------------|------------|\n");
	for (int pass = 0; pass < 2; pass++) { /* the first pass warms up */
		double a = engine_run(none, 50000), b = engine_run(mem, 50000);
		double c = redis ? engine_run(red, 20000) : 0;

		if (pass == 0)
			continue;
		printf("| %-28s | %10.0f |\n", "none", a);
		printf("| %-28s | %10.0f |\n", "3 counters, in process", b);
		if (redis != NULL)
			printf("| %-28s | %10.0f |\n", "3 counters, Redis", c);
	}

	printf("\n3. Memory of the in-process store\n\n");
	printf("| %9s | %9s | %8s | %9s | %6s |\n", "charged", "held", "RSS MB", "bytes/key",
	       "us/key");
	printf("|-----------|-----------|----------|-----------|--------|\n");
	memory(keys);
	return 0;
}
