/*
 * rl_redis.c - rate-limit counters in Redis (see rl_redis.h)
 *
 * The script is the GCRA of gcra.c written again in Lua, for the same
 * answers: Redis' numbers are doubles, exact up to 2^53, and microseconds
 * of the wall clock stay far below that. The time is the caller's, not
 * Redis' own: the local fallback counts with the same clock, and a fleet's
 * hosts keep theirs in step with NTP anyway.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outbound/rl_redis.h"
#include "util/blocking.h"
#include "util/diag.h"
#include "util/gh.h"

/* KEYS: the counters. ARGV: now, charge (0/1), then per key T, B*T, N.
 * Returns per key: wait (us), TAT before the call. The clamps are gcra.c's. */
static const char rl_redis_script[] =
	"local now = tonumber(ARGV[1])\n"
	"local charge = ARGV[2] == '1'\n"
	"local out, new = {}, {}\n"
	"for i, key in ipairs(KEYS) do\n"
	"  local t, cap, n = tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1]), tonumber(ARGV[3*i+2])\n"
	"  local old = tonumber(redis.call('GET', key) or '0') or 0\n"
	"  local base = old\n"
	"  if base < now then base = now end\n"
	"  if base - now > 316224000000000 then base = now + 316224000000000 end\n"
	"  local cost = t * n\n"
	"  if cost > 316224000000000 then cost = 316224000000000 end\n"
	"  local wait = base + cost - cap - now\n"
	"  if wait < 0 then wait = 0 end\n"
	"  out[2*i-1] = wait\n"
	"  out[2*i] = old\n"
	"  new[i] = base + cost\n"
	"end\n"
	"if charge then\n"
	"  for i, key in ipairs(KEYS) do\n"
	"    if new[i] > now then\n"
	"      redis.call('SET', key, string.format('%.0f', new[i]),\n"
	"                 'PX', math.floor((new[i] - now) / 1000) + 1)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";

#define RL_REDIS_BACKOFF_US 1000000 /* after a failure, no try for this long */

struct rl_redis {
	char *path; /* unix socket, or NULL */
	char *host; /* or host and port */
	int port;
	struct timeval timeout;
	pthread_mutex_t lock; /* guards everything below */
	redisContext *idle[RL_REDIS_POOL];
	size_t nidle;
	char sha[41]; /* the loaded script's SHA1; "" until loaded */
	char last_error[160];
	bool down;
	int64_t retry_at_us; /* monotonic: no connection attempt before this */
};

