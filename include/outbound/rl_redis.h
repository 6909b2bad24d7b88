/*
 * rl_redis.h - rate-limit counters in Redis, shared by a fleet of MTA hosts
 *
 * Each counter is one Redis string "gatehouse:rl:KEY" holding its GCRA TAT
 * (gcra.h), with an expiry at that TAT (an idle counter is an absent one).
 * rl_redis_apply() answers a whole array of counters in one round trip:
 * EVALSHA of a Lua script that reads, decides and (when charging) writes
 * every counter atomically, so hosts never race between read and write.
 *
 * Failure: every call is bounded by the connect and command timeouts
 * (hiredis' synchronous API with redisConnect*WithTimeout and
 * redisSetTimeout). A failed or timed-out call returns GH_ERR_IO and the
 * caller falls back (ratelimit.c); the broken connection is dropped, and
 * for the next second calls fail at once without trying, so an outage
 * costs each message no more than one timeout per second for the whole
 * process. After that a call reconnects on its own.
 *
 * Threads: any thread may call. A hiredis context is not thread-safe: the
 * store keeps a small pool of connections under a lock, and a call takes
 * one for itself for the length of its round trip (a new one when all are
 * in use; at most RL_REDIS_POOL stay open when idle).
 * Memory: the store owns its connections; rl_redis_free closes them.
 */
#ifndef RL_REDIS_H
#define RL_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbound/rl_item.h"

struct diag;
struct rl_redis;

#define RL_REDIS_PREFIX "gatehouse:rl:"
#define RL_REDIS_POOL 16

/*
 * rl_redis_new - a store for ADDRESS ("unix:/path" or "host:port") with
 * TIMEOUT_MS for connecting and for each command. Nothing is connected
 * yet. NULL with the reason in ERRS on a bad address or OOM.
 */
struct rl_redis *rl_redis_new(const char *address, long timeout_ms, struct diag *errs);
/* rl_redis_free - accepts NULL */
void rl_redis_free(struct rl_redis *r);

/*
 * rl_redis_apply - as rl_mem_apply, in Redis: GH_OK, or GH_ERR_IO with
 * nothing known (the items' answers are then unset). *CHANGED is set when
 * this call moved the store between up and down (the caller logs it once);
 * WHY, when not NULL, gets a static description of the last failure.
 */
int rl_redis_apply(struct rl_redis *r, struct rl_item *items, size_t n, int64_t now_us, bool charge,
		   bool *changed);
/* rl_redis_last_error - what the last failure was, for the log ("" when up) */
const char *rl_redis_last_error(struct rl_redis *r);

/* For `gatehouse ratelimit`: GH_OK or GH_ERR_IO (reason in ERRS). */
/* rl_redis_get - the TAT of KEY (0: none) */
int rl_redis_get(struct rl_redis *r, const char *key, int64_t *tat_us, struct diag *errs);
/* rl_redis_reset - delete KEY; *EXISTED says whether it was there */
int rl_redis_reset(struct rl_redis *r, const char *key, bool *existed, struct diag *errs);
/* rl_redis_foreach - FN for every counter in Redis (SCAN, a batch at a time) */
int rl_redis_foreach(struct rl_redis *r, void (*fn)(void *ctx, const char *key, int64_t tat_us),
		     void *ctx, struct diag *errs);

#endif
