/*
 * rate_spec.h - the `N/PERIOD [burst B]` syntax of the ratelimit_* directives
 *
 * rate_spec_parse() reads "200/1h", "5000/1d burst 500", "10/30s": N events
 * per PERIOD (a number and one of s, m, h, d), and optionally a burst B, the
 * number of events that may arrive at once (the bucket's size; default N).
 * "" and "none" mean no limit. It lives in conf/ so that the directive table
 * validates the text at load (FILE:LINE errors) with the same code the
 * limiter reads it with.
 *
 * Threads and memory: pure functions, nothing allocated.
 */
#ifndef RATE_SPEC_H
#define RATE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds: a period of 1 s to 366 days, N and B from 1 to 1e9. */
#define RATE_SPEC_MAX_COUNT 1000000000L
#define RATE_SPEC_MAX_PERIOD_S (366L * 86400L)

struct rate_spec {
	bool set;      /* false: no limit ("" or "none") */
	long count;    /* N */
	long period_s; /* PERIOD in seconds */
	long burst;    /* B; N when not written */
};

/* rate_spec_parse - TEXT into OUT; NULL when valid, else a static reason */
const char *rate_spec_parse(const char *text, struct rate_spec *out);
/* rate_spec_check - rate_spec_parse without the result (a directive's check) */
const char *rate_spec_check(const char *text);

/*
 * rate_spec_quote_values - TEXT (LEN bytes, a config file with its comments
 * blanked out) with the values of ratelimit_* lines quoted when they hold
 * white space, so that `ratelimit_login = 5000/1d burst 500` reads as
 * written (libconfuse ends an unquoted value at a space). A line K with
 * IN_TOKEN[K] set begins inside a quoted string or a "${...}" token that an
 * earlier line opened, and is left alone: quoting it would end that string
 * early. IN_TOKEN has a byte per line; NULL means no line does. Lines keep
 * their numbers. TEXT is freed; the result is malloc'd (NUL-terminated,
 * *LEN updated), or NULL on OOM with errno set.
 */
char *rate_spec_quote_values(char *text, size_t *len, const unsigned char *in_token);

/* The other ratelimit_* directives' words and checks, for the table. */
extern const char *const rate_spec_fallback_words[]; /* "local", "accept", "tempfail" */
/* rate_spec_fallback_parse - a word above as enum config_rl_fallback, -1 if none */
int rate_spec_fallback_parse(const char *word);
/* rate_spec_check_redis - "unix:/PATH", "HOST:PORT" or "" (none) */
const char *rate_spec_check_redis(const char *text);
/* rate_spec_check_path - "" or an absolute path a unix socket can have */
const char *rate_spec_check_path(const char *text);

#endif
