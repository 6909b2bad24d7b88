/*
 * dns_cache.c - a bounded TTL cache of DNS answers (see dns_cache.h)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns_cache.h"

#define DNS_CACHE_STRIPES 32

struct slot {
	char *name; /* lower case, no trailing dot; NULL: empty */
	int rrtype;
	time_t expires; /* CLOCK_MONOTONIC seconds */
	struct dns_result res;
};

struct dns_cache {
	pthread_mutex_t locks[DNS_CACHE_STRIPES];
	struct slot slots[DNS_CACHE_SLOTS];
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* key_hash - FNV-1a over the name without case or a trailing dot, and the type */
static size_t key_hash(const char *name, int rrtype)
{
	uint32_t h = 2166136261u;
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		h ^= (ch >= 'A' && ch <= 'Z') ? ch + 32u : ch;
		h *= 16777619u;
	}
	h ^= (uint32_t)rrtype;
	h *= 16777619u;
	return h % DNS_CACHE_SLOTS;
}

static bool same_name(const char *stored, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	return strlen(stored) == len && strncasecmp(stored, name, len) == 0;
}

/* result_copy - a deep copy of SRC into DST; false when out of memory */
static bool result_copy(struct dns_result *dst, const struct dns_result *src)
{
	*dst = *src;
	dst->rr = NULL;
	dst->packet = NULL;
	dst->n = 0;
	if (src->n > 0) {
		if ((dst->rr = calloc(src->n, sizeof(*dst->rr))) == NULL)
			return false;
		for (size_t i = 0; i < src->n; i++) {
			dst->rr[i].data = malloc(src->rr[i].len ? src->rr[i].len : 1);
			if (dst->rr[i].data == NULL) {
				dns_result_free(dst);
				return false;
			}
			memcpy(dst->rr[i].data, src->rr[i].data, src->rr[i].len);
			dst->rr[i].len = src->rr[i].len;
			dst->n = i + 1;
		}
	}
	if (src->packet != NULL) {
		if ((dst->packet = malloc(src->packet_len)) == NULL) {
			dns_result_free(dst);
			return false;
		}
		memcpy(dst->packet, src->packet, src->packet_len);
	}
	return true;
}

static void slot_clear(struct slot *s)
{
	free(s->name);
	s->name = NULL;
	dns_result_free(&s->res);
}

struct dns_cache *dns_cache_new(void)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (int i = 0; i < DNS_CACHE_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < DNS_CACHE_SLOTS; i++)
		slot_clear(&c->slots[i]);
	for (int i = 0; i < DNS_CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c);
}

bool dns_cache_get(struct dns_cache *c, const char *name, int rrtype, struct dns_result *out)
{
	size_t i = key_hash(name, rrtype);
	pthread_mutex_t *lock = &c->locks[i % DNS_CACHE_STRIPES];
	struct slot *s = &c->slots[i];
	bool hit = false;

	pthread_mutex_lock(lock);
	if (s->name != NULL && s->rrtype == rrtype && same_name(s->name, name)) {
		if (now_s() < s->expires)
			hit = result_copy(out, &s->res);
		else
			slot_clear(s); /* expired: libunbound asks again */
	}
	pthread_mutex_unlock(lock);
	return hit;
}

void dns_cache_put(struct dns_cache *c, const char *name, int rrtype, const struct dns_result *res,
		   unsigned ttl)
{
	size_t i = key_hash(name, rrtype), len = strlen(name);
	pthread_mutex_t *lock = &c->locks[i % DNS_CACHE_STRIPES];
	struct slot fresh = { 0 }, old;

	if (ttl == 0 ||
	    (res->status != DNS_ANSWER && res->status != DNS_NXDOMAIN && res->status != DNS_NODATA))
		return;
	if (ttl > DNS_CACHE_MAX_TTL)
		ttl = DNS_CACHE_MAX_TTL;
	if (len > 0 && name[len - 1] == '.')
		len--;
	/* Copied outside the lock: only the swap is guarded. */
	if ((fresh.name = strndup(name, len)) == NULL || !result_copy(&fresh.res, res)) {
		free(fresh.name);
		return;
	}
	for (char *p = fresh.name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	fresh.rrtype = rrtype;
	fresh.expires = now_s() + (time_t)ttl;
	pthread_mutex_lock(lock);
	old = c->slots[i];
	c->slots[i] = fresh;
	pthread_mutex_unlock(lock);
	slot_clear(&old);
}
