/*
 * engine_metrics.c - gatehouse's metric families (see engine_metrics.h)
 *
 * Every label below has a closed set of values written here, so the number
 * of series is fixed at start; only rule names are open, bounded by
 * ENGINE_METRICS_MAX_RULES. No label ever carries a login, a domain or an
 * address.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "dns/dns.h"
#include "engine/engine_metrics.h"
#include "engine/session.h"
#include "mail/results.h"
#include "outbound/dkim_key.h"
#include "outbound/ratelimit.h"
#include "report/report_recorder.h"
#include "util/diag.h"
#include "util/gh.h"
#include "util/metrics.h"

static const char *const em_version[] = { GH_VERSION, NULL };
static const char *const em_direction[] = { "inbound", "outbound", NULL };
/* enum engine_metrics_verdict's order */
static const char *const em_verdict[] = { "accept",	"reject",  "tempfail", "discard",
					  "quarantine", "aborted", NULL };
/* enum ar_result's order, AR_UNSET left out (a check that did not run is not counted) */
static const char *const em_result[] = { "pass",      "fail",	   "softfail", "neutral", "none",
					 "temperror", "permerror", "policy",   NULL };
static const char *const em_alg[] = { "rsa-sha256", "ed25519-sha256", NULL };
static const char *const em_sign_outcome[] = { "signed", "failed", "skipped", NULL };
/* sender_mismatch_action's answers; "accept" is accept unsigned */
static const char *const em_action[] = { "accept",  "reject",	  "tempfail",
					 "discard", "quarantine", NULL };
/* the ratelimit_* directives, without the prefix: [kind is rcpt][scope] */
static const char *const em_limit[] = { "login",      "sender_domain",	    "client",
					"login_rcpt", "sender_domain_rcpt", "client_rcpt",
					NULL };
static const char *const em_fallback[] = { "local", "accept", "tempfail", NULL };
/* enum gh_phase's order from GH_PH_CONNECT */
static const char *const em_phase[] = { "connect", "helo", "mail", "rcpt", "data", "unknown",
					"header",  "eoh",  "body", "eom",  NULL };
static const char *const em_reload[] = { "success", "failure", NULL };
/* struct report_stats's counters, in this order */
static const char *const em_report[] = { "recorded", "dropped_queue", "dropped_store", "expired",
					 NULL };

/* DNS waits: from a cache answer to the per-query timeout */
static const double em_dns_buckets[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
					 0.25,	0.5,   1,    2.5,   5,	  10 };
/* one engine call: rules and DKIM on a large body at the top */
static const double em_phase_buckets[] = { 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
					   0.1,	   0.5,	   1,	  5,	 10 };

#define EM_NB(b) (sizeof(b) / sizeof((b)[0]))

