/*
 * metrics.h - counters, gauges and histograms with closed label sets, and
 * their Prometheus text exposition (format 0.0.4)
 *
 * A registry holds families; a family is one metric name with at most
 * METRICS_MAX_LABELS labels, each with a closed set of values given when the
 * family is registered, so the number of series is fixed and small: a label
 * value is an index into that set, never a string from the network. One
 * kind of family is open: a "named" family (spec.named_max > 0) has a single
 * label whose values arrive at run time (rule names from the rule set); it
 * keeps at most named_max of them, and counts anything beyond that under
 * the value METRICS_OVERFLOW ("_other"). A name, once seen, keeps its
 * series until the registry is freed (so a counter survives a reload that
 * keeps the name, and Prometheus never sees a counter go backwards).
 *
 * Counting is lock-free: every series is a run of relaxed atomic 64-bit
 * slots padded to a cache line of its own, so two threads counting
 * different series never share a line, and no thread ever waits for a
 * scrape. A scrape reads each slot once; a histogram's count is the sum of
 * its buckets as read, so _count and the +Inf bucket always agree.
 *
 * Every counting function accepts a NULL family and does nothing: a
 * service built without metrics passes NULL everywhere.
 *
 * Threads: metrics_register() before any thread counts (at start);
 * everything else from any thread at once.
 * Memory: the registry owns its families; spec strings must outlive it
 * (they are static tables); named values are copied.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct diag;
struct strbuf;

#define METRICS_MAX_LABELS 2
#define METRICS_OVERFLOW "_other" /* a named family's value once it is full */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_label {
	const char *name;	   /* NULL: no label */
	const char *const *values; /* NULL-terminated, the closed set */
};

struct metrics_spec {
	enum metrics_type type;
	const char *name; /* counters end in _total, by Prometheus's convention */
	const char *help;
	struct metrics_label labels[METRICS_MAX_LABELS];
	const double *buckets; /* histograms: upper bounds, ascending (+Inf is implied) */
	size_t nbuckets;
	size_t named_max; /* > 0: labels[0] takes run-time values, at most this many */
};

struct metrics;
struct metrics_family;

/* metrics_new - an empty registry; NULL on out of memory */
struct metrics *metrics_new(void);
/* metrics_free - the registry and its families; accepts NULL */
void metrics_free(struct metrics *m);

/*
 * metrics_register - add the family SPEC describes; NULL with the reason in
 * ERRS when SPEC is not valid (a name or label Prometheus refuses, a name
 * used twice, buckets not ascending, an empty value set) or memory ran out
 */
struct metrics_family *metrics_register(struct metrics *m, const struct metrics_spec *spec,
					struct diag *errs);

/* metrics_add - counter F's series (A, B) (label value indexes; 0 for a
 * label F does not have) grows by N; an index out of range counts nothing */
void metrics_add(struct metrics_family *f, unsigned a, unsigned b, uint64_t n);
/* metrics_inc - metrics_add by one */
void metrics_inc(struct metrics_family *f, unsigned a, unsigned b);
/* metrics_gauge_add - gauge F's series (A, B) moves by DELTA */
void metrics_gauge_add(struct metrics_family *f, unsigned a, unsigned b, int64_t delta);
/* metrics_gauge_set - gauge F's series (A, B) becomes V */
void metrics_gauge_set(struct metrics_family *f, unsigned a, unsigned b, int64_t v);
/* metrics_observe - histogram F's series (A, B) sees V (seconds, bytes...) */
void metrics_observe(struct metrics_family *f, unsigned a, unsigned b, double v);
/* metrics_inc_named - named counter F's series for VALUE grows by one */
void metrics_inc_named(struct metrics_family *f, const char *value);

/* metrics_counter_raise - counter F's series (A, B) becomes V unless it
 * holds more already: for totals another module keeps itself, copied in
 * by an on-write hook; a counter so fed never goes back, whatever order
 * two concurrent scrapes copy in */
void metrics_counter_raise(struct metrics_family *f, unsigned a, unsigned b, uint64_t v);
/* metrics_on_write - FN(CTX) runs at the start of every metrics_write() of
 * M (to copy such totals in); one per registry, set before any thread
 * writes; FN may run on several threads at once */
void metrics_on_write(struct metrics *m, void (*fn)(void *ctx), void *ctx);

/* metrics_value - what counter or gauge F's series (A, B) holds now (a
 * histogram's: its count); 0 for a NULL family or an index out of range */
int64_t metrics_value(const struct metrics_family *f, unsigned a, unsigned b);
/* metrics_value_named - named counter F's series for VALUE; 0 when unseen */
uint64_t metrics_value_named(const struct metrics_family *f, const char *value);

/*
 * metrics_write - every family of M in the text exposition format, in the
 * order registered: HELP and TYPE lines, every series of a closed family
 * (zeros included, so a dashboard sees them before the first event), label
 * values and HELP text escaped, histogram buckets cumulative with _sum and
 * _count. Appends to OUT; OUT->failed tells of out of memory. M may be NULL
 * (nothing written).
 */
void metrics_write(const struct metrics *m, struct strbuf *out);

#endif
