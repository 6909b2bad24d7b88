/*
 * metrics.c - counters, gauges, histograms and their exposition (see metrics.h)
 *
 * Layout: a family owns one block of memory; series S's slots start at
 * S * stride bytes, stride a multiple of the cache line, so series never
 * share a line. A counter or gauge series is one slot; a histogram series
 * is one slot per bucket (+Inf included; counts per bucket, not
 * cumulative, so an observation touches one bucket slot) and one slot for
 * the sum, a double kept as its bits and grown by compare-and-swap.
 *
 * Why atomics and not per-thread shards: one relaxed fetch-add on a line of
 * its own costs a few nanoseconds when uncontended, and a message makes a
 * handful of them; shards would need a thread index the engine does not
 * have (test mode, fuzzers) and a sum at every scrape. The benchmark in the
 * README's Metrics section measures the difference on whole messages.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"
#include "util/metrics.h"
#include "util/strbuf.h"

#define METRICS_LINE 64 /* bytes in a cache line on the machines we run on */

struct metrics_family {
	struct metrics_spec spec;
	size_t nvalues[METRICS_MAX_LABELS]; /* values per label; 1 for an absent label */
	size_t nseries;			    /* product of nvalues (named: named_max + 1) */
	size_t nslots;			    /* per series */
	size_t stride;			    /* bytes per series, a multiple of METRICS_LINE */
	unsigned char *block;		    /* nseries * stride bytes, line-aligned */
	_Atomic(char *) *names;		    /* named families: named_max names, NULL = free */
};

struct metrics {
	struct metrics_family **fam;
	size_t n, cap;
	void (*on_write)(void *ctx); /* metrics_on_write(), or NULL */
	void *on_write_ctx;
};

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

static void metrics_family_free(struct metrics_family *f)
{
	if (f == NULL)
		return;
	if (f->names != NULL)
		for (size_t i = 0; i < f->spec.named_max; i++)
			free(atomic_load_explicit(&f->names[i], memory_order_relaxed));
	free(f->names);
	free(f->block);
	free(f);
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		metrics_family_free(m->fam[i]);
	free(m->fam);
	free(m);
}

/* metrics_name_ok - Prometheus's metric name (COLON true) or label name grammar */
static bool metrics_name_ok(const char *s, bool colon)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

/* metrics_spec_check - why SPEC cannot be registered in M, or NULL */
static const char *metrics_spec_check(const struct metrics *m, const struct metrics_spec *spec)
{
	if (!metrics_name_ok(spec->name, true))
		return "not a valid metric name";
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->fam[i]->spec.name, spec->name) == 0)
			return "registered twice";
	if (spec->help == NULL)
		return "no help text";
	for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
		const struct metrics_label *l = &spec->labels[i];

		if (l->name == NULL)
			continue;
		if (!metrics_name_ok(l->name, false) || strncmp(l->name, "__", 2) == 0 ||
		    (spec->type == METRICS_HISTOGRAM && strcmp(l->name, "le") == 0))
			return "not a valid label name";
		if (i > 0 && spec->labels[0].name == NULL)
			return "labels must be given in order";
		if (!(i == 0 && spec->named_max > 0) && (l->values == NULL || l->values[0] == NULL))
			return "a label needs a closed set of values";
	}
	if (spec->named_max > 0 && (spec->type != METRICS_COUNTER || spec->labels[0].name == NULL ||
				    spec->labels[1].name != NULL))
		return "a named family is a counter with exactly one label";
	if (spec->type == METRICS_HISTOGRAM) {
		if (spec->nbuckets == 0 || spec->buckets == NULL)
			return "a histogram needs buckets";
		for (size_t i = 0; i < spec->nbuckets; i++)
			if (!isfinite(spec->buckets[i]) ||
			    (i > 0 && spec->buckets[i] <= spec->buckets[i - 1]))
				return "buckets must be finite and ascending";
	}
	return NULL;
}

struct metrics_family *metrics_register(struct metrics *m, const struct metrics_spec *spec,
					struct diag *errs)
{
	const char *why = metrics_spec_check(m, spec);
	struct metrics_family *f;

	if (why != NULL) {
		diag_pushf(errs, "metrics: %s: %s", spec->name ? spec->name : "(null)", why);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		goto nomem;
	f->spec = *spec;
	f->nseries = 1;
	for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
		f->nvalues[i] = 1;
		if (spec->labels[i].name != NULL && !(i == 0 && spec->named_max > 0)) {
			f->nvalues[i] = 0;
			while (spec->labels[i].values[f->nvalues[i]] != NULL)
				f->nvalues[i]++;
		}
		f->nseries *= f->nvalues[i];
	}
	if (spec->named_max > 0) {
		f->nvalues[0] = spec->named_max + 1; /* the last one is METRICS_OVERFLOW */
		f->nseries = spec->named_max + 1;
		f->names = calloc(spec->named_max, sizeof(*f->names));
		if (f->names == NULL)
			goto nomem;
	}
	f->nslots = spec->type == METRICS_HISTOGRAM ? spec->nbuckets + 2 : 1;
	f->stride = (f->nslots * sizeof(_Atomic uint64_t) + METRICS_LINE - 1) / METRICS_LINE *
		    METRICS_LINE;
	f->block = aligned_alloc(METRICS_LINE, f->nseries * f->stride);
	if (f->block == NULL)
		goto nomem;
	memset(f->block, 0, f->nseries * f->stride);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct metrics_family **fam = realloc(m->fam, cap * sizeof(*fam));

