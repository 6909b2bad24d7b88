/*
 * stats_cli.h - `gatehouse stats [-c FILE]`: the running daemon's metrics
 *
 * Asks the daemon through its control_socket (control.h, "metrics") and
 * prints the same Prometheus text the metrics endpoint serves, so a shell
 * on the host sees what the dashboard sees without an HTTP client.
 * Exit: 0 printed, 1 the daemon could not be reached or answered an error,
 * 64 usage, 78 configuration (no control_socket).
 */
#ifndef STATS_CLI_H
#define STATS_CLI_H

/* stats_cli_main - ARGV[0] is "stats" */
int stats_cli_main(int argc, char **argv);

#endif
