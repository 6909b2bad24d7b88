/*
 * spf.h - SPF evaluation of the HELO and MAIL FROM identities (RFC 7208)
 *
 * spf_check() evaluates one identity for one client address with libspf2,
 * whose DNS questions all go through gatehouse's shared resolver (the
 * libspf2 DNS layer in spf_layer.h, never the system resolver). It returns
 * exactly one of RFC 7208's seven results with a reason, and enforces what
 * libspf2 leaves out: at most 10 DNS-querying mechanisms and modifiers, at
 * most 2 void lookups, at most 10 MX names, and a DNS failure as temperror
 * instead of libspf2's "invalid". It never decides what happens to the
 * mail: that is policy's job.
 *
 * Which result wins (spf.c's top comment gives the reasons): no identity
 * or no usable client address is none before any lookup; then the first
 * stop of the layer - a record with a syntax error (permerror), an
 * exceeded lookup limit (permerror) or a DNS failure (temperror) - beats
 * anything libspf2 said; then a record libspf2 compiled only partly is a
 * permerror, unless a mechanism in the kept part of the identity's own
 * record matched; then a loopback client is none; then libspf2's result,
 * its "invalid" split into temperror (DNS) and permerror.
 *
 * Identities: SPF_CHECK_MAILFROM checks the MAIL FROM domain, or postmaster@HELO
 * when MAIL FROM is empty (RFC 7208 2.4); SPF_CHECK_HELO checks the HELO name
 * (RFC 7208 2.3). A HELO that is an address literal or not a domain name has
 * no SPF identity: result none.
 *
 * Threads: safe from any thread; every call has its own DNS layer and
 * request, and a libspf2 server no other call uses meanwhile.
 * Memory: strings in the outcome live in ARENA.
 */
#ifndef SPF_H
#define SPF_H

#include <stdbool.h>

#include "mail/results.h"

struct arena;
struct dns_budget;
struct dns_resolver;
struct spf_servers;

enum spf_which { SPF_CHECK_HELO, SPF_CHECK_MAILFROM };

struct spf_query {
	const char *client_ip; /* IPv4 or IPv6 text; IPv4-mapped IPv6 is checked as IPv4 */
	const char *helo;      /* as the client said it */
	const char *mailfrom;  /* local@domain, or "" for the null sender */
	const char *receiver;  /* our name in reasons and explanations (authserv_id) */
};

struct spf_outcome {
	enum ar_result result;
	const char *domain;	 /* the domain whose record was evaluated */
	const char *identity;	 /* "mailfrom" or "helo" */
	const char *sender;	 /* the identity as an address (postmaster@helo when null) */
	const char *reason;	 /* one human line: what matched or what failed */
	const char *explanation; /* from exp=, for fail; NULL otherwise */
	unsigned dns_mechanisms; /* DNS-querying mechanisms and modifiers evaluated */
	unsigned void_lookups;
};

/* spf_lib_init - set libspf2's global message handlers; once, before threads */
void spf_lib_init(void);

/* spf_check - evaluate WHICH identity of Q with a server from SERVERS (NULL:
 * one built for this call, spf_servers.h); always fills OUT; returns 0, or
 * -1 when out of memory (OUT is then temperror) */
int spf_check(struct spf_servers *servers, struct dns_resolver *dns, struct dns_budget *budget,
	      struct arena *arena, const struct spf_query *q, enum spf_which which,
	      struct spf_outcome *out);

/* spf_received_header - the value of a Received-SPF header (RFC 7208 9.1)
 * for OUT, from RECEIVER; NULL when out of memory */
char *spf_received_header(struct arena *arena, const struct spf_outcome *out,
			  const struct spf_query *q, const char *receiver);

#endif
