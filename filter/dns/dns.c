/*
 * dns.c - the shared resolver: one libunbound context, one pump thread,
 * queries bounded by a deadline (see dns.h)
 *
 * libunbound's synchronous ub_resolve() cannot be given a timeout, so every
 * query goes through ub_resolve_async(): the asking thread sleeps on its own
 * condition variable until the answer or its deadline, and the pump thread
 * runs ub_process() whenever libunbound's descriptor is readable, which
 * invokes the callbacks. A query that times out is cancelled; if libunbound
 * is already delivering it, the asker waits for that delivery (it is under
 * way, so short) before freeing what the callback writes to. Answers are
 * also kept in dns_cache.c for their TTL, so a repeated question does not
 * cross three threads (see dns_cache.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "dns/dns_fixture.h"
#include "util/blocking.h"
#include "util/diag.h"
#include "util/metrics.h"
#include "util/strbuf.h"

#define DNS_MAX_CNAME_HOPS 8  /* fixture answers: CNAME chains are followed here */
#define DNS_QUICK_NS 2000000L /* a wait longer than this lets a standby worker in */

struct dns_resolver {
	struct ub_ctx *ctx;
	struct dns_cache *cache; /* answers without a trip through libunbound's threads */
	long timeout_ms;
	bool fixture;
	struct dns_faults faults;
	pthread_t pump;
	bool pump_running;
	atomic_llong pump_beat; /* CLOCK_MONOTONIC seconds of the pump's last turn */
	int stop_pipe[2];
	struct metrics_family *m_queries, *m_cache_hits, *m_seconds; /* or NULL */
};

const char *const dns_outcome_names[] = { "answer", "nodata", "nxdomain", "timeout",
					  "budget", "error",  "permfail", NULL };

/* One query in flight: written by the callback, read by the asker. */
struct dns_pending {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;
	struct ub_result *res;
};

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_ANSWER:
		return "answer";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "?";
}

static void dns_error(struct diag *errs, const char *what, const char *detail)
{
	diag_pushf(errs, "dns: %s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static void *dns_pump(void *arg)
{
	struct dns_resolver *r = arg;
	struct pollfd p[2] = {
		{ .fd = ub_fd(r->ctx), .events = POLLIN },
		{ .fd = r->stop_pipe[0], .events = POLLIN },
	};

	for (;;) {
		struct timespec now;

		/* A turn at least every second, so dns_resolver_alive() can
		 * tell a quiet pump from a stuck one (the systemd watchdog). */
		clock_gettime(CLOCK_MONOTONIC, &now);
		atomic_store(&r->pump_beat, (long long)now.tv_sec);
		if (poll(p, 2, 1000) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents)
			ub_process(r->ctx);
	}
	return NULL;
}

bool dns_resolver_alive(const struct dns_resolver *r, long max_age_s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return r->pump_running &&
	       (long long)now.tv_sec - atomic_load(&((struct dns_resolver *)r)->pump_beat) <=
		       max_age_s;
}

/* dns_setup_forwarders - "IP[@PORT], ..." or the system's resolv.conf */
static int dns_setup_forwarders(struct dns_resolver *r, const char *list, struct diag *errs)
{
	char *copy, *tok, *save = NULL;
	int rc = 0;

	if (list == NULL || *list == '\0') {
		/* Without a usable resolv.conf libunbound recurses from the root
		 * hints by itself, which is a working resolver too. */
		(void)ub_ctx_resolvconf(r->ctx, NULL);
		return 0;
	}
	copy = strdup(list);
	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if ((rc = ub_ctx_set_fwd(r->ctx, tok)) != 0) {
			dns_error(errs, "bad forwarder", tok);
			break;
		}
	}
	free(copy);
	return rc == 0 ? 0 : -1;
}

/* dns_check_trust_anchor - PATH holds at least one DS or DNSKEY record and
 * nothing ldns cannot parse. libunbound reads the file only when the context
 * is finalized (first query) and takes an empty file as "no anchors", which
 * would silently turn validation off. */
static int dns_check_trust_anchor(const char *path, struct diag *errs)
{
	FILE *fp = fopen(path, "r");
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0, anchors = 0, rc = 0; /* ldns counts the newline of the record it read */
	struct strbuf sb;

	strbuf_init(&sb);
	if (fp == NULL) {
		strbuf_printf(&sb, "%s: %s", path, strerror(errno));
		dns_error(errs, "cannot read the trust anchor file", strbuf_cstr(&sb));
		strbuf_free(&sb);
		return -1;
	}
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);

		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN || st == LDNS_STATUS_SYNTAX_INCLUDE)
			continue;
		if (st != LDNS_STATUS_OK) {
			strbuf_printf(&sb, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(st));
			dns_error(errs, "bad trust anchor", strbuf_cstr(&sb));
			rc = -1;
			break;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS ||
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY)
			anchors++;
		ldns_rr_free(rr);
	}
	if (rc == 0 && anchors == 0) {
		strbuf_printf(&sb, "%s", path);
		dns_error(errs, "no DS or DNSKEY record in the trust anchor file",
			  strbuf_cstr(&sb));
		rc = -1;
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	fclose(fp);
	strbuf_free(&sb);
	return rc;
}