static int64_t rl_redis_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct rl_redis *rl_redis_new(const char *address, long timeout_ms, struct diag *errs)
{
	struct rl_redis *r = calloc(1, sizeof(*r));
	const char *colon;

	if (r == NULL) {
		diag_push(errs, "ratelimit_redis: out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->timeout.tv_sec = timeout_ms / 1000;
	r->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	if (strncmp(address, "unix:", 5) == 0) {
		r->path = strdup(address + 5);
		if (r->path == NULL)
			goto nomem;
		return r;
	}
	colon = strrchr(address, ':');
	if (colon == NULL || colon == address || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535) {
		diag_pushf(errs, "ratelimit_redis: expected unix:/PATH or HOST:PORT, not %s",
			   address);
		rl_redis_free(r);
		return NULL;
	}
	r->host = strndup(address, (size_t)(colon - address));
	r->port = atoi(colon + 1);
	if (r->host == NULL)
		goto nomem;
	return r;
nomem:
	diag_push(errs, "ratelimit_redis: out of memory");
	rl_redis_free(r);
	return NULL;
}

void rl_redis_free(struct rl_redis *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nidle; i++)
		redisFree(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->path);
	free(r->host);
	free(r);
}

/* rl_redis_fail - remember why, drop to "down" and back off; true when
 * the store was up until now */
static bool rl_redis_fail(struct rl_redis *r, const char *what, const redisContext *c)
{
	bool was_up;

	pthread_mutex_lock(&r->lock);
	snprintf(r->last_error, sizeof(r->last_error), "%s%s%s", what,
		 c && c->errstr[0] ? ": " : "", c && c->errstr[0] ? c->errstr : "");
	was_up = !r->down;
	r->down = true;
	r->retry_at_us = rl_redis_mono_us() + RL_REDIS_BACKOFF_US;
	pthread_mutex_unlock(&r->lock);
	return was_up;
}

const char *rl_redis_last_error(struct rl_redis *r)
{
	/* written under the lock, read for a log line: a torn read shows a
	 * mixed message at worst, never past the buffer (it stays terminated) */
	return r->last_error;
}

/* rl_redis_acquire - a connection of our own for one round trip, or NULL
 * (backing off, or the connect failed: *CHANGED set on an up->down move) */
static redisContext *rl_redis_acquire(struct rl_redis *r, bool *changed)
{
	redisContext *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->down && rl_redis_mono_us() < r->retry_at_us) {
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	if (r->nidle > 0)
		c = r->idle[--r->nidle];
	pthread_mutex_unlock(&r->lock);
	/* a connect or a command follows: a round trip to Redis, during which
	 * the event loop lets another worker serve (not while backing off,
	 * which returns at once above) */
	blocking_begin();
	if (c != NULL)
		return c;
	c = r->path ? redisConnectUnixWithTimeout(r->path, r->timeout)
		    : redisConnectWithTimeout(r->host, r->port, r->timeout);
	if (c == NULL || c->err || redisSetTimeout(c, r->timeout) != REDIS_OK) {
		if (rl_redis_fail(r, "connect", c))
			*changed = true;
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	return c;
}

/* rl_redis_release - back into the pool after a good round trip */
static void rl_redis_release(struct rl_redis *r, redisContext *c)
{
	pthread_mutex_lock(&r->lock);
	if (r->nidle < RL_REDIS_POOL) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c != NULL)
		redisFree(c);
}

/* rl_redis_up - a round trip worked: true when that ends an outage */
static bool rl_redis_up(struct rl_redis *r)
{
	bool was_down;

	pthread_mutex_lock(&r->lock);
	was_down = r->down;
	r->down = false;
	r->last_error[0] = '\0';
	pthread_mutex_unlock(&r->lock);
	return was_down;
}

/* rl_redis_load - SCRIPT LOAD; GH_OK with SHA (41 bytes) filled */
static int rl_redis_load(struct rl_redis *r, redisContext *c, char *sha)
{
	redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", rl_redis_script);
	int rc = GH_ERR_IO;

	if (rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 40) {
		memcpy(sha, rep->str, 41);
		pthread_mutex_lock(&r->lock);
		memcpy(r->sha, sha, 41);
		pthread_mutex_unlock(&r->lock);
		rc = GH_OK;
	}
	freeReplyObject(rep);
	return rc;
}

/* rl_redis_reply - ITEMS' answers from the script's reply; GH_OK or GH_ERR_IO */
static int rl_redis_reply(const redisReply *rep, struct rl_item *items, size_t n)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 * n)
		return GH_ERR_IO;
	for (size_t i = 0; i < 2 * n; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			return GH_ERR_IO;
	for (size_t i = 0; i < n; i++) {
		items[i].wait_us = rep->element[2 * i]->integer;
		items[i].tat_us = rep->element[2 * i + 1]->integer;
	}
	return GH_OK;
}

/* rl_redis_argv - EVALSHA's arguments in one allocation: the counters'
 * names and numbers come from the MTA, so nothing here has a fixed size */
struct rl_redis_args {
	const char **argv;
	size_t *lens;
	char *text;
	int argc;
};

