/*
 * cli.h - the daemon's command line
 *
 *   gatehouse [-c FILE] [-f] [-v] [-p SOCKET]      run the milter
 *   gatehouse -n [-c FILE]                         check the configuration
 *   gatehouse -D sample|man|rule-targets|effective print docs
 *   gatehouse test ...                             one message (testmode.h)
 *   gatehouse -V | --version, -h | --help
 * Long forms: --config, --foreground, --verbose, --socket, --check, --dump.
 */
#ifndef DAEMON_CLI_H
#define DAEMON_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct config;

struct cli_opts {
	const char *config_path; /* NULL: built-in defaults */
	bool path_given, foreground, check_only, verbose;
	const char *dump;   /* -D sample | man | rule-targets | effective */
	const char *socket; /* -p overrides the config */
};

/* cli_parse - ARGV into O: 0 to go on, -1 when done (help or version
 * printed, exit 0), or an exit status (usage error, printed) */
int cli_parse(int argc, char **argv, struct cli_opts *o);
/* cli_usage - the usage text */
void cli_usage(FILE *fp);
/* cli_config_load - the configuration a subcommand (stats, ratelimit,
 * dmarc-report) reads: PATH, or the default file when it exists (built-in
 * defaults otherwise), each load error printed on stderr as FILE:LINE:
 * message; NULL when it cannot be loaded */
struct config *cli_config_load(const char *path);

#endif