struct dns_resolver *dns_resolver_new(const struct dns_options *o, struct diag *errs)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return NULL;
	r->stop_pipe[0] = r->stop_pipe[1] = -1;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	r->m_queries = o->queries;
	r->m_cache_hits = o->cache_hits;
	r->m_seconds = o->seconds;
	r->cache = dns_cache_new();
	r->ctx = ub_ctx_create();
	if (r->ctx == NULL || r->cache == NULL) {
		dns_error(errs, "cannot create the resolver", NULL);
		goto fail;
	}
	/* Threads, not the default forked process: the cache is shared by
	 * every milter thread only if it lives in this process. */
	if ((rc = ub_ctx_async(r->ctx, 1)) != 0) {
		dns_error(errs, "cannot use threads", ub_strerror(rc));
		goto fail;
	}
	/* After an outage libunbound backs off a forwarder for infra-host-ttl
	 * (900 s by default) and keeps failing queries long after the server is
	 * back (measured: none answered 3 minutes later). Probe again soon. */
	if ((rc = ub_ctx_set_option(r->ctx, "infra-host-ttl:", "30")) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "infra-keep-probing:", "yes")) != 0) {
		dns_error(errs, "cannot set the resolver's retry options", ub_strerror(rc));
		goto fail;
	}
	if (o->fixture_file != NULL && *o->fixture_file != '\0') {
		r->fixture = true;
		if (dns_fixture_load(r->ctx, o->fixture_file, &r->faults, errs) != 0)
			goto fail;
	} else {
		if (dns_setup_forwarders(r, o->forwarders, errs) != 0)
			goto fail;
		if (o->trust_anchor_file != NULL && *o->trust_anchor_file != '\0') {
			if (dns_check_trust_anchor(o->trust_anchor_file, errs) != 0)
				goto fail;
			if ((rc = ub_ctx_add_ta_file(r->ctx, o->trust_anchor_file)) != 0) {
				dns_error(errs, "cannot load the trust anchor", ub_strerror(rc));
				goto fail;
			}
			/* libunbound reads the file when the context is finalized;
			 * removing a zone that is not there finalizes it now, so
			 * a file it refuses is an error here, not at every query. */
			if ((rc = ub_ctx_zone_remove(r->ctx, "gatehouse.invalid.")) != 0) {
				dns_error(errs, "the resolver refused the trust anchor file",
					  ub_strerror(rc));
				goto fail;
			}
		}
	}
	if (pipe2(r->stop_pipe, O_CLOEXEC) != 0) {
		dns_error(errs, "pipe", strerror(errno));
		goto fail;
	}
	if (pthread_create(&r->pump, NULL, dns_pump, r) != 0) {
		dns_error(errs, "cannot start the resolver thread", NULL);
		goto fail;
	}
	r->pump_running = true;
	return r;