		if (fam == NULL)
			goto nomem;
		m->fam = fam;
		m->cap = cap;
	}
	m->fam[m->n++] = f;
	return f;
nomem:
	metrics_family_free(f);
	diag_pushf(errs, "metrics: %s: out of memory", spec->name);
	return NULL;
}

/* metrics_slots - the slots of series (A, B), or NULL when out of range */
static _Atomic uint64_t *metrics_slots(const struct metrics_family *f, unsigned a, unsigned b)
{
	if (f == NULL || a >= f->nvalues[0] || b >= f->nvalues[1])
		return NULL;
	return (_Atomic uint64_t *)(void *)(f->block + ((size_t)a * f->nvalues[1] + b) * f->stride);
}

void metrics_add(struct metrics_family *f, unsigned a, unsigned b, uint64_t n)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b);

	assert(f == NULL || f->spec.type != METRICS_HISTOGRAM);
	if (s != NULL)
		atomic_fetch_add_explicit(s, n, memory_order_relaxed);
}

void metrics_inc(struct metrics_family *f, unsigned a, unsigned b)
{
	metrics_add(f, a, b, 1);
}

void metrics_gauge_add(struct metrics_family *f, unsigned a, unsigned b, int64_t delta)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b);

	/* two's complement: adding the unsigned image of a negative delta subtracts */
	if (s != NULL)
		atomic_fetch_add_explicit(s, (uint64_t)delta, memory_order_relaxed);
}

void metrics_gauge_set(struct metrics_family *f, unsigned a, unsigned b, int64_t v)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b);

	if (s != NULL)
		atomic_store_explicit(s, (uint64_t)v, memory_order_relaxed);
}

void metrics_counter_raise(struct metrics_family *f, unsigned a, unsigned b, uint64_t v)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b);
	uint64_t cur;

	if (s == NULL)
		return;
	cur = atomic_load_explicit(s, memory_order_relaxed);
	while (cur < v && !atomic_compare_exchange_weak_explicit(s, &cur, v, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

void metrics_on_write(struct metrics *m, void (*fn)(void *ctx), void *ctx)
{
	m->on_write = fn;
	m->on_write_ctx = ctx;
}

static double metrics_bits_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t metrics_double_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

void metrics_observe(struct metrics_family *f, unsigned a, unsigned b, double v)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b), *sum;
	uint64_t old;
	size_t i = 0;

	if (s == NULL || f->spec.type != METRICS_HISTOGRAM || isnan(v))
		return;
	while (i < f->spec.nbuckets && v > f->spec.buckets[i])
		i++;
	atomic_fetch_add_explicit(&s[i], 1, memory_order_relaxed);
	sum = &s[f->spec.nbuckets + 1];
	old = atomic_load_explicit(sum, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(
		sum, &old, metrics_double_bits(metrics_bits_double(old) + v), memory_order_relaxed,
		memory_order_relaxed))
		;
}

/* metrics_hash - FNV-1a, for the named families' open addressing */
static size_t metrics_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* metrics_named_index - VALUE's series in named family F, claimed when new
 * (CREATE); the overflow series when F is full, -1 when not found */