struct engine_metrics *engine_metrics_new(struct diag *errs)
{
	struct engine_metrics *em = calloc(1, sizeof(*em));
	struct {
		struct metrics_family **slot;
		struct metrics_spec spec;
	} fams[] = {
		{ NULL,
		  { METRICS_GAUGE,
		    "gatehouse_build_info",
		    "gatehouse's version; always 1.",
		    { { "version", em_version } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_messages_total",
		    "Messages (MAIL FROM to their end), by direction and the verdict they ended "
		    "with.",
		    { { "direction", em_direction }, { "verdict", em_verdict } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_spf_results_total",
		    "SPF results of MAIL FROM, one per message checked.",
		    { { "result", em_result } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_dkim_results_total",
		    "DKIM verification results, one per signature.",
		    { { "result", em_result } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_dmarc_results_total",
		    "DMARC results, one per message evaluated.",
		    { { "result", em_result } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_dkim_signatures_total",
		    "DKIM signatures on outbound mail: signed, failed, or skipped (key not "
		    "published).",
		    { { "algorithm", em_alg }, { "outcome", em_sign_outcome } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_sender_mismatches_total",
		    "Outbound sender identity mismatches, by the action taken.",
		    { { "action", em_action } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_ratelimit_refused_total",
		    "Recipients refused by a rate limit, by the limit (ratelimit_ directive).",
		    { { "limit", em_limit } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_ratelimit_store_failures_total",
		    "Rate-limit checks answered without Redis, by ratelimit_redis_fallback.",
		    { { "fallback", em_fallback } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_rule_hits_total",
		    "Rule hits, by rule name (\"_other\" past "
		    "1024 names).",
		    { { "rule", NULL } },
		    .named_max = ENGINE_METRICS_MAX_RULES } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_dns_queries_total",
		    "DNS queries by outcome (cache answers included).",
		    { { "outcome", dns_outcome_names } } } },
		{ NULL,
		  { METRICS_COUNTER, "gatehouse_dns_cache_hits_total",
		    "DNS queries answered from gatehouse's answer cache." } },
		{ NULL,
		  { METRICS_HISTOGRAM, "gatehouse_dns_query_seconds",
		    "Time of DNS queries that went to the resolver.", .buckets = em_dns_buckets,
		    .nbuckets = EM_NB(em_dns_buckets) } },
		{ NULL,
		  { METRICS_HISTOGRAM,
		    "gatehouse_phase_seconds",
		    "Time the checks took per milter command, by SMTP phase.",
		    { { "phase", em_phase } },
		    em_phase_buckets,
		    EM_NB(em_phase_buckets) } },
		{ NULL,
		  { METRICS_GAUGE, "gatehouse_milter_connections", "Milter connections in use." } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_config_reloads_total",
		    "Configuration reloads (SIGHUP), by outcome.",
		    { { "outcome", em_reload } } } },
		{ NULL,
		  { METRICS_COUNTER,
		    "gatehouse_dmarc_report_records_total",
		    "DMARC evaluations for aggregate reports (dmarc_report_db): recorded, "
		    "dropped (queue full, store failed), expired.",
		    { { "outcome", em_report } } } },
	};

	if (em == NULL || (em->reg = metrics_new()) == NULL) {
		diag_push(errs, "metrics: out of memory");
		free(em);
		return NULL;
	}
	fams[0].slot = &em->build_info;
	fams[1].slot = &em->messages;
	fams[2].slot = &em->spf;
	fams[3].slot = &em->dkim;
	fams[4].slot = &em->dmarc;
	fams[5].slot = &em->signatures;
	fams[6].slot = &em->mismatches;
	fams[7].slot = &em->rl_refused;
	fams[8].slot = &em->rl_store;
	fams[9].slot = &em->rule_hits;
	fams[10].slot = &em->dns_queries;
	fams[11].slot = &em->dns_cache_hits;
	fams[12].slot = &em->dns_seconds;
	fams[13].slot = &em->phase_seconds;
	fams[14].slot = &em->connections;
	fams[15].slot = &em->reloads;
	fams[16].slot = &em->dmarc_reports;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		*fams[i].slot = metrics_register(em->reg, &fams[i].spec, errs);
		if (*fams[i].slot == NULL) {
			engine_metrics_free(em);
			return NULL;
		}
	}
	metrics_gauge_set(em->build_info, 0, 0, 1);
	return em;
}

void engine_metrics_free(struct engine_metrics *em)
{
	if (em == NULL)
		return;
	metrics_free(em->reg);
	free(em);
}

/* em_action_index - ACTION's index in em_verdict (and em_action, whose
 * first five are the same words) */
static unsigned em_action_index(enum gh_action a)
{
	switch (a) {
	case GH_ACT_REJECT:
		return EM_V_REJECT;
	case GH_ACT_TEMPFAIL:
		return EM_V_TEMPFAIL;
	case GH_ACT_DISCARD:
		return EM_V_DISCARD;
	case GH_ACT_QUARANTINE:
		return EM_V_QUARANTINE;
	default:
		return EM_V_ACCEPT;
	}
}

enum engine_metrics_verdict engine_metrics_verdict(const struct session *s)
{
	const struct message *m = &s->msg;

	if (verdict_is_final(m->verdict.action))
		return (enum engine_metrics_verdict)em_action_index(m->verdict.action);
	if (verdict_is_final(s->conn_verdict.action))
		return (enum engine_metrics_verdict)em_action_index(s->conn_verdict.action);
	/* Every recipient refused at RCPT (the MTA then ends the transaction
	 * itself): the last refusal is what happened to the mail. The reply
	 * still holds it, since no later command was answered. */
	if (m->nrcpts == 0 && m->rcpts_rejected > 0) {
		if (verdict_is_final(m->rcpt_refusal.action))
			return (enum engine_metrics_verdict)em_action_index(m->rcpt_refusal.action);
		if (s->reply.action == GH_ACT_TEMPFAIL)
			return EM_V_TEMPFAIL;
		return EM_V_REJECT;
	}
	return EM_V_ABORTED;
}

/* em_result_index - RESULT's index in em_result, or -1 for a check that did not run */
static int em_result_index(enum ar_result r)
{
	return r == AR_UNSET ? -1 : (int)r - 1;
}

void engine_metrics_message(const struct engine_metrics *em, const struct session *s)
{
	const struct results *r = &s->msg.results;
	int x;

	if (em == NULL)
		return;
	metrics_inc(em->messages, s->msg.outbound ? 1 : 0, engine_metrics_verdict(s));
	if ((x = em_result_index(r->spf_mailfrom.result)) >= 0)
		metrics_inc(em->spf, (unsigned)x, 0);
	for (size_t i = 0; i < r->ndkim; i++)
		if ((x = em_result_index(r->dkim[i].result)) >= 0)
			metrics_inc(em->dkim, (unsigned)x, 0);
	if ((x = em_result_index(r->dmarc.result)) >= 0)
		metrics_inc(em->dmarc, (unsigned)x, 0);
	for (size_t i = 0; i < r->nrules; i++)
		metrics_inc_named(em->rule_hits, r->rules[i].name);
}

void engine_metrics_phase(const struct engine_metrics *em, enum gh_phase phase,
			  const struct timespec *start)
{
	struct timespec now;

	if (em == NULL || phase == GH_PH_NONE)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_observe(em->phase_seconds, (unsigned)phase - 1, 0,
			(double)(now.tv_sec - start->tv_sec) +
				(double)(now.tv_nsec - start->tv_nsec) / 1e9);
}

void engine_metrics_signature(const struct engine_metrics *em, const struct dkim_key *key,
			      const char *outcome)
{
	unsigned o = strcmp(outcome, "signed") == 0 ? 0 : strcmp(outcome, "failed") == 0 ? 1 : 2;

	if (em != NULL)
		metrics_inc(em->signatures, key->alg == DKIM_KEY_ED25519_SHA256 ? 1 : 0, o);
}

void engine_metrics_mismatch(const struct engine_metrics *em, enum gh_action action)
{
	if (em != NULL)
		metrics_inc(em->mismatches, em_action_index(action), 0);
}

void engine_metrics_ratelimit(const struct engine_metrics *em, const struct ratelimit_answer *ans,
			      int fallback)
{
	if (em == NULL)
		return;
	if (ans->local || ans->failed)
		metrics_inc(em->rl_store, (unsigned)fallback, 0);
	if (ans->refused && ans->kind != NULL)
		metrics_inc(em->rl_refused,
			    (unsigned)ans->scope + (strcmp(ans->kind, "rcpt") == 0 ? 3 : 0), 0);
}

void engine_metrics_reload(const struct engine_metrics *em, enum engine_metrics_reload outcome)
{
	if (em != NULL)
		metrics_inc(em->reloads, outcome, 0);
}

/* em_collect - the report recorder's totals, copied in before a scrape */
static void em_collect(void *ctx)
{
	struct engine_metrics *em = ctx;
	struct report_stats st;

	report_recorder_stats(em->report, &st);
	metrics_counter_raise(em->dmarc_reports, 0, 0, st.recorded);
	metrics_counter_raise(em->dmarc_reports, 1, 0, st.dropped_queue);
	metrics_counter_raise(em->dmarc_reports, 2, 0, st.dropped_store);
	metrics_counter_raise(em->dmarc_reports, 3, 0, st.expired);
}

void engine_metrics_watch_report(struct engine_metrics *em, const struct report_recorder *r)
{
	if (em == NULL || r == NULL)
		return;
	em->report = r;
	metrics_on_write(em->reg, em_collect, em);
}

void engine_metrics_connections(const struct engine_metrics *em, int delta)
{
	if (em != NULL)
		metrics_gauge_add(em->connections, 0, 0, delta);
}
