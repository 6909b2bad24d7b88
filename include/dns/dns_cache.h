/*
 * dns_cache.h - answers the resolver already has, without crossing threads
 *
 * libunbound caches answers, but asking it costs three threads: the asker,
 * libunbound's worker and our pump (tests/bench measured a third of
 * gatehouse's CPU there with every answer cached). This small cache in
 * front of it keeps answers (records, NXDOMAIN, NODATA; never failures) for
 * the TTL libunbound reported, capped at DNS_CACHE_MAX_TTL, in a fixed
 * number of slots: a new answer replaces whatever shared its slot, so
 * memory is bounded and a collision only costs a trip to libunbound.
 *
 * Threads: any number at once; slots are guarded by striped mutexes.
 * Memory: a hit is a deep copy the caller frees with dns_result_free().
 */
#ifndef DNS_CACHE_H
#define DNS_CACHE_H

#include <stdbool.h>

#include "dns/dns.h"

#define DNS_CACHE_SLOTS 2048
#define DNS_CACHE_MAX_TTL 3600 /* seconds */

struct dns_cache;

/* dns_cache_new - an empty cache; NULL when out of memory */
struct dns_cache *dns_cache_new(void);
/* dns_cache_free - release every answer; accepts NULL */
void dns_cache_free(struct dns_cache *c);
/* dns_cache_get - a fresh copy of NAME/RRTYPE's unexpired answer into OUT */
bool dns_cache_get(struct dns_cache *c, const char *name, int rrtype, struct dns_result *out);
/* dns_cache_put - keep a copy of RES for TTL seconds (TEMPFAIL, PERMFAIL and TTL 0 are not kept) */
void dns_cache_put(struct dns_cache *c, const char *name, int rrtype, const struct dns_result *res,
		   unsigned ttl);

#endif
