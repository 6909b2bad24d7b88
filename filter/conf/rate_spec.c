/*
 * rate_spec.c - the `N/PERIOD [burst B]` syntax (see rate_spec.h)
 *
 * Strict on purpose: a typo in a limit must fail the load, not turn into
 * "no limit" or into a limit a thousand times too generous.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "conf/rate_spec.h"
#include "util/strbuf.h"

/* rate_spec_number - digits at *P into OUT (1..MAX); false on none or overflow */
static bool rate_spec_number(const char **p, long max, long *out)
{
	long v = 0;

	if (!isdigit((unsigned char)**p))
		return false;
	for (; isdigit((unsigned char)**p); (*p)++) {
		v = v * 10 + (**p - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return v >= 1;
}

static void rate_spec_skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

const char *rate_spec_parse(const char *text, struct rate_spec *out)
{
	const char *p = text;
	const char *rest;
	long n, per, mult;

	memset(out, 0, sizeof(*out));
	rate_spec_skip_space(&p);
	if (*p == '\0' || strcmp(p, "none") == 0)
		return NULL;
	if (!rate_spec_number(&p, RATE_SPEC_MAX_COUNT, &n))
		return "expected N/PERIOD [burst B], e.g. 200/1h or 5000/1d burst 500 "
		       "(N from 1 to 1000000000)";
	if (*p++ != '/')
		return "expected '/' after the count, e.g. 200/1h";
	if (!rate_spec_number(&p, RATE_SPEC_MAX_PERIOD_S, &per))
		return "expected a period after '/': a number and s, m, h or d, e.g. 1h";
	switch (*p++) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return "a period needs a unit: s, m, h or d (e.g. 30s, 10m, 1h, 1d)";
	}
	if (per > RATE_SPEC_MAX_PERIOD_S / mult)
		return "period longer than 366 days";
	out->count = n;
	out->period_s = per * mult;
	out->burst = n;
	rest = p;
	rate_spec_skip_space(&p);
	if (p > rest && strncmp(p, "burst", 5) == 0 && (p[5] == ' ' || p[5] == '\t')) {
		p += 5;
		rate_spec_skip_space(&p);
		if (!rate_spec_number(&p, RATE_SPEC_MAX_COUNT, &out->burst))
			return "expected a number after burst (1 to 1000000000)";
		rate_spec_skip_space(&p);
	}
	if (*p != '\0')
		return "unexpected text after the limit; the form is N/PERIOD [burst B]";
	out->set = true;
	return NULL;
}

const char *rate_spec_check(const char *text)
{
	struct rate_spec r;

	return rate_spec_parse(text, &r);
}

const char *const rate_spec_fallback_words[] = { "local", "accept", "tempfail", NULL };

int rate_spec_fallback_parse(const char *word)
{
	if (strcmp(word, "local") == 0)
		return CONFIG_RL_FALLBACK_LOCAL;
	if (strcmp(word, "accept") == 0)
		return CONFIG_RL_FALLBACK_ACCEPT;
	if (strcmp(word, "tempfail") == 0)
		return CONFIG_RL_FALLBACK_TEMPFAIL;
	return -1;
}

const char *rate_spec_check_path(const char *text)
{
	if (text[0] == '\0')
		return NULL;
	if (text[0] != '/')
		return "expected an absolute path";
	if (strlen(text) >= 108)
		return "a unix socket path is at most 107 bytes";
	return NULL;
}

const char *rate_spec_check_redis(const char *text)
{
	const char *colon;
	long port = 0;

	if (text[0] == '\0')
		return NULL;
	if (strncmp(text, "unix:", 5) == 0)
		return text[5] == '/' ? rate_spec_check_path(text + 5)
				      : "expected unix:/PATH (an absolute path)";
	colon = strrchr(text, ':');
	if (colon == NULL || colon == text || colon[1] == '\0')
		return "expected unix:/PATH or HOST:PORT, e.g. unix:/run/redis/redis.sock or "
		       "127.0.0.1:6379";
	for (const char *p = colon + 1; *p; p++) {
		if (!isdigit((unsigned char)*p) || (port = port * 10 + (*p - '0')) > 65535)
			return "port must be a number from 1 to 65535";
	}
	for (const char *p = text; p < colon; p++)
		if ((unsigned char)*p <= 32 || *p == 127)
			return "host must not contain spaces or control characters";
	return port >= 1 ? NULL : "port must be a number from 1 to 65535";
}

/* rate_spec_quote_line - LINE (LEN bytes, no newline) into SB, its value
 * quoted when it is a ratelimit_* line whose unquoted value has a space.
 * A value with a quote, a backslash or a "$" stays as it is: in quotes
 * those would read otherwise (no rate spec has them; the check says so). */
static void rate_spec_quote_line(struct strbuf *sb, const char *line, size_t len)
{
	const char *p = line, *end = line + len, *v, *ve;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 10 || strncmp(p, "ratelimit_", 10) != 0)
		goto verbatim;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '=')
		goto verbatim;
	for (v = p + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	for (ve = end; ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'); ve--)
		;
	if (v == ve || memchr(v, '\\', (size_t)(ve - v)) || memchr(v, '"', (size_t)(ve - v)) ||
	    memchr(v, '\'', (size_t)(ve - v)) || memchr(v, '$', (size_t)(ve - v)) ||
	    (!memchr(v, ' ', (size_t)(ve - v)) && !memchr(v, '\t', (size_t)(ve - v))))
		goto verbatim;
	strbuf_append(sb, line, (size_t)(v - line));
	strbuf_putc(sb, '"');
	strbuf_append(sb, v, (size_t)(ve - v));
	strbuf_putc(sb, '"');
	strbuf_append(sb, ve, (size_t)(end - ve));
	return;
verbatim:
	strbuf_append(sb, line, len);
}

char *rate_spec_quote_values(char *text, size_t *len, const unsigned char *in_token)
{
	struct strbuf sb;
	size_t i = 0, line = 0;

	if (text == NULL)
		return NULL;
	strbuf_init(&sb);
	while (i < *len) {
		const char *nl = memchr(text + i, '\n', *len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : *len - i;

		if (in_token != NULL && in_token[line++])
			strbuf_append(&sb, text + i, l);
		else
			rate_spec_quote_line(&sb, text + i, l);
		if (nl != NULL)
			strbuf_putc(&sb, '\n');
		i += l + (nl ? 1 : 0);
	}
	strbuf_putc(&sb, '\0');
	free(text);
	if (sb.failed) {
		strbuf_free(&sb);
		errno = ENOMEM;
		return NULL;
	}
	*len = sb.len - 1;
	return sb.data;
}
