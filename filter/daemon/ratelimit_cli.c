/*
 * ratelimit_cli.c - `gatehouse ratelimit` (see ratelimit_cli.h)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "conf/rate_overrides.h"
#include "daemon/cli.h"
#include "daemon/control.h"
#include "daemon/ratelimit_cli.h"
#include "engine/engine_ratelimit.h"
#include "outbound/ratelimit.h"
#include "outbound/rl_redis.h"
#include "util/diag.h"
#include "util/gh.h"
#include "util/strbuf.h"

static void ratelimit_cli_usage(FILE *fp)
{
	fputs("usage: gatehouse ratelimit [-c FILE] show [KEY]\n"
	      "       gatehouse ratelimit [-c FILE] reset KEY\n"
	      "KEY is a counter (msg:login:alice, rcpt:domain:example.org, msg:client:192.0.2.7)\n"
	      "or, without msg:/rcpt:, both counters of a login, domain or client\n"
	      "(login:alice). With ratelimit_redis the counters are read and reset in Redis;\n"
	      "the daemon's in-process counters through its control_socket.\n",
	      fp);
}

/* ratelimit_cli_redis - the same request against Redis; 0 or 1 */
static int ratelimit_cli_redis(const struct config *c, bool show, const char *key)
{
	struct ratelimit_limits limits;
	struct ratelimit_show cs = { stdout, &limits, ratelimit_wall_us(), 0 };
	struct diag errs = { 0 };
	struct rl_redis *r = rl_redis_new(c->ratelimit_redis, c->ratelimit_redis_timeout_ms, &errs);
	int rc = GH_OK;

	(void)engine_ratelimit_limits(c, &limits);
	if (r != NULL && show && key == NULL) {
		rc = rl_redis_foreach(r, ratelimit_show_one, &cs, &errs);
	} else if (r != NULL) {
		bool kinded = strncmp(key, "msg:", 4) == 0 || strncmp(key, "rcpt:", 5) == 0;
		const char *kinds[] = { "msg:", "rcpt:" };

		for (int i = kinded ? 1 : 0; i < 2 && rc == GH_OK; i++) {
			struct strbuf k;
			int64_t tat = 0;
			bool gone = false;

			strbuf_init(&k);
			strbuf_printf(&k, "%s%s", kinded ? "" : kinds[i], key);
			if (show) {
				rc = rl_redis_get(r, strbuf_cstr(&k), &tat, &errs);
				if (rc == GH_OK && tat > cs.now_us)
					ratelimit_show_one(&cs, strbuf_cstr(&k), tat);
			} else {
				rc = rl_redis_reset(r, strbuf_cstr(&k), &gone, &errs);
				cs.n += gone ? 1 : 0;
			}
			strbuf_free(&k);
		}
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "gatehouse ratelimit: %s\n", errs.lines[i]);
	if (r != NULL && rc == GH_OK)
		printf("ok %lu (redis)\n", cs.n);
	diag_clear(&errs);
	rl_redis_free(r);
	return r != NULL && rc == GH_OK ? 0 : 1;
}

int ratelimit_cli_main(int argc, char **argv)
{
	static const struct option longs[] = { { "config", required_argument, NULL, 'c' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	const char *path = NULL, *key, *why;
	char *canon = NULL;
	struct config *c;
	struct strbuf req;
	bool show;
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "+c:h", longs, NULL)) != -1) {
		if (opt == 'c') {
			path = optarg;
		} else {
			ratelimit_cli_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	show = argc >= 1 && strcmp(argv[0], "show") == 0 && argc <= 2;
	if (!show && !(argc == 2 && strcmp(argv[0], "reset") == 0)) {
		ratelimit_cli_usage(stderr);
		return EX_USAGE;
	}
	key = NULL;
	if (argc == 2) {
		/* the counter as mail is charged to it: "domain:Example.ORG" and
		 * "client:2001:DB8::7" name the counters the daemon keeps */
		if ((why = rate_overrides_key_canon(argv[1], true, &canon)) != NULL) {
			fprintf(stderr, "gatehouse ratelimit: %s: %s\n", argv[1], why);
			return EX_USAGE;
		}
		key = canon;
	}
	c = cli_config_load(path);
	if (c == NULL) {
		free(canon);
		return EX_CONFIG;
	}
	if (c->ratelimit_redis[0] == '\0' && c->control_socket[0] == '\0') {
		fprintf(stderr,
			"gatehouse ratelimit: neither ratelimit_redis nor control_socket "
			"is set in %s\n",
			c->path);
		config_unref(c);
		free(canon);
		return EX_CONFIG;
	}
	if (c->ratelimit_redis[0] != '\0')
		rc |= ratelimit_cli_redis(c, show, key);
	if (c->control_socket[0] != '\0' && (!show || c->ratelimit_redis[0] == '\0')) {
		strbuf_init(&req);
		strbuf_printf(&req, "%s%s%s", show ? "show" : "reset", key ? " " : "",
			      key ? key : "");
		rc |= req.failed ? 1
				 : control_request(c->control_socket, strbuf_cstr(&req), stdout);
		strbuf_free(&req);
	}
	config_unref(c);
	free(canon);
	return rc;
}
