/*
 * spf_macro.c - RFC 7208 section 7 macro expansion (see spf_macro.h)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "auth/spf_macro.h"
#include "util/strbuf.h"

#define SPF_MACRO_PARTS 128 /* a value split at delimiters: at most this many parts */

/* macro_ip_dotted - "i": IPv4 as is, IPv6 as 32 dot-separated nibbles (RFC 7.3) */
static void macro_ip_dotted(struct strbuf *sb, const char *ip)
{
	unsigned char a6[16];

	if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, a6) != 1) {
		strbuf_puts(sb, ip);
		return;
	}
	/* Upper-case nibbles, as the RFC 7208 test suite expects; DNS does
	 * not care about case. */
	for (int i = 0; i < 16; i++)
		strbuf_printf(sb, "%s%X.%X", i ? "." : "", a6[i] >> 4, a6[i] & 15);
}

/* macro_ip_readable - "c": the address in its canonical text (RFC 5952) */
static void macro_ip_readable(struct strbuf *sb, const char *ip)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN];
	int af = strchr(ip, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(af, ip, a) == 1 && inet_ntop(af, a, buf, sizeof(buf)) != NULL)
		strbuf_puts(sb, buf);
	else
		strbuf_puts(sb, ip);
}

/* macro_value - the raw value of LETTER (lower case) */
static bool macro_value(const struct spf_macro_env *e, char letter, struct strbuf *v)
{
	switch (letter) {
	case 's':
		strbuf_puts(v, e->sender ? e->sender : "");
		return true;
	case 'l':
		strbuf_puts(v, e->local ? e->local : "");
		return true;
	case 'o':
		strbuf_puts(v, e->sender_domain ? e->sender_domain : "");
		return true;
	case 'd':
		strbuf_puts(v, e->domain ? e->domain : "");
		return true;
	case 'i':
		macro_ip_dotted(v, e->client_ip ? e->client_ip : "");
		return true;
	case 'p':
		strbuf_puts(v, "unknown");
		return true; /* RFC 7.3: allowed, and costs no DNS */
	case 'v':
		strbuf_puts(v, e->client_ip && strchr(e->client_ip, ':') ? "ip6" : "in-addr");
		return true;
	case 'h':
		strbuf_puts(v, e->helo ? e->helo : "");
		return true;
	case 'c':
		macro_ip_readable(v, e->client_ip ? e->client_ip : "");
		return true;
	case 'r':
		strbuf_puts(v, e->receiver ? e->receiver : "unknown");
		return true;
	case 't':
		strbuf_printf(v, "%lld", e->now);
		return true;
	default:
		return false;
	}
}

/* macro_transform - split V at DELIMS, keep the rightmost KEEP parts
 * (0: all), reverse if asked, join with '.' into OUT */
static int macro_transform(const char *v, size_t len, const char *delims, long keep, bool reverse,
			   struct strbuf *out)
{
	const char *part[SPF_MACRO_PARTS];
	size_t plen[SPF_MACRO_PARTS], n = 0, start = 0, first;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || strchr(delims, v[i]) != NULL) {
			if (n == SPF_MACRO_PARTS)
				return -1;
			part[n] = v + start;
			plen[n++] = i - start;
			start = i + 1;
		}
	}
	if (reverse)
		for (size_t i = 0; i < n / 2; i++) {
			const char *tp = part[i];
			size_t tl = plen[i];

			part[i] = part[n - 1 - i];
			plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = tp;
			plen[n - 1 - i] = tl;
		}
	first = keep > 0 && (size_t)keep < n ? n - (size_t)keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			strbuf_putc(out, '.');
		strbuf_append(out, part[i], plen[i]);
	}
	return 0;
}

/* macro_url_escape - RFC 3986 unreserved stay, the rest %XX (upper-case macros) */
static void macro_url_escape(const char *v, size_t len, struct strbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (isalnum(c) || strchr("-._~", c) != NULL)
			strbuf_putc(out, (char)c);
		else
			strbuf_printf(out, "%%%02X", c);
	}
}

