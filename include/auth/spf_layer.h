/*
 * spf_layer.h - the DNS layer libspf2 asks, over gatehouse's resolver
 *
 * libspf2 gets every DNS answer it needs from a layer (SPF_dns_server_t).
 * Ours answers from dns_query(), never the system resolver, and is where
 * libspf2 is fed what makes its evaluation RFC 7208's:
 *  - it counts DNS-querying terms and void lookups and checks MX answers
 *    against the limits of RFC 7208 4.6.4, which libspf2 does not enforce;
 *  - every SPF record goes through spf_record_normalize() first: libspf2
 *    gets the checked, normalized record, or a bare "v=spf1" in place of a
 *    record with a syntax error (spf_record.h says why);
 *  - it compiles each long record once to notice one libspf2 would cut
 *    short (it keeps only SPF_MAX_MECH_LEN bytes of mechanisms);
 *  - it answers spf_record.h's synthetic ".invalid" names itself;
 *  - it keeps the exp= of the identity's own record for spf.c.
 * The first syntax error, exceeded limit or temporary DNS failure stops it:
 * it records why and answers "no recovery" to every later question, so
 * libspf2 stops asking and at most one of SYNTAX, LIMIT and DNS_ERROR is
 * ever set. The layer decides no result: spf_check() reads the fields
 * below once libspf2 is done, and spf.c says which of them wins.
 *
 * Lifetime: one layer per evaluation; the libspf2 server asks a copy of
 * it (spf_servers.h) whose hook points at the layer, so the server must
 * not be used once the evaluation is over; spf_layer_free() releases what
 * the layer holds.
 * Threads: a layer is used by one thread; layers share nothing.
 */
#ifndef SPF_LAYER_H
#define SPF_LAYER_H

#include <stdbool.h>
#include <stddef.h>

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <spf2/spf.h> /* after the four above, which it needs */
#include <sys/socket.h>
#include <sys/types.h>

struct dns_budget;
struct dns_resolver;

#define SPF_LAYER_MAX_SECONDARY 64 /* MX/PTR names remembered for the count */

struct spf_layer {
	/* What spf_check() reads once libspf2 is done. */
	unsigned terms;	       /* DNS-querying terms asked for (RFC 7208 4.6.4) */
	unsigned voids;	       /* of those, the ones that found nothing */
	const char *syntax;    /* an evaluated record is malformed: spf_record's reason */
	const char *limit;     /* a 4.6.4 limit was exceeded: the reason */
	const char *dns_error; /* a query failed temporarily: the resolver's reason */
	bool top_truncated;    /* libspf2 dropped mechanisms of the identity's record */
	bool other_truncated;  /* ... of an included or redirected record */
	char *exp_spec;	       /* exp= of the identity's own record, or NULL */
	bool top_redirect;     /* that record hands over with redirect= */

	/* The layer's own state. */
	SPF_dns_server_t libspf2; /* what libspf2 calls */
	struct dns_resolver *dns;
	struct dns_budget *budget;
	bool v6; /* the client's address family, for /0 rewrites */
	bool first_txt_seen;
	char *secondary[SPF_LAYER_MAX_SECONDARY]; /* names from MX/PTR answers */
	size_t nsecondary;
	SPF_server_t *server; /* for checking what libspf2 compiles */
	SPF_request_t *req;
};

/* spf_layer_init - an empty layer over DNS and BUDGET for a client of
 * address family V6; returns the libspf2 DNS layer to give
 * SPF_server_new_dns() */
SPF_dns_server_t *spf_layer_init(struct spf_layer *cx, struct dns_resolver *dns,
				 struct dns_budget *budget, bool v6);

/* spf_layer_attach - the server and request that evaluate, for compiling
 * records to notice truncation; either may be NULL (nothing is checked) */
void spf_layer_attach(struct spf_layer *cx, SPF_server_t *server, SPF_request_t *req);

/* spf_layer_free - release what the layer holds (exp_spec included) */
void spf_layer_free(struct spf_layer *cx);

#endif
