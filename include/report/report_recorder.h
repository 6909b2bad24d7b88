/*
 * report_recorder.h - DMARC evaluations into the store, off the SMTP path
 *
 * The engine pushes one heap entry per evaluated message at its end
 * (report_recorder_push never blocks on the disk: it takes a lock held
 * only to move pointers); one writer thread takes everything queued and
 * inserts it in one transaction. A full queue, a store that cannot be
 * opened, a full disk or a lock held past the busy timeout drop the entries
 * concerned: each is counted, and logged at most once a minute per kind
 * (with how many were dropped since). Mail flow never waits for any of it.
 * The store is opened by the writer thread on its first batch (after the
 * daemon dropped privileges) and reopened after a failure. The thread also
 * deletes entries older than max_age_days, at start and hourly.
 *
 * Threads: push and stats from any thread; flush and free from one.
 */
#ifndef REPORT_RECORDER_H
#define REPORT_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

struct logger;
struct report_entry;
struct report_recorder;

struct report_recorder_options {
	const char *path;	  /* the SQLite file */
	long max_age_days;	  /* expiry */
	size_t queue_max;	  /* entries waiting; 0 = REPORT_QUEUE_DEFAULT */
	const struct logger *log; /* may be NULL: failures only counted */
};

#define REPORT_QUEUE_DEFAULT 10000

/* The counters (monotonic since start), for logs and metrics. */
struct report_stats {
	unsigned long long recorded;	  /* committed to the store */
	unsigned long long dropped_queue; /* the queue was full */
	unsigned long long dropped_store; /* open, insert or commit failed */
	unsigned long long expired;	  /* deleted for their age */
};

/* report_recorder_new - the queue and its writer thread; NULL on OOM */
struct report_recorder *report_recorder_new(const struct report_recorder_options *o);
/* report_recorder_push - hand E (from report_entry_dup) over; the recorder
 * frees it. false when it was dropped (queue full). */
bool report_recorder_push(struct report_recorder *r, struct report_entry *e);
/* report_recorder_flush - wait until everything pushed so far is written
 * or dropped (test mode before it exits; the daemon at shutdown) */
void report_recorder_flush(struct report_recorder *r);
/* report_recorder_stats - a snapshot of the counters */
void report_recorder_stats(const struct report_recorder *r, struct report_stats *out);
/* report_recorder_free - flush, stop the thread, close; accepts NULL */
void report_recorder_free(struct report_recorder *r);

#endif
