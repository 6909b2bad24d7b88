/*
 * metrics_textfile.c - the counters as a file for node_exporter (see metrics_textfile.h)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/metrics_textfile.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/strbuf.h"

struct metrics_textfile {
	const struct metrics *reg;
	const struct logger *log;
	char *path;
	long interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;    /* under LOCK */
	bool failing; /* the last write failed (logged once) */
};

int metrics_textfile_write(const struct metrics *reg, const char *path)
{
	struct strbuf text, tmp;
	FILE *fp;
	int rc = -1, saved;

	strbuf_init(&text);
	strbuf_init(&tmp);
	metrics_write(reg, &text);
	/* the temporary file beside the target: rename() is atomic only
	 * within one file system */
	strbuf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	if (text.failed || tmp.failed) {
		errno = ENOMEM;
		goto out;
	}
	fp = fopen(strbuf_cstr(&tmp), "w");
	if (fp == NULL)
		goto out;
	if (fwrite(text.data, 1, text.len, fp) != text.len || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		saved = errno;
		fclose(fp);
		unlink(strbuf_cstr(&tmp));
		errno = saved;
		goto out;
	}
	if (fclose(fp) != 0 || rename(strbuf_cstr(&tmp), path) != 0) {
		saved = errno;
		unlink(strbuf_cstr(&tmp));
		errno = saved;
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	strbuf_free(&text);
	strbuf_free(&tmp);
	errno = saved;
	return rc;
}

/* metrics_textfile_once - one write, its failure logged once */
static void metrics_textfile_once(struct metrics_textfile *t)
{
	if (metrics_textfile_write(t->reg, t->path) != 0) {
		if (!t->failing)
			log_msg(t->log, LOG_ERR, "metrics_textfile %s: %s", t->path,
				strerror(errno));
		t->failing = true;
	} else if (t->failing) {
		log_msg(t->log, LOG_NOTICE, "metrics_textfile %s: written again", t->path);
		t->failing = false;
	}
}

static void *metrics_textfile_thread(void *arg)
{
	struct metrics_textfile *t = arg;
	bool stop = false;

	while (!stop) {
		struct timespec until;

		metrics_textfile_once(t);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += t->interval_s;
		pthread_mutex_lock(&t->lock);
		while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT)
			;
		stop = t->stop;
		pthread_mutex_unlock(&t->lock);
	}
	metrics_textfile_once(t); /* the last counts, at exit */
	return NULL;
}

struct metrics_textfile *metrics_textfile_start(const struct config *c, const struct metrics *reg,
						const struct logger *log)
{
	struct metrics_textfile *t;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	if (c->metrics_textfile[0] == '\0' || reg == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->path = strdup(c->metrics_textfile)) == NULL) {
		free(t);
		log_msg(log, LOG_ERR, "metrics_textfile: out of memory");
		return NULL;
	}
	t->reg = reg;
	t->log = log;
	t->interval_s = c->metrics_textfile_interval_s;
	pthread_mutex_init(&t->lock, NULL);
	/* the monotonic clock: a wall-clock step must not stop the writes */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->thread, NULL, metrics_textfile_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_msg(log, LOG_ERR, "metrics_textfile: cannot start its thread");
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		free(t->path);
		free(t);
		return NULL;
	}
	return t;
}

void metrics_textfile_stop(struct metrics_textfile *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t->path);
	free(t);
}
