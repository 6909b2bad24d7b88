/*
 * idle_conns.c - hold N negotiated milter connections open and idle, so
 * the benchmark can read what they cost the milter (VmRSS, threads).
 *
 *   idle_conns -n N [-t TIMEOUT_MS] SOCKET
 *
 * Raises its own descriptor limit to the hard limit, opens N connections
 * one after another (each: connect, SMFIC_OPTNEG, the milter's reply; the
 * same negotiation as loadgen, mclient.c), prints one line
 *
 *   open N_OPENED N_WANTED SECONDS
 *
 * and then sends nothing until SIGTERM or SIGINT, when it sends SMFIC_QUIT
 * on every connection, closes them and prints "closed N". Exits 1 when
 * fewer than N could be opened (after holding those it has, so the caller
 * still sees the line and can stop it the same way).
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mclient.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: idle_conns -n N [-t TIMEOUT_MS] SOCKET\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long want = 0, opened = 0;
	int timeout_ms = 10000, opt, sig, rc = 0;
	struct mclient *c;
	struct rlimit rl;
	sigset_t set;
	double t0;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			want = strtol(optarg, NULL, 10);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (want <= 0 || optind != argc - 1)
		usage();
	/* the milter's descriptors are its business; ours must cover N */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)want + 16 > rl.rlim_cur)
		fprintf(stderr, "idle_conns: descriptor limit %lu is below %ld connections\n",
			(unsigned long)rl.rlim_cur, want);
	/* block the signals now: sigwait takes them below, whenever they come */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	c = calloc((size_t)want, sizeof(*c));
	if (c == NULL)
		return 2;
	t0 = now_s();
	for (; opened < want; opened++) {
		c[opened].fd = -1;
		if (mclient_open(&c[opened], argv[optind], timeout_ms) < 0) {
			fprintf(stderr, "idle_conns: connection %ld failed\n", opened + 1);
			rc = 1;
			break;
		}
	}
	printf("open %ld %ld %.3f\n", opened, want, now_s() - t0);
	fflush(stdout);

	sigwait(&set, &sig);
	for (long i = 0; i < opened; i++)
		mclient_close(&c[i]);
	printf("closed %ld\n", opened);
	for (long i = 0; i < opened; i++)
		free(c[i].buf);
	free(c);
	return rc;
}