/* macro_one - "%{...}" at IN[*I] (past "%{") into OUT */
static int macro_one(const struct spf_macro_env *e, const char *in, size_t len, size_t *i,
		     bool explain, struct strbuf *out)
{
	struct strbuf raw, shaped;
	char letter, delims[8] = "";
	size_t nd = 0;
	long keep = 0;
	bool reverse = false, upper;
	int rc = -1;

	if (*i >= len)
		return -1;
	letter = in[(*i)++];
	upper = isupper((unsigned char)letter);
	letter = (char)tolower((unsigned char)letter);
	if (!explain && strchr("crt", letter) != NULL)
		return -1;
	if (*i < len && isdigit((unsigned char)in[*i])) {
		while (*i < len && isdigit((unsigned char)in[*i])) {
			keep = keep * 10 + (in[(*i)++] - '0');
			if (keep > SPF_MACRO_PARTS)
				keep = SPF_MACRO_PARTS;
		}
		if (keep == 0)
			return -1; /* RFC 7.1: a DIGIT transformer MUST be nonzero */
	}
	if (*i < len && (in[*i] == 'r' || in[*i] == 'R')) {
		reverse = true;
		(*i)++;
	}
	while (*i < len && strchr(".-+,/_=", in[*i]) != NULL && in[*i] != '\0') {
		if (nd < sizeof(delims) - 1 && strchr(delims, in[*i]) == NULL)
			delims[nd++] = in[*i];
		(*i)++;
	}
	if (*i >= len || in[*i] != '}')
		return -1;
	(*i)++;
	if (nd == 0)
		strcpy(delims, ".");
	strbuf_init(&raw);
	strbuf_init(&shaped);
	if (macro_value(e, letter, &raw) && !raw.failed &&
	    macro_transform(strbuf_cstr(&raw), raw.len, delims, keep, reverse, &shaped) == 0) {
		if (upper)
			macro_url_escape(strbuf_cstr(&shaped), shaped.len, out);
		else
			strbuf_append(out, strbuf_cstr(&shaped), shaped.len);
		rc = 0;
	}
	strbuf_free(&raw);
	strbuf_free(&shaped);
	return rc;
}

/* truncate_left - drop labels from the left until at most 253 octets (RFC 4.8) */
static void truncate_left(struct strbuf *sb)
{
	size_t cut = 0;

	while (sb->len - cut > 253) {
		const char *dot = memchr(sb->data + cut, '.', sb->len - cut);

		if (dot == NULL)
			break;
		cut = (size_t)(dot - sb->data) + 1;
	}
	if (cut > 0) {
		memmove(sb->data, sb->data + cut, sb->len - cut + 1);
		sb->len -= cut;
	}
}

int spf_macro_expand(const struct spf_macro_env *e, const char *in, size_t len, bool explain,
		     struct strbuf *out)
{
	size_t start = out->len;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			char n = i + 1 < len ? in[i + 1] : '\0';

			if (n == '%')
				strbuf_putc(out, '%');
			else if (n == '_')
				strbuf_putc(out, ' ');
			else if (n == '-')
				strbuf_puts(out, "%20");
			else if (n == '{') {
				i += 2;
				if (macro_one(e, in, len, &i, explain, out) != 0)
					return -1;
				goto bounded;
			} else
				return -1;
			i += 2;
		} else if (c == ' ' && explain) {
			strbuf_putc(out, ' ');
			i++;
		} else if (c >= 0x21 && c <= 0x7e) {
			strbuf_putc(out, (char)c);
			i++;
		} else {
			return -1; /* controls and 8-bit bytes are not macro-literals */
		}
	bounded:
		if (out->failed || out->len - start > SPF_MACRO_MAX)
			return -1;
	}
	if (!explain && out->len - start > 253) {
		struct strbuf mine = { out->data + start, out->len - start, out->len - start + 1,
				       false };

		truncate_left(&mine);
		out->len = start + mine.len;
	}
	return out->failed ? -1 : 0;
}
