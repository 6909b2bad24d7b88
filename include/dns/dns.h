/*
 * dns.h - the one resolver every check uses (libunbound)
 *
 * One struct dns_resolver serves the whole daemon: one libunbound context,
 * whose cache every milter thread shares, worked by one pump thread.
 * dns_query() asks one question and waits at most until the earlier of the
 * per-query timeout and the message's DNS budget; an answer that comes later
 * is cancelled, never waited for, so no check can hang a message.
 *
 * Results are typed. A check must be able to tell "no such name" (NXDOMAIN),
 * "the name has no record of this type" (NODATA), "try again later"
 * (TEMPFAIL: timeout, SERVFAIL, REFUSED, DNSSEC bogus, budget used up) and
 * "this cannot work" (PERMFAIL: a name that is not a domain name, a
 * malformed answer) apart; no status is ever folded into another.
 *
 * Fixtures: a resolver built with a fixture file answers only from it and
 * never touches the network; every name not in it is NXDOMAIN, and names
 * listed as TIMEOUT, SERVFAIL or REFUSED fail that way. The file holds zone
 * file lines in RFC 1035 presentation format, parsed by ldns (errors come
 * back as FILE:LINE: message) and served by libunbound's local data, so
 * fixture answers take the same path as real ones.
 *
 * Metrics: a resolver given families in its options counts every
 * dns_query() by outcome (enum dns_outcome: a TEMPFAIL split into timeout,
 * budget and error), its cache answers, and the time of each trip to
 * libunbound; without them it counts nothing.
 *
 * Threads: dns_query() may be called from any thread at once.
 * Memory: a struct dns_result owns its rdata; dns_result_free() releases it.
 */
#ifndef DNS_H
#define DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct diag;
struct metrics_family;
struct strbuf;

enum dns_status {
	DNS_ANSWER,   /* one or more records */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA,   /* the name exists, without records of this type */
	DNS_TEMPFAIL, /* timeout, SERVFAIL, REFUSED, bogus, budget: try again later */
	DNS_PERMFAIL  /* the question or the answer is malformed */
};

/* RR types the checks ask for (RFC 1035, RFC 3596) */
enum {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28
};

/* How a query ended, for metrics: dns_outcome_names[] in this order */
enum dns_outcome {
	DNS_OUT_ANSWER,
	DNS_OUT_NODATA,
	DNS_OUT_NXDOMAIN,
	DNS_OUT_TIMEOUT,  /* the per-query timeout */
	DNS_OUT_BUDGET,	  /* the message's or the command's budget */
	DNS_OUT_ERROR,	  /* SERVFAIL, REFUSED, bogus, out of memory */
	DNS_OUT_PERMFAIL, /* a name or answer that cannot work */
	DNS_NOUTCOMES
};
/* "answer", "nodata", "nxdomain", "timeout", "budget", "error", "permfail", NULL */
extern const char *const dns_outcome_names[];

struct dns_options {
	long timeout_ms;		   /* one query */
	const char *forwarders;		   /* "IP[@PORT], ..."; NULL or "": /etc/resolv.conf */
	const char *trust_anchor_file;	   /* NULL or "": no DNSSEC validation */
	const char *fixture_file;	   /* NULL or "": real DNS */
	struct metrics_family *queries;	   /* counter by dns_outcome, or NULL */
	struct metrics_family *cache_hits; /* counter, or NULL */
	struct metrics_family *seconds;	   /* histogram of resolver trips, or NULL */
};

struct dns_rdata {
	size_t len;
	unsigned char *data; /* wire format, names uncompressed */
};

struct dns_result {
	enum dns_status status;
	const char *why; /* static text for TEMPFAIL and PERMFAIL, else NULL */
	int rrtype;
	bool secure; /* DNSSEC-validated */
	size_t n;
	struct dns_rdata *rr;
	unsigned char *packet; /* the whole DNS reply (wire format) when there was
				 * one, for libraries that parse replies themselves */
	size_t packet_len;
};

/* A message's DNS budget: all its queries together end by DEADLINE. */
struct dns_budget {
	struct timespec deadline;     /* CLOCK_MONOTONIC: the message's */
	struct timespec cmd_deadline; /* the current SMTP command's, when has_cmd */
	bool has_cmd;
	unsigned queries; /* asked so far, for logs */
};

struct dns_resolver;

/* dns_resolver_new - a resolver; NULL with the reasons in ERRS (fixture lines as FILE:LINE: message) */
struct dns_resolver *dns_resolver_new(const struct dns_options *opts, struct diag *errs);
/* dns_resolver_alive - the pump thread took a turn in the last MAX_AGE_S seconds */
bool dns_resolver_alive(const struct dns_resolver *r, long max_age_s);
/* dns_resolver_free - stop the pump thread and release everything; accepts NULL */
void dns_resolver_free(struct dns_resolver *);

/* A budget starts zeroed ({ 0 }: no command bound), as part of a session or
 * on the stack. */
/* dns_budget_start - a budget ending BUDGET_MS from now (the command's bound stays) */
void dns_budget_start(struct dns_budget *b, long budget_ms);
/* dns_budget_command - a new SMTP command: its queries also end CMD_MS from now */
void dns_budget_command(struct dns_budget *b, long cmd_ms);

/*
 * dns_query - ask for NAME/RRTYPE within BUDGET (NULL: only the per-query
 * timeout). Always fills OUT (status and why say what happened); returns 0,
 * or -1 when OUT is DNS_TEMPFAIL because memory ran out.
 */
int dns_query(struct dns_resolver *r, const char *name, int rrtype, struct dns_budget *budget,
	      struct dns_result *out);
/* dns_result_free - release OUT's records; accepts an empty result */
void dns_result_free(struct dns_result *out);
/* dns_status_name - "answer", "nxdomain", "nodata", "tempfail", "permfail" */
const char *dns_status_name(enum dns_status);

/* dns_rdata_txt - append the character-strings of a TXT record, concatenated
 * without separators (RFC 7208 section 3.3); -1 if the rdata is malformed */
int dns_rdata_txt(const struct dns_rdata *rr, struct strbuf *out);
/*
 * dns_packet_txt_each - every TXT record in the answer section of the DNS
 * reply PACKET (LEN bytes), whatever its class and owner, to FN as its
 * character-strings concatenated (TEXT, TLEN bytes; NUL bytes kept), until
 * FN returns false. For a reader of the packet itself (libopendkim's DNS
 * hook hands it the packet): what it may read, not what the resolver
 * answered. 0; 1 when FN stopped it; -1 when the packet does not parse
 * (a length past the end, a string past its record), or memory ran
 * out. Records are walked by their lengths, as libopendkim walks them
 * (glibc's ns_parserr), and no record is interpreted but TXT.
 */
int dns_packet_txt_each(const unsigned char *packet, size_t len,
			bool (*fn)(void *ctx, const char *text, size_t tlen), void *ctx);
/* dns_rdata_name - the domain name at offset *POS of RR's wire data, in
 * presentation form without the trailing dot (malloc'd), advancing *POS;
 * NULL if malformed */
char *dns_rdata_name(const struct dns_rdata *rr, size_t *pos);

#endif
