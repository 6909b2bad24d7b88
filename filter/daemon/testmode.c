/*
 * testmode.c - `gatehouse test` (see testmode.h)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/testmode.h"
#include "engine/engine.h"
#include "engine/report.h"
#include "engine/services.h"
#include "engine/session.h"
#include "engine/snapshot.h"
#include "mail/eml.h"
#include "util/diag.h"
#include "util/log.h"

struct testmode_opts {
	const char *config_path;
	const char *ip, *host, *helo, *from, *auth, *dns_fixture, *qid;
	const char **rcpts;
	size_t nrcpts;
	const char **macros; /* "name=value", as the MTA would send them */
	size_t nmacros;
	const char *file;
	bool json, verbose;
};

static void testmode_usage(FILE *fp)
{
	fputs("usage: gatehouse test [-c CONFIG] --ip ADDR [--host NAME] [--helo NAME]\n"
	      "                      --from ADDR --rcpt ADDR [--rcpt ADDR ...] [--auth LOGIN]\n"
	      "                      [--qid ID] [--dns-fixture FILE] [--macro NAME=VALUE ...]\n"
	      "                      [--json] [-v] [FILE.eml|-]\n"
	      "Runs the engine on one message as the milter would and prints every check\n"
	      "result and the verdict. Exit: 0 accept, 1 reject, 2 tempfail, 3 discard,\n"
	      "4 quarantine, 64 and above for usage, input or configuration errors.\n",
	      fp);
}

int testmode_exit_code(int action)
{
	switch (action) {
	case GH_ACT_REJECT:
		return 1;
	case GH_ACT_TEMPFAIL:
		return 2;
	case GH_ACT_DISCARD:
		return 3;
	case GH_ACT_QUARANTINE:
		return 4;
	default:
		return 0;
	}
}

/* testmode_parse - options into O; returns 0 or an exit status */
static int testmode_parse(int argc, char **argv, struct testmode_opts *o)
{
	static const struct option longopts[] = { { "config", required_argument, NULL, 'c' },
						  { "ip", required_argument, NULL, 'i' },
						  { "host", required_argument, NULL, 'H' },
						  { "helo", required_argument, NULL, 'e' },
						  { "from", required_argument, NULL, 'f' },
						  { "rcpt", required_argument, NULL, 'r' },
						  { "auth", required_argument, NULL, 'a' },
						  { "qid", required_argument, NULL, 'q' },
						  { "dns-fixture", required_argument, NULL, 'd' },
						  { "macro", required_argument, NULL, 'm' },
						  { "json", no_argument, NULL, 'j' },
						  { "verbose", no_argument, NULL, 'v' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'i':
			o->ip = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'e':
			o->helo = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 'a':
			o->auth = optarg;
			break;
		case 'q':
			o->qid = optarg;
			break;
		case 'd':
			o->dns_fixture = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'r': {
			const char **p = realloc(o->rcpts, (o->nrcpts + 1) * sizeof(*p));

			if (p == NULL)
				return EX_OSERR;
			o->rcpts = p;
			o->rcpts[o->nrcpts++] = optarg;
			break;
		}
		case 'm': {
			const char **p = realloc(o->macros, (o->nmacros + 1) * sizeof(*p));

			if (p == NULL)
				return EX_OSERR;
			o->macros = p;
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr, "gatehouse test: --macro %s: expected NAME=VALUE\n",
					optarg);
				return EX_USAGE;
			}
			o->macros[o->nmacros++] = optarg;
			break;
		}
		case 'h':
			testmode_usage(stdout);
			return -1;
		default:
			testmode_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "gatehouse test: one message file at a time\n");
		return EX_USAGE;
	}
	if (o->ip == NULL || o->from == NULL || o->nrcpts == 0) {
		fprintf(stderr,
			"gatehouse test: --ip, --from and at least one --rcpt are required\n");
		testmode_usage(stderr);
		return EX_USAGE;
	}
	{
		unsigned char buf[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, o->ip, buf) != 1 && inet_pton(AF_INET6, o->ip, buf) != 1) {
			fprintf(stderr, "gatehouse test: --ip %s: not an IPv4 or IPv6 address\n",
				o->ip);
			return EX_USAGE;
		}
	}
	if (o->dns_fixture != NULL && access(o->dns_fixture, R_OK) != 0) {
		fprintf(stderr, "gatehouse test: --dns-fixture %s: %s\n", o->dns_fixture,
			strerror(errno));
		return EX_NOINPUT;
	}
	return 0;
}

