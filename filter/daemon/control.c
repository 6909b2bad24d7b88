/*
 * control.c - the daemon's local control socket (see control.h)
 *
 * One request at a time on one thread: an admin's command, never mail, so
 * nothing here is worth a pool; a slow client is cut off after a second so
 * it cannot hold the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/control.h"
#include "engine/engine_metrics.h"
#include "engine/engine_ratelimit.h"
#include "engine/services.h"
#include "outbound/ratelimit.h"
#include "outbound/rl_mem.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/strbuf.h"

struct control {
	int fd;
	int stop[2]; /* a byte here ends the thread */
	char *path;
	pthread_t thread;
	struct config_slot *slot;
	struct services *svc;
	const struct logger *log;
};

void control_answer(FILE *out, const char *line, const struct config *c, struct ratelimit *rl)
{
	struct ratelimit_limits limits;
	struct ratelimit_show cs = { out, &limits, ratelimit_wall_us(), 0 };
	struct rl_mem *m = ratelimit_mem(rl);
	const char *key = NULL;
	bool show;

	(void)engine_ratelimit_limits(c, &limits);
	if (strcmp(line, "show") == 0 || strncmp(line, "show ", 5) == 0) {
		show = true;
		key = line[4] ? line + 5 : NULL;
	} else if (strncmp(line, "reset ", 6) == 0 && line[6] != '\0') {
		show = false;
		key = line + 6;
	} else {
		fputs("error: expected show [KEY] or reset KEY\n", out);
		return;
	}
	if (show && key == NULL) {
		rl_mem_foreach(m, cs.now_us, ratelimit_show_one, &cs);
	} else {
		/* KEY without its kind names both of its counters */
		bool kinded = strncmp(key, "msg:", 4) == 0 || strncmp(key, "rcpt:", 5) == 0;
		const char *kinds[] = { "msg:", "rcpt:" };

		for (int i = kinded ? 1 : 0; i < 2; i++) {
			struct strbuf k;

			strbuf_init(&k);
			strbuf_printf(&k, "%s%s", kinded ? "" : kinds[i], key);
			if (k.failed) {
				fputs("error: out of memory\n", out);
				strbuf_free(&k);
				return;
			}
			if (!show) {
				cs.n += rl_mem_reset(m, strbuf_cstr(&k)) ? 1 : 0;
			} else {
				int64_t tat = rl_mem_get(m, strbuf_cstr(&k));

				if (tat > cs.now_us)
					ratelimit_show_one(&cs, strbuf_cstr(&k), tat);
			}
			strbuf_free(&k);
		}
	}
	fprintf(out, "ok %lu\n", cs.n);
}

void control_metrics(FILE *out, const struct services *svc)
{
	struct strbuf sb;

	if (svc->metrics == NULL) {
		fputs("error: metrics = no: nothing is counted\n", out);
		return;
	}
	strbuf_init(&sb);
	metrics_write(svc->metrics->reg, &sb);
	if (sb.failed)
		fputs("error: out of memory\n", out);
	else
		fwrite(sb.data, 1, sb.len, out);
	strbuf_free(&sb);
}

int control_request(const char *path, const char *request, FILE *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096];
	ssize_t n;
	int rc = 0;

	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, request, strlen(request)) < 0 || write(fd, "\n", 1) < 0)
		rc = 1;
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	close(fd);
	return rc;
}

/* control_peer_ok - root or our own user */
static bool control_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* control_read_line - one request line, bounded in size and time */
static bool control_read_line(int fd, struct strbuf *line)
{
	const struct timeval tv = { 1, 0 };
	char chunk[256];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (line->len <= CONTROL_MAX_LINE) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		char *nl;

		if (n <= 0)
			return false;
		strbuf_append(line, chunk, (size_t)n);
		if (line->failed)
			return false;
		nl = memchr(line->data, '\n', line->len);
		if (nl != NULL) {
			*nl = '\0';
			if (nl > line->data && nl[-1] == '\r')
				nl[-1] = '\0';
			return true;
		}
	}
	return false;
}

static void control_serve(struct control *ctl, int fd)
{
	struct strbuf line;
	char *reply = NULL;
	size_t rlen = 0;
	FILE *out;

	strbuf_init(&line);
	if (!control_peer_ok(fd)) {
		log_msg(ctl->log, LOG_WARNING,
			"control: refused a client that is neither root "
			"nor our user");
	} else if (control_read_line(fd, &line) && (out = open_memstream(&reply, &rlen)) != NULL) {
		struct config *c = config_slot_get(ctl->slot);

		if (strcmp(line.data, "metrics") == 0)
			control_metrics(out, ctl->svc);
		else
			control_answer(out, line.data, c, ctl->svc->ratelimit);
		config_unref(c);
		fclose(out);
		log_msg(ctl->log, LOG_INFO, "control: %s", line.data);
		for (size_t off = 0; off < rlen;) {
			ssize_t w = write(fd, reply + off, rlen - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(reply);
	}
	strbuf_free(&line);
	close(fd);
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	struct pollfd p[2] = { { ctl->fd, POLLIN, 0 }, { ctl->stop[0], POLLIN, 0 } };

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			control_serve(ctl, fd);
	}
	return NULL;
}

/* control_bind - the socket file, 0600, owned by USER when one is set */
static int control_bind(const char *path, const char *user, const struct logger *log)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old;

	if (fd < 0)
		return -1;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	unlink(path); /* a stale socket of an earlier run */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
		umask(old);
		log_msg(log, LOG_ERR, "control: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL || chown(path, pw->pw_uid, pw->pw_gid) != 0)
			log_msg(log, LOG_WARNING, "control: cannot give %s to user %s", path, user);
	}
	return fd;
}

struct control *control_open(const struct config *c, struct config_slot *slot, struct services *svc,
			     const struct logger *log)
{
	struct control *ctl;
	sigset_t all, old;
	int rc;

	if (c->control_socket[0] == '\0')
		return NULL;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return NULL;
	ctl->slot = slot;
	ctl->svc = svc;
	ctl->log = log;
	ctl->path = strdup(c->control_socket);
	ctl->stop[0] = ctl->stop[1] = -1;
	ctl->fd = ctl->path ? control_bind(ctl->path, c->user, log) : -1;
	if (ctl->fd < 0 || pipe2(ctl->stop, O_CLOEXEC) != 0) {
		control_close(ctl);
		return NULL;
	}
	/* signals belong to the main thread (main.c) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_msg(log, LOG_ERR, "control: cannot start its thread");
		close(ctl->stop[1]);
		ctl->stop[1] = -1;
		control_close(ctl);
		return NULL;
	}
	log_msg(log, LOG_INFO, "control socket %s", ctl->path);
	return ctl;
}

void control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	if (ctl->stop[1] >= 0) {
		(void)!write(ctl->stop[1], "x", 1);
		pthread_join(ctl->thread, NULL);
		close(ctl->stop[1]);
	}
	if (ctl->stop[0] >= 0)
		close(ctl->stop[0]);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}
