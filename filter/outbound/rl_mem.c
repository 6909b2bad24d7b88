/*
 * rl_mem.c - rate-limit counters in process memory (see rl_mem.h)
 *
 * Shards of chained hash tables, each with an LRU list: the list's tail is
 * where idle counters gather, so forgetting them costs a look at the tail
 * per operation instead of a sweep, and a full shard finds its victim
 * there too.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/rl_mem.h"
#include "util/gh.h"

#define RL_MEM_SHARDS 64   /* a power of two; well above the worker count */
#define RL_MEM_TAIL_LOOK 8 /* counters a full shard looks at for an idle one */

struct rl_mem_entry {
	struct rl_mem_entry *hnext;	  /* bucket chain */
	struct rl_mem_entry *prev, *next; /* LRU: head most recent */
	uint64_t hash;
	int64_t tat_us;
	char key[];
};

struct rl_mem_shard {
	pthread_mutex_t lock;
	struct rl_mem_entry **buckets;
	size_t nbuckets, count, cap;
	struct rl_mem_entry *head, *tail;
	unsigned long evicted_idle, evicted_busy;
};

struct rl_mem {
	struct rl_mem_shard shards[RL_MEM_SHARDS];
};

/* rl_mem_hash - FNV-1a, 64 bits: keys are short and cheap to hash */
static uint64_t rl_mem_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

struct rl_mem *rl_mem_new(size_t max_keys)
{
	struct rl_mem *m = calloc(1, sizeof(*m));
	size_t per = max_keys / RL_MEM_SHARDS;

	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < RL_MEM_SHARDS; i++) {
		struct rl_mem_shard *sh = &m->shards[i];

		pthread_mutex_init(&sh->lock, NULL);
		/* the remainder goes to the first shards, so MAX_KEYS holds exactly */
		sh->cap = per + (i < max_keys % RL_MEM_SHARDS ? 1 : 0);
		if (sh->cap == 0)
			sh->cap = 1; /* a tiny store still holds one counter per shard */
	}
	return m;
}

void rl_mem_free(struct rl_mem *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < RL_MEM_SHARDS; i++) {
		struct rl_mem_shard *sh = &m->shards[i];

		for (struct rl_mem_entry *e = sh->head, *nx; e != NULL; e = nx) {
			nx = e->next;
			free(e);
		}
		free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
	}
	free(m);
}

static struct rl_mem_shard *rl_mem_shard_of(struct rl_mem *m, uint64_t h)
{
	/* the high bits pick the shard, the low bits the bucket */
	return &m->shards[(h >> 58) & (RL_MEM_SHARDS - 1)];
}

static void rl_mem_lru_unlink(struct rl_mem_shard *sh, struct rl_mem_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		sh->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		sh->tail = e->prev;
	e->prev = e->next = NULL;
}

static void rl_mem_lru_push(struct rl_mem_shard *sh, struct rl_mem_entry *e)
{
	e->prev = NULL;
	e->next = sh->head;
	if (sh->head)
		sh->head->prev = e;
	sh->head = e;
	if (sh->tail == NULL)
		sh->tail = e;
}