fail:
	dns_resolver_free(r);
	return NULL;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	if (r->pump_running) {
		(void)!write(r->stop_pipe[1], "x", 1);
		pthread_join(r->pump, NULL);
	}
	if (r->stop_pipe[0] >= 0)
		close(r->stop_pipe[0]);
	if (r->stop_pipe[1] >= 0)
		close(r->stop_pipe[1]);
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	dns_faults_free(&r->faults);
	dns_cache_free(r->cache);
	free(r);
}

/* dns_deadline_in - now + MS on CLOCK_MONOTONIC */
static void dns_deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

void dns_budget_start(struct dns_budget *b, long budget_ms)
{
	dns_deadline_in(&b->deadline, budget_ms);
	b->queries = 0;
}

void dns_budget_command(struct dns_budget *b, long cmd_ms)
{
	dns_deadline_in(&b->cmd_deadline, cmd_ms);
	b->has_cmd = true;
}

#define DNS_WHY_MESSAGE "DNS budget for this message used up"
#define DNS_WHY_COMMAND "DNS budget for this SMTP command used up"

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void dns_callback(void *arg, int err, struct ub_result *res)
{
	struct dns_pending *p = arg;

	pthread_mutex_lock(&p->lock);
	p->err = err;
	p->res = res;
	p->done = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void dns_fail(struct dns_result *out, enum dns_status st, const char *why)
{
	out->status = st;
	out->why = why;
}

/* dns_name_ok - NAME is a domain name a query can carry (RFC 1035 limits) */
static bool dns_name_ok(const char *name)
{
	ldns_rdf *rdf = NULL;
	bool ok = *name != '\0' && ldns_str2rdf_dname(&rdf, name) == LDNS_STATUS_OK;

	ldns_rdf_deep_free(rdf);
	return ok;
}

/* dns_ts_plus - T plus NS nanoseconds (NS >= 0) */
static struct timespec dns_ts_plus(struct timespec t, long ns)
{
	t.tv_sec += ns / 1000000000L;
	t.tv_nsec += ns % 1000000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* dns_pending_wait - wait (P->lock held) until P is done or UNTIL on
 * CLOCK_MONOTONIC; whether it is done */
static bool dns_pending_wait(struct dns_pending *p, const struct timespec *until)
{
	while (!p->done)
		if (pthread_cond_timedwait(&p->cond, &p->lock, until) == ETIMEDOUT)
			break;
	return p->done;
}

/* dns_wait - the answer to one async query, or a timeout at DEADLINE */
static void dns_wait(struct dns_resolver *r, const char *name, int rrtype,
		     const struct timespec *deadline, int *err, struct ub_result **res)
{
	struct dns_pending p = { .done = false, .err = 0, .res = NULL };
	pthread_condattr_t attr;
	struct timespec now, soon;
	int id = 0, rc;

	*res = NULL;
	pthread_mutex_init(&p.lock, NULL);
	/* the wait is on the monotonic clock, as the deadline is: a step of
	 * the wall clock (NTP, an admin) must not stretch or cut it */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p.cond, &attr);
	pthread_condattr_destroy(&attr);
	rc = ub_resolve_async(r->ctx, name, rrtype, 1, &p, dns_callback, &id);
	if (rc != 0) {
		*err = rc;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	soon = dns_ts_plus(now, DNS_QUICK_NS);
	if (!ts_before(&soon, deadline))
		soon = *deadline;
	/* An answer in unbound's own cache is back within microseconds; only
	 * a longer wait hands this worker's turn to a standby worker (see
	 * util/blocking.h), which costs two more context switches. */
	pthread_mutex_lock(&p.lock);
	if (!dns_pending_wait(&p, &soon)) {
		pthread_mutex_unlock(&p.lock);
		blocking_begin();
		pthread_mutex_lock(&p.lock);
	}
	if (!dns_pending_wait(&p, deadline)) {
		pthread_mutex_unlock(&p.lock);
		if (ub_cancel(r->ctx, id) == 0) {
			*err = UB_NOERROR;
			*res = NULL; /* cancelled: the callback will never run */
			goto out;
		}
		/* Too late to cancel: the callback is running; it will finish. */
		pthread_mutex_lock(&p.lock);
		while (!p.done)
			pthread_cond_wait(&p.cond, &p.lock);
		ub_resolve_free(p.res);
		p.res = NULL;
		pthread_mutex_unlock(&p.lock);
		*err = UB_NOERROR;
		goto out; /* past the deadline: reported as a timeout all the same */
	}
	*err = p.err;
	*res = p.res;
	pthread_mutex_unlock(&p.lock);
out:
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.cond);
}

/* dns_copy_answer - libunbound's records into OUT */
static int dns_copy_answer(const struct ub_result *res, struct dns_result *out)
{
	size_t n = 0;

	while (res->data[n] != NULL)
		n++;
	out->rr = calloc(n ? n : 1, sizeof(*out->rr));
	if (out->rr == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)res->len[i];

		out->rr[i].data = malloc(len ? len : 1);
		if (out->rr[i].data == NULL) {
			out->n = i;
			return -1;
		}
		memcpy(out->rr[i].data, res->data[i], len);
		out->rr[i].len = len;
	}
	out->n = n;
	return 0;
}

