/*
 * dns_fixture.h - load a DNS fixture file into a libunbound context
 *
 * Used by dns.c only. Each line of the file is one of:
 *   NAME [TTL] [CLASS] TYPE RDATA   a record, RFC 1035 presentation format
 *   NAME TIMEOUT | SERVFAIL | REFUSED   queries for NAME fail that way
 * Blank lines and lines starting with ';' or '#' are ignored. Records are
 * checked with ldns (which reports the line's error in its own words) and
 * then given to libunbound as local data under a static root zone, so every
 * name not in the file is NXDOMAIN and nothing goes to the network.
 */
#ifndef DNS_FIXTURE_H
#define DNS_FIXTURE_H

#include <stddef.h>

#include "dns/dns.h"

struct ub_ctx;
struct diag;

struct dns_fault {
	char *name;	 /* lower case, no trailing dot */
	const char *why; /* "timeout", "SERVFAIL", "REFUSED" */
};

struct dns_faults {
	struct dns_fault *v;
	size_t n;
};

/* dns_fixture_load - PATH into CTX and FAULTS; 0, or -1 with every bad line in ERRS */
int dns_fixture_load(struct ub_ctx *ctx, const char *path, struct dns_faults *faults,
		     struct diag *errs);
/* dns_fixture_fault - the fault configured for NAME, or NULL */
const struct dns_fault *dns_fixture_fault(const struct dns_faults *faults, const char *name);
/* dns_faults_free - release FAULTS' names */
void dns_faults_free(struct dns_faults *faults);

#endif
