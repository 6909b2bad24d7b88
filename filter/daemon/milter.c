/*
 * milter.c - libmilter callbacks: copy in, call the engine, translate out
 * (see milter.h)
 *
 * libmilter gives callbacks no user pointer besides the per-connection
 * private data, so the daemon context is reached through one static pointer
 * that milter_open() sets before any connection exists and nothing changes
 * afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "conf/config.h"
#include "daemon/daemon.h"
#include "daemon/milter.h"
#include "engine/engine.h"
#include "engine/session.h"
#include "rules/rule.h"
#include "util/log.h"

static struct daemon *milter_daemon; /* set once in milter_open, read-only after */

/* The longest reply text we hand to libmilter: an SMTP reply line is at most
 * 512 octets (RFC 5321 4.5.3.1.5) with the codes, and MTAs break on longer. */
#define MILTER_REPLY_MAX 400

/* milter_reply_text - TEXT bounded and with '%' doubled: libmilter passes the
 * text on as a format string to Sendmail. Caller frees. */
static char *milter_reply_text(const char *text)
{
	size_t n = 0;
	char *out = malloc(MILTER_REPLY_MAX * 2 + 4), *o = out;

	if (out == NULL)
		return NULL;
	for (const char *p = text ? text : ""; *p && n < MILTER_REPLY_MAX; p++, n++) {
		if (*p == '%')
			*o++ = '%';
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* milter_set_reply - SMTP reply for a reject or tempfail; false if libmilter refused */
static bool milter_set_reply(SMFICTX *ctx, const struct verdict *v)
{
	char *text;
	int rc;

	if (v->smtp_code[0] == '\0')
		return true;
	text = milter_reply_text(v->text);
	if (text == NULL)
		return false;
	rc = smfi_setreply(ctx, (char *)v->smtp_code, (char *)v->enhanced_code, text);
	free(text);
	return rc == MI_SUCCESS;
}

/* milter_tempfail - the answer when gatehouse itself failed */
static sfsistat milter_tempfail(SMFICTX *ctx)
{
	smfi_setreply(ctx, "451", "4.3.0", "Temporary local problem, please try again later");
	return SMFIS_TEMPFAIL;
}

/* milter_answer - the engine's action as a libmilter return code */
static sfsistat milter_answer(SMFICTX *ctx, struct session *s, enum gh_action a)
{
	switch (a) {
	case GH_ACT_CONTINUE:
		return SMFIS_CONTINUE;
	case GH_ACT_ACCEPT:
		return SMFIS_ACCEPT;
	case GH_ACT_REJECT:
		if (!milter_set_reply(ctx, &s->reply))
			session_log(s->log, s, LOG_WARNING,
				    "smfi_setreply failed; MTA default reply used");
		return SMFIS_REJECT;
	case GH_ACT_TEMPFAIL:
		if (!milter_set_reply(ctx, &s->reply))
			session_log(s->log, s, LOG_WARNING,
				    "smfi_setreply failed; MTA default reply used");
		return SMFIS_TEMPFAIL;
	case GH_ACT_DISCARD:
		return SMFIS_DISCARD;
	case GH_ACT_QUARANTINE:
		/* Only possible at eom; milter_eom handles it. Anywhere else
		 * holding the mail is impossible, so it must not pass. */
		return milter_tempfail(ctx);
	}
	return milter_tempfail(ctx);
}

/*
 * One connection's private data: the protocol steps the MTA agreed not to
 * wait for (negotiated before connect, so before there is a session), and
 * the session.
 */
struct milter_conn {
	unsigned long noreply; /* the SMFIP_NR_* steps negotiated */
	struct session *s;
};

static struct session *milter_session(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	return c ? c->s : NULL;
}

/* milter_noreply - STEP was negotiated without a reply */
static bool milter_noreply(SMFICTX *ctx, unsigned long step)
{
	const struct milter_conn *c = smfi_getpriv(ctx);

	return c != NULL && (c->noreply & step);
}

/* milter_quiet - the engine's answer A to STEP, or no reply when the MTA
 * agreed to none: the answer then waits for the next step that has one (end
 * of header, end of message), where the engine repeats a decision taken */
static sfsistat milter_quiet(SMFICTX *ctx, unsigned long step, struct session *s, enum gh_action a)
{
	if (milter_noreply(ctx, step))
		return SMFIS_NOREPLY;
	return milter_answer(ctx, s, a);
}

/* milter_qid - remember the queue id once the MTA sends it ({i} from RCPT on in Postfix) */
static void milter_qid(SMFICTX *ctx, struct session *s)
{
	const char *qid = smfi_getsymval(ctx, "i");

	if (qid != NULL)
		session_set_qid(s, qid);
}

/* NOSESSION - a callback without session (connect failed): tempfail */
#define NOSESSION(ctx, s)                            \
	do {                                         \
		if ((s) == NULL)                     \
			return milter_tempfail(ctx); \
	} while (0)

/*
 * milter_quiet_steps - the steps that need no reply of their own under the
 * current snapshot. A decision taken at a silent step is answered at the
 * next step that has a reply (the engine repeats it), which the SMTP
 * client cannot tell apart except by when it hears it:
 *  - header fields, end of header, body chunks: always silent; the client
 *    hears nothing before its final dot anyway;
 *  - connect and HELO: silent unless a rule is decided there, or the daemon
 *    is draining (it answers 421 at connect); otherwise only our own errors
 *    happen there, answered at MAIL FROM, as Postfix's smtpd_delay_reject
 *    does with its restrictions;
 * MAIL FROM keeps its reply: a bad sender address must hear 501 5.1.7 at
 * MAIL, not at a recipient. DATA and unknown commands are not asked for:
 * nothing is decided there.
 */
static unsigned long milter_quiet_steps(void)
{
	unsigned long steps = SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NODATA |
			      SMFIP_NOUNKNOWN;
	struct config *c = config_slot_get(&milter_daemon->slot);
	size_t n_conn, n_helo;

	rules_at(c->rules, GH_PH_CONNECT, &n_conn);
	rules_at(c->rules, GH_PH_HELO, &n_helo);
	if (n_conn == 0 && n_helo == 0 && !daemon_draining(milter_daemon))
		steps |= SMFIP_NR_CONN | SMFIP_NR_HELO;
	config_unref(c);
	return steps;
}

static sfsistat milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
				 unsigned long f3, unsigned long *pf0, unsigned long *pf1,
				 unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;

	/* Every step is seen, but the MTA waits for as few answers as
	 * possible: each one it waits for costs thread switches on both sides,
	 * the largest cost in tests/bench's profile. */
	const unsigned long quiet = milter_quiet_steps();
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH |
				      SMFIP_NR_BODY;
	struct milter_conn *c = calloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	if ((f0 & want) != want)
		log_msg(&milter_daemon->log, LOG_WARNING,
			"the MTA does not offer every action gatehouse uses (offered 0x%lx)", f0);
	*pf0 = f0 & want;
	*pf1 = c != NULL ? f1 & quiet : 0;
	*pf2 = 0;
	*pf3 = 0;
	if (c != NULL) {
		c->noreply = *pf1 & noreply;
		if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
			free(c);
			*pf1 = 0;
		}
	}
	return SMFIS_CONTINUE;
}

