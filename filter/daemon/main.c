/*
 * main.c - command line, daemon start, privilege drop, signals
 *
 * Signals. The event loop (loop.c) runs in a thread of its own, started
 * with SIGHUP, SIGTERM and SIGINT blocked (its workers inherit the mask);
 * only the main thread leaves them unblocked, with a handler that writes
 * the signal number into a pipe. The main thread reads the pipe and reloads
 * (HUP) or drains and exits (TERM, INT), so no signal ever interrupts a
 * worker in the middle of a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/detach.h"
#include "daemon/dkimcheck.h"
#include "daemon/dmarc_report_cli.h"
#include "daemon/listen.h"
#include "daemon/loop.h"
#include "daemon/metrics_http.h"
#include "daemon/metrics_textfile.h"
#include "daemon/notify.h"
#include "daemon/ratelimit_cli.h"
#include "daemon/stats_cli.h"
#include "daemon/testmode.h"
#include "daemon/writable.h"
#include "engine/engine_metrics.h"
#include "engine/services.h"
#include "engine/snapshot.h"
#include "milter/conv.h"
#include "util/gh.h"
#include "util/log.h"

/* Write end of the self-pipe; a signal handler can reach nothing else. */
static volatile sig_atomic_t main_signal_fd = -1;

#define MAIN_MILTER_EXITED 0xff /* byte the loop thread writes when loop_run returns */

/* main_load - the first snapshot; prints every error as FILE:LINE: message */
static struct config *main_load(const struct cli_opts *o)
{
	struct diag errs = { 0 }, warns = { 0 };
	struct config *c = snapshot_load(o->config_path, &errs, &warns);

	for (size_t i = 0; i < warns.n; i++)
		fprintf(stderr, "warning: %s\n", warns.lines[i]);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	diag_clear(&warns);
	diag_clear(&errs);
	if (c != NULL && o->socket != NULL) {
		char *s = strdup(o->socket);

		if (s == NULL) {
			config_unref(c);
			return NULL;
		}
		free(c->socket);
		c->socket = s; /* still private to this thread: not yet shared */
	}
	return c;
}

static void main_on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (main_signal_fd >= 0)
		(void)!write(main_signal_fd, &b, 1);
	errno = saved;
}

struct main_loop_arg {
	struct loop *loop;
	int fd; /* the self-pipe: tells the main thread if the loop ends */
};

static void *main_loop_thread(void *arg)
{
	struct main_loop_arg *a = arg;
	unsigned char b = MAIN_MILTER_EXITED;

	loop_run(a->loop);
	(void)!write(a->fd, &b, 1);
	return NULL;
}

/* main_raise_nofile - the descriptor limit up to its hard limit: every
 * milter connection is a descriptor, and the default 1,024 is less than a
 * busy MTA (or a local flood) opens */
static void main_raise_nofile(struct daemon *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_msg(&d->log, LOG_WARNING, "cannot raise the descriptor limit: %s",
			strerror(errno));
}

