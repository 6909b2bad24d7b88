/*
 * gcra.c - the generic cell rate algorithm (see gcra.h)
 */
#include "outbound/gcra.h"
#include "conf/rate_spec.h"

void gcra_limit_from_spec(const struct rate_spec *spec, struct gcra_limit *out)
{
	/* Rounded down: a limit a microsecond generous per event, never one
	 * that refuses the Nth event of a period. At least 1 us, so every
	 * event costs something. */
	out->interval_us = (int64_t)spec->period_s * 1000000 / spec->count;
	if (out->interval_us < 1)
		out->interval_us = 1;
	out->capacity_us = out->interval_us * spec->burst;
	if (out->capacity_us > GCRA_MAX_AHEAD_US)
		out->capacity_us = GCRA_MAX_AHEAD_US;
}

/* gcra_after - the TAT N events at NOW would leave */
static int64_t gcra_after(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim, long n)
{
	int64_t base = tat_us > now_us ? tat_us : now_us;
	int64_t cost;

	if (n < 0)
		n = 0;
	if (n > GCRA_MAX_EVENTS)
		n = GCRA_MAX_EVENTS;
	cost = lim->interval_us * n;
	if (cost > GCRA_MAX_AHEAD_US)
		cost = GCRA_MAX_AHEAD_US;
	if (base - now_us > GCRA_MAX_AHEAD_US)
		base = now_us + GCRA_MAX_AHEAD_US;
	return base + cost;
}

int64_t gcra_wait_us(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim, long n)
{
	int64_t wait = gcra_after(tat_us, now_us, lim, n) - lim->capacity_us - now_us;

	return wait > 0 ? wait : 0;
}

int64_t gcra_charge(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim, long n)
{
	return gcra_after(tat_us, now_us, lim, n);
}

long gcra_available(int64_t tat_us, int64_t now_us, const struct gcra_limit *lim)
{
	int64_t ahead = tat_us > now_us ? tat_us - now_us : 0;
	int64_t room = lim->capacity_us - ahead;

	return room > 0 ? (long)(room / lim->interval_us) : 0;
}