static int rl_redis_args_build(struct rl_redis_args *a, const char *sha,
			       const struct rl_item *items, size_t n, int64_t now_us, bool charge)
{
	size_t text_len = 64, pos = 0;
	char *p;

	a->argc = (int)(3 + n + 2 + 3 * n);
	for (size_t i = 0; i < n; i++)
		text_len += sizeof(RL_REDIS_PREFIX) + strlen(items[i].key) + 3 * 24;
	a->argv = calloc((size_t)a->argc, sizeof(*a->argv));
	a->lens = calloc((size_t)a->argc, sizeof(*a->lens));
	a->text = malloc(text_len);
	if (a->argv == NULL || a->lens == NULL || a->text == NULL)
		return GH_ERR_NOMEM;
	p = a->text;
#define RL_ARG(...)                                                      \
	do {                                                             \
		int w_ = snprintf(p + pos, text_len - pos, __VA_ARGS__); \
		a->argv[k] = p + pos;                                    \
		a->lens[k++] = (size_t)w_;                               \
		pos += (size_t)w_ + 1;                                   \
	} while (0)
	{
		int k = 0;

		a->argv[k] = "EVALSHA";
		a->lens[k++] = 7;
		a->argv[k] = sha;
		a->lens[k++] = 40;
		RL_ARG("%zu", n);
		for (size_t i = 0; i < n; i++)
			RL_ARG("%s%s", RL_REDIS_PREFIX, items[i].key);
		RL_ARG("%" PRId64, now_us);
		RL_ARG("%d", charge ? 1 : 0);
		for (size_t i = 0; i < n; i++) {
			RL_ARG("%" PRId64, items[i].limit.interval_us);
			RL_ARG("%" PRId64, items[i].limit.capacity_us);
			RL_ARG("%ld", items[i].n);
		}
	}
#undef RL_ARG
	return GH_OK;
}

static void rl_redis_args_free(struct rl_redis_args *a)
{
	free(a->argv);
	free(a->lens);
	free(a->text);
}

int rl_redis_apply(struct rl_redis *r, struct rl_item *items, size_t n, int64_t now_us, bool charge,
		   bool *changed)
{
	struct rl_redis_args a = { 0 };
	redisContext *c;
	redisReply *rep = NULL;
	char sha[41];
	int rc = GH_ERR_IO;

	*changed = false;
	if (n == 0)
		return GH_OK;
	c = rl_redis_acquire(r, changed);
	if (c == NULL)
		return GH_ERR_IO;
	pthread_mutex_lock(&r->lock);
	memcpy(sha, r->sha, sizeof(sha));
	pthread_mutex_unlock(&r->lock);
	if (sha[0] == '\0' && rl_redis_load(r, c, sha) != GH_OK)
		goto fail;
	if (rl_redis_args_build(&a, sha, items, n, now_us, charge) != GH_OK) {
		/* our memory, not Redis: no outage to declare */
		rl_redis_args_free(&a);
		rl_redis_release(r, c);
		return GH_ERR_NOMEM;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		rep = redisCommandArgv(c, a.argc, a.argv, a.lens);
		if (rep == NULL)
			goto fail;
		/* Redis restarted without our script: load it and try once more */
		if (attempt == 0 && rep->type == REDIS_REPLY_ERROR &&
		    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(rep);
			rep = NULL;
			if (rl_redis_load(r, c, sha) != GH_OK)
				goto fail;
			a.argv[1] = sha;
			continue;
		}
		break;
	}
	rc = rl_redis_reply(rep, items, n);
	if (rc != GH_OK)
		goto fail;
	freeReplyObject(rep);
	rl_redis_args_free(&a);
	rl_redis_release(r, c);
	if (rl_redis_up(r))
		*changed = true;
	return GH_OK;
fail:
	if (rl_redis_fail(r, rep && rep->type == REDIS_REPLY_ERROR ? "script error" : "command", c))
		*changed = true;
	freeReplyObject(rep);
	rl_redis_args_free(&a);
	redisFree(c); /* a context after an error or timeout is not reusable */
	return GH_ERR_IO;
}

