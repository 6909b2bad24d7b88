/*
 * services.h - the shared services every session uses, built in one place
 *
 * The resolver (libunbound), the DKIM verifier (libopendkim on that
 * resolver) and the DMARC checker are built once from a configuration
 * snapshot by services_new() and torn down by services_free(). The daemon,
 * test mode, the fuzzers and the benchmarks all build them here, so each
 * drives exactly the services the daemon runs; a service this wave adds
 * (signer, rate limiter, metrics) is added to struct services and to these
 * two functions, and nowhere else. The compiled rule set is not a service:
 * it lives in the configuration snapshot and is swapped by SIGHUP.
 *
 * services_new() also does the libraries' process-wide setup (GMime,
 * libspf2), so it runs before any thread starts.
 *
 * Services are read at start: a reload that changes their settings (dns_*)
 * needs a restart (the daemon logs that).
 *
 * Threads: a struct services is read-only once built and shared by every
 * session; each service documents its own thread safety.
 * Memory: services_free() frees everything services_new() built.
 */
#ifndef SERVICES_H
#define SERVICES_H

#include <stdbool.h>

struct config;
struct diag;
struct logger;
struct session;
struct spf_servers;

struct services {
	struct dns_resolver *dns;	/* the one resolver, never NULL once built */
	struct dkim_verifier *dkim;	/* libopendkim over DNS */
	struct spf_servers *spf;	/* libspf2 servers for reuse */
	struct ratelimit *ratelimit;	/* rate-limit counters, in process and Redis */
	struct engine_metrics *metrics; /* counters for /metrics; NULL with metrics = no */
	struct report_recorder *report; /* DMARC evaluations; NULL without dmarc_report_db */
};

struct services_options {
	const char *dns_fixture;  /* overrides the snapshot's dns_fixture; NULL = keep */
	const struct logger *log; /* for services' own threads (the report writer); may be NULL */
};

/*
 * services_new - build every service from snapshot C (and OPTS, which may be
 * NULL); NULL with each reason in ERRS when one cannot be built, in which case
 * nothing is left allocated.
 */
struct services *services_new(const struct config *c, const struct services_options *opts,
			      struct diag *errs);
/* services_free - tear down what services_new built; accepts NULL */
void services_free(struct services *svc);
/* services_alive - every service's own threads answer (the DNS pump turned
 * within MAX_AGE_S seconds): for the systemd watchdog */
bool services_alive(const struct services *svc, long max_age_s);
/* services_attach - point session S at SVC (which outlives S) */
void services_attach(const struct services *svc, struct session *s);

#endif
