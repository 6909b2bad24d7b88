/*
 * sign_bench.c - what outbound policy costs per message, in process
 *
 *   sign_bench -c CONF -m MESSAGE -l LOGIN -f FROM -n N    the engine
 *   sign_bench -c CONF -i N -l LOGIN -f ADDR               the identity check alone
 *   sign_bench -c CONF -s N -f ADDR                         the SigningTable lookup alone
 *   sign_bench -o KEY.pem -a rsa|ed25519 -m MESSAGE -n N    libopendkim signing
 *
 * The first mode drives exactly the engine the daemon runs (snapshot_load,
 * services, a session; MAIL with {auth_authen}, RCPT, the message through
 * eml_feed, eom) N times and reports messages per second, CPU per message
 * (getrusage: user + system) and the RSS after 10,000 and 100,000 messages
 * and at the end. The second times outbound_identity() against the loaded
 * maps, the third dkim_tables_lookup(); both also say how long the
 * configuration took to load, which is what large maps cost at a reload.
 * The fourth signs the same message with libopendkim (the library OpenDKIM
 * signs with) for a same-run comparison of the signing work alone. Timings
 * are reported, never asserted (tests/bench/README.md).
 */
#define _DEFAULT_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <opendkim/dkim.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "engine/services.h"
#include "engine/session.h"
#include "engine/snapshot.h"
#include "mail/eml.h"
#include "outbound/dkim_tables.h"
#include "outbound/outbound.h"
#include "util/diag.h"
#include "util/log.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;

	if (fp != NULL) {
		if (fscanf(fp, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(fp);
	}
	return res * 4;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0)
		exit(2);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n)
		exit(2);
	fclose(fp);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static int cb_header(void *ctx, const char *n, const char *v, size_t len)
{
	return verdict_is_final(engine_header_raw(ctx, n, v, len));
}

static int cb_eoh(void *ctx)
{
	return verdict_is_final(engine_eoh(ctx));
}

static int cb_body(void *ctx, const unsigned char *c, size_t len)
{
	return verdict_is_final(engine_body(ctx, c, len));
}

static void report(const char *what, long n, double wall, double cpu)
{
	printf("%s: %ld messages, %.0f msgs/s, %.1f us CPU per message, RSS %ld KB\n", what, n,
	       (double)n / wall, cpu * 1e6 / (double)n, rss_kb());
	fflush(stdout);
}

/* bench_engine - N messages through the engine with LOGIN as {auth_authen} */
static int bench_engine(const char *conf, const char *msgfile, const char *login,
			const char *from, long n)
{
	struct diag errs = { 0 };
	struct config *cfg = snapshot_load(conf, &errs, NULL);
	struct services *svc = cfg ? services_new(cfg, NULL, &errs) : NULL;
	const struct eml_callbacks cb = { cb_header, cb_eoh, cb_body };
	const char *rcpt[] = { "<rcpt@example.net>", NULL };
	char *path = NULL;
	const char *mail[] = { NULL, NULL };
	struct logger log;
	struct session *s;
	size_t len;
	char *msg = slurp(msgfile, &len);
	double w0, c0;
	unsigned sigs = 0;

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	if (svc == NULL)
		return 2;
	if (asprintf(&path, "<%s>", from) < 0)
		return 2;
	mail[0] = path;
	log_init(&log, LOG_SINK_STDERR, LOG_ERR, 0);
	s = session_new("bench", NULL, cfg, &log);
	services_attach(svc, s);
	engine_connect(s, "client.example.net", "192.0.2.10");
	engine_helo(s, "client.example.net");
	w0 = now_s();
	c0 = cpu_s();
	for (long i = 1; i <= n; i++) {
		FILE *in = fmemopen(msg, len, "r");
		struct eml_stats st;

		engine_mail(s, mail, login);
		engine_rcpt(s, rcpt);
		engine_data(s);
		eml_feed(in, &cb, s, &st);
		fclose(in);
		if (engine_eom(s) != GH_ACT_ACCEPT)
			fprintf(stderr, "message %ld: not accepted\n", i);
		if (i == 1)
			for (size_t e = 0; e < s->msg.nedits; e++)
				sigs += strcmp(s->msg.edits[e].name, "DKIM-Signature") == 0;
		session_message_end(s, "eom");
		if (i == 10000 || i == 100000 || i == n) {
			char what[64];

			snprintf(what, sizeof(what), "engine, %u signature(s) each", sigs);
			report(what, i, now_s() - w0, cpu_s() - c0);
		}
	}
	session_free(s);
	services_free(svc);
	free(path);
	free(msg);
	diag_clear(&errs);
	return 0;
}

/* bench_load - CONF loaded; prints the CPU the load took and the RSS after it */
static struct config *bench_load(const char *conf)
{
	struct diag errs = { 0 };
	double c0 = cpu_s();
	struct config *cfg = snapshot_load(conf, &errs, NULL);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&errs);
	if (cfg != NULL)
		printf("configuration loaded in %.1f ms CPU, RSS %ld KB\n", (cpu_s() - c0) * 1e3,
		       rss_kb());
	return cfg;
}