/* bracketed - the path as an MTA hands it over: "<addr>" */
static char *bracketed(const char *addr)
{
	char *s;

	if (addr[0] == '<')
		return strdup(addr);
	if (asprintf(&s, "<%s>", addr) < 0)
		return NULL;
	return s;
}

/* Feed callbacks: stop (return 1) as soon as the engine has decided. */
static int feed_header(void *ctx, const char *name, const char *value, size_t len)
{
	return verdict_is_final(engine_header_raw(ctx, name, value, len));
}

static int feed_eoh(void *ctx)
{
	return verdict_is_final(engine_eoh(ctx));
}

static int feed_body(void *ctx, const unsigned char *chunk, size_t len)
{
	return verdict_is_final(engine_body(ctx, chunk, len));
}

/* testmode_load_config - -c FILE, else the default file if present, else defaults */
static struct config *testmode_load_config(const char *path)
{
	struct diag errs = { 0 }, warns = { 0 };
	struct config *c;

	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	c = snapshot_load(path, &errs, &warns);
	for (size_t i = 0; i < warns.n; i++)
		fprintf(stderr, "warning: %s\n", warns.lines[i]);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&warns);
	diag_clear(&errs);
	return c;
}

/* testmode_macro - NAME from --macro options: "j" or "{daemon_name}"; the
 * braces are optional on the command line */
static const char *testmode_macro(void *ctx, const char *name)
{
	const struct testmode_opts *o = ctx;
	size_t nlen = strlen(name);

	for (size_t i = 0; i < o->nmacros; i++) {
		const char *m = o->macros[i], *eq = strchr(m, '=');
		size_t klen = (size_t)(eq - m);

		if ((klen == nlen && strncmp(m, name, nlen) == 0) ||
		    (nlen > 2 && name[0] == '{' && klen == nlen - 2 &&
		     strncmp(m, name + 1, klen) == 0))
			return eq + 1;
	}
	return NULL;
}

/* testmode_run - the phases in MTA order; fills FINAL and RCPTS */
static int testmode_run(struct session *s, const struct testmode_opts *o, FILE *in,
			struct verdict *final, struct report_rcpt *rcpts)
{
	const struct eml_callbacks cb = { feed_header, feed_eoh, feed_body };
	struct eml_stats st;
	enum gh_action a;
	char *from = bracketed(o->from);
	const char *argv[2] = { from, NULL };

