/*
 * rules_bench.c - what rules cost per message, through the real engine
 *
 * usage: rules_bench [-n MESSAGES] [-k KB] OUTDIR
 *
 * Generates a corpus of multipart messages of about KB kilobytes (text/plain
 * in quoted-printable, text/html in base64, so the MIME walk decodes both)
 * and rule sets of 0, 100 and 1,000 rules (about 40% header patterns, 60%
 * body patterns, a few with flags the prefilter cannot take, a handful that
 * match), writes them under OUTDIR, and runs every message through the
 * engine's phase calls (no MTA, no DNS: the cost measured is parsing, the
 * MIME walk and the rules). 1,000 rules run twice: with the Hyperscan
 * prefilter and with PCRE2 alone. Prints one line per configuration:
 * microseconds per message (median of 5 passes), per KB, and rule hits per
 * message, as a Markdown table row. Never fails on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "mail/eml.h"
#include "engine/engine.h"
#include "engine/services.h"
#include "util/diag.h"
#include "util/log.h"
#include "engine/session.h"

static const char *const words[] = {
	"the", "meeting", "report", "quarterly", "numbers", "please", "review", "attached",
	"customer", "invoice", "shipping", "delivery", "schedule", "project", "update",
	"team", "budget", "forecast", "approval", "contract", "support", "ticket", "release",
	"notes", "product", "roadmap", "feedback", "survey", "results", "holiday", "office",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

/* paragraph - about LEN bytes of prose into FP, lines under 76 bytes */
static void prose(FILE *fp, size_t len, unsigned *seed, int html)
{
	size_t n = 0, col = 0;

	while (n < len) {
		const char *w = words[rnd(seed) % NWORDS];
		size_t wl = strlen(w);

		if (col + wl + 1 > 70) {
			fputs(html ? "<br>\n" : "\n", fp);
			n += html ? 5 : 1;
			col = 0;
		}
		fprintf(fp, "%s%s", col ? " " : "", w);
		n += wl + (col ? 1 : 0);
		col += wl + 1;
	}
	fputc('\n', fp);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_file - the bytes of SRC as base64 into FP, 76 per line */
static void base64_copy(FILE *fp, const unsigned char *p, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		fputc(b64[v >> 18 & 63], fp);
		fputc(b64[v >> 12 & 63], fp);
		fputc(i + 1 < n ? b64[v >> 6 & 63] : '=', fp);
		fputc(i + 2 < n ? b64[v & 63] : '=', fp);
		if ((col += 4) >= 76) {
			fputc('\n', fp);
			col = 0;
		}
	}
	fputc('\n', fp);
}

static void write_message(const char *path, size_t kb, unsigned seed)
{
	FILE *fp = fopen(path, "w");
	char *html = NULL;
	size_t hlen = 0;
	FILE *h = open_memstream(&html, &hlen);

	if (fp == NULL || h == NULL) {
		perror(path);
		exit(2);
	}
	fprintf(fp, "From: Bench Sender %u <sender%u@bench.example>\nTo: rcpt@example.net\n"
		"Subject: weekly project update %u\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
		"Message-ID: <bench.%u@bench.example>\nX-Mailer: BenchMailer 1.0\nMIME-Version: 1.0\n"
		"Content-Type: multipart/alternative; boundary=\"bnd%u\"\n\n"
		"--bnd%u\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
		seed, seed, seed, seed, seed, seed);
	prose(fp, kb * 1024 / 2, &seed, 0);
	fprintf(fp, "--bnd%u\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n", seed);
	fputs("<html><body><p>", h);
	prose(h, kb * 1024 / 3, &seed, 1);
	fputs("</p></body></html>\n", h);
	fclose(h);
	base64_copy(fp, (unsigned char *)html, hlen);
	fprintf(fp, "--bnd%u--\n", seed);
	free(html);
	fclose(fp);
}

/* write_rules - N rules into DIR/bench.rules; about 1 in 200 matches */
static void write_rules(const char *dir, unsigned n)
{
	char path[1100];
	FILE *fp;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/bench.rules", dir);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	for (unsigned i = 0; i < n; i++) {
		switch (i % 10) {
		case 0: fprintf(fp, "rule h%u { when subject ~ /\\bwinner-%04u\\b/i reject }\n", i, i); break;
		case 1: fprintf(fp, "rule h%u { when header.X-Mailer ~ /^BulkMailer %04u/ quarantine }\n", i, i); break;
		case 2: fprintf(fp, "rule h%u { when from.display ~ /lottery office %u/i reject }\n", i, i); break;
		case 3: fprintf(fp, "rule h%u { when mail.from ~ /@spam%u\\.example$/ reject }\n", i, i); break;
		case 4: fprintf(fp, "rule b%u { when body ~ /unsubscribe-zz%04u|lottery\\s+%04u/i reject }\n", i, i, i); break;
		case 5: fprintf(fp, "rule b%u { when body ~ /\\bclaim your prize %u\\b/i reject }\n", i, i); break;
		case 6: fprintf(fp, "rule b%u { when body ~ /viagra-%u|c1al1s-%u/ reject }\n", i, i, i); break;
		case 7: fprintf(fp, "rule b%u { when body.raw ~ /X-Spam-Token-%u/ reject }\n", i, i); break;
		case 8: fprintf(fp, "rule b%u { when body ~ /(?:wire|transfer)\\s+\\$\\d{3},\\d{3}\\s+%u/i reject }\n", i, i); break;
		case 9:
			if (i % 200 == 9)	/* a few that match, so matching work is measured too */
				fprintf(fp, "rule m%u { when body ~ /quarterly\\s+numbers/ monitor }\n", i);
			else if (i % 50 == 19)	/* x flag: PCRE2 only */
				fprintf(fp, "rule x%u { when body ~ / secret \\s+ code \\s+ %u /x reject }\n", i, i);
			else
				fprintf(fp, "rule b%u { when body ~ /account\\s+suspended\\s+#%u/i reject }\n", i, i);
			break;
		}
	}
	fclose(fp);
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

