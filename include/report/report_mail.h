/*
 * report_mail.h - where a report may go, and the mail that carries it
 * (RFC 9990 section 5 / "Verifying External Destinations")
 *
 * report_mail_destinations() turns the rua= a policy domain published
 * (report_store.h form) into the addresses to send to: a destination
 * whose organizational domain differs from the policy domain's is used
 * only when <policy-domain>._report._dmarc.<destination> holds a TXT
 * record starting with v=DMARC1; a rua= in that record replaces the
 * destination, and if it names another host, neither is used. Addresses
 * in an excluded domain (or under one) are dropped, and so is one whose
 * "!size" limit the mail would exceed. Each decision is a line in NOTES.
 * A DNS failure makes the whole answer RM_TEMP: the report is not sent
 * this time, and the next run asks again.
 *
 * report_mail_build() writes the mail (GMime; author_lib_init() first):
 * From the reporter, To the destinations, Subject "Report Domain: D
 * Submitter: S Report-ID: <ID>", Message-ID from the report id, a short
 * text part and the report as an application/gzip attachment named as
 * its file, for `sendmail -t -oi`.
 */
#ifndef REPORT_MAIL_H
#define REPORT_MAIL_H

#include <stddef.h>

struct arena;
struct dns_resolver;
struct report;
struct report_meta;
struct strbuf;

enum report_mail_rc { RM_OK = 0, RM_TEMP, RM_NOMEM };

/* report_mail_destinations - *TO[0..*NTO) in ARENA */
enum report_mail_rc report_mail_destinations(struct dns_resolver *dns, struct arena *arena,
					     const char *policy_domain, const char *rua,
					     const char *exclude, size_t mail_size,
					     const char ***to, size_t *nto, struct strbuf *notes);

/* report_mail_build - the whole mail into OUT; 0, or -1 when memory ran out */
int report_mail_build(const struct report_meta *m, const struct report *r, const char *const *to,
		      size_t nto, long long now, struct strbuf *out);

#endif