	if (from == NULL)
		return EX_OSERR;
	a = engine_connect(s, o->host ? o->host : "unknown", o->ip);
	if (!verdict_is_final(a))
		a = engine_helo(s, o->helo ? o->helo : o->ip);
	if (!verdict_is_final(a)) {
		a = engine_mail(s, argv, o->auth);
		if (o->qid)
			session_set_qid(s, o->qid);
	}
	free(from);
	/* Every RCPT goes to the engine, even after a decision: it answers
	 * each with that decision, and the report shows it for each. */
	for (size_t i = 0; i < o->nrcpts; i++) {
		char *rcpt = bracketed(o->rcpts[i]);
		const char *rargv[2] = { rcpt, NULL };
		enum gh_action ra;

		if (rcpt == NULL)
			return EX_OSERR;
		rcpts[i].address = o->rcpts[i];
		ra = engine_rcpt(s, rargv);
		rcpts[i].reply = s->reply;
		free(rcpt);
		/* A refused recipient is that recipient's business only. */
		if (ra != GH_ACT_REJECT && ra != GH_ACT_TEMPFAIL)
			a = ra;
	}
	if (!verdict_is_final(a))
		a = engine_data(s);
	if (!verdict_is_final(a)) {
		if (eml_feed(in, &cb, s, &st) != 0) {
			fprintf(stderr, "gatehouse test: %s: %s\n", o->file ? o->file : "-",
				strerror(errno));
			return EX_IOERR;
		}
		a = st.stopped ? s->reply.action : engine_eom(s);
		if (st.no_separator)
			session_add_check(
				s, "input.header_end", "warn",
				"a line that is not a header field ended the header section");
	}
	*final = verdict_is_final(s->msg.verdict.action)    ? s->msg.verdict
		 : verdict_is_final(s->conn_verdict.action) ? s->conn_verdict
							    : s->reply;
	if (!verdict_is_final(final->action))
		final->action = a;
	return 0;
}

int testmode_main(int argc, char **argv)
{
	struct testmode_opts o = { 0 };
	struct report_rcpt *rcpts = NULL;
	struct logger log;
	struct session *s = NULL;
	struct config *cfg;
	struct verdict final = { 0 };
	struct services *svc = NULL;
	FILE *in = stdin;
	int rc;

	rc = testmode_parse(argc, argv, &o);
	if (rc != 0) {
		free(o.rcpts);
		free(o.macros);
		return rc < 0 ? 0 : rc;
	}
	cfg = testmode_load_config(o.config_path);
	if (cfg == NULL) {
		free(o.rcpts);
		free(o.macros);
		return EX_CONFIG;
	}
	log_init(&log, LOG_SINK_STDERR, o.verbose ? LOG_DEBUG : LOG_WARNING, LOG_MAIL);
	if (o.file != NULL && strcmp(o.file, "-") != 0 && (in = fopen(o.file, "rb")) == NULL) {
		fprintf(stderr, "gatehouse test: %s: %s\n", o.file, strerror(errno));
		config_unref(cfg);
		free(o.rcpts);
		free(o.macros);
		return EX_NOINPUT;
	}
	{
		struct diag errs = { 0 };
		/* dmarc_report_db records here as in the daemon; services_free
		 * flushes the queue before exit */
		const struct services_options so = { .dns_fixture = o.dns_fixture, .log = &log };

		svc = services_new(cfg, &so, &errs);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		diag_clear(&errs);
	}
	if (svc == NULL) {
		rc = o.dns_fixture ? EX_DATAERR : EX_CONFIG;
		config_unref(cfg);
		goto out;
	}
	rcpts = calloc(o.nrcpts, sizeof(*rcpts));
	s = session_new("test", NULL, cfg, &log);
	if (rcpts == NULL || s == NULL) {
		rc = EX_OSERR;
		config_unref(s == NULL ? cfg : NULL);
		goto out;
	}
	services_attach(svc, s);
	s->macro = testmode_macro;
	s->macro_ctx = &o;
	rc = testmode_run(s, &o, in, &final, rcpts);
	if (rc != 0)
		goto out;
	if (o.json) {
		json_t *j = report_json(s, &final, rcpts, o.nrcpts);

		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
			rc = EX_OSERR;
			json_decref(j);
			goto out;
		}
		fputc('\n', stdout);
		json_decref(j);
	} else {
		report_text(stdout, s, &final, rcpts, o.nrcpts);
	}
	rc = testmode_exit_code(final.action);
	if (s->internal_error && final.action == GH_ACT_CONTINUE)
		rc = EX_SOFTWARE;
out:
	session_free(s);
	services_free(svc);
	free(rcpts);
	free(o.rcpts);
	free(o.macros);
	if (in != stdin)
		fclose(in);
	return rc;
}