/* milter_addr_text - the client address as text; NULL for local submissions */
static const char *milter_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				 buf, (socklen_t)len);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6,
				 &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
				 (socklen_t)len);
	return NULL;
}

/* milter_macro - the MTA's macro NAME for rules; valid during a callback */
static const char *milter_macro(void *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)name);
}

static sfsistat milter_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	char id[SESSION_ID_MAX], ip[INET6_ADDRSTRLEN];
	struct milter_conn *c = smfi_getpriv(ctx);
	struct session *s;

	if (c == NULL) { /* an MTA that does not negotiate: replies to every step */
		if ((c = calloc(1, sizeof(*c))) == NULL || smfi_setpriv(ctx, c) != MI_SUCCESS) {
			free(c);
			return milter_tempfail(ctx);
		}
	}
	if (!daemon_conn_opened(milter_daemon)) {
		/* Draining after SIGTERM: connections in flight finish, new
		 * ones are told to come back (at MAIL FROM, with 451 4.3.0, if
		 * the drain began after this connection was negotiated). */
		if (milter_noreply(ctx, SMFIP_NR_CONN))
			return SMFIS_NOREPLY;
		smfi_setreply(ctx, "421", "4.3.2", "gatehouse is shutting down, try again later");
		return SMFIS_TEMPFAIL;
	}
	daemon_session_id(milter_daemon, id, sizeof(id));
	s = session_new(id, &milter_daemon->slot, NULL, &milter_daemon->log);
	if (s == NULL) {
		log_msg(&milter_daemon->log, LOG_ERR, "session=%s out of memory at connect", id);
		daemon_conn_closed(milter_daemon);
		return milter_noreply(ctx, SMFIP_NR_CONN) ? SMFIS_NOREPLY : milter_tempfail(ctx);
	}
	services_attach(milter_daemon->svc, s);
	s->macro = milter_macro;
	s->macro_ctx = ctx;
	c->s = s;
	return milter_quiet(
		ctx, SMFIP_NR_CONN, s,
		engine_connect(s, host, milter_addr_text((struct sockaddr *)addr, ip, sizeof(ip))));
}