/* main_drop_privileges - become USER after the socket is open */
static int main_drop_privileges(struct daemon *d, const char *user)
{
	struct passwd *pw;

	if (user[0] == '\0' || geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		log_msg(&d->log, LOG_ERR, "user: no user '%s'", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		log_msg(&d->log, LOG_ERR, "cannot switch to user %s: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

static int main_write_pid(struct daemon *d, const char *path)
{
	FILE *fp;

	if (path[0] == '\0')
		return 0;
	fp = fopen(path, "w");
	if (fp == NULL || fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0) {
		log_msg(&d->log, LOG_ERR, "pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* main_watchdog - WATCHDOG=1 only while the event loop, the workers and the
 * DNS pump answer; otherwise say why, and systemd restarts us when it
 * stays so */
static void main_watchdog(struct daemon *d, struct loop *loop)
{
	struct config *c = config_slot_get(&d->slot);
	/* a worker may wait on DNS for its budget, and the rules take their
	 * time: only a queue stuck well past that means every worker is stuck */
	long stall_s = c->dns_budget_ms / 1000 + 60;

	config_unref(c);
	if (!loop_alive(loop, stall_s)) {
		log_msg(&d->log, LOG_ERR, "watchdog: the event loop or every worker is stuck");
		return;
	}
	if (!services_alive(d->svc, 10)) {
		log_msg(&d->log, LOG_ERR, "watchdog: the DNS resolver thread is stuck");
		return;
	}
	notify_watchdog();
}

/* main_serve - run the event loop and answer signals until told to stop;
 * READY_FD (>= 0) is the pipe to a waiting parent (detach.h) */
static int main_serve(struct daemon *d, const struct config *c, struct loop *loop, int ready_fd)
{
	long watchdog_ms = notify_watchdog_interval_ms();
	sigset_t block, old;
	struct sigaction sa;
	pthread_t tid;
	int pfd[2];
	int status = 0;
	struct main_loop_arg la = { .loop = loop };

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		log_msg(&d->log, LOG_ERR, "pipe: %s", strerror(errno));
		return EX_OSERR;
	}
	main_signal_fd = pfd[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	la.fd = pfd[1];
	if (pthread_create(&tid, NULL, main_loop_thread, &la) != 0) {
		log_msg(&d->log, LOG_ERR, "cannot start the milter thread");
		return EX_OSERR;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_msg(&d->log, LOG_NOTICE, "gatehouse %s started (config %s)", GH_VERSION, c->path);
	if (ready_fd >= 0)
		detach_done(ready_fd); /* the parent exits 0: the start succeeded */
	d->log.echo = NULL;
	notify_ready();

	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		unsigned char b;
		ssize_t n;
		int pr = poll(&p, 1, watchdog_ms > 0 ? (int)watchdog_ms : -1);

		if (pr == 0) {
			main_watchdog(d, loop);
			continue;
		}
		n = pr > 0 ? read(pfd[0], &b, 1) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || b == MAIN_MILTER_EXITED) {
			log_msg(&d->log, LOG_ERR, "the milter stopped on its own");
			status = EX_SOFTWARE;
			break;
		}
		if (b == SIGHUP) {
			log_msg(&d->log, LOG_NOTICE, "SIGHUP: reloading %s",
				d->config_path ? d->config_path : "(defaults)");
			notify_reloading();
			daemon_reload(d);
			notify_ready();
			continue;
		}
		/* SIGTERM / SIGINT: stop accepting, let connections in flight finish. */
		{
			struct config *now = config_slot_get(&d->slot);
			long bound = now->drain_timeout_ms;
			int left;

			config_unref(now);
			notify_stopping(bound);
			log_msg(&d->log, LOG_NOTICE,
				"%s: no new connections; draining for up to %ld ms",
				b == SIGTERM ? "SIGTERM" : "SIGINT", bound);
			/* The loop keeps serving while sessions in flight finish;
			 * a new session is answered 421 4.3.2 at CONNECT (conv.c)
			 * once draining has begun. */
			left = daemon_drain(d, bound);
			if (left > 0)
				log_msg(&d->log, LOG_WARNING,
					"drain timeout: %d connection(s) cut; the MTA tempfails "
					"them",
					left);
			else
				log_msg(&d->log, LOG_NOTICE, "all connections finished; exiting");
			status = 0;
			break;
		}
	}
	loop_stop(loop);
	pthread_join(tid, NULL);
	return status;
}

/* main_check_budgets - for -n: what one milter reply may wait on (the DNS
 * of one command and the rules) against the MTAs' reply timeouts as the
 * README documents them; past one, the MTA gives up first and applies its
 * default action to mail gatehouse would have answered */
static void main_check_budgets(const struct config *c, FILE *fp)
{
	long worst = c->dns_command_budget_ms + c->rules_budget_ms;
	const char *what = "dns_command_budget_ms + rules_budget_ms";

	if (worst > 30000)
		fprintf(fp, "%s: warning: %s = %ld ms is more than Postfix's %s: %s\n", c->path,
			what, worst, "milter_command_timeout (30 s by default)",
			"raise it in main.cf or lower the budgets");
	else if (worst > 10000)
		fprintf(fp, "%s: warning: %s = %ld ms is more than Sendmail's %s: %s\n", c->path,
			what, worst, "default reply timeout (T=R:10s)",
			"give INPUT_MAIL_FILTER a longer T=R: (README's snippet has 2m) or lower "
			"the budgets");
}

/* main_log_sink - stderr in the foreground, but syslog when stderr is the
 * systemd journal (JOURNAL_STREAM names it): then every line keeps its
 * priority and the configured facility, so `journalctl -p err` and the
 * mail log (beside Postfix's lines) see it */
static enum log_sink main_log_sink(bool foreground)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!foreground)
		return LOG_SINK_SYSLOG;
	if (js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		return LOG_SINK_SYSLOG;
	return LOG_SINK_STDERR;
}

int main(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct daemon d;
	struct config *c;
	const char *unix_path;
	struct milter_env env;
	struct loop *loop;
	struct control *ctl;
	struct metrics_http *mh;
	struct metrics_textfile *mtf;
	int rc, listen_fd, ready_fd = -1;

	if (argc > 1 && strcmp(argv[1], "test") == 0)
		return testmode_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dkim-check") == 0)
		return dkimcheck_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "ratelimit") == 0)
		return ratelimit_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "dmarc-report") == 0)
		return dmarc_report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "stats") == 0)
		return stats_cli_main(argc - 1, argv + 1);
	rc = cli_parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	c = main_load(&o);
	if (c == NULL)
		return EX_CONFIG;
	if (o.check_only) {
		struct diag warns = { 0 };

		listen_check(c, stdout);
		main_check_budgets(c, stdout);
		writable_check(c, &warns);
		for (size_t i = 0; i < warns.n; i++)
			printf("%s: warning: %s\n", c->path, warns.lines[i]);
		diag_clear(&warns);
		printf("%s: configuration OK\n", c->path);
		config_unref(c);
		return 0;
	}
	if (o.dump != NULL) {
		if (strcmp(o.dump, "sample") == 0)
			config_print_sample(stdout);
		else if (strcmp(o.dump, "man") == 0)
			config_print_man(stdout);
		else if (strcmp(o.dump, "rule-targets") == 0)
			config_print_rule_targets(stdout);
		else
			config_print_effective(stdout, c);
		config_unref(c);
		return 0;
	}
	/* Detach only once everything below worked: a failed start is
	 * reported on stderr with a non-zero status (detach.h). Before any
	 * thread exists, so the fork is clean. */
	if (!o.foreground && (ready_fd = detach_start()) < 0) {
		perror("gatehouse: fork");
		config_unref(c);
		return EX_OSERR;
	}
	/* The slot owns one reference and a reload drops it; main keeps its own,
	 * because the socket and pid file it cleans up at exit are the ones it
	 * opened, whatever later snapshots say. */
	daemon_init(&d, config_ref(c), o.config_path);
	log_init(&d.log, main_log_sink(o.foreground), o.verbose ? LOG_DEBUG : c->log_level,
		 c->log_facility);
	if (ready_fd >= 0)
		d.log.echo = stderr; /* until detached: errors reach whoever started us */
	{
		struct diag errs = { 0 };
		const struct services_options so = { .log = &d.log }; /* the report writer's */

		d.svc = services_new(c, &so, &errs);
		for (size_t i = 0; i < errs.n; i++)
			log_msg(&d.log, LOG_ERR, "%s", errs.lines[i]);
		diag_clear(&errs);
		if (d.svc == NULL)
			return EX_CONFIG;
	}
	main_raise_nofile(&d);
	{
		/* Before the milter socket, so a port in use fails the start
		 * before the MTA can reach us, and before the privilege drop
		 * (a port below 1024). */
		bool failed;

		mh = metrics_http_open(c, d.svc->metrics ? d.svc->metrics->reg : NULL, &d.log,
				       &failed);
		if (failed) {
			daemon_destroy(&d);
			config_unref(c);
			return EX_UNAVAILABLE;
		}
	}
	listen_fd = listen_open(c, &d.log);
	if (listen_fd < 0)
		return EX_UNAVAILABLE;
	daemon_milter_env(&d, &env);
	{
		const struct loop_options lo = {
			.listen_fd = listen_fd,
			.workers = c->milter_workers,
			.max_connections = c->milter_max_connections,
			.timeout_s = c->milter_timeout_s,
			.session_timeout_s = c->milter_session_timeout_s,
		};

		loop = loop_new(&lo, &env, &d.log);
		if (loop == NULL)
			return EX_OSERR;
	}
	/* Before the privilege drop: its directory may be root's. Without
	 * it the daemon runs on (logged): only `gatehouse ratelimit` misses it. */
	ctl = control_open(c, &d.slot, d.svc, &d.log);
	mtf = metrics_textfile_start(c, d.svc->metrics ? d.svc->metrics->reg : NULL, &d.log);
	/* The pid file first: the user we switch to usually cannot write /run. */
	if (main_write_pid(&d, c->pid_file) != 0 || main_drop_privileges(&d, c->user) != 0)
		return EX_NOPERM;
	if (geteuid() == 0)
		log_msg(&d.log, LOG_WARNING, "running as root: set 'user' to drop privileges");
	{
		/* as the user the writer threads run as */
		struct diag warns = { 0 };

		writable_check(c, &warns);
		for (size_t i = 0; i < warns.n; i++)
			log_msg(&d.log, LOG_WARNING, "%s", warns.lines[i]);
		diag_clear(&warns);
	}
	rc = main_serve(&d, c, loop, ready_fd);
	/* The socket file and pid file go first: the MTA must not reach a
	 * process that no longer answers. */
	unix_path = listen_unix_path(c->socket);
	if (unix_path != NULL)
		unlink(unix_path);
	if (c->pid_file[0] != '\0')
		unlink(c->pid_file);
	close(listen_fd);
	loop_free(loop); /* sessions cut by the drain timeout log their summaries */
	control_close(ctl);
	metrics_http_close(mh);
	metrics_textfile_stop(mtf); /* after the loop: the last counts are in the file */
	services_free(d.svc);
	d.svc = NULL;
	fflush(NULL);
	_exit(rc);
}
