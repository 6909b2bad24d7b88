/*
 * dmarc_report_cli.c - `gatehouse dmarc-report` (see dmarc_report_cli.h)
 *
 * The report layer builds the reports and the mail; this file reads the
 * command line and the configuration, writes files (each through a
 * temporary name and rename(), so a reader never sees half a report) and
 * runs sendmail (fork, a pipe, exec: the one process the daemon layer
 * starts).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/cli.h"
#include "daemon/dmarc_report_cli.h"
#include "dns/dns.h"
#include "mail/author.h"
#include "report/report_agg.h"
#include "report/report_mail.h"
#include "report/report_store.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/gh.h"
#include "util/strbuf.h"

static void usage(FILE *fp)
{
	fputs("usage: gatehouse dmarc-report [-c FILE] [--since T] [--until T] [--out DIR | "
	      "--send]\n"
	      "  T: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] (UTC) or seconds since the epoch;\n"
	      "     the period is [since, until); default: the previous full UTC day;\n"
	      "     --since alone: until today 00:00 UTC (now, if since is today);\n"
	      "     --until alone: the day before until\n"
	      "  --out DIR   write one RFC 9990 report file per policy domain into DIR\n"
	      "  --send      mail each report to its verified rua= addresses (once)\n"
	      "  without --out or --send: list the reports the period has\n",
	      fp);
}

/* parse_time - T into *OUT; false when it is none of the forms */
static bool parse_time(const char *t, long long *out)
{
	static const char *const forms[] = { "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
					     "%Y-%m-%dT%H:%MZ",	   "%Y-%m-%dT%H:%M",
					     "%Y-%m-%d",	   NULL };
	char *end;

	if (*t >= '0' && *t <= '9' && strchr(t, '-') == NULL) {
		errno = 0;
		*out = strtoll(t, &end, 10);
		return errno == 0 && *end == '\0';
	}
	for (size_t i = 0; forms[i] != NULL; i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(t, forms[i], &tm);

		if (rest != NULL && *rest == '\0') {
			*out = (long long)timegm(&tm);
			return true;
		}
	}
	return false;
}

/* write_file - DIR/R->file_name, atomically; 0 or -1 (printed) */
static int write_file(const char *dir, const struct report *r)
{
	struct strbuf path, tmp;
	int fd, rc = -1;
	bool bad;
	size_t done = 0;

	strbuf_init(&path);
	strbuf_init(&tmp);
	strbuf_printf(&path, "%s/%s", dir, r->file_name);
	strbuf_printf(&tmp, "%s/.%s.tmp", dir, r->file_name);
	if (path.failed || tmp.failed) {
		fprintf(stderr, "gatehouse dmarc-report: out of memory\n");
		goto out;
	}
	fd = open(strbuf_cstr(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s\n", strbuf_cstr(&tmp),
			strerror(errno));
		goto out;
	}
	while (done < r->gz_len) {
		ssize_t n = write(fd, r->gz + done, r->gz_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	/* the data on disk before the name: a crash leaves the old file or
	 * the new one, never half of one */
	bad = done < r->gz_len || fsync(fd) != 0;
	bad |= close(fd) != 0;
	if (bad) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s\n", strbuf_cstr(&tmp),
			strerror(errno));
		unlink(strbuf_cstr(&tmp));
		goto out;
	}
	if (rename(strbuf_cstr(&tmp), strbuf_cstr(&path)) != 0) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s\n", strbuf_cstr(&path),
			strerror(errno));
		unlink(strbuf_cstr(&tmp));
		goto out;
	}
	printf("wrote %s (%llu messages, %zu records)\n", strbuf_cstr(&path), r->messages,
	       r->records);
	rc = 0;
out:
	strbuf_free(&path);
	strbuf_free(&tmp);
	return rc;
}

