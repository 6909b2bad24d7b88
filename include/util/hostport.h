/*
 * hostport.h - "HOST:PORT" with an IP literal, as a socket address
 *
 * metrics_listen's grammar: "127.0.0.1:9112", "[::1]:9112", "0.0.0.0:9112",
 * or a port alone ("9112", ":9112"), which means loopback, 127.0.0.1.
 * HOST is an IPv4 address or an IPv6 address in brackets (no names: a
 * listener's address must not depend on DNS at start); PORT is 1..65535.
 * The configuration checks with it and the daemon binds with it, so the two
 * read the same text the same way.
 */
#ifndef HOSTPORT_H
#define HOSTPORT_H

#include <sys/socket.h>

/* hostport_parse - TEXT into SA (LEN set); 0, or -1 with *WHY (static text) */
int hostport_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len, const char **why);

#endif
