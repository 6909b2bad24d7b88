/*
 * ratelimit.c - the limiter: which counters a message touches, and which
 * store answers (see ratelimit.h)
 *
 * Charges always go to the local counters too, Redis or not: when Redis
 * fails, the fallback then starts from what this host has sent lately
 * instead of from nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbound/ratelimit.h"
#include "outbound/rl_item.h"
#include "outbound/rl_mem.h"
#include "outbound/rl_redis.h"
#include "util/diag.h"
#include "util/gh.h"
#include "util/strbuf.h"

struct ratelimit {
	struct rl_mem *mem;
	struct rl_redis *redis; /* NULL: in process only */
};

static const char *const ratelimit_scopes[RATELIMIT_NSCOPES] = { "login", "domain", "client" };

#define RATELIMIT_MAX_ITEMS (2 * RATELIMIT_NSCOPES)

struct ratelimit *ratelimit_new(const struct ratelimit_options *o, struct diag *errs)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL || (rl->mem = rl_mem_new((size_t)o->max_keys)) == NULL) {
		diag_push(errs, "ratelimit: out of memory");
		ratelimit_free(rl);
		return NULL;
	}
	if (o->redis != NULL && o->redis[0] != '\0') {
		rl->redis = rl_redis_new(o->redis, o->redis_timeout_ms, errs);
		if (rl->redis == NULL) {
			ratelimit_free(rl);
			return NULL;
		}
	}
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	rl_mem_free(rl->mem);
	rl_redis_free(rl->redis);
	free(rl);
}

const char *ratelimit_scope_name(enum ratelimit_scope scope)
{
	return ratelimit_scopes[scope];
}

const char *ratelimit_redis_error(const struct ratelimit *rl)
{
	return rl->redis ? rl_redis_last_error(rl->redis) : "";
}

struct rl_mem *ratelimit_mem(struct ratelimit *rl)
{
	return rl->mem;
}

struct rl_redis *ratelimit_redis(struct ratelimit *rl)
{
	return rl->redis;
}

static bool ratelimit_has(const struct ratelimit_subject *subj, int s)
{
	return subj->value[s] != NULL && subj->value[s][0] != '\0';
}

bool ratelimit_active(const struct ratelimit_limits *limits, const struct ratelimit_subject *subj)
{
	bool overrides = limits->overrides != NULL && limits->overrides->n > 0;

	for (int s = 0; s < RATELIMIT_NSCOPES; s++)
		if (ratelimit_has(subj, s) &&
		    (overrides || limits->msg[s].set || limits->rcpt[s].set))
			return true;
	return false;
}

/* The items of one call, with their keys and what each refers to. */
struct ratelimit_batch {
	struct rl_item items[RATELIMIT_MAX_ITEMS];
	const struct rate_spec *spec[RATELIMIT_MAX_ITEMS];
	int scope[RATELIMIT_MAX_ITEMS];
	bool per_rcpt[RATELIMIT_MAX_ITEMS];
	size_t n;
};

static void ratelimit_batch_free(struct ratelimit_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free((char *)b->items[i].key);
}

/* ratelimit_batch_add - counter KIND:SCOPE:VALUE for N events under its
 * override in LIMITS, else under SPEC; nothing when that is no limit */
static int ratelimit_batch_add(struct ratelimit_batch *b, const struct ratelimit_limits *limits,
			       const char *kind, int scope, const char *value,
			       const struct rate_spec *spec, long n)
{
	size_t len = strlen(kind) + strlen(ratelimit_scopes[scope]) + strlen(value) + 3;
	char *key = malloc(len);
	const struct rate_spec *over;
	struct rl_item *it = &b->items[b->n];

	if (key == NULL)
		return GH_ERR_NOMEM;
	snprintf(key, len, "%s:%s:%s", kind, ratelimit_scopes[scope], value);
	over = rate_overrides_find(limits->overrides, key);
	if (over != NULL)
		spec = over;
	if (!spec->set) {
		free(key);
		return GH_OK;
	}
	memset(it, 0, sizeof(*it));
	it->key = key;
	gcra_limit_from_spec(spec, &it->limit);
	it->n = n;
	b->spec[b->n] = spec;
	b->scope[b->n] = scope;
	b->per_rcpt[b->n] = kind[0] == 'r';
	b->n++;
	return GH_OK;
}

static int ratelimit_batch_build(struct ratelimit_batch *b, const struct ratelimit_limits *limits,
				 const struct ratelimit_subject *subj, long rcpts)
{
	b->n = 0;
	for (int s = 0; s < RATELIMIT_NSCOPES; s++) {
		if (!ratelimit_has(subj, s))
			continue;
		if (ratelimit_batch_add(b, limits, "msg", s, subj->value[s], &limits->msg[s], 1) !=
		    GH_OK)
			return GH_ERR_NOMEM;
		if (rcpts > 0 && ratelimit_batch_add(b, limits, "rcpt", s, subj->value[s],
						     &limits->rcpt[s], rcpts) != GH_OK)
			return GH_ERR_NOMEM;
	}
	return GH_OK;
}

/* ratelimit_verdict - the longest wait among the counters, into ANS */
static void ratelimit_verdict(const struct ratelimit_batch *b, const struct ratelimit_subject *subj,
			      int64_t now_us, struct ratelimit_answer *ans)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct rl_item *it = &b->items[i];

		if (it->wait_us <= ans->wait_us)
			continue;
		ans->refused = true;
		ans->wait_us = it->wait_us;
		ans->kind = b->per_rcpt[i] ? "rcpt" : "msg";
		ans->scope = (enum ratelimit_scope)b->scope[i];
		ans->value = subj->value[b->scope[i]];
		ans->spec = b->spec[i];
		ans->asked = it->n;
		ans->available = gcra_available(it->tat_us, now_us, &it->limit);
	}
}