/* sendmail - MAIL to SENDMAIL -t -oi; 0 when it exited 0 */
static int sendmail(const char *prog, const struct strbuf *mail)
{
	int p[2], status;
	pid_t pid;
	size_t done = 0;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	if (pipe(p) != 0) {
		signal(SIGPIPE, old);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl(prog, prog, "-t", "-oi", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	while (pid > 0 && done < mail->len) {
		ssize_t n = write(p[1], mail->data + done, mail->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(p[1]);
	signal(SIGPIPE, old);
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return done == mail->len && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* send_one - R to its destinations, unless sent before; 0 or -1 */
static int send_one(const struct config *c, struct dns_resolver *dns, struct report_store *st,
		    const struct report_meta *m, const struct report *r)
{
	struct arena *a = arena_new();
	struct strbuf notes, mail, err;
	const char **to = NULL;
	size_t nto = 0;
	int rc = -1, sent;
	enum report_mail_rc d;

	strbuf_init(&notes);
	strbuf_init(&mail);
	strbuf_init(&err);
	if (a == NULL)
		goto out;
	if ((sent = report_store_sent(st, r->report_id, &err)) != 0) {
		if (sent > 0)
			printf("%s: already sent (report %s)\n", r->policy_domain, r->report_id);
		else
			fprintf(stderr, "gatehouse dmarc-report: %s\n", strbuf_cstr(&err));
		rc = sent > 0 ? 0 : -1;
		goto out;
	}
	/* the mail's size, for "!size": the attachment in base64 plus headers */
	d = report_mail_destinations(dns, a, r->policy_domain, r->rua, c->dmarc_report_exclude,
				     r->gz_len / 3 * 4 + 2048, &to, &nto, &notes);
	fputs(strbuf_cstr(&notes), stdout);
	if (d != RM_OK) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s\n", r->policy_domain,
			d == RM_TEMP ? "DNS failure: not sent, the next run tries again"
				     : "out of memory");
		goto out;
	}
	if (nto == 0) {
		printf("%s: no destination: nothing sent\n", r->policy_domain);
		rc = 0;
		goto out;
	}
	if (report_mail_build(m, r, to, nto, (long long)time(NULL), &mail) != 0) {
		fprintf(stderr, "gatehouse dmarc-report: out of memory\n");
		goto out;
	}
	if (sendmail(c->dmarc_report_sendmail, &mail) != 0) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s -t -oi failed: not sent\n",
			r->policy_domain, c->dmarc_report_sendmail);
		goto out;
	}
	if (report_store_mark_sent(st, r->report_id, r->policy_domain, (long long)time(NULL),
				   &err) != 0)
		fprintf(stderr, "gatehouse dmarc-report: sent, but not remembered: %s\n",
			strbuf_cstr(&err));
	printf("sent %s (%llu messages) to", r->file_name, r->messages);
	for (size_t i = 0; i < nto; i++)
		printf(" %s", to[i]);
	printf("\n");
	rc = 0;
out:
	strbuf_free(&notes);
	strbuf_free(&mail);
	strbuf_free(&err);
	arena_free(a);
	return rc;
}

struct cli {
	const char *path, *out, *fixture;
	long long since, until;
	bool have_since, have_until, send;
};

static int parse_args(int argc, char **argv, struct cli *o)
{
	static const struct option longs[] = { { "config", required_argument, NULL, 'c' },
					       { "since", required_argument, NULL, 's' },
					       { "until", required_argument, NULL, 'u' },
					       { "out", required_argument, NULL, 'o' },
					       { "send", no_argument, NULL, 'S' },
					       { "dns-fixture", required_argument, NULL, 'F' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 's':
		case 'u':
			if (!parse_time(optarg, ch == 's' ? &o->since : &o->until)) {
				fprintf(stderr, "gatehouse dmarc-report: --%s %s: not a time\n",
					ch == 's' ? "since" : "until", optarg);
				return EX_USAGE;
			}
			*(ch == 's' ? &o->have_since : &o->have_until) = true;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'S':
			o->send = true;
			break;
		case 'F':
			o->fixture = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || (o->out != NULL && o->send)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!o->have_until) {
		/* the previous full UTC day: until today's 00:00 */
		o->until = (long long)time(NULL) / 86400 * 86400;
		if (o->have_since && o->since >= o->until)
			o->until = (long long)time(NULL) + 1; /* up to now, this second included */
	}
	if (!o->have_since)
		o->since = o->until - 86400; /* one day before until */
	if (o->since >= o->until) {
		fprintf(stderr, "gatehouse dmarc-report: --since must come before --until\n");
		return EX_USAGE;
	}
	if (o->path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		o->path = CONFIG_DEFAULT_PATH;
	return 0;
}

/* open_resolver - the resolver --send verifies destinations with */
static struct dns_resolver *open_resolver(const struct config *c, const char *fixture)
{
	struct diag errs = { 0 };
	struct dns_options d = {
		.timeout_ms = c->dns_timeout_ms,
		.forwarders = c->dns_forwarders,
		.trust_anchor_file = c->dns_trust_anchor_file,
		.fixture_file = fixture ? fixture : c->dns_fixture,
	};
	struct dns_resolver *r = dns_resolver_new(&d, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&errs);
	return r;
}

/* run - with the configuration and the store open */
static int run(const struct config *c, struct report_store *st, const struct cli *o)
{
	const char *at = strrchr(c->dmarc_report_email, '@');
	struct report_meta m = {
		.org_name = *c->dmarc_report_org_name ? c->dmarc_report_org_name : at + 1,
		.email = c->dmarc_report_email,
		.receiver = at + 1,
		.generator = "gatehouse " GH_VERSION,
		.exclude = c->dmarc_report_exclude,
		.begin = o->since,
		.end = o->until,
	};
	struct strbuf err;
	struct report *r = NULL;
	struct dns_resolver *dns = NULL;
	size_t n = 0;
	long long expired = 0;
	int status = 0;

	strbuf_init(&err);
	if (report_store_expire(st, (long long)time(NULL) - c->dmarc_report_max_age * 86400LL,
				&expired, &err) != 0 ||
	    report_agg_build(st, &m, &r, &n, &err) != 0) {
		fprintf(stderr, "gatehouse dmarc-report: %s: %s\n", c->dmarc_report_db,
			strbuf_cstr(&err));
		strbuf_free(&err);
		return 2;
	}
	if (expired > 0)
		printf("expired %lld record(s) older than %ld days\n", expired,
		       c->dmarc_report_max_age);
	if (o->send) {
		author_lib_init(); /* GMime */
		if ((dns = open_resolver(c, o->fixture)) == NULL)
			status = 2;
	}
	for (size_t i = 0; i < n && status != 2; i++) {
		if (o->out != NULL && write_file(o->out, &r[i]) != 0)
			status = 1;
		else if (o->send && send_one(c, dns, st, &m, &r[i]) != 0)
			status = 1;
		else if (o->out == NULL && !o->send)
			printf("%s (%llu messages, %zu records)\n", r[i].file_name, r[i].messages,
			       r[i].records);
	}
	if (n == 0)
		printf("no DMARC evaluations recorded from %lld to %lld\n", m.begin, m.end - 1);
	dns_resolver_free(dns);
	report_agg_free(r, n);
	strbuf_free(&err);
	return status;
}

int dmarc_report_main(int argc, char **argv)
{
	struct cli o = { 0 };
	struct config *c;
	struct report_store *st;
	struct strbuf err;
	int rc = parse_args(argc, argv, &o);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	c = cli_config_load(o.path);
	if (c == NULL)
		return 2;
	if (*c->dmarc_report_db == '\0' || strchr(c->dmarc_report_email, '@') == NULL ||
	    strrchr(c->dmarc_report_email, '@')[1] == '\0') {
		fprintf(stderr,
			"gatehouse dmarc-report: %s: dmarc_report_db and "
			"dmarc_report_email (local@domain) must be set\n",
			c->path);
		config_unref(c);
		return 2;
	}
	strbuf_init(&err);
	st = report_store_open(c->dmarc_report_db, false, &err);
	if (st == NULL) {
		fprintf(stderr, "gatehouse dmarc-report: %s\n", strbuf_cstr(&err));
		strbuf_free(&err);
		config_unref(c);
		return 2;
	}
	strbuf_free(&err);
	rc = run(c, st, &o);
	report_store_close(st);
	config_unref(c);
	return rc;
}
