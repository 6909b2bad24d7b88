/*
 * session.h - per-connection and per-message state
 *
 * A session is one MTA connection; it carries zero or more messages, one at
 * a time. Connection data (client address, HELO) lives in the connection
 * arena; everything about the current message (envelope, headers, results,
 * header edits, verdict) lives in the message arena, which is emptied when
 * the message ends by eom, abort, a final verdict or a new MAIL FROM, so
 * every message starts clean.
 *
 * At each message start the session takes a fresh reference to the current
 * configuration snapshot, so a reload applies from the next message on while
 * a message in flight keeps the snapshot it began with.
 *
 * Threads: a session belongs to one connection; libmilter runs that
 * connection's callbacks one at a time (possibly on different threads), so
 * nothing here is locked.
 *
 * Verdict slots and who may write them (everyone else only reads; the
 * daemon's milter.c and testmode.c read reply, summary.c msg.verdict):
 *
 *   slot              written by
 *   reply             engine.c (cleared on continue; the repeated verdict,
 *                       SPF at MAIL, the refusal at RCPT, DMARC and the final
 *                       verdict at eom), policy.c (policy_fault; cleared for
 *                       a held quarantine), engine_rules.c (a rule's action),
 *                       session.c (cleared when a message ends)
 *   conn_verdict      engine_rules.c (reject/tempfail by a connect/helo rule)
 *   conn_pending      engine_rules.c (quarantine/discard by a connect/helo rule)
 *   msg.verdict       engine.c (SPF at MAIL, the refusal at RCPT, every
 *                       recipient refused at DATA, DMARC and the final
 *                       verdict at eom), policy.c (policy_fault, a fault
 *                       that ends the message, not one recipient),
 *                       engine_rules.c (a rule's action; a connection
 *                       discard at each message), session.c (cleared when
 *                       a message begins and ends)
 *   msg.pending       engine.c (an SPF or DMARC quarantine), policy.c
 *                       (a fault configured to quarantine), engine_rules.c
 *                       (a quarantine rule; the connection's quarantine at
 *                       each message), session.c (cleared)
 *   msg.rcpt_refusal  engine.c (SPF at MAIL with spf_reject_at = rcpt,
 *                       and HELO's with spf_reject_at = dmarc, answered at
 *                       each RCPT), session.c (cleared)
 *   msg.spf_deferred  engine.c (MAIL FROM's SPF answer with spf_reject_at =
 *                       dmarc, applied at eom unless DMARC passed through an
 *                       aligned DKIM signature), session.c (cleared)
 *
 * engine_outbound.c writes reply and msg.verdict when the sender identity
 * check or the long-line check refuses (at MAIL and at eom, step 7).
 *
 * engine_auth.c writes none itself: it only calls policy, whose
 * policy_fault() writes reply, msg.verdict or msg.pending (no single author
 * in From; policy's own out-of-memory answer). engine_edits.c and the
 * daemon write none.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "dns/dns.h"
#include "mail/address.h"
#include "mail/author.h"
#include "mail/header.h"
#include "mail/results.h"
#include "mail/verdict.h"
#include "util/strbuf.h"

struct arena;
struct config;
struct dkim_msg;
struct dmarc_outcome;
struct dkim_verifier;
struct engine_metrics;
struct outbound_msg;
struct config_slot;
struct logger;
struct mime_walk;
struct ratelimit;
struct report_recorder;
struct rule_cache_entry;
struct rule_exemption;
struct rule_scratch;
struct spf_servers;

#define SESSION_ID_MAX 32

struct message {
	bool active;		      /* between MAIL FROM and its end */
	unsigned seq;		      /* 1 for the first message on the connection */
	char id[SESSION_ID_MAX + 12]; /* session id + "." + seq */
	const char *qid;	      /* MTA queue id, once known */
	const char *auth_login;	      /* {auth_authen}, NULL when not authenticated */
	struct address from;
	bool from_parsed;
	struct address *rcpts; /* accepted recipients */
	size_t nrcpts, rcpts_cap;
	unsigned rcpts_rejected; /* refused by us at RCPT */
	unsigned rcpts_seen;	 /* RCPT commands seen */
	struct header_field *headers;
	size_t nheaders, headers_cap;
	size_t header_bytes;
	bool eoh_seen;
	struct author author; /* the From's author, once the header is complete (session_author) */
	bool author_known;
	uint64_t body_bytes;
	unsigned body_nul_bytes;
	struct hdr_edit *edits;
	size_t nedits, edits_cap;
	struct results results;
	struct verdict verdict;		   /* the message's verdict; CONTINUE until decided */
	struct verdict pending;		   /* a quarantine decided early, applied at eom */
	struct verdict rcpt_refusal;	   /* decided at MAIL, answered at each RCPT */
	struct verdict spf_deferred;	   /* spf_reject_at = dmarc: SPF's answer, held for eom */
	bool dmarc_dkim_aligned;	   /* DMARC passed through an aligned DKIM signature */
	const struct dmarc_outcome *dmarc; /* the evaluation, for the report (engine_report.c) */
	bool report_done;		   /* recorded (or decided not to be) once */
	bool outbound;			   /* authenticated client or internal network */
	const char *received_spf;	   /* Received-SPF value to add at eom, or NULL */
	struct dkim_msg *dkim;		   /* verification in progress, or NULL */
	struct outbound_msg *obm; /* identity and signing state (engine_outbound.c), or NULL */
	struct timespec start;
	const char *end_state; /* "eom", "abort", "closed", "new-mail" */

	/* rules (engine_rules.c) */
	struct mime_walk *mime; /* the body walk, when rules look at the body */
	struct strbuf raw_body; /* up to body_scan_limit, when rules look at body.raw */
	bool raw_truncated;
	bool rules_accepted; /* an accept rule fired: no more rules, no refusals by checks */
	bool rules_done;     /* a terminal rule fired: no more rules */
	unsigned rule_limit_hits;
	enum gh_phase rule_phase;	 /* the phase rules are being decided at */
	const struct address *rule_rcpt; /* at RCPT: the recipient being decided */
	struct rule_cache_entry *rcache; /* target values computed once per message */
	size_t nrcache, rcache_cap;
	struct rule_exemption *rule_exempt; /* recipients an accept rule exempted at RCPT */
	size_t nrule_exempt, rule_exempt_cap;
	unsigned long long rule_ns; /* time the rules took for this message */
	bool logged;		    /* summary written when the verdict was taken */
};