static long metrics_named_index(const struct metrics_family *f, const char *value, bool create)
{
	size_t max = f->spec.named_max, h = metrics_hash(value);
	char *mine = NULL;

	for (size_t k = 0; k < max; k++) {
		size_t i = (h + k) % max;
		char *cur = atomic_load_explicit(&f->names[i], memory_order_acquire);

		if (cur == NULL) {
			if (!create)
				return -1;
			if (mine == NULL && (mine = strdup(value)) == NULL)
				return (long)max; /* out of memory: counted, as overflow */
			/* Claim the free slot; a thread that got there first with
			 * another name sends us on to the next slot. */
			if (atomic_compare_exchange_strong_explicit(&f->names[i], &cur, mine,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return (long)i;
		}
		if (strcmp(cur, value) == 0) {
			free(mine);
			return (long)i;
		}
	}
	free(mine);
	return create ? (long)max : -1;
}

void metrics_inc_named(struct metrics_family *f, const char *value)
{
	long i;

	if (f == NULL || f->names == NULL || value == NULL)
		return;
	i = metrics_named_index(f, value, true);
	metrics_add(f, (unsigned)i, 0, 1);
}

int64_t metrics_value(const struct metrics_family *f, unsigned a, unsigned b)
{
	_Atomic uint64_t *s = metrics_slots(f, a, b);
	uint64_t n = 0;

	if (s == NULL)
		return 0;
	if (f->spec.type != METRICS_HISTOGRAM)
		return (int64_t)atomic_load_explicit(s, memory_order_relaxed);
	for (size_t i = 0; i <= f->spec.nbuckets; i++)
		n += atomic_load_explicit(&s[i], memory_order_relaxed);
	return (int64_t)n;
}

uint64_t metrics_value_named(const struct metrics_family *f, const char *value)
{
	long i;

	if (f == NULL || f->names == NULL || value == NULL)
		return 0;
	i = metrics_named_index(f, value, false);
	return i < 0 ? 0 : (uint64_t)metrics_value(f, (unsigned)i, 0);
}

/* metrics_escape - V with backslash and newline escaped, and the double
 * quote too for a label value (QUOTE) */
static void metrics_escape(struct strbuf *out, const char *v, bool quote)
{
	for (; *v; v++) {
		if (*v == '\\')
			strbuf_puts(out, "\\\\");
		else if (*v == '\n')
			strbuf_puts(out, "\\n");
		else if (quote && *v == '"')
			strbuf_puts(out, "\\\"");
		else
			strbuf_putc(out, *v);
	}
}

/* metrics_value_name - label I's value of index X in F */
static const char *metrics_value_name(const struct metrics_family *f, size_t i, size_t x)
{
	if (i == 0 && f->names != NULL)
		return x == f->spec.named_max
			       ? METRICS_OVERFLOW
			       : atomic_load_explicit(&f->names[x], memory_order_acquire);
	return f->spec.labels[i].values[x];
}

/* metrics_series_line - NAME{labels of (A, B)[,le="LE"]} for F */
static void metrics_series_line(struct strbuf *out, const struct metrics_family *f,
				const char *suffix, size_t a, size_t b, const char *le)
{
	const size_t x[METRICS_MAX_LABELS] = { a, b };
	bool any = false;

	strbuf_puts(out, f->spec.name);
	strbuf_puts(out, suffix);
	for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
		if (f->spec.labels[i].name == NULL)
			continue;
		strbuf_puts(out, any ? "," : "{");
		strbuf_printf(out, "%s=\"", f->spec.labels[i].name);
		metrics_escape(out, metrics_value_name(f, i, x[i]), true);
		strbuf_putc(out, '"');
		any = true;
	}
	if (le != NULL) {
		strbuf_printf(out, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	strbuf_puts(out, any ? "} " : " ");
}

/* metrics_double - V in the fewest digits that read back as V (0.1, not
 * 0.10000000000000001) */
static void metrics_double(char *buf, size_t len, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* metrics_write_histogram - series (A, B) of histogram F, buckets cumulative */
static void metrics_write_histogram(struct strbuf *out, const struct metrics_family *f, size_t a,
				    size_t b, const _Atomic uint64_t *s)
{
	uint64_t cum = 0;
	char le[32];

	for (size_t i = 0; i <= f->spec.nbuckets; i++) {
		cum += atomic_load_explicit(&s[i], memory_order_relaxed);
		if (i < f->spec.nbuckets)
			metrics_double(le, sizeof(le), f->spec.buckets[i]);
		metrics_series_line(out, f, "_bucket", a, b, i < f->spec.nbuckets ? le : "+Inf");
		strbuf_printf(out, "%" PRIu64 "\n", cum);
	}
	metrics_series_line(out, f, "_sum", a, b, NULL);
	metrics_double(le, sizeof(le),
		       metrics_bits_double(atomic_load_explicit(&s[f->spec.nbuckets + 1],
								memory_order_relaxed)));
	strbuf_printf(out, "%s\n", le);
	metrics_series_line(out, f, "_count", a, b, NULL);
	strbuf_printf(out, "%" PRIu64 "\n", cum);
}

static void metrics_write_family(struct strbuf *out, const struct metrics_family *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	strbuf_printf(out, "# HELP %s ", f->spec.name);
	metrics_escape(out, f->spec.help, false);
	strbuf_printf(out, "\n# TYPE %s %s\n", f->spec.name, types[f->spec.type]);
	for (size_t a = 0; a < f->nvalues[0]; a++) {
		for (size_t b = 0; b < f->nvalues[1]; b++) {
			const _Atomic uint64_t *s = metrics_slots(f, (unsigned)a, (unsigned)b);
			uint64_t v = atomic_load_explicit(s, memory_order_relaxed);

			/* a named family: names not yet seen, and an empty overflow, are no series */
			if (f->names != NULL &&
			    (a == f->spec.named_max ? v == 0 : metrics_value_name(f, 0, a) == NULL))
				continue;
			if (f->spec.type == METRICS_HISTOGRAM) {
				metrics_write_histogram(out, f, a, b, s);
				continue;
			}
			metrics_series_line(out, f, "", a, b, NULL);
			if (f->spec.type == METRICS_GAUGE)
				strbuf_printf(out, "%" PRId64 "\n", (int64_t)v);
			else
				strbuf_printf(out, "%" PRIu64 "\n", v);
		}
	}
}

void metrics_write(const struct metrics *m, struct strbuf *out)
{
	if (m == NULL)
		return;
	if (m->on_write != NULL)
		m->on_write(m->on_write_ctx);
	for (size_t i = 0; i < m->n; i++)
		metrics_write_family(out, m->fam[i]);
}
