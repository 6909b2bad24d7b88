/*
 * rl_item.h - one counter asked about in one rate-limit call
 *
 * The limiter (ratelimit.c) fills an array of these per check or charge;
 * a store (rl_mem.c in process, rl_redis.c in Redis) answers the whole
 * array at once, atomically per store call, so that the limits of one
 * message (login, sender domain, client; messages and recipients) cost one
 * lock round or one Redis round trip.
 */
#ifndef RL_ITEM_H
#define RL_ITEM_H

#include <stdint.h>

#include "outbound/gcra.h"

struct rl_item {
	const char *key;	 /* in: the counter, e.g. "msg:login:alice" */
	struct gcra_limit limit; /* in */
	long n;			 /* in: events to check or to charge */
	int64_t wait_us;	 /* out: 0 when N events fit now */
	int64_t tat_us;		 /* out: the counter's TAT before the call (0: none) */
};

#endif
