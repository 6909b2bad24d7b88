/*
 * metrics_textfile.h - the counters as a file for node_exporter
 *
 * For hosts that already run node_exporter: every
 * metrics_textfile_interval_s seconds, and once more at exit, the same
 * exposition text the endpoint serves is written to metrics_textfile. It is
 * written to a temporary file in the same directory and renamed over the
 * old one, so the collector never reads half a file. A write that fails is
 * logged (once until one succeeds again) and never stops the daemon.
 *
 * Threads: one thread of its own, which reads the registry (lock-free).
 */
#ifndef METRICS_TEXTFILE_H
#define METRICS_TEXTFILE_H

struct config;
struct logger;
struct metrics;

struct metrics_textfile;

/* metrics_textfile_write - REG into PATH atomically; 0, or -1 with errno set */
int metrics_textfile_write(const struct metrics *reg, const char *path);
/* metrics_textfile_start - the writer thread for C's metrics_textfile; NULL
 * when none is configured (or it cannot start: logged) */
struct metrics_textfile *metrics_textfile_start(const struct config *c, const struct metrics *reg,
						const struct logger *log);
/* metrics_textfile_stop - write once more and stop; accepts NULL */
void metrics_textfile_stop(struct metrics_textfile *t);

#endif
