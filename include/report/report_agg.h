/*
 * report_agg.h - RFC 9990 aggregate reports from the store: one per policy
 * domain and period
 *
 * report_agg_build() groups the period's evaluations (begin <= t < end)
 * per policy domain by every field a <record> carries (source IP,
 * disposition, aligned results, reason, identifiers, SPF and DKIM results)
 * and counts them; the policy_published of a report is the most recent
 * record seen for the domain in the period. Each report is XML in the
 * urn:ietf:params:xml:ns:dmarc-2.0 namespace (libxml2's xmlTextWriter),
 * gzipped (zlib, no time stamp in the gzip header). Nothing depends on
 * when it is built: the same store and period give the same bytes, the
 * same report_id and the same file name, so a second run is idempotent.
 *
 * report_id: 32 hex digits of SHA-256(receiver "!" domain "!" begin "!"
 * end), used as the file name's unique-id too (RFC 9990 wants them the
 * same). File name (RFC 9990 ABNF): receiver!policy-domain!begin!end!id
 * .xml.gz, where end is the last second of the period (inclusive, as in
 * RFC 9990's examples).
 *
 * Threads: none of its own. Memory: report_agg_free() frees the list.
 */
#ifndef REPORT_AGG_H
#define REPORT_AGG_H

#include <stddef.h>

struct report_store;
struct strbuf;

struct report_meta {
	const char *org_name, *email;
	const char *receiver;  /* the reporter's domain: file names, Subject */
	const char *generator; /* "gatehouse 1.2", or NULL */
	const char *exclude;   /* policy domains never reported, comma-separated */
	long long begin, end;  /* the period: begin <= t < end */
};

struct report {
	char *policy_domain;
	char *report_id;
	char *file_name;
	char *rua;	   /* the latest rua= seen (report_store.h form), or NULL */
	unsigned char *gz; /* the gzipped XML */
	size_t gz_len;
	unsigned long long messages; /* the counts summed */
	size_t records;
};

/* report_agg_build - every report of M's period; 0 with *OUT (N), or -1 with ERR */
int report_agg_build(struct report_store *st, const struct report_meta *m, struct report **out,
		     size_t *n, struct strbuf *err);
void report_agg_free(struct report *r, size_t n);

/* report_agg_domain_listed - DOMAIN is in LIST (comma-separated) or under
 * a domain there */
int report_agg_domain_listed(const char *list, const char *domain);

#endif
