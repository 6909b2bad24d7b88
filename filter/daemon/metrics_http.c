/*
 * metrics_http.c - the Prometheus endpoint on libmicrohttpd (see metrics_http.h)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conf/config.h"
#include "daemon/metrics_http.h"
#include "util/hostport.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/strbuf.h"

#define METRICS_HTTP_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct MHD_Daemon *mhd;
	const struct metrics *reg;
	const struct logger *log;
};

/* metrics_http_log - the library's own messages, into our log */
static void metrics_http_log(void *cls, const char *fmt, va_list ap)
{
	const struct metrics_http *h = cls;
	struct strbuf sb;
	va_list copy;
	char *nl;

	strbuf_init(&sb);
	strbuf_puts(&sb, "metrics_listen: ");
	{
		char *msg = NULL;

		va_copy(copy, ap);
		if (vasprintf(&msg, fmt, copy) >= 0) {
			strbuf_puts(&sb, msg);
			free(msg);
		}
		va_end(copy);
	}
	if (!sb.failed && (nl = strchr(sb.data, '\n')) != NULL)
		*nl = '\0';
	log_msg(h->log, LOG_NOTICE, "%s", strbuf_cstr(&sb));
	strbuf_free(&sb);
}

/* metrics_http_send - answer STATUS with BODY (copied) of type TYPE */
static enum MHD_Result metrics_http_send(struct MHD_Connection *conn, unsigned status,
					 const char *body, size_t len, const char *type,
					 const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO; /* the library closes the connection */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result metrics_http_request(void *cls, struct MHD_Connection *conn, const char *url,
					    const char *method, const char *version,
					    const char *upload, size_t *upload_len, void **state)
{
	const struct metrics_http *h = cls;
	static const char nf[] = "not found: the metrics are at /metrics\n";
	static const char na[] = "method not allowed: GET or HEAD\n";
	struct strbuf sb;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_len = 0; /* a body is not read: the answer comes now */
		return metrics_http_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED, na, sizeof(na) - 1,
					 "text/plain", "GET, HEAD");
	}
	if (strcmp(url, "/metrics") != 0)
		return metrics_http_send(conn, MHD_HTTP_NOT_FOUND, nf, sizeof(nf) - 1, "text/plain",
					 NULL);
	strbuf_init(&sb);
	metrics_write(h->reg, &sb);
	if (sb.failed) {
		static const char oom[] = "out of memory\n";

		strbuf_free(&sb);
		return metrics_http_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, oom, sizeof(oom) - 1,
					 "text/plain", NULL);
	}
	rc = metrics_http_send(conn, MHD_HTTP_OK, strbuf_cstr(&sb), sb.len, METRICS_HTTP_TYPE,
			       NULL);
	strbuf_free(&sb);
	return rc;
}

/* metrics_http_bind - our listening socket on TEXT, or -1 with the reason logged */
static int metrics_http_bind(const char *text, const struct logger *log)
{
	struct sockaddr_storage sa;
	socklen_t len;
	const char *why = NULL;
	const int one = 1;
	int fd;

	if (hostport_parse(text, &sa, &len, &why) != 0) {
		log_msg(log, LOG_ERR, "metrics_listen %s: %s", text, why);
		return -1;
	}
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 16) != 0) {
		log_msg(log, LOG_ERR, "metrics_listen %s: cannot listen: %s", text,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct metrics_http *metrics_http_open(const struct config *c, const struct metrics *reg,
				       const struct logger *log, bool *failed)
{
	unsigned per_ip = (unsigned)(c->metrics_max_connections / 2);
	struct metrics_http *h;
	sigset_t all, old;
	int fd;

	*failed = false;
	if (c->metrics_listen[0] == '\0')
		return NULL;
	*failed = true;
	if (reg == NULL) {
		log_msg(log, LOG_ERR, "metrics_listen is set but metrics = no: nothing to serve");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->reg = reg;
	h->log = log;
	if ((fd = metrics_http_bind(c->metrics_listen, log)) < 0) {
		free(h);
		return NULL;
	}
	/* signals belong to the main thread (main.c); the library's thread
	 * inherits this mask */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		metrics_http_request, h, MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log, h,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)c->metrics_max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		per_ip > 0 ? per_ip : 1u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)METRICS_HTTP_MEMORY_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)METRICS_HTTP_TIMEOUT_S, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->mhd == NULL) {
		log_msg(log, LOG_ERR, "metrics_listen %s: libmicrohttpd did not start",
			c->metrics_listen);
		close(fd);
		free(h);
		return NULL;
	}
	*failed = false;
	log_msg(log, LOG_INFO, "metrics on http://%s/metrics", c->metrics_listen);
	return h;
}

void metrics_http_close(struct metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd); /* closes the listening socket it was given */
	free(h);
}
