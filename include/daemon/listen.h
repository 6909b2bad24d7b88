/*
 * listen.h - the milter's listening socket from the configured spec
 *
 * "inet:PORT@HOST", "inet6:PORT@HOST", "unix:/path" or "local:/path", as
 * libmilter wrote them (README). A missing socket directory is created
 * (mode 0750, the daemon's user, socket_group). A unix socket is created with its final
 * mode (socket_mode) and then given socket_owner and socket_group, so there
 * is no moment in which the MTA could connect and be refused; a stale socket
 * file is replaced. TCP sockets get TCP_NODELAY (Linux passes it on to the
 * accepted sockets): a reply must not wait for the MTA's delayed ACK.
 * The descriptor is non-blocking and close-on-exec.
 */
#ifndef DAEMON_LISTEN_H
#define DAEMON_LISTEN_H

#include <stdio.h>

struct config;
struct logger;

/* listen_open - the listening socket for C's socket spec; -1 with the reason logged */
int listen_open(const struct config *c, const struct logger *log);
/* listen_check - for -n: say on FP what listen_open would find about C's
 * socket (a missing directory is created at start) */
void listen_check(const struct config *c, FILE *fp);
/* listen_unix_path - the path of a unix:/local: spec, else NULL */
const char *listen_unix_path(const char *spec);

#endif