static sfsistat milter_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = milter_session(ctx);

	if (s == NULL)
		return milter_noreply(ctx, SMFIP_NR_HELO) ? SMFIS_NOREPLY : milter_tempfail(ctx);
	return milter_quiet(ctx, SMFIP_NR_HELO, s, engine_helo(s, helo));
}

static sfsistat milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = milter_session(ctx);
	enum gh_action a;

	NOSESSION(ctx, s);
	a = engine_mail(s, (const char *const *)argv, smfi_getsymval(ctx, "{auth_authen}"));
	milter_qid(ctx, s);
	return milter_answer(ctx, s, a);
}

static sfsistat milter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = milter_session(ctx);

	NOSESSION(ctx, s);
	milter_qid(ctx, s);
	return milter_answer(ctx, s, engine_rcpt(s, (const char *const *)argv));
}

static sfsistat milter_data(SMFICTX *ctx)
{
	struct session *s = milter_session(ctx);

	NOSESSION(ctx, s);
	milter_qid(ctx, s);
	return milter_answer(ctx, s, engine_data(s));
}

static sfsistat milter_unknown(SMFICTX *ctx, const char *cmd)
{
	struct session *s = milter_session(ctx);

	NOSESSION(ctx, s);
	return milter_answer(ctx, s, engine_unknown(s, cmd));
}

static sfsistat milter_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = milter_session(ctx);

	if (s == NULL)
		return milter_noreply(ctx, SMFIP_NR_HDR) ? SMFIS_NOREPLY : milter_tempfail(ctx);
	return milter_quiet(
		ctx, SMFIP_NR_HDR, s,
		engine_header(s, name ? name : "", value ? value : "", value ? strlen(value) : 0));
}

static sfsistat milter_eoh(SMFICTX *ctx)
{
	struct session *s = milter_session(ctx);

	if (s == NULL)
		return milter_noreply(ctx, SMFIP_NR_EOH) ? SMFIS_NOREPLY : milter_tempfail(ctx);
	milter_qid(ctx, s);
	return milter_quiet(ctx, SMFIP_NR_EOH, s, engine_eoh(s));
}

static sfsistat milter_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = milter_session(ctx);

	if (s == NULL)
		return milter_noreply(ctx, SMFIP_NR_BODY) ? SMFIS_NOREPLY : milter_tempfail(ctx);
	return milter_quiet(ctx, SMFIP_NR_BODY, s, engine_body(s, chunk, len));
}

/* milter_apply_edits - the engine's header edits, in order; false if one failed */
static bool milter_apply_edits(SMFICTX *ctx, struct session *s)
{
	for (size_t i = 0; i < s->msg.nedits; i++) {
		const struct hdr_edit *e = &s->msg.edits[i];
		char *name = (char *)e->name, *value = (char *)e->value;
		int rc = MI_FAILURE;

		switch (e->op) {
		case HDR_ADD:
			rc = smfi_addheader(ctx, name, value);
			break;
		case HDR_INSERT:
			rc = smfi_insheader(ctx, (int)e->index, name, value);
			break;
		case HDR_CHANGE:
			rc = smfi_chgheader(ctx, name, (int)e->index, value);
			break;
		case HDR_REMOVE:
			rc = smfi_chgheader(ctx, name, (int)e->index, NULL);
			break;
		}
		if (rc != MI_SUCCESS) {
			session_log(s->log, s, LOG_ERR, "header edit on %s failed", e->name);
			return false;
		}
	}
	return true;
}

static sfsistat milter_eom(SMFICTX *ctx)
{
	struct session *s = milter_session(ctx);
	enum gh_action a;

	NOSESSION(ctx, s);
	milter_qid(ctx, s);
	a = engine_eom(s);
	if (a != GH_ACT_ACCEPT && a != GH_ACT_CONTINUE && a != GH_ACT_QUARANTINE)
		return milter_answer(ctx, s, a);
	/* Passing mail without the edits policy asked for (a forged status
	 * header not removed, say) could mislead what comes after us: tempfail. */
	if (!milter_apply_edits(ctx, s))
		return milter_tempfail(ctx);
	if (a == GH_ACT_QUARANTINE) {
		char *reason = milter_reply_text(s->reply.reason ? s->reply.reason : "gatehouse");

		if (reason == NULL || smfi_quarantine(ctx, reason) != MI_SUCCESS) {
			free(reason);
			session_log(s->log, s, LOG_ERR, "smfi_quarantine failed: tempfail instead");
			return milter_tempfail(ctx);
		}
		free(reason);
	}
	return SMFIS_ACCEPT;
}

