/*
 * spf_servers.h - libspf2 servers kept for reuse across SPF checks
 *
 * spf_check() needs a libspf2 server (SPF_server_t) for every evaluation.
 * Building one compiles libspf2's default explanation and local policy and
 * asks the kernel for the host name, and spf_check() then compiles our own
 * (empty) explanation: about 2% of gatehouse's CPU per message behind
 * Postfix. A server holds no state of one evaluation, so a pool keeps them:
 * a lease hands one out with the caller's DNS layer copied into it (the
 * layer's hook points at that evaluation's context) and gatehouse's
 * receiver name set, and gives it back when the evaluation is over.
 *
 * Every server is set up the same way: no default explanation (libspf2's
 * points at a site long gone, so only a domain's own exp= is ever shown)
 * and libspf2's lookup limits raised out of the way (spf_layer.c counts as
 * RFC 7208 4.6.4 says; libspf2's own would misfire on PTR and MX sets).
 *
 * Threads: a struct spf_servers is shared (one lock, held to take or give
 * back); a lease is used by one thread. Memory: spf_servers_free() frees
 * the servers given back; a lease taken without a pool is freed by
 * spf_server_give(NULL, ...).
 */
#ifndef AUTH_SPF_SERVERS_H
#define AUTH_SPF_SERVERS_H

#include "auth/spf_layer.h"

struct spf_servers;
struct spf_lease;

/* spf_servers_new - an empty pool; NULL on OOM */
struct spf_servers *spf_servers_new(void);
/* spf_servers_free - accepts NULL; every lease must have been given back */
void spf_servers_free(struct spf_servers *p);

/* spf_server_take - a server that asks LAYER (copied) and names itself
 * RECEIVER (NULL or "": libspf2's default, the host name); from POOL when
 * it has one, else a new one (POOL may be NULL); NULL on OOM */
struct spf_lease *spf_server_take(struct spf_servers *pool, const SPF_dns_server_t *layer,
				  const char *receiver);
/* spf_lease_server - the lease's server */
SPF_server_t *spf_lease_server(const struct spf_lease *l);
/* spf_server_give - L back to POOL (freed when POOL is NULL); accepts NULL */
void spf_server_give(struct spf_servers *pool, struct spf_lease *l);

#endif
