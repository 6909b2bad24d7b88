/*
 * stats_cli.c - `gatehouse stats` (see stats_cli.h)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/cli.h"
#include "daemon/control.h"
#include "daemon/stats_cli.h"

static void stats_cli_usage(FILE *fp)
{
	fputs("usage: gatehouse stats [-c FILE]\n"
	      "Print the running daemon's metrics (Prometheus text format), asked through\n"
	      "its control_socket; the same numbers as http://metrics_listen/metrics.\n",
	      fp);
}

int stats_cli_main(int argc, char **argv)
{
	static const struct option longs[] = { { "config", required_argument, NULL, 'c' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	const char *path = NULL;
	struct config *c;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+c:h", longs, NULL)) != -1) {
		if (opt == 'c') {
			path = optarg;
		} else {
			stats_cli_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : EX_USAGE;
		}
	}
	if (optind != argc) {
		stats_cli_usage(stderr);
		return EX_USAGE;
	}
	c = cli_config_load(path);
	if (c == NULL)
		return EX_CONFIG;
	if (c->control_socket[0] == '\0') {
		fprintf(stderr,
			"gatehouse stats: control_socket is not set in %s "
			"(or scrape metrics_listen's /metrics)\n",
			c->path);
		config_unref(c);
		return EX_CONFIG;
	}
	/* the answer is kept whole first: an error line must not reach stdout
	 * as if it were metrics */
	out = open_memstream(&text, &len);
	rc = out == NULL ? 1 : control_request(c->control_socket, "metrics", out);
	if (out != NULL)
		fclose(out);
	if (rc == 0 && (len == 0 || strncmp(text, "error:", 6) == 0)) {
		fprintf(stderr, "gatehouse stats: %s",
			len ? text : "the daemon answered nothing\n");
		rc = 1;
	} else if (rc == 0) {
		fwrite(text, 1, len, stdout);
	}
	free(text);
	config_unref(c);
	return rc;
}