struct session {
	char id[SESSION_ID_MAX];
	struct arena *conn_arena;
	struct arena *msg_arena;
	struct config_slot *slot; /* where fresh snapshots come from; NULL in tests */
	struct config *cfg;	  /* snapshot in use (one reference held) */
	const struct logger *log;
	struct dns_resolver *dns;	      /* shared resolver; NULL: DNS checks do not run */
	struct dkim_verifier *dkim;	      /* shared verifier; NULL: DKIM is not checked */
	struct spf_servers *spf;	      /* shared libspf2 servers; NULL: one per check */
	struct ratelimit *ratelimit;	      /* shared counters; NULL: no rate limits */
	const struct engine_metrics *metrics; /* shared counters; NULL: not counted */
	struct report_recorder *report;	      /* DMARC evaluations for reports; NULL: off */
	struct dns_budget dns_budget;	      /* restarted at each message */

	const char *client_host; /* name the MTA resolved, or "[ip]" */
	const char *client_ip;	 /* text form; "unknown" for local submissions */
	const char *helo;
	unsigned helo_count;
	struct verdict conn_verdict; /* decided at connect/helo: holds for every message */
	struct verdict reply;	     /* the answer to the callback being handled now */
	bool internal_error;

	/* rules decided at connect or helo hold for every message */
	bool rules_accepted_conn, rules_done_conn;
	struct verdict conn_pending; /* a quarantine decided at connect/helo */
	struct rule_hit *conn_hits;  /* rule hits at connect/helo, copied into each message */
	size_t nconn_hits, conn_hits_cap;
	struct rule_scratch *rule_scratch; /* match state, reused across messages */
	/* macro - the MTA's value of macro NAME ("j", "{daemon_name}"), or NULL */
	const char *(*macro)(void *ctx, const char *name);
	void *macro_ctx;

	unsigned msg_count;
	struct message msg;
};

/*
 * session_new - a session with id ID, configuration from SLOT (or, when SLOT
 * is NULL, from CFG, whose reference moves into the session). NULL on OOM.
 */
struct session *session_new(const char *id, struct config_slot *slot, struct config *cfg,
			    const struct logger *log);
/* session_free - end any message and release everything; accepts NULL */
void session_free(struct session *);

/* session_message_begin - start a new message (ends one still active) */
int session_message_begin(struct session *);
/* session_message_end - log the summary and reset per-message state */
void session_message_end(struct session *, const char *end_state);
/* session_message_end_log - write the summary now (a verdict was taken) but
 * keep the message's memory: the caller still needs its reply and edits */
void session_message_end_log(struct session *);
/* session_log - a line about S: "session=ID qid=QID <text>" (the message's ids while one is active) */
void session_log(const struct logger *log, const struct session *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* session_log_id, session_log_qid - the ids S's log lines carry now (qid may be NULL) */
const char *session_log_id(const struct session *s);
const char *session_log_qid(const struct session *s);

/* session_elapsed_ms - milliseconds since the current message began */
long session_elapsed_ms(const struct session *);

/* session_set_qid - remember the MTA's queue id for the current message */
void session_set_qid(struct session *, const char *qid);

/* Append to the current message; each returns 0 or GH_ERR_NOMEM. */
int session_add_rcpt(struct session *, const struct address *);
/* SPACE: one SP stood between the colon and VALUE (struct header_field) */
int session_add_header(struct session *, const char *name, const char *value, size_t value_len,
		       bool space);
/* session_add_edit - one more header edit. The list keeps every
 * HDR_CHANGE and HDR_REMOVE before every HDR_ADD and HDR_INSERT, each kind
 * in the order added: a change's INDEX counts the fields as they arrived,
 * so the MTA must apply it before any insertion could renumber them. */
int session_add_edit(struct session *, enum hdr_edit_op op, const char *name, const char *value,
		     unsigned index);
int session_add_check(struct session *, const char *name, const char *result, const char *detail);
/* session_author - the author of the message (mail/author.h) into OUT:
 * parsed once when the header is complete, since the DKIM order, DMARC
 * and the report each ask; GH_ERR_NOMEM when it could not be parsed */
int session_author(struct session *, struct author *out);

#endif
