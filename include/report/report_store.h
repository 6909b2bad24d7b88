/*
 * report_store.h - the DMARC evaluations kept for aggregate reports
 * (RFC 9990): one SQLite file, one row per evaluated message
 *
 * A struct report_entry is what RFC 9990 needs of one message: when, from
 * which address, the identifiers, the published policy, what was applied
 * and why, and the uninterpreted SPF and DKIM results. report_entry_dup()
 * packs one into a single heap block, so the engine can hand it to the
 * recorder's thread and the message's arena can go.
 *
 * The file is SQLite in WAL mode with a busy timeout: the daemon's writer
 * thread appends while `gatehouse dmarc-report` reads and marks reports
 * sent. Every call returns 0, or -1 with the reason in ERR (SQLite's
 * words: "database is locked", "database or disk is full").
 *
 * Threads: a struct report_store is one SQLite connection, used by one
 * thread at a time. Memory: the caller frees what it is handed.
 */
#ifndef REPORT_STORE_H
#define REPORT_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct report_store;

struct report_dkim {
	const char *domain, *selector, *result; /* result: RFC 8601's word */
};

struct report_entry {
	long long t; /* seconds since the epoch, UTC */
	const char *source_ip, *header_from;
	const char *envelope_from, *envelope_to; /* domains, or NULL */
	/* the policy published: the domain it was found at, its tags */
	const char *policy_domain, *p, *sp, *np, *adkim, *aspf, *testing, *discovery, *fo;
	const char *rua; /* "mailto:a@b.example!10485760,mailto:..." or NULL */
	/* what was applied: none, pass, quarantine, reject; the aligned results */
	const char *disposition, *dkim_aligned, *spf_aligned;
	const char *reason_type, *reason_comment;	 /* RFC 9990 PolicyOverride, or NULL */
	const char *spf_domain, *spf_scope, *spf_result; /* NULL: SPF did not run */
	const struct report_dkim *dkim;
	size_t ndkim;
};

/* report_entry_dup - E in one malloc'd block (free() frees it); NULL on OOM */
struct report_entry *report_entry_dup(const struct report_entry *e);

/* report_store_open - open (creating when CREATE) PATH and its tables */
struct report_store *report_store_open(const char *path, bool create, struct strbuf *err);
void report_store_close(struct report_store *st);

/* report_store_insert - E[0..N) in one transaction: all or none */
int report_store_insert(struct report_store *st, struct report_entry *const *e, size_t n,
			struct strbuf *err);
/* report_store_expire - delete what is older than BEFORE; *DELETED rows */
int report_store_expire(struct report_store *st, long long before, long long *deleted,
			struct strbuf *err);

/* report_store_sent - was the report REPORT_ID marked sent? 1, 0 or -1 */
int report_store_sent(struct report_store *st, const char *report_id, struct strbuf *err);
/* report_store_mark_sent - remember REPORT_ID (for POLICY_DOMAIN) as sent at NOW */
int report_store_mark_sent(struct report_store *st, const char *report_id,
			   const char *policy_domain, long long now, struct strbuf *err);

/* report_store_db - the sqlite3 handle, for report_agg.c's queries */
struct sqlite3 *report_store_db(struct report_store *st);

#endif