/* rl_redis_admin - one command for the admin tool, ERRS on failure */
static redisReply *rl_redis_admin(struct rl_redis *r, redisContext **cp, struct diag *errs,
				  int argc, const char **argv)
{
	bool changed = false;
	redisReply *rep;

	if (*cp == NULL) {
		pthread_mutex_lock(&r->lock);
		r->down = false; /* the admin asks now, whatever the backoff says */
		pthread_mutex_unlock(&r->lock);
		*cp = rl_redis_acquire(r, &changed);
	}
	if (*cp == NULL) {
		diag_pushf(errs, "redis: %s", r->last_error);
		return NULL;
	}
	rep = redisCommandArgv(*cp, argc, argv, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		diag_pushf(errs, "redis: %s", rep ? rep->str : (*cp)->errstr);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* rl_redis_prefixed - "gatehouse:rl:" KEY, malloc'd */
static char *rl_redis_prefixed(const char *key)
{
	size_t len = strlen(RL_REDIS_PREFIX) + strlen(key) + 1;
	char *k = malloc(len);

	if (k != NULL)
		snprintf(k, len, "%s%s", RL_REDIS_PREFIX, key);
	return k;
}

int rl_redis_get(struct rl_redis *r, const char *key, int64_t *tat_us, struct diag *errs)
{
	redisContext *c = NULL;
	char *k = rl_redis_prefixed(key);
	const char *argv[2] = { "GET", k };
	redisReply *rep = k ? rl_redis_admin(r, &c, errs, 2, argv) : NULL;
	int rc = rep ? GH_OK : GH_ERR_IO;

	*tat_us = rep && rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
	freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	free(k);
	return rc;
}

int rl_redis_reset(struct rl_redis *r, const char *key, bool *existed, struct diag *errs)
{
	redisContext *c = NULL;
	char *k = rl_redis_prefixed(key);
	const char *argv[2] = { "DEL", k };
	redisReply *rep = k ? rl_redis_admin(r, &c, errs, 2, argv) : NULL;
	int rc = rep ? GH_OK : GH_ERR_IO;

	*existed = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	free(k);
	return rc;
}

int rl_redis_foreach(struct rl_redis *r, void (*fn)(void *ctx, const char *key, int64_t tat_us),
		     void *ctx, struct diag *errs)
{
	redisContext *c = NULL;
	char *cursor = strdup("0");
	int rc = GH_OK;

	do {
		const char *argv[6] = { "SCAN",	 cursor, "MATCH", RL_REDIS_PREFIX "*",
					"COUNT", "1000" };
		redisReply *rep = cursor ? rl_redis_admin(r, &c, errs, 6, argv) : NULL;

		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			if (rep != NULL)
				diag_push(errs, "redis: unexpected SCAN reply");
			freeReplyObject(rep);
			rc = GH_ERR_IO;
			break;
		}
		free(cursor);
		cursor = strdup(rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements; i++) {
			const redisReply *e = rep->element[1]->element[i];
			const char *gargv[2] = { "GET",
						 e->type == REDIS_REPLY_STRING ? e->str : "" };
			redisReply *v;

			if (e->type != REDIS_REPLY_STRING)
				continue;
			v = rl_redis_admin(r, &c, errs, 2, gargv);
			if (v != NULL && v->type == REDIS_REPLY_STRING)
				fn(ctx, e->str + strlen(RL_REDIS_PREFIX),
				   strtoll(v->str, NULL, 10));
			freeReplyObject(v);
		}
		freeReplyObject(rep);
	} while (cursor != NULL && strcmp(cursor, "0") != 0);
	if (cursor == NULL && rc == GH_OK) {
		diag_push(errs, "out of memory");
		rc = GH_ERR_NOMEM;
	}
	free(cursor);
	if (c != NULL)
		redisFree(c);
	return rc;
}
