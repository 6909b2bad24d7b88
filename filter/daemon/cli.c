/*
 * cli.c - command line options of the daemon (see cli.h)
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/cli.h"
#include "util/diag.h"
#include "util/gh.h"

void cli_usage(FILE *fp)
{
	fputs("usage: gatehouse [-c FILE] [-f] [-v] [-p SOCKET]    run the milter\n"
	      "       gatehouse -n [-c FILE]                        check the configuration\n"
	      "       gatehouse -D sample|man|rule-targets|effective [-c FILE]  print docs\n"
	      "       gatehouse test ...                            run one message (see test -h)\n"
	      "       gatehouse ratelimit show [KEY] | reset KEY     rate-limit counters (see -h)\n"
	      "       gatehouse dmarc-report [--out DIR | --send]   reports (see -h)\n"
	      "       gatehouse stats [-c FILE]                     the daemon's metrics\n"
	      "       gatehouse -V | --version                      print the version\n"
	      "       gatehouse -h | --help                         print this text\n"
	      "  -c, --config FILE    configuration file (default " CONFIG_DEFAULT_PATH
	      ", if present)\n"
	      "  -f, --foreground     stay in the foreground; log to standard error (to syslog\n"
	      "                       when standard error is the systemd journal)\n"
	      "  -v, --verbose        log at debug level\n"
	      "  -p, --socket SOCKET  listen here instead of the configured socket\n"
	      "  -n, --check          load the configuration and rules, print problems, exit\n"
	      "  -D, --dump WHAT      print the sample config, man page sections or the\n"
	      "                       effective configuration\n"
	      "Without -f gatehouse detaches once its socket is open and its configuration,\n"
	      "rules and DNS are loaded; a failed start is reported here, with exit status > 0.\n",
	      fp);
}

int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "dump", required_argument, NULL, 'D' },
		{ "socket", required_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fnvD:p:Vh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			o->path_given = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'D':
			o->dump = optarg;
			break;
		case 'p':
			o->socket = optarg;
			break;
		case 'V':
			printf("gatehouse %s\n", GH_VERSION);
			return -1;
		case 'h':
			cli_usage(stdout);
			return -1;
		default:
			cli_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gatehouse: unexpected argument '%s'\n", argv[optind]);
		cli_usage(stderr);
		return EX_USAGE;
	}
	if (o->dump && strcmp(o->dump, "sample") != 0 && strcmp(o->dump, "man") != 0 &&
	    strcmp(o->dump, "effective") != 0 && strcmp(o->dump, "rule-targets") != 0) {
		fprintf(stderr, "gatehouse: -D takes sample, man, rule-targets or effective\n");
		return EX_USAGE;
	}
	if (!o->path_given && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		o->config_path = CONFIG_DEFAULT_PATH;
	return 0;
}

struct config *cli_config_load(const char *path)
{
	struct diag errs = { 0 };
	struct config *c;

	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	c = config_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&errs);
	return c;
}