/* ratelimit_apply - the batch through Redis (if any) and the local
 * counters, with the fallback when Redis fails */
static int ratelimit_apply(struct ratelimit *rl, const struct ratelimit_limits *limits,
			   struct ratelimit_batch *b, int64_t now_us, bool charge,
			   struct ratelimit_answer *ans)
{
	int rc;

	if (rl->redis != NULL) {
		rc = rl_redis_apply(rl->redis, b->items, b->n, now_us, charge, &ans->redis_changed);
		if (rc == GH_ERR_NOMEM)
			return rc;
		if (rc == GH_OK) {
			if (charge) /* the local copy, for a later fallback (above) */
				(void)rl_mem_apply(rl->mem, b->items, b->n, now_us, true);
			return GH_OK;
		}
		ans->local = true;
		if (limits->fallback == RATELIMIT_FALLBACK_ACCEPT ||
		    limits->fallback == RATELIMIT_FALLBACK_TEMPFAIL) {
			if (charge)
				(void)rl_mem_apply(rl->mem, b->items, b->n, now_us, true);
			for (size_t i = 0; i < b->n; i++)
				b->items[i].wait_us = 0;
			ans->failed = limits->fallback == RATELIMIT_FALLBACK_TEMPFAIL && !charge;
			return GH_OK;
		}
	}
	/* A store that cannot grow still answered each counter as a fresh
	 * one: a missing counter forgives a key, it never refuses one. */
	(void)rl_mem_apply(rl->mem, b->items, b->n, now_us, charge);
	return GH_OK;
}

static int ratelimit_run(struct ratelimit *rl, const struct ratelimit_limits *limits,
			 const struct ratelimit_subject *subj, long rcpts, int64_t now_us,
			 bool charge, struct ratelimit_answer *ans)
{
	struct ratelimit_batch b;
	int rc;

	memset(ans, 0, sizeof(*ans));
	rc = ratelimit_batch_build(&b, limits, subj, rcpts);
	if (rc == GH_OK && b.n > 0)
		rc = ratelimit_apply(rl, limits, &b, now_us, charge, ans);
	if (rc == GH_OK && !charge && !ans->failed)
		ratelimit_verdict(&b, subj, now_us, ans);
	ratelimit_batch_free(&b);
	return rc;
}

int ratelimit_check(struct ratelimit *rl, const struct ratelimit_limits *limits,
		    const struct ratelimit_subject *subj, long rcpts, int64_t now_us,
		    struct ratelimit_answer *ans)
{
	return ratelimit_run(rl, limits, subj, rcpts, now_us, false, ans);
}

int ratelimit_charge(struct ratelimit *rl, const struct ratelimit_limits *limits,
		     const struct ratelimit_subject *subj, long rcpts, int64_t now_us,
		     struct ratelimit_answer *ans)
{
	return ratelimit_run(rl, limits, subj, rcpts, now_us, true, ans);
}

/* ratelimit_spec_of - the limit counter KEY is under, or NULL */
static const struct rate_spec *ratelimit_spec_of(const struct ratelimit_limits *limits,
						 const char *key)
{
	const struct rate_spec *over = rate_overrides_find(limits->overrides, key);

	if (over != NULL)
		return over->set ? over : NULL;
	for (int s = 0; s < RATELIMIT_NSCOPES; s++) {
		size_t sl = strlen(ratelimit_scopes[s]);

		if (strncmp(key, "msg:", 4) == 0 &&
		    strncmp(key + 4, ratelimit_scopes[s], sl) == 0 && key[4 + sl] == ':')
			return limits->msg[s].set ? &limits->msg[s] : NULL;
		if (strncmp(key, "rcpt:", 5) == 0 &&
		    strncmp(key + 5, ratelimit_scopes[s], sl) == 0 && key[5 + sl] == ':')
			return limits->rcpt[s].set ? &limits->rcpt[s] : NULL;
	}
	return NULL;
}

void ratelimit_describe(struct strbuf *sb, const struct ratelimit_limits *limits, const char *key,
			int64_t tat_us, int64_t now_us)
{
	const struct rate_spec *spec = limits ? ratelimit_spec_of(limits, key) : NULL;
	int64_t ahead = tat_us > now_us ? tat_us - now_us : 0;

	strbuf_printf(sb, "%s", key);
	if (spec != NULL) {
		struct gcra_limit lim;

		gcra_limit_from_spec(spec, &lim);
		strbuf_printf(sb, " available=%ld/%ld", gcra_available(tat_us, now_us, &lim),
			      spec->burst);
	}
	strbuf_printf(sb, " full-in=%" PRId64 ".%03" PRId64 "s", ahead / 1000000,
		      ahead % 1000000 / 1000);
	if (spec != NULL)
		strbuf_printf(sb, " limit=%ld/%lds burst=%ld", spec->count, spec->period_s,
			      spec->burst);
	strbuf_putc(sb, '\n');
}

void ratelimit_show_one(void *ctx, const char *key, int64_t tat_us)
{
	struct ratelimit_show *rs = ctx;
	struct strbuf sb;

	strbuf_init(&sb);
	ratelimit_describe(&sb, rs->limits, key, tat_us, rs->now_us);
	fputs(strbuf_cstr(&sb), rs->out);
	strbuf_free(&sb);
	rs->n++;
}

int64_t ratelimit_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