/* dns_classify - one libunbound result as a typed status */
static int dns_classify(const struct ub_result *res, struct dns_result *out)
{
	if (res->answer_packet != NULL && res->answer_len > 0) {
		out->packet = malloc((size_t)res->answer_len);
		if (out->packet == NULL)
			return -1;
		memcpy(out->packet, res->answer_packet, (size_t)res->answer_len);
		out->packet_len = (size_t)res->answer_len;
	}
	if (res->bogus) {
		dns_fail(out, DNS_TEMPFAIL, "DNSSEC validation failed");
		return 0;
	}
	out->secure = res->secure;
	switch (res->rcode) {
	case 0:
		if (!res->havedata) {
			out->status = DNS_NODATA;
			return 0;
		}
		out->status = DNS_ANSWER;
		return dns_copy_answer(res, out);
	case 3:
		out->status = DNS_NXDOMAIN;
		return 0;
	case 2:
		dns_fail(out, DNS_TEMPFAIL, "SERVFAIL");
		return 0;
	case 5:
		dns_fail(out, DNS_TEMPFAIL, "REFUSED");
		return 0;
	default:
		dns_fail(out, DNS_TEMPFAIL, "unexpected DNS response code");
		return 0;
	}
}

/* dns_query_run - dns_query without the counting; *CACHED tells a cache answer */
static int dns_query_run(struct dns_resolver *r, const char *name, int rrtype,
			 struct dns_budget *budget, struct dns_result *out, bool *cached)
{
	const struct dns_fault *fault;
	struct timespec deadline;
	const char *cut = "timeout";
	char *chase = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->rrtype = rrtype;
	if (!dns_name_ok(name)) {
		dns_fail(out, DNS_PERMFAIL, "not a valid domain name");
		return 0;
	}
	if (budget != NULL)
		budget->queries++;
	if (r->cache != NULL && dns_cache_get(r->cache, name, rrtype, out)) {
		*cached = true;
		return 0;
	}
	for (int hop = 0; hop <= DNS_MAX_CNAME_HOPS; hop++) {
		const char *qname = chase ? chase : name;
		struct ub_result *res = NULL;
		int err = 0;

		if (r->fixture && (fault = dns_fixture_fault(&r->faults, qname)) != NULL) {
			dns_fail(out, DNS_TEMPFAIL, fault->why);
			break;
		}
		dns_deadline_in(&deadline, r->timeout_ms);
		cut = "timeout";
		if (budget != NULL) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!ts_before(&now, &budget->deadline)) {
				dns_fail(out, DNS_TEMPFAIL, DNS_WHY_MESSAGE);
				break;
			}
			if (budget->has_cmd && !ts_before(&now, &budget->cmd_deadline)) {
				dns_fail(out, DNS_TEMPFAIL, DNS_WHY_COMMAND);
				break;
			}
			/* the earliest of the three bounds ends the wait, and says so */
			if (ts_before(&budget->deadline, &deadline)) {
				deadline = budget->deadline;
				cut = DNS_WHY_MESSAGE;
			}
			if (budget->has_cmd && ts_before(&budget->cmd_deadline, &deadline)) {
				deadline = budget->cmd_deadline;
				cut = DNS_WHY_COMMAND;
			}
		}
		dns_wait(r, qname, rrtype, &deadline, &err, &res);
		if (err != 0) {
			dns_fail(out, DNS_TEMPFAIL, ub_strerror(err));
			break;
		}
		if (res == NULL) {
			dns_fail(out, DNS_TEMPFAIL, cut);
			break;
		}
		/* Local data answers a CNAME without following it; a real
		 * resolver has followed it already and this never triggers. */
		if (res->rcode == 0 && !res->havedata && res->canonname != NULL &&
		    strcasecmp(res->canonname, qname) != 0 && hop < DNS_MAX_CNAME_HOPS) {
			char *next = strdup(res->canonname);

			ub_resolve_free(res);
			free(chase);
			chase = next;
			if (chase == NULL) {
				dns_fail(out, DNS_TEMPFAIL, "out of memory");
				rc = -1;
				break;
			}
			continue;
		}
		if (dns_classify(res, out) != 0) {
			dns_result_free(out);
			out->rrtype = rrtype;
			dns_fail(out, DNS_TEMPFAIL, "out of memory");
			rc = -1;
		} else if (r->cache != NULL && !res->bogus && res->ttl > 0) {
			dns_cache_put(r->cache, name, rrtype, out, (unsigned)res->ttl);
		}
		ub_resolve_free(res);
		break;
	}
	free(chase);
	return rc;
}

