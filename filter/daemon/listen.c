/*
 * listen.c - open the milter socket (see listen.h)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/listen.h"
#include "util/log.h"

const char *listen_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* listen_chown - give the unix socket its configured owner and group */
static int listen_chown(const struct config *c, const struct logger *log, const char *path)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (c->socket_owner[0] != '\0') {
		struct passwd *pw = getpwnam(c->socket_owner);

		if (pw == NULL) {
			log_msg(log, LOG_ERR, "socket_owner: no user '%s'", c->socket_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (c->socket_group[0] != '\0') {
		struct group *gr = getgrnam(c->socket_group);

		if (gr == NULL) {
			log_msg(log, LOG_ERR,
				"socket_group: no group '%s' (set socket_group to the MTA's "
				"group, or empty)",
				c->socket_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
		log_msg(log, LOG_ERR, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* listen_dir - the directory of PATH (new memory) */
static char *listen_dir(const char *path)
{
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;

	if (slash == NULL) {
		free(dir);
		return NULL;
	}
	if (slash == dir)
		slash[1] = '\0'; /* "/x.sock": the root */
	else
		*slash = '\0';
	return dir;
}

/* listen_make_dir - create the socket's directory when it is missing: mode
 * 0750, owned by the user gatehouse runs as and socket_group, so the MTA's
 * group can reach the socket and nobody else can (under systemd the unit's
 * RuntimeDirectory= usually made it already) */
static int listen_make_dir(const struct config *c, const struct logger *log, const char *path)
{
	char *dir = listen_dir(path);
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct stat st;
	int rc = 0;

	if (dir == NULL || stat(dir, &st) == 0) {
		free(dir);
		return 0;
	}
	if (mkdir(dir, 0750) != 0) {
		log_msg(log, LOG_ERR, "cannot create the socket directory %s: %s", dir,
			strerror(errno));
		free(dir);
		return -1;
	}
	if (c->user[0] != '\0') {
		struct passwd *pw = getpwnam(c->user);

		if (pw != NULL)
			uid = pw->pw_uid;
	}
	if (c->socket_group[0] != '\0') {
		struct group *gr = getgrnam(c->socket_group);

		if (gr != NULL)
			gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(dir, uid, gid) != 0) {
		log_msg(log, LOG_ERR, "chown %s: %s", dir, strerror(errno));
		rc = -1;
	} else {
		log_msg(log, LOG_NOTICE, "created the socket directory %s (mode 0750)", dir);
	}
	free(dir);
	return rc;
}

void listen_check(const struct config *c, FILE *fp)
{
	const char *path = listen_unix_path(c->socket);
	char *dir = path ? listen_dir(path) : NULL;
	struct stat st;

	if (dir != NULL && stat(dir, &st) != 0)
		fprintf(fp,
			"%s: note: the socket directory %s does not exist; gatehouse creates it "
			"at start (mode 0750, owner '%s', group '%s')\n",
			c->path, dir, c->user[0] ? c->user : "root",
			c->socket_group[0] ? c->socket_group : "root");
	else if (dir != NULL && !S_ISDIR(st.st_mode))
		fprintf(fp, "%s: warning: %s is not a directory: the socket cannot be created\n",
			c->path, dir);
	free(dir);
}

static int listen_unix(const struct config *c, const struct logger *log, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg(log, LOG_ERR, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (listen_make_dir(c, log, path) != 0)
		return -1;
	/* A socket file left by an earlier run would make bind fail; anything
	 * else at that path is not ours to remove. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg(log, LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	/* Created with its final mode: no moment exists in which the MTA
	 * could connect and be refused. */
	old = umask((mode_t)(~c->socket_mode & 0777));
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0) {
		log_msg(log, LOG_ERR, "cannot listen on %s: %s", c->socket, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen_chown(c, log, path) != 0)
		goto fail;
	if (chmod(path, (mode_t)c->socket_mode) != 0) {
		log_msg(log, LOG_ERR, "chmod %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

/* listen_inet - "inet:PORT@HOST" / "inet6:PORT@HOST" (HOST may be omitted: any) */
static int listen_inet(const struct config *c, const struct logger *log, const char *spec)
{
	bool v6 = strncmp(spec, "inet6:", 6) == 0;
	const char *rest = spec + (v6 ? 6 : 5), *at = strchr(rest, '@');
	char port[16], *host = NULL;
	struct addrinfo hints = { .ai_family = v6 ? AF_INET6 : AF_INET,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, one = 1, rc;
	size_t plen = at ? (size_t)(at - rest) : strlen(rest);

	if (plen == 0 || plen >= sizeof(port)) {
		log_msg(log, LOG_ERR, "socket %s: bad port", spec);
		return -1;
	}
	memcpy(port, rest, plen);
	port[plen] = '\0';
	if (at != NULL && at[1] != '\0' && (host = strdup(at + 1)) == NULL)
		return -1;
	if (host != NULL && host[0] == '[') { /* inet6:PORT@[::1] */
		size_t n = strlen(host);

		if (n > 2 && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = '\0';
		}
	}
	rc = getaddrinfo(host, port, &hints, &res);
	free(host);
	if (rc != 0 || res == NULL) {
		log_msg(log, LOG_ERR, "socket %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
			log_msg(log, LOG_ERR, "cannot listen on %s: %s", c->socket,
				strerror(errno));
			close(fd);
			fd = -1;
		} else if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
			log_msg(log, LOG_WARNING, "TCP_NODELAY on the milter socket: %s",
				strerror(errno));
		}
	} else {
		log_msg(log, LOG_ERR, "socket: %s", strerror(errno));
	}
	freeaddrinfo(res);
	return fd;
}

int listen_open(const struct config *c, const struct logger *log)
{
	const char *path = listen_unix_path(c->socket);
	int fd;

	errno = 0;
	if (path != NULL)
		fd = listen_unix(c, log, path);
	else if (strncmp(c->socket, "inet:", 5) == 0 || strncmp(c->socket, "inet6:", 6) == 0)
		fd = listen_inet(c, log, c->socket);
	else {
		log_msg(log, LOG_ERR, "socket %s: not inet:, inet6:, unix: or local:", c->socket);
		return -1;
	}
	if (fd < 0)
		return -1;
	if (listen(fd, (int)c->listen_backlog) != 0) {
		log_msg(log, LOG_ERR, "listen %s: %s", c->socket, strerror(errno));
		close(fd);
		return -1;
	}
	log_msg(log, LOG_NOTICE, "listening on %s", c->socket);
	return fd;
}
