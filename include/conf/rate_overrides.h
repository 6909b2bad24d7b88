/*
 * rate_overrides.h - per-counter rate limits from a file (ratelimit_overrides)
 *
 * A bulk-mail account gets more than ratelimit_login says, a new account
 * less. The file has one counter per line, its name as `gatehouse
 * ratelimit show` prints it and a limit in the directives' syntax
 * (rate_spec.h), or "none" for no limit at all:
 *
 *     # KIND:SCOPE:VALUE              LIMIT
 *     msg:login:newsletter@example.org  20000/1d burst 2000
 *     rcpt:login:newsletter@example.org 200000/1d
 *     msg:login:trainee@example.org     20/1d
 *     msg:domain:example.net            none
 *     msg:client:192.0.2.7              5000/1h
 *
 * KIND is msg or rcpt, SCOPE login, domain or client; # starts a comment.
 * A line that does not parse, or names a counter twice, fails the load
 * with FILE:LINE; the file is part of the configuration snapshot, so a
 * SIGHUP reloads it and a broken file keeps the running snapshot.
 *
 * Threads: built once per snapshot and read-only after; lookups need no lock.
 * Memory: the table owns its keys; rate_overrides_free releases them.
 */
#ifndef RATE_OVERRIDES_H
#define RATE_OVERRIDES_H

#include <stddef.h>

#include "conf/rate_spec.h"

struct diag;

struct rate_override {
	char *key; /* "msg:login:alice" */
	struct rate_spec spec;
	unsigned long line; /* where the file says so */
};

struct rate_overrides {
	struct rate_override *v; /* sorted by key */
	size_t n;
};

/* rate_overrides_load - PATH ("" = none) into OUT; 0, or -1 with every
 * error as "FILE:LINE: message" in ERRS (OUT then empty) */
int rate_overrides_load(const char *path, struct rate_overrides *out, struct diag *errs);
/* rate_overrides_free - release OUT's entries; accepts an empty table */
void rate_overrides_free(struct rate_overrides *o);
/* rate_overrides_find - the limit for counter KEY, or NULL (the directive's
 * limit applies); a found limit that is not set means "none" */
const struct rate_spec *rate_overrides_find(const struct rate_overrides *o, const char *key);

#endif
