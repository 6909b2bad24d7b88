/*
 * engine_metrics.h - gatehouse's own metric families, defined in one place
 *
 * engine_metrics_new() registers every family gatehouse exports (the list
 * with their labels is in engine_metrics.c and README's Metrics section) in
 * one util/metrics registry; services_new() builds it once, so the daemon,
 * test mode, fuzzers and benchmarks all count the same way, and the daemon
 * serves it (metrics_http.c, the control socket's "metrics", the textfile).
 *
 * A message, for gatehouse_messages_total, is what one summary line
 * describes: a transaction from MAIL FROM (or the first command that
 * implies one) to its end by end of message, a refusal, RSET/abort, a new
 * MAIL FROM, HELO or the connection's close. Each is counted exactly once,
 * by engine_metrics_message(), which session.c calls wherever the summary
 * line is written. Its verdict label is one of:
 *   accept      accepted at end of message
 *   reject      refused 5xx at any phase (every recipient refused counts)
 *   tempfail    refused 4xx at any phase (every recipient deferred counts)
 *   discard     accepted and dropped
 *   quarantine  accepted into the MTA's hold queue
 *   aborted     ended without a verdict (the client gave up or RSET, the
 *               connection closed, a new MAIL FROM); not mail refused
 * A connection refused at connect or HELO counts each MAIL FROM it makes,
 * with the connection's verdict. direction is inbound or outbound (an
 * authenticated client or an internal network, as decided at MAIL FROM).
 *
 * The check results (SPF of MAIL FROM, each DKIM signature, DMARC) and rule
 * hits are counted with the message, from its results, so a message counts
 * each check once whatever phase ended it. Rule hits are a named family:
 * label values are rule names (bounded by the rule set, at most
 * ENGINE_METRICS_MAX_RULES; more names count as "_other"); a name's count
 * survives a reload that keeps it, a removed rule's series stays until
 * restart.
 *
 * Threads: built before any thread; every counting call from any thread.
 * All calls accept a NULL struct engine_metrics (metrics = no) and do
 * nothing.
 */
#ifndef ENGINE_METRICS_H
#define ENGINE_METRICS_H

#include <time.h>

#include "mail/verdict.h"

struct diag;
struct metrics;
struct metrics_family;
struct session;
struct dkim_key;
struct ratelimit_answer;
struct report_recorder;

#define ENGINE_METRICS_MAX_RULES 1024

/* gatehouse_messages_total's verdict label, in this order */
enum engine_metrics_verdict {
	EM_V_ACCEPT,
	EM_V_REJECT,
	EM_V_TEMPFAIL,
	EM_V_DISCARD,
	EM_V_QUARANTINE,
	EM_V_ABORTED
};

/* gatehouse_config_reloads_total's outcome label */
enum engine_metrics_reload { EM_RELOAD_SUCCESS, EM_RELOAD_FAILURE };

struct engine_metrics {
	struct metrics *reg;
	struct metrics_family *build_info;
	struct metrics_family *messages;      /* direction, verdict */
	struct metrics_family *spf;	      /* result (MAIL FROM identity) */
	struct metrics_family *dkim;	      /* result, per signature */
	struct metrics_family *dmarc;	      /* result */
	struct metrics_family *signatures;    /* algorithm, outcome */
	struct metrics_family *mismatches;    /* action */
	struct metrics_family *rl_refused;    /* limit */
	struct metrics_family *rl_store;      /* fallback */
	struct metrics_family *rule_hits;     /* rule (named) */
	struct metrics_family *dns_queries;   /* outcome (dns.h) */
	struct metrics_family *dns_seconds;   /* histogram */
	struct metrics_family *phase_seconds; /* phase; histogram */
	struct metrics_family *connections;   /* gauge */
	struct metrics_family *reloads;	      /* outcome */
	struct metrics_family *dns_cache_hits;
	struct metrics_family *dmarc_reports; /* outcome; copied from the recorder */
	const struct report_recorder *report; /* whose totals dmarc_reports shows, or NULL */
};

/* engine_metrics_new - every family registered; NULL with the reason in ERRS */
struct engine_metrics *engine_metrics_new(struct diag *errs);
/* engine_metrics_free - accepts NULL */
void engine_metrics_free(struct engine_metrics *em);

/* engine_metrics_verdict - the verdict label S's current message ends with */
enum engine_metrics_verdict engine_metrics_verdict(const struct session *s);
/* engine_metrics_message - count S's current message, its check results and
 * rule hits; called once per message, where its summary line is written */
void engine_metrics_message(const struct engine_metrics *em, const struct session *s);
/* engine_metrics_phase - one engine call of PHASE that began at START
 * (CLOCK_MONOTONIC) has returned */
void engine_metrics_phase(const struct engine_metrics *em, enum gh_phase phase,
			  const struct timespec *start);
/* engine_metrics_signature - one DKIM signature attempt with KEY: OUTCOME is
 * "signed", "failed" or "skipped" (its key is not published yet) */
void engine_metrics_signature(const struct engine_metrics *em, const struct dkim_key *key,
			      const char *outcome);
/* engine_metrics_mismatch - a sender identity mismatch answered with ACTION
 * (CONTINUE: accepted unsigned) */
void engine_metrics_mismatch(const struct engine_metrics *em, enum gh_action action);
/* engine_metrics_ratelimit - a rate-limit check answered ANS (refusals by
 * limit; answers without Redis by the fallback in force, FALLBACK) */
void engine_metrics_ratelimit(const struct engine_metrics *em, const struct ratelimit_answer *ans,
			      int fallback);
/* engine_metrics_reload - a configuration reload ended with OUTCOME */
void engine_metrics_reload(const struct engine_metrics *em, enum engine_metrics_reload outcome);
/* engine_metrics_watch_report - show R's totals (recorded, dropped,
 * expired; report_recorder.h) as gatehouse_dmarc_report_records_total,
 * read at each scrape; R must outlive every scrape. Before any thread. */
void engine_metrics_watch_report(struct engine_metrics *em, const struct report_recorder *r);
/* engine_metrics_connections - milter connections in use move by DELTA */
void engine_metrics_connections(const struct engine_metrics *em, int delta);

#endif