/* bench_identity - N identity checks of LOGIN against ADDR */
static int bench_identity(const char *conf, const char *login, const char *addr, long n)
{
	struct config *cfg = bench_load(conf);
	double c0;
	long pass = 0;

	if (cfg == NULL)
		return 2;
	c0 = cpu_s();
	for (long i = 0; i < n; i++)
		pass += outbound_identity(cfg->outbound, cfg, login, addr, NULL) == OUTBOUND_ID_PASS;
	printf("identity check: %ld checks (%ld passed), %.2f us CPU per check\n", n, pass,
	       (cpu_s() - c0) * 1e6 / (double)n);
	config_unref(cfg);
	return 0;
}

/* bench_signtable - N SigningTable lookups of ADDR */
static int bench_signtable(const char *conf, const char *addr, long n)
{
	struct config *cfg = bench_load(conf);
	const struct dkim_key *keys[DKIM_TABLES_MAX_KEYS];
	double c0;
	long found = 0;

	if (cfg == NULL || cfg->outbound == NULL || cfg->outbound->dkim == NULL) {
		config_unref(cfg);
		return 2;
	}
	c0 = cpu_s();
	for (long i = 0; i < n; i++)
		found += dkim_tables_lookup(cfg->outbound->dkim, addr, keys) > 0;
	printf("signing table lookup: %ld lookups (%ld found), %.2f us CPU per lookup\n", n,
	       found, (cpu_s() - c0) * 1e6 / (double)n);
	config_unref(cfg);
	return 0;
}

/* bench_opendkim - N signatures of the message with libopendkim */
static int bench_opendkim(const char *keyfile, const char *alg, const char *msgfile, long n)
{
	size_t klen, len;
	char *key = slurp(keyfile, &klen), *msg = slurp(msgfile, &len);
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	dkim_alg_t a = strcmp(alg, "ed25519") == 0 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
	char *body = strstr(msg, "\n\n");
	double w0 = now_s(), c0 = cpu_s();

	if (lib == NULL || body == NULL)
		return 2;
	*body = '\0';
	body += 2;
	for (long i = 1; i <= n; i++) {
		DKIM_STAT st;
		DKIM *d = dkim_sign(lib, (const u_char *)"bench", NULL, (dkim_sigkey_t)key,
				    (const u_char *)"s1", (const u_char *)"example.org",
				    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, a, -1, &st);
		unsigned char hdr[4096];

		if (d == NULL)
			return 2;
		for (char *h = msg, *e; *h; h = e + (*e != '\0')) {
			e = strchr(h, '\n');
			while (e != NULL && (e[1] == ' ' || e[1] == '\t'))
				e = strchr(e + 1, '\n');
			if (e == NULL)
				e = h + strlen(h);
			dkim_header(d, (u_char *)h, (size_t)(e - h));
		}
		dkim_eoh(d);
		for (char *l = body, *e; *l; l = e + (*e != '\0')) {
			e = strchr(l, '\n');
			if (e == NULL)
				e = l + strlen(l);
			dkim_body(d, (u_char *)l, (size_t)(e - l));
			dkim_body(d, (u_char *)"\r\n", 2);
		}
		dkim_eom(d, NULL);
		dkim_getsighdr(d, hdr, sizeof(hdr), 0);
		dkim_free(d);
		if (i == 10000 || i == 100000 || i == n) {
			char what[64];

			snprintf(what, sizeof(what), "libopendkim %s signing", alg);
			report(what, i, now_s() - w0, cpu_s() - c0);
		}
	}
	dkim_close(lib);
	free(key);
	free(msg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *msg = NULL, *login = "alice", *from = "alice@example.org",
		   *okey = NULL, *alg = "rsa";
	long n = 10000, ident = 0, sign = 0;
	int ch;

	while ((ch = getopt(argc, argv, "c:m:l:f:n:i:s:o:a:")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'm': msg = optarg; break;
		case 'l': login = optarg; break;
		case 'f': from = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'i': ident = atol(optarg); break;
		case 's': sign = atol(optarg); break;
		case 'o': okey = optarg; break;
		case 'a': alg = optarg; break;
		default:
			fprintf(stderr, "usage: see the top of tests/bench/sign_bench.c\n");
			return 64;
		}
	}
	if (okey != NULL && msg != NULL)
		return bench_opendkim(okey, alg, msg, n);
	if (conf != NULL && sign > 0)
		return bench_signtable(conf, from, sign);
	if (conf != NULL && ident > 0)
		return bench_identity(conf, login, from, ident);
	if (conf != NULL && msg != NULL)
		return bench_engine(conf, msg, login, from, n);
	fprintf(stderr, "usage: see the top of tests/bench/sign_bench.c\n");
	return 64;
}