/* run_one - one message through every phase; the number of rule hits */
static size_t run_one(struct session *s, const char *path)
{
	const struct eml_callbacks cb = { cb_header, cb_eoh, cb_body };
	const char *mail[] = { "<sender@bench.example>", NULL };
	const char *rcpt[] = { "<rcpt@example.net>", NULL };
	struct eml_stats st;
	size_t hits;
	FILE *in = fopen(path, "r");

	if (in == NULL)
		return 0;
	engine_mail(s, mail, NULL);
	engine_rcpt(s, rcpt);
	engine_data(s);
	eml_feed(in, &cb, s, &st);
	fclose(in);
	engine_eom(s);
	hits = s->msg.results.nrules;
	session_message_end(s, "eom");
	return hits;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* bench - every message PASSES times with config CONF; prints a table row */
static void bench(const char *label, const char *conf, char **msgs, unsigned nmsg, size_t kb)
{
	struct diag errs = { 0 };
	struct config *cfg = config_load(conf, &errs);
	struct services *svc = cfg ? services_new(cfg, NULL, &errs) : NULL;
	struct logger log;
	struct session *s;
	double pass_us[5];
	size_t hits = 0;

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
	for (unsigned i = 0; i < nmsg; i++)	/* warm-up: caches, JIT, scratch */
		run_one(s, msgs[i]);
	for (int p = 0; p < 5; p++) {
		double t0 = now_us();

		hits = 0;
		for (unsigned i = 0; i < nmsg; i++)
			hits += run_one(s, msgs[i]);
		pass_us[p] = (now_us() - t0) / nmsg;
	}
	qsort(pass_us, 5, sizeof(double), cmp_double);
	printf("| %-34s | %9.0f | %7.1f | %9.0f-%-6.0f | %5.2f |\n", label, pass_us[2],
	       pass_us[2] / (double)kb, pass_us[0], pass_us[4], (double)hits / nmsg);
	fflush(stdout);
	session_free(s);
	services_free(svc);
	diag_clear(&errs);
}

int main(int argc, char **argv)
{
	unsigned nmsg = 20;
	size_t kb = 50;
	char *out;
	char path[1100], zone[1100], **msgs;
	FILE *zfp;
	int opt;

	while ((opt = getopt(argc, argv, "n:k:")) != -1) {
		if (opt == 'n')
			nmsg = (unsigned)atoi(optarg);
		else if (opt == 'k')
			kb = (size_t)atol(optarg);
		else
			return 64;
	}
	if (optind >= argc || nmsg == 0 || kb == 0) {
		fprintf(stderr, "usage: rules_bench [-n MESSAGES] [-k KB] OUTDIR\n");
		return 64;
	}
	mkdir(argv[optind], 0755);
	out = realpath(argv[optind], NULL);	/* rules_dir is relative to the config file otherwise */
	if (out == NULL) {
		perror(argv[optind]);
		return 2;
	}
	/* Every check runs as in the daemon (services.c), with DNS answered from
	 * an empty fixture: every name NXDOMAIN, no network, same cost each run. */
	snprintf(zone, sizeof(zone), "%s/empty.zone", out);
	if ((zfp = fopen(zone, "w")) == NULL)
		return 2;
	fputs("; every name is NXDOMAIN\n", zfp);
	fclose(zfp);
	msgs = calloc(nmsg, sizeof(*msgs));
	for (unsigned i = 0; i < nmsg; i++) {
		snprintf(path, sizeof(path), "%s/msg%03u.eml", out, i);
		write_message(path, kb, 1000 + i);
		msgs[i] = strdup(path);
	}
	{
		static const struct { const char *name; unsigned n; int prefilter; } sets[] = {
			{ "0", 0, 1 }, { "100", 100, 1 }, { "1000", 1000, 1 }, { "1000-pcre2", 1000, 0 },
		};
		printf("| rules (%u messages of %zu KB)       | us/msg    | us/KB   | spread (min-max) | hits  |\n", nmsg, kb);
		printf("|------------------------------------|-----------|---------|------------------|-------|\n");
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
			char dir[1024], conf[1024], label[64];
			FILE *fp;

			snprintf(dir, sizeof(dir), "%s/rules-%s", out, sets[i].name);
			snprintf(conf, sizeof(conf), "%s/%s.conf", out, sets[i].name);
			write_rules(dir, sets[i].n);
			if ((fp = fopen(conf, "w")) == NULL)
				return 2;
			fprintf(fp, "rules_dir = \"%s\"\nrules_prefilter = %s\nspf_received_header = no\n"
				"dns_fixture = \"%s\"\n",
				sets[i].n ? dir : "", sets[i].prefilter ? "yes" : "no", zone);
			fclose(fp);
			snprintf(label, sizeof(label), "%u rules%s", sets[i].n,
				 sets[i].prefilter ? (sets[i].n ? ", Hyperscan prefilter" : "") : ", PCRE2 only");
			bench(label, conf, msgs, nmsg, kb);
		}
	}
	for (unsigned i = 0; i < nmsg; i++)
		free(msgs[i]);
	free(msgs);
	free(out);
	return 0;
}
