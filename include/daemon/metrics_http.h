/*
 * metrics_http.h - the Prometheus endpoint: GET /metrics on metrics_listen
 *
 * Served by libmicrohttpd (Debian's libmicrohttpd12) on one polling thread
 * of its own, never by a milter worker: a scrape cannot slow mail down, and
 * the HTTP parsing is the library's, not ours. Only GET and HEAD of
 * /metrics are answered (200, text/plain; version=0.0.4); any other path
 * is 404, any other method 405 with Allow. The library bounds what a client
 * can cost: metrics_max_connections at once (half from one address), 16 KB
 * of memory per connection (a longer request line or header is refused by
 * the library with a 4xx), 10 seconds per connection.
 *
 * The listening socket is ours (bound before privileges are dropped, so a
 * port in use is reported with the system's reason); libmicrohttpd takes it
 * over.
 *
 * Threads: metrics_http_open() starts the library's thread, which reads the
 * registry (lock-free) and nothing else; metrics_http_close() stops it.
 */
#ifndef METRICS_HTTP_H
#define METRICS_HTTP_H

#include <stdbool.h>

struct config;
struct logger;
struct metrics;

#define METRICS_HTTP_MEMORY_LIMIT (16 * 1024) /* bytes of request per connection */
#define METRICS_HTTP_TIMEOUT_S 10

struct metrics_http;

/*
 * metrics_http_open - serve REG on C's metrics_listen. NULL with *FAILED
 * false when none is configured; NULL with *FAILED true (and the reason
 * logged) when it cannot be served: the caller does not start.
 */
struct metrics_http *metrics_http_open(const struct config *c, const struct metrics *reg,
				       const struct logger *log, bool *failed);
/* metrics_http_close - stop serving; accepts NULL */
void metrics_http_close(struct metrics_http *h);

#endif
