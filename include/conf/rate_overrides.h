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
 * A counter is stored in the spelling the engine charges mail to
 * (rate_overrides_value), so that an override applies however it is
 * written. A value the engine never charges is an error: a domain with an
 * '@', a client that is neither one IP address nor "unknown".
 * A line that does not parse, or names a counter twice, fails the load
 * with FILE:LINE; the file is part of the configuration snapshot, so a
 * SIGHUP reloads it and a broken file keeps the running snapshot.
 *
 * Threads: built once per snapshot and read-only after; lookups need no lock.
 * Memory: the table owns its keys; rate_overrides_free releases them.
 */
#ifndef RATE_OVERRIDES_H
#define RATE_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/rate_spec.h"

struct arena;
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
/*
 * rate_overrides_value - VALUE of counter scope SCOPE ("login", "domain" or
 * "client") in the one spelling counters are named with, in ARENA; NULL
 * only when memory ran out. The engine names the counters it charges with
 * it and the overrides file and `gatehouse ratelimit` read theirs with it,
 * so both sides agree by construction. Total, and never "" for a value
 * that is not: a spelling that had no counter would be no limit at all.
 *  - login: ASCII letters in lower case. The identity check compares logins
 *    so (login_map.h): Alice and alice are one account, one counter.
 *    Letters outside ASCII keep their case, as there.
 *  - domain: without trailing dots, in A-labels and lower case (idn.h):
 *    bücher.example, BÜCHER.example and xn--bcher-kva.example are one
 *    domain, so switching spellings gains nothing. A name libidn2 refuses,
 *    or one that maps to nothing, is kept with ASCII in lower case.
 *  - client: an address as cidr_ip_canon writes it (2001:db8::7 for
 *    2001:DB8:0::7, 192.0.2.7 for ::ffff:192.0.2.7); other text ("unknown":
 *    mail without a client address) as it is.
 */
const char *rate_overrides_value(struct arena *arena, const char *scope, const char *value);
/*
 * rate_overrides_key_canon - counter KEY ("msg:domain:Example.ORG") in the
 * limiter's form ("msg:domain:example.org"): NULL with *OUT malloc'd, or a
 * static reason with *OUT NULL. KIND_OPTIONAL also accepts SCOPE:VALUE
 * (`gatehouse ratelimit show login:alice` asks for both kinds).
 */
const char *rate_overrides_key_canon(const char *key, bool kind_optional, char **out);
/* rate_overrides_find - the limit for counter KEY, or NULL (the directive's
 * limit applies); a found limit that is not set means "none" */
const struct rate_spec *rate_overrides_find(const struct rate_overrides *o, const char *key);

#endif