static sfsistat milter_abort(SMFICTX *ctx)
{
	struct session *s = milter_session(ctx);

	if (s != NULL)
		engine_abort(s);
	return SMFIS_CONTINUE;
}

static sfsistat milter_close(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);
	struct session *s = c ? c->s : NULL;

	/* close may come without a session: the connection failed early */
	smfi_setpriv(ctx, NULL);
	if (s != NULL) {
		session_log(s->log, s, LOG_DEBUG, "close");
		session_free(s);
		daemon_conn_closed(milter_daemon);
	}
	free(c);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "gatehouse",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = milter_connect,
	.xxfi_helo = milter_helo,
	.xxfi_envfrom = milter_envfrom,
	.xxfi_envrcpt = milter_envrcpt,
	.xxfi_header = milter_header,
	.xxfi_eoh = milter_eoh,
	.xxfi_body = milter_body,
	.xxfi_eom = milter_eom,
	.xxfi_abort = milter_abort,
	.xxfi_close = milter_close,
	.xxfi_unknown = milter_unknown,
	.xxfi_data = milter_data,
	.xxfi_negotiate = milter_negotiate,
};

/* milter_unix_path - the path of a unix:/local: socket spec, else NULL */
static const char *milter_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* milter_chown_socket - give the unix socket its configured owner and group */
static int milter_chown_socket(struct daemon *d, const struct config *c, const char *path)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (c->socket_owner[0] != '\0') {
		struct passwd *pw = getpwnam(c->socket_owner);

		if (pw == NULL) {
			log_msg(&d->log, LOG_ERR, "socket_owner: no user '%s'", c->socket_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (c->socket_group[0] != '\0') {
		struct group *gr = getgrnam(c->socket_group);

		if (gr == NULL) {
			log_msg(&d->log, LOG_ERR,
				"socket_group: no group '%s' (set socket_group "
				"to the MTA's group, or empty)",
				c->socket_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
		log_msg(&d->log, LOG_ERR, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * milter_nodelay - set TCP_NODELAY on libmilter's listening socket. libmilter
 * writes a header change and the final reply as separate small packets; with
 * Nagle on, the reply waits for the MTA's delayed ACK, about 40 ms per
 * message. Linux passes the option on to accepted sockets. libmilter does not
 * tell us its descriptor, so find the listening TCP socket among ours.
 */
static void milter_nodelay(struct daemon *d)
{
	long maxfd = sysconf(_SC_OPEN_MAX);

	for (int fd = 3; fd < (maxfd > 0 && maxfd < 4096 ? maxfd : 4096); fd++) {
		int listening = 0, one = 1;
		socklen_t len = sizeof(listening);
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_msg(&d->log, LOG_WARNING, "TCP_NODELAY on the milter socket: %s",
				strerror(errno));
	}
}

int milter_open(struct daemon *d)
{
	struct config *c = config_slot_get(&d->slot);
	const char *path = milter_unix_path(c->socket);
	int rc = -1;

	milter_daemon = d;
	if (smfi_setconn(c->socket) != MI_SUCCESS ||
	    smfi_settimeout((int)c->milter_timeout_s) != MI_SUCCESS ||
	    smfi_setbacklog((int)c->listen_backlog) != MI_SUCCESS ||
	    smfi_register(milter_desc) != MI_SUCCESS) {
		log_msg(&d->log, LOG_ERR, "libmilter refused the setup for socket %s", c->socket);
		goto out;
	}
	if (path != NULL) {
		/* Create the socket with its final mode: no moment exists in
		 * which the MTA could connect and be refused. */
		mode_t old = umask((mode_t)(~c->socket_mode & 0777));

		rc = smfi_opensocket(true);
		umask(old);
		if (rc != MI_SUCCESS) {
			log_msg(&d->log, LOG_ERR, "cannot listen on %s: %s", c->socket,
				strerror(errno));
			rc = -1;
			goto out;
		}
		rc = milter_chown_socket(d, c, path);
		if (rc == 0 && chmod(path, (mode_t)c->socket_mode) != 0) {
			log_msg(&d->log, LOG_ERR, "chmod %s: %s", path, strerror(errno));
			rc = -1;
		}
	} else {
		if (smfi_opensocket(true) != MI_SUCCESS) {
			log_msg(&d->log, LOG_ERR, "cannot listen on %s: %s", c->socket,
				strerror(errno));
			goto out;
		}
		milter_nodelay(d);
		rc = 0;
	}
	if (rc == 0)
		log_msg(&d->log, LOG_NOTICE, "listening on %s", c->socket);
out:
	config_unref(c);
	return rc;
}

int milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}
