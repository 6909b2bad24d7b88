/*
 * rl_mem.h - rate-limit counters in process memory
 *
 * The default store, and the fallback when Redis is configured but down.
 * A counter is a key and its GCRA TAT (gcra.h). Memory is bounded: at most
 * MAX_KEYS counters; a counter whose TAT has passed is forgotten at the
 * next operation near it (GCRA: that loses nothing), and when the store is
 * full of busy counters the least recently used one goes (counted in
 * evicted_busy: a limit then forgives that key; raise ratelimit_max_keys).
 *
 * Threads: every call may come from any thread. The keys are spread over
 * shards, each with its own lock, so connections on different workers
 * rarely wait for each other; one call locks the shards it needs one at a
 * time (a message's counters are not updated as one transaction: two
 * messages racing may both pass a check the second would fail, at most one
 * message over the limit per racing connection).
 * Memory: the store owns its keys; rl_mem_free releases everything.
 */
#ifndef RL_MEM_H
#define RL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbound/rl_item.h"

struct rl_mem;

struct rl_mem_stats {
	size_t keys;		    /* counters held now */
	unsigned long evicted_idle; /* forgotten after their TAT passed */
	unsigned long evicted_busy; /* pushed out by a full store */
};

/* rl_mem_new - an empty store for MAX_KEYS counters (at least 64: one per
 * shard); NULL on OOM */
struct rl_mem *rl_mem_new(size_t max_keys);
/* rl_mem_free - accepts NULL */
void rl_mem_free(struct rl_mem *m);

/*
 * rl_mem_apply - answer ITEMS at NOW: each item's wait and previous TAT;
 * with CHARGE, every item's N events are also added (fitting or not).
 * GH_OK or GH_ERR_NOMEM (a new counter could not be stored: its answer is
 * still given, as for a fresh key).
 */
int rl_mem_apply(struct rl_mem *m, struct rl_item *items, size_t n, int64_t now_us, bool charge);
/* rl_mem_get - the TAT of KEY (0: no counter) */
int64_t rl_mem_get(struct rl_mem *m, const char *key);
/* rl_mem_reset - forget KEY; true when it was there */
bool rl_mem_reset(struct rl_mem *m, const char *key);
/* rl_mem_foreach - FN for every live counter (TAT after NOW), shard by shard
 * under that shard's lock: FN must not call back into the store */
void rl_mem_foreach(struct rl_mem *m, int64_t now_us,
		    void (*fn)(void *ctx, const char *key, int64_t tat_us), void *ctx);
/* rl_mem_stats - the numbers above, summed over the shards */
void rl_mem_stats(struct rl_mem *m, struct rl_mem_stats *out);

#endif
