/*
 * ratelimit_cli.h - `gatehouse ratelimit show [KEY] | reset KEY`
 *
 * For the admin who must look at or unblock an account. With
 * ratelimit_redis set, the counters a fleet shares are read and reset in
 * Redis directly; the running daemon's in-process counters are reached
 * through its control_socket (control.h). `show` reads Redis when it is
 * configured, else the daemon; `reset` clears both, so an account is
 * unblocked also on a host counting locally while Redis was away.
 * Exit: 0 done, 1 a store could not be reached, 64 usage, 78 configuration.
 */
#ifndef RATELIMIT_CLI_H
#define RATELIMIT_CLI_H

/* ratelimit_cli_main - ARGV[0] is "ratelimit" */
int ratelimit_cli_main(int argc, char **argv);

#endif