static struct rl_mem_entry *rl_mem_find(struct rl_mem_shard *sh, uint64_t h, const char *key)
{
	if (sh->nbuckets == 0)
		return NULL;
	for (struct rl_mem_entry *e = sh->buckets[h & (sh->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void rl_mem_remove(struct rl_mem_shard *sh, struct rl_mem_entry *e)
{
	struct rl_mem_entry **pp = &sh->buckets[e->hash & (sh->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	rl_mem_lru_unlink(sh, e);
	sh->count--;
	free(e);
}

/* rl_mem_grow - double the buckets once the chains average one entry */
static int rl_mem_grow(struct rl_mem_shard *sh)
{
	size_t nb = sh->nbuckets ? sh->nbuckets * 2 : 16;
	struct rl_mem_entry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return GH_ERR_NOMEM;
	for (size_t i = 0; i < sh->nbuckets; i++)
		for (struct rl_mem_entry *e = sh->buckets[i], *nx; e; e = nx) {
			nx = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(sh->buckets);
	sh->buckets = b;
	sh->nbuckets = nb;
	return GH_OK;
}

/* rl_mem_forget_idle - drop idle counters at the LRU tail (at most LOOK) */
static void rl_mem_forget_idle(struct rl_mem_shard *sh, int64_t now_us, int look)
{
	while (look-- > 0 && sh->tail != NULL && sh->tail->tat_us <= now_us) {
		rl_mem_remove(sh, sh->tail);
		sh->evicted_idle++;
	}
}

/* rl_mem_make_room - a full shard frees one place: an idle counter near
 * the tail if there is one, else the least recently used */
static void rl_mem_make_room(struct rl_mem_shard *sh, int64_t now_us)
{
	struct rl_mem_entry *e = sh->tail;

	for (int i = 0; e != NULL && i < RL_MEM_TAIL_LOOK; i++, e = e->prev)
		if (e->tat_us <= now_us) {
			rl_mem_remove(sh, e);
			sh->evicted_idle++;
			return;
		}
	if (sh->tail != NULL) {
		rl_mem_remove(sh, sh->tail);
		sh->evicted_busy++;
	}
}

/* rl_mem_insert - a new counter for KEY; NULL on OOM */
static struct rl_mem_entry *rl_mem_insert(struct rl_mem_shard *sh, uint64_t h, const char *key,
					  int64_t now_us)
{
	size_t len = strlen(key);
	struct rl_mem_entry *e;

	while (sh->count >= sh->cap && sh->count > 0)
		rl_mem_make_room(sh, now_us);
	if (sh->cap == 0)
		return NULL;
	if (sh->count >= sh->nbuckets && rl_mem_grow(sh) != GH_OK)
		return NULL;
	e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->tat_us = 0;
	e->hnext = sh->buckets[h & (sh->nbuckets - 1)];
	sh->buckets[h & (sh->nbuckets - 1)] = e;
	rl_mem_lru_push(sh, e);
	sh->count++;
	return e;
}

int rl_mem_apply(struct rl_mem *m, struct rl_item *items, size_t n, int64_t now_us, bool charge)
{
	int rc = GH_OK;

	for (size_t i = 0; i < n; i++) {
		struct rl_item *it = &items[i];
		uint64_t h = rl_mem_hash(it->key);
		struct rl_mem_shard *sh = rl_mem_shard_of(m, h);
		struct rl_mem_entry *e;

		pthread_mutex_lock(&sh->lock);
		rl_mem_forget_idle(sh, now_us, 2);
		e = rl_mem_find(sh, h, it->key);
		it->tat_us = e ? e->tat_us : 0;
		it->wait_us = gcra_wait_us(it->tat_us, now_us, &it->limit, it->n);
		if (charge && it->n > 0) {
			/* a check alone stores nothing: asking costs no memory */
			if (e == NULL)
				e = rl_mem_insert(sh, h, it->key, now_us);
			if (e == NULL) {
				rc = GH_ERR_NOMEM;
			} else {
				e->tat_us = gcra_charge(e->tat_us, now_us, &it->limit, it->n);
				rl_mem_lru_unlink(sh, e);
				rl_mem_lru_push(sh, e);
			}
		}
		pthread_mutex_unlock(&sh->lock);
	}
	return rc;
}

int64_t rl_mem_get(struct rl_mem *m, const char *key)
{
	uint64_t h = rl_mem_hash(key);
	struct rl_mem_shard *sh = rl_mem_shard_of(m, h);
	struct rl_mem_entry *e;
	int64_t tat;

	pthread_mutex_lock(&sh->lock);
	e = rl_mem_find(sh, h, key);
	tat = e ? e->tat_us : 0;
	pthread_mutex_unlock(&sh->lock);
	return tat;
}

bool rl_mem_reset(struct rl_mem *m, const char *key)
{
	uint64_t h = rl_mem_hash(key);
	struct rl_mem_shard *sh = rl_mem_shard_of(m, h);
	struct rl_mem_entry *e;

	pthread_mutex_lock(&sh->lock);
	e = rl_mem_find(sh, h, key);
	if (e != NULL)
		rl_mem_remove(sh, e);
	pthread_mutex_unlock(&sh->lock);
	return e != NULL;
}

void rl_mem_foreach(struct rl_mem *m, int64_t now_us,
		    void (*fn)(void *ctx, const char *key, int64_t tat_us), void *ctx)
{
	for (size_t i = 0; i < RL_MEM_SHARDS; i++) {
		struct rl_mem_shard *sh = &m->shards[i];

		pthread_mutex_lock(&sh->lock);
		for (struct rl_mem_entry *e = sh->head; e != NULL; e = e->next)
			if (e->tat_us > now_us)
				fn(ctx, e->key, e->tat_us);
		pthread_mutex_unlock(&sh->lock);
	}
}

void rl_mem_stats(struct rl_mem *m, struct rl_mem_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < RL_MEM_SHARDS; i++) {
		struct rl_mem_shard *sh = &m->shards[i];

		pthread_mutex_lock(&sh->lock);
		out->keys += sh->count;
		out->evicted_idle += sh->evicted_idle;
		out->evicted_busy += sh->evicted_busy;
		pthread_mutex_unlock(&sh->lock);
	}
}
