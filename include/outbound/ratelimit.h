/*
 * ratelimit.h - rate limits per login, sender domain and client address
 *
 * The service: built once by services_new() (engine/services.c), it holds
 * the counters, in process memory (rl_mem.h) and, with ratelimit_redis, in
 * Redis (rl_redis.h) shared by a fleet. The limits themselves are not part
 * of it: each call gets them from the caller's configuration snapshot, so
 * a reload that changes a limit applies it to the existing counters
 * without resetting them (gcra.h explains why that is sound).
 *
 * A message is checked at each RCPT (does one more message, or one more
 * recipient, fit?) and charged at its end with the recipients actually
 * accepted: refused mail costs nothing. The algorithm is GCRA (gcra.h).
 *
 * Counters are named KIND:SCOPE:VALUE: KIND "msg" or "rcpt", SCOPE
 * "login", "domain" or "client", e.g. "msg:login:alice",
 * "rcpt:domain:example.com", "msg:client:192.0.2.7".
 *
 * When Redis fails (down, slow past ratelimit_redis_timeout_ms, a bad
 * reply) the answer follows the caller's fallback: count in process memory
 * (local), let the message through unlimited (accept), or tempfail it.
 *
 * Threads: every call may come from any thread (the stores lock).
 * Memory: the service owns its stores; an answer points into the subject
 * and limits it was given.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/rate_overrides.h"
#include "conf/rate_spec.h"

struct diag;
struct rl_mem;
struct rl_redis;
struct strbuf;

enum ratelimit_scope { RATELIMIT_LOGIN, RATELIMIT_DOMAIN, RATELIMIT_CLIENT, RATELIMIT_NSCOPES };
enum ratelimit_fallback {
	RATELIMIT_FALLBACK_LOCAL,
	RATELIMIT_FALLBACK_ACCEPT,
	RATELIMIT_FALLBACK_TEMPFAIL
};

/* From the snapshot: what each scope may do; an unset spec is no limit. A
 * counter listed in OVERRIDES has that limit instead (or none). */
struct ratelimit_limits {
	struct rate_spec msg[RATELIMIT_NSCOPES];
	struct rate_spec rcpt[RATELIMIT_NSCOPES];
	const struct rate_overrides *overrides; /* per-counter limits first; may be NULL */
	enum ratelimit_fallback fallback;
};

/* Who the message is charged to; NULL or "" leaves that scope out. */
struct ratelimit_subject {
	const char *value[RATELIMIT_NSCOPES];
};

struct ratelimit_answer {
	bool refused;	    /* a counter would go over: refuse, with wait_us */
	bool failed;	    /* Redis failed and the fallback is tempfail */
	bool local;	    /* Redis failed: answered from local counters (or accepted) */
	bool redis_changed; /* this call saw Redis go down or come back: log it once */
	int64_t wait_us;
	/* the refusing counter (refused only) */
	const char *kind; /* "msg" or "rcpt" */
	enum ratelimit_scope scope;
	const char *value;
	const struct rate_spec *spec;
	long asked;	/* events the check asked for */
	long available; /* events that fitted */
};

struct ratelimit_options {
	const char *redis; /* "unix:/path", "host:port", or "" for none */
	long redis_timeout_ms;
	long max_keys; /* in-process counters */
};

/* ratelimit_new - the stores; NULL with the reason in ERRS */
struct ratelimit *ratelimit_new(const struct ratelimit_options *o, struct diag *errs);
/* ratelimit_free - accepts NULL */
void ratelimit_free(struct ratelimit *rl);

/* ratelimit_active - LIMITS has a limit on a scope SUBJ names */
bool ratelimit_active(const struct ratelimit_limits *limits, const struct ratelimit_subject *subj);

/*
 * ratelimit_check - would one more message with RCPTS recipients fit every
 * limit of SUBJ at NOW? Charges nothing. GH_OK (answer in ANS), or
 * GH_ERR_NOMEM.
 */
int ratelimit_check(struct ratelimit *rl, const struct ratelimit_limits *limits,
		    const struct ratelimit_subject *subj, long rcpts, int64_t now_us,
		    struct ratelimit_answer *ans);
/* ratelimit_charge - one message with RCPTS recipients, fitting or not */
int ratelimit_charge(struct ratelimit *rl, const struct ratelimit_limits *limits,
		     const struct ratelimit_subject *subj, long rcpts, int64_t now_us,
		     struct ratelimit_answer *ans);

/* ratelimit_scope_name - "login", "domain", "client" */
const char *ratelimit_scope_name(enum ratelimit_scope scope);
/* ratelimit_redis_error - why Redis failed last, for the log */
const char *ratelimit_redis_error(const struct ratelimit *rl);

/* For `gatehouse ratelimit` and the control socket. */
struct rl_mem *ratelimit_mem(struct ratelimit *rl);
struct rl_redis *ratelimit_redis(struct ratelimit *rl); /* NULL without Redis */
/*
 * ratelimit_describe - one line about counter KEY at TAT for SB:
 * "KEY available=A/B full-in=Ss limit=N/Ps" (the limit from LIMITS, when
 * the key names one of its counters)
 */
void ratelimit_describe(struct strbuf *sb, const struct ratelimit_limits *limits, const char *key,
			int64_t tat_us, int64_t now_us);

/* `ratelimit show`: one ratelimit_describe() line per counter to OUT, for
 * the foreach walks of both stores (the daemon's and Redis) */
struct ratelimit_show {
	FILE *out;
	const struct ratelimit_limits *limits;
	int64_t now_us;	 /* ratelimit_wall_us() when the walk began */
	unsigned long n; /* lines written */
};
/* ratelimit_show_one - a foreach callback: CTX is a struct ratelimit_show */
void ratelimit_show_one(void *ctx, const char *key, int64_t tat_us);
/* ratelimit_wall_us - the wall clock in microseconds (the stores' time) */
int64_t ratelimit_wall_us(void);

#endif
