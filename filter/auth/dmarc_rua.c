/*
 * dmarc_rua.c - the rua= tag of a DMARC record (see dmarc.h)
 *
 * rua= comes from DNS, so from anyone: every URI is checked byte by byte
 * before an address from it can reach a report mail's To: field. Only
 * mailto: URIs with one plain address are kept (RFC 9990 sends reports by
 * mail only); query parts ("?subject=...") are dropped, %-escapes decoded
 * once, and a decoded address must still be printable ASCII without white
 * space, quotes, angle brackets or commas, so it cannot add a recipient or
 * a header to the mail. The "!size" suffix of RFC 7489 is still read
 * (k, m, g, t: powers of 1024), since records written for it are common.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define RUA_MAX 16 /* destinations kept per record; more is noted and ignored */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* addr_char_ok - a byte that may stand in a mailbox we write into To: */
static bool addr_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"<>,;()[]\\:!%", c);
}

/* parse_size - "!" 1*DIGIT [k/m/g/t] at S..E into *OUT; false if malformed */
static bool parse_size(const char *s, const char *e, unsigned long long *out)
{
	unsigned long long v = 0, mult = 1;

	if (s == e || !isdigit((unsigned char)*s))
		return false;
	for (; s < e && isdigit((unsigned char)*s); s++) {
		if (v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (s < e) {
		const char *units = "kmgt", *u = strchr(units, tolower((unsigned char)*s));

		if (u == NULL || *s == '\0' || s + 1 != e)
			return false;
		for (long i = 0; i <= u - units; i++)
			mult *= 1024;
	}
	if (v > ~0ULL / mult)
		return false;
	*out = v * mult;
	return true;
}

/* one_uri - S..E (trimmed) into U; false (and why) when it is not usable */
static bool one_uri(struct arena *arena, const char *s, const char *e, struct dmarc_uri *u,
		    const char **why)
{
	const char *bang, *q, *at = NULL;
	struct strbuf box;
	char *dom;

	memset(u, 0, sizeof(*u));
	if (e - s < 7 || strncasecmp(s, "mailto:", 7) != 0) {
		*why = "not a mailto: URI";
		return false;
	}
	s += 7;
	/* '!' is not valid in a URI unescaped: it starts the size suffix */
	bang = memchr(s, '!', (size_t)(e - s));
	if (bang != NULL && !parse_size(bang + 1, e, &u->max_size)) {
		*why = "bad size after '!'";
		return false;
	}
	if (bang != NULL)
		e = bang;
	q = memchr(s, '?', (size_t)(e - s));
	if (q != NULL)
		e = q;
	strbuf_init(&box);
	for (const char *p = s; p < e; p++) {
		int hi, lo;
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			if (e - p < 3 || (hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0) {
				strbuf_free(&box);
				*why = "bad %-escape";
				return false;
			}
			c = (unsigned char)(hi * 16 + lo);
			p += 2;
		}
		if (!addr_char_ok(c)) {
			strbuf_free(&box);
			*why = "not a plain address";
			return false;
		}
		strbuf_putc(&box, (char)c);
	}
	if (box.failed) {
		strbuf_free(&box);
		*why = NULL; /* out of memory */
		return false;
	}
	if (box.len > 0)
		at = strrchr(strbuf_cstr(&box), '@');
	if (at == NULL || at == strbuf_cstr(&box) || at[1] == '\0' || at[1] == '.' ||
	    strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
		    strlen(at + 1)) {
		strbuf_free(&box);
		*why = "no local@domain address";
		return false;
	}
	u->mailbox = arena_strdup(arena, strbuf_cstr(&box));
	dom = arena_strdup(arena, at + 1);
	strbuf_free(&box);
	if (u->mailbox == NULL || dom == NULL) {
		*why = NULL;
		return false;
	}
	for (char *p = dom; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	u->domain = dom;
	return true;
}

int dmarc_rua_parse(struct arena *arena, const char *value, size_t len, struct dmarc_uri **out,
		    size_t *nout, struct strbuf *notes)
{
	const char *p = value, *end = value + len;
	struct dmarc_uri *v = NULL;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	while (p < end) {
		const char *s = p, *e = memchr(p, ',', (size_t)(end - p));
		const char *why = NULL;
		struct dmarc_uri u;

		if (e == NULL)
			e = end;
		p = e + 1;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s == e)
			continue;
		if (n == RUA_MAX) {
			why = "too many destinations";
		} else if (one_uri(arena, s, e, &u, &why)) {
			if (v == NULL && (v = arena_alloc(arena, RUA_MAX * sizeof(*v))) == NULL)
				return -1;
			v[n++] = u;
			continue;
		} else if (why == NULL) {
			return -1;
		}
		if (notes != NULL) {
			if (notes->len > 0)
				strbuf_puts(notes, ", ");
			strbuf_puts(notes, "rua ");
			for (const char *c = s; c < e && c < s + 40; c++)
				strbuf_putc(notes,
					    (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f
						    ? *c
						    : '?');
			strbuf_printf(notes, " (%s)", why);
		}
	}
	*out = v;
	*nout = n;
	return 0;
}
