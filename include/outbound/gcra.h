/*
 * gcra.h - the generic cell rate algorithm: N events per PERIOD, burst B
 *
 * A key's whole state is one number, its theoretical arrival time (TAT):
 * the moment at which the key would be back to an empty bucket. Each event
 * pushes it one emission interval T = PERIOD / N into the future; N events
 * are allowed now as long as the TAT they would produce is at most B * T
 * ahead of now. So B events may come at once, then one every T, and over
 * any span of time S at most B + S / T pass: no window edges to burst
 * across, and O(1) state per key. A key whose TAT has passed is exactly a
 * key never seen, so forgetting it loses nothing (the stores rely on that).
 *
 * The TAT is absolute (microseconds of the wall clock, shared by a fleet
 * through Redis) and does not depend on the limit: a reload that changes a
 * limit applies it to every existing TAT without resetting anything.
 *
 * Time is always the caller's argument, so the unit tests inject it.
 * Threads and memory: pure functions.
 */
#ifndef GCRA_H
#define GCRA_H

#include <stdint.h>

struct rate_spec;

struct gcra_limit {
	int64_t interval_us; /* T: PERIOD / N */
	int64_t capacity_us; /* B * T: how far ahead of now the TAT may run */
};

/* The most events charged at once, and how far ahead a TAT may run:
 * bounds that keep every sum in int64_t whatever the limit. */
#define GCRA_MAX_EVENTS 100000L
#define GCRA_MAX_AHEAD_US (10LL * 366 * 86400 * 1000000)

/* gcra_limit_from_spec - T and B * T of a parsed limit (which must be set) */
void gcra_limit_from_spec(const struct rate_spec *spec, struct gcra_limit *out);
/* gcra_wait_us - 0 when N more events fit now for a key at TAT, else how
 * long until they would */
int64_t gcra_wait_us(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim, long n);
/* gcra_charge - the key's TAT after N events at NOW, fitting or not */
int64_t gcra_charge(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim, long n);
/* gcra_available - events that would fit now (0..B) */
long gcra_available(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim);

#endif
