/*
 * report_recorder.c - the queue and the writer thread (see report_recorder.h)
 *
 * A ring of pointers under one mutex: push appends or drops, the writer
 * swaps the whole ring's content out and writes it with the mutex
 * released, so a slow disk holds no session. Failures are logged at most
 * once per minute per kind; the counters are atomics, readable without
 * the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_recorder.h"
#include "report/report_store.h"
#include "util/log.h"
#include "util/strbuf.h"

#define RECORDER_EXPIRE_S 3600 /* expiry runs this often */
#define RECORDER_LOG_S 60      /* at most one failure line per kind this often */

enum rec_fail { FAIL_QUEUE, FAIL_STORE, FAIL_KINDS };

struct report_recorder {
	struct report_recorder_options o;
	char *path; /* o.path's own copy */
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	pthread_t thread;
	struct report_entry **ring;
	size_t head, n;
	bool stop;
	unsigned long long pushed, done; /* under MU: flush waits for done == pushed */
	atomic_ullong recorded, dropped_queue, dropped_store, expired;
	/* under MU: when each kind was last logged, and drops since */
	time_t logged_at[FAIL_KINDS];
	unsigned long long unlogged[FAIL_KINDS];
};

/* note_fail - count and perhaps log one failure of KIND (MU held) */
static void note_fail(struct report_recorder *r, enum rec_fail kind, unsigned long long n,
		      const char *why)
{
	time_t now = time(NULL);

	r->unlogged[kind] += n;
	if (r->o.log == NULL || now - r->logged_at[kind] < RECORDER_LOG_S)
		return;
	log_msg(r->o.log, LOG_WARNING,
		"dmarc-report: %llu evaluation(s) not recorded in %s: %s (mail is not affected; "
		"at most one such line a minute)",
		r->unlogged[kind], r->o.path, why);
	r->logged_at[kind] = now;
	r->unlogged[kind] = 0;
}

/* write_batch - E[0..N) into the store, opening it first when needed */
static void write_batch(struct report_recorder *r, struct report_store **st,
			struct report_entry **e, size_t n)
{
	struct strbuf err;

	strbuf_init(&err);
	if (*st == NULL && (*st = report_store_open(r->o.path, true, &err)) != NULL &&
	    r->o.log != NULL)
		log_msg(r->o.log, LOG_INFO, "dmarc-report: recording DMARC evaluations in %s",
			r->o.path); /* once, and again after a failure */
	if (*st != NULL && report_store_insert(*st, e, n, &err) == 0) {
		atomic_fetch_add(&r->recorded, n);
	} else {
		atomic_fetch_add(&r->dropped_store, n);
		pthread_mutex_lock(&r->mu);
		note_fail(r, FAIL_STORE, n, err.len > 0 ? strbuf_cstr(&err) : "out of memory");
		pthread_mutex_unlock(&r->mu);
		/* a lock or a full disk may pass; a broken handle is reopened */
		report_store_close(*st);
		*st = NULL;
	}
	strbuf_free(&err);
	for (size_t i = 0; i < n; i++)
		free(e[i]);
}

static void expire(struct report_recorder *r, struct report_store **st)
{
	struct strbuf err;
	long long deleted = 0;

	strbuf_init(&err);
	if (report_store_expire(*st, (long long)time(NULL) - r->o.max_age_days * 86400LL, &deleted,
				&err) == 0) {
		atomic_fetch_add(&r->expired, (unsigned long long)deleted);
	} else if (r->o.log != NULL) {
		log_msg(r->o.log, LOG_WARNING, "dmarc-report: expiry in %s failed: %s", r->o.path,
			err.len > 0 ? strbuf_cstr(&err) : "out of memory");
	}
	strbuf_free(&err);
}

static void *writer(void *arg)
{
	struct report_recorder *r = arg;
	struct report_store *st = NULL;
	struct report_entry **batch = calloc(r->o.queue_max, sizeof(*batch));
	time_t next_expiry = 0;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct timespec until;
		size_t n = 0;

		/* expiry waits for the first batch to open the store: the
		 * daemon's privileges are dropped by then, so the file is
		 * never created as root */
		while (r->n == 0 && !r->stop && (st == NULL || time(NULL) < next_expiry)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 60;
			pthread_cond_timedwait(&r->work, &r->mu, &until);
		}
		if (r->n == 0 && r->stop)
			break;
		while (r->n > 0 && batch != NULL) {
			batch[n++] = r->ring[r->head];
			r->head = (r->head + 1) % r->o.queue_max;
			r->n--;
		}
		pthread_mutex_unlock(&r->mu);
		if (n > 0)
			write_batch(r, &st, batch, n);
		if (st != NULL && time(NULL) >= next_expiry) {
			expire(r, &st);
			next_expiry = time(NULL) + RECORDER_EXPIRE_S;
		}
		pthread_mutex_lock(&r->mu);
		r->done += n;
		pthread_cond_broadcast(&r->idle);
		if (batch == NULL) /* no memory for a batch: drop what waits */
			while (r->n > 0) {
				free(r->ring[r->head]);
				r->head = (r->head + 1) % r->o.queue_max;
				r->n--;
				r->done++;
				atomic_fetch_add(&r->dropped_store, 1);
			}
	}
	pthread_mutex_unlock(&r->mu);
	free(batch);
	report_store_close(st);
	return NULL;
}

/* recorder_release - R's locks and memory, once no writer thread runs */
static void recorder_release(struct report_recorder *r)
{
	pthread_cond_destroy(&r->idle);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->mu);
	free(r->ring);
	free(r->path);
	free(r);
}

struct report_recorder *report_recorder_new(const struct report_recorder_options *o)
{
	struct report_recorder *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->o = *o;
	if (r->o.queue_max == 0)
		r->o.queue_max = REPORT_QUEUE_DEFAULT;
	/* the path is the snapshot's, and a reload frees that snapshot */
	r->path = strdup(o->path);
	r->o.path = r->path;
	r->ring = calloc(r->o.queue_max, sizeof(*r->ring));
	if (r->ring == NULL || r->path == NULL) {
		free(r->ring);
		free(r->path);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->idle, NULL);
	if (pthread_create(&r->thread, NULL, writer, r) != 0) {
		recorder_release(r);
		return NULL;
	}
	return r;
}

bool report_recorder_push(struct report_recorder *r, struct report_entry *e)
{
	bool ok;

	pthread_mutex_lock(&r->mu);
	ok = r->n < r->o.queue_max && !r->stop;
	if (ok) {
		r->ring[(r->head + r->n) % r->o.queue_max] = e;
		r->n++;
		r->pushed++;
		pthread_cond_signal(&r->work);
	} else {
		atomic_fetch_add(&r->dropped_queue, 1);
		note_fail(r, FAIL_QUEUE, 1, "the queue is full");
	}
	pthread_mutex_unlock(&r->mu);
	if (!ok)
		free(e);
	return ok;
}

void report_recorder_flush(struct report_recorder *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->done < r->pushed) {
		pthread_cond_signal(&r->work);
		pthread_cond_wait(&r->idle, &r->mu);
	}
	pthread_mutex_unlock(&r->mu);
}

void report_recorder_stats(const struct report_recorder *r, struct report_stats *out)
{
	struct report_recorder *w = (struct report_recorder *)r; /* atomics: loads only */

	out->recorded = atomic_load(&w->recorded);
	out->dropped_queue = atomic_load(&w->dropped_queue);
	out->dropped_store = atomic_load(&w->dropped_store);
	out->expired = atomic_load(&w->expired);
}

void report_recorder_free(struct report_recorder *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	recorder_release(r);
}
