/*
 * services.c - build and tear down the shared services (see services.h)
 *
 * The order matters: DKIM verification and DMARC ask through the resolver,
 * so it is built first and freed last.
 */
#include <stdlib.h>

#include "auth/dkim.h"
#include "auth/spf.h"
#include "auth/spf_servers.h"
#include "conf/config.h"
#include "dns/dns.h"
#include "engine/engine_metrics.h"
#include "engine/services.h"
#include "engine/session.h"
#include "mail/author.h"
#include "outbound/ratelimit.h"
#include "report/report_recorder.h"
#include "util/diag.h"

struct services *services_new(const struct config *c, const struct services_options *opts,
			      struct diag *errs)
{
	struct services *svc = calloc(1, sizeof(*svc));
	struct dns_options dopts = {
		.timeout_ms = c->dns_timeout_ms,
		.forwarders = c->dns_forwarders,
		.trust_anchor_file = c->dns_trust_anchor_file,
		.fixture_file = opts && opts->dns_fixture ? opts->dns_fixture : c->dns_fixture,
	};
	const struct ratelimit_options rlopts = {
		.redis = c->ratelimit_redis,
		.redis_timeout_ms = c->ratelimit_redis_timeout_ms,
		.max_keys = c->ratelimit_max_keys,
	};

	if (svc == NULL) {
		diag_push(errs, "services: out of memory");
		return NULL;
	}
	/* The libraries' process-wide setup (GMime's tables, libspf2's message
	 * handlers): idempotent, and services are built before any thread. */
	author_lib_init();
	spf_lib_init();
	/* First: the resolver counts its queries into it. */
	if (c->metrics && (svc->metrics = engine_metrics_new(errs)) == NULL) {
		services_free(svc);
		return NULL;
	}
	if (svc->metrics != NULL) {
		dopts.queries = svc->metrics->dns_queries;
		dopts.cache_hits = svc->metrics->dns_cache_hits;
		dopts.seconds = svc->metrics->dns_seconds;
	}
	svc->dns = dns_resolver_new(&dopts, errs);
	if (svc->dns != NULL)
		svc->dkim = dkim_verifier_new(svc->dns, errs);
	if ((svc->spf = spf_servers_new()) == NULL)
		diag_push(errs, "SPF: out of memory");
	/* Redis is not reached here: an outage at start is one more outage,
	 * answered by ratelimit_redis_fallback, not a failed start. */
	svc->ratelimit = ratelimit_new(&rlopts, errs);
	/* The store is opened by the writer thread, later: a store that fails
	 * is logged and counted then, never a failed start. */
	if (c->dmarc_report_db != NULL && *c->dmarc_report_db != '\0') {
		const struct report_recorder_options ropts = {
			.path = c->dmarc_report_db,
			.max_age_days = c->dmarc_report_max_age,
			.log = opts ? opts->log : NULL,
		};

		if ((svc->report = report_recorder_new(&ropts)) == NULL)
			diag_push(errs, "dmarc_report_db: out of memory");
	}
	if (svc->dns == NULL || svc->dkim == NULL || svc->spf == NULL || svc->ratelimit == NULL ||
	    (c->dmarc_report_db != NULL && *c->dmarc_report_db != '\0' && svc->report == NULL)) {
		services_free(svc);
		return NULL;
	}
	engine_metrics_watch_report(svc->metrics, svc->report); /* both may be NULL */
	return svc;
}

void services_free(struct services *svc)
{
	if (svc == NULL)
		return;
	report_recorder_free(svc->report); /* flushes what is queued */
	ratelimit_free(svc->ratelimit);
	dkim_verifier_free(svc->dkim);
	spf_servers_free(svc->spf);
	dns_resolver_free(svc->dns);
	engine_metrics_free(svc->metrics); /* last: the resolver counted into it */
	free(svc);
}

void services_attach(const struct services *svc, struct session *s)
{
	s->dns = svc->dns;
	s->dkim = svc->dkim;
	s->spf = svc->spf;
	s->ratelimit = svc->ratelimit;
	s->report = svc->report;
	s->metrics = svc->metrics;
}

bool services_alive(const struct services *svc, long max_age_s)
{
	return dns_resolver_alive(svc->dns, max_age_s);
}