/* dns_outcome - how OUT ended, for metrics */
static enum dns_outcome dns_outcome(const struct dns_result *out)
{
	switch (out->status) {
	case DNS_ANSWER:
		return DNS_OUT_ANSWER;
	case DNS_NODATA:
		return DNS_OUT_NODATA;
	case DNS_NXDOMAIN:
		return DNS_OUT_NXDOMAIN;
	case DNS_PERMFAIL:
		return DNS_OUT_PERMFAIL;
	default:
		break;
	}
	if (out->why != NULL && strcmp(out->why, "timeout") == 0)
		return DNS_OUT_TIMEOUT;
	if (out->why != NULL &&
	    (strcmp(out->why, DNS_WHY_MESSAGE) == 0 || strcmp(out->why, DNS_WHY_COMMAND) == 0))
		return DNS_OUT_BUDGET;
	return DNS_OUT_ERROR;
}

int dns_query(struct dns_resolver *r, const char *name, int rrtype, struct dns_budget *budget,
	      struct dns_result *out)
{
	struct timespec t0, t1;
	bool cached = false;
	int rc;

	if (r->m_queries == NULL && r->m_seconds == NULL)
		return dns_query_run(r, name, rrtype, budget, out, &cached);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = dns_query_run(r, name, rrtype, budget, out, &cached);
	metrics_inc(r->m_queries, dns_outcome(out), 0);
	if (cached) {
		metrics_inc(r->m_cache_hits, 0, 0);
	} else if (out->status != DNS_PERMFAIL) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_observe(r->m_seconds, 0, 0,
				(double)(t1.tv_sec - t0.tv_sec) +
					(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return rc;
}

void dns_result_free(struct dns_result *out)
{
	for (size_t i = 0; i < out->n; i++)
		free(out->rr[i].data);
	free(out->rr);
	free(out->packet);
	memset(out, 0, sizeof(*out));
}
