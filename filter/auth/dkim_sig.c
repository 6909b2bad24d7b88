/*
 * dkim_sig.c - a DKIM-Signature field's tag-list, checked before
 * libopendkim sees it, and the canonical body length (see dkim_sig.h)
 *
 * The tag-list grammar is RFC 6376 3.2: tag-spec *(";" tag-spec) [";"],
 * a tag-spec being [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]. It is
 * small and it is the one libopendkim gets wrong for us (it drops or
 * half-reads broken fields), so it is read here; the values are left to
 * libopendkim except the few that decide whether a field can be evaluated.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim_sig.h"
#include "mail/idn.h"
#include "util/arena.h"

#define DKIM_MAX_TAGS 64 /* RFC 6376 defines 14; more is not a signature */

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct span {
	const char *p;
	size_t len;
};

static const char *tags(const char *value, size_t len, struct span *names, struct span *vals,
			size_t *n);

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && strncmp(s.p, word, s.len) == 0;
}

/* base64_ok - base64string (RFC 6376 2.4): alphabet and FWS, then at most
 * two '=' at the end; not empty */
static bool base64_ok(struct span v)
{
	size_t n = 0, pad = 0;

	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (is_fws((char)c))
			continue;
		if (c == '=') {
			if (++pad > 2)
				return false;
			continue;
		}
		if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
			return false;
		n++;
	}
	return n > 0;
}

/* labels_ok - NAME is labels of letters, digits, '-' (and '_' when
 * UNDERSCORE), none empty or over 63, at least MIN_LABELS of them */
static bool labels_ok(const char *name, bool underscore, int min_labels)
{
	int labels = 0;
	size_t len = 0;

	for (const char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (len == 0 || len > 63 || p[-1] == '-')
				return false;
			labels++;
			len = 0;
			if (*p == '\0')
				break;
			continue;
		}
		if (!(isalnum((unsigned char)*p) || (*p == '-' && len > 0) ||
		      (*p == '_' && underscore)))
			return false;
		len++;
	}
	return labels >= min_labels;
}

/* name_in_alabels - V (a d= or s= value) in A-labels, malloc'd; NULL if it
 * is no valid name (*NOMEM says whether memory ran out instead) */
static char *name_in_alabels(struct span v, bool *nomem)
{
	struct arena *a = arena_new();
	char *raw, *out = NULL;
	const char *al, *why;
	int rc;

	*nomem = a == NULL;
	if (a == NULL)
		return NULL;
	raw = arena_memdup(a, v.p, v.len);
	rc = raw != NULL ? idn_domain(a, raw, &al, &why) : -1;
	if (rc == IDN_OK && (out = strdup(al)) == NULL)
		rc = -1;
	*nomem = rc < 0;
	arena_free(a);
	return out;
}

/* strip_fws - V without white space, malloc'd */
static char *strip_fws(struct span v)
{
	char *out = malloc(v.len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < v.len; i++)
		if (!is_fws(v.p[i]))
			*o++ = v.p[i];
	*o = '\0';
	return out;
}

void dkim_sig_info_free(struct dkim_sig_info *info)
{
	free(info->domain);
	free(info->selector);
	free(info->b);
	free(info->bh);
	free(info->h);
	free(info->i);
	memset(info, 0, sizeof(*info));
}

const char *dkim_tags(const char *value, size_t len, struct dkim_tag *out, size_t max, size_t *n)
{
	struct span names[DKIM_MAX_TAGS], vals[DKIM_MAX_TAGS];
	const char *why = tags(value, len, names, vals, n);

	if (why == NULL && *n > max)
		why = "too many tags";
	for (size_t k = 0; why == NULL && k < *n; k++) {
		out[k].name = names[k].p;
		out[k].name_len = names[k].len;
		out[k].val = vals[k].p;
		out[k].val_len = vals[k].len;
	}
	return why;
}

/* tags - split VALUE into tag names and values; NULL or why it is no tag-list */
static const char *tags(const char *value, size_t len, struct span *names, struct span *vals,
			size_t *n)
{
	size_t i = 0;

	*n = 0;
	while (i < len) {
		size_t s = i, e, eq;

		while (i < len && value[i] != ';')
			i++;
		e = i;
		if (i < len)
			i++; /* the ';' */
		while (s < e && is_fws(value[s]))
			s++;
		while (e > s && is_fws(value[e - 1]))
			e--;
		if (s == e) {
			if (i >= len)
				break; /* the optional ';' at the end */
			return "malformed tag-list (an empty tag)";
		}
		for (eq = s; eq < e && value[eq] != '='; eq++)
			;
		if (eq == e)
			return "malformed tag-list (a tag without '=')";
		names[*n].p = value + s;
		names[*n].len = eq - s;
		while (names[*n].len > 0 && is_fws(names[*n].p[names[*n].len - 1]))
			names[*n].len--;
		if (names[*n].len == 0 || !isalpha((unsigned char)names[*n].p[0]))
			return "malformed tag-list (a bad tag name)";
		for (size_t k = 1; k < names[*n].len; k++)
			if (!isalnum((unsigned char)names[*n].p[k]) && names[*n].p[k] != '_')
				return "malformed tag-list (a bad tag name)";
		vals[*n].p = value + eq + 1;
		vals[*n].len = e - eq - 1;
		while (vals[*n].len > 0 && is_fws(vals[*n].p[0])) {
			vals[*n].p++;
			vals[*n].len--;
		}
		for (size_t k = 0; k < vals[*n].len; k++) {
			unsigned char c = (unsigned char)vals[*n].p[k];

			if (c < 0x21 && !is_fws((char)c))
				return "malformed tag-list (a control character)";
		}
		for (size_t k = 0; k < *n; k++)
			if (names[k].len == names[*n].len &&
			    memcmp(names[k].p, names[*n].p, names[k].len) == 0)
				return "a tag appears twice (RFC 6376 3.2)";
		if (++*n == DKIM_MAX_TAGS)
			return "too many tags";
	}
	return NULL;
}

/* dkim_canon_word - N bytes at P name a canonicalization */
static bool dkim_canon_word(const char *p, size_t n)
{
	return (n == 6 && strncasecmp(p, "simple", 6) == 0) ||
	       (n == 7 && strncasecmp(p, "relaxed", 7) == 0);
}

/* dkim_canon_known - C is header[/body] with known names */
static bool dkim_canon_known(struct span c)
{
	const char *slash = memchr(c.p, '/', c.len);

	if (slash == NULL)
		return dkim_canon_word(c.p, c.len);
	return dkim_canon_word(c.p, (size_t)(slash - c.p)) &&
	       dkim_canon_word(slash + 1, c.len - (size_t)(slash - c.p) - 1);
}

int dkim_sig_check(const char *value, size_t len, struct dkim_sig_info *out)
{
	static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
	struct span names[DKIM_MAX_TAGS], vals[DKIM_MAX_TAGS];
	struct span v = { 0 }, d = { 0 }, sel = { 0 }, b = { 0 }, bh = { 0 }, c = { 0 }, l = { 0 },
		    a = { 0 }, h = { 0 }, i = { 0 }, q = { 0 }, x = { 0 }, t = { 0 };
	const char *why;
	bool nomem = false;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->length = -1;
	out->ascii = true;
	for (size_t k = 0; k < len && out->ascii; k++)
		out->ascii = (unsigned char)value[k] < 0x80;
	if (memchr(value, '\0', len) != NULL) {
		out->error = "a NUL byte in the signature";
		return 0;
	}
	if ((why = tags(value, len, names, vals, &n)) != NULL) {
		out->error = why;
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		struct span *dst = span_is(names[k], "v")    ? &v
				   : span_is(names[k], "d")  ? &d
				   : span_is(names[k], "s")  ? &sel
				   : span_is(names[k], "b")  ? &b
				   : span_is(names[k], "bh") ? &bh
				   : span_is(names[k], "c")  ? &c
				   : span_is(names[k], "l")  ? &l
				   : span_is(names[k], "a")  ? &a
				   : span_is(names[k], "h")  ? &h
				   : span_is(names[k], "i")  ? &i
				   : span_is(names[k], "q")  ? &q
				   : span_is(names[k], "x")  ? &x
				   : span_is(names[k], "t")  ? &t
							     : NULL;
		if (dst != NULL)
			*dst = vals[k];
	}
	/* what is there is kept for the report, even when it cannot be used */
	if (sel.p != NULL && (out->selector = strip_fws(sel)) == NULL)
		return -1;
	if (b.p != NULL && (out->b = strip_fws(b)) == NULL)
		return -1;
	if (bh.p != NULL && (out->bh = strip_fws(bh)) == NULL)
		return -1;
	out->sha256 = span_is(a, "rsa-sha256") || span_is(a, "ed25519-sha256");
	out->ed25519 = span_is(a, "ed25519-sha256");
	if (h.p != NULL && (out->h = strip_fws(h)) == NULL)
		return -1;
	if (i.p != NULL && (out->i = strip_fws(i)) == NULL)
		return -1;
	out->has_q = q.p != NULL;
	out->has_x = x.p != NULL;
	out->has_t = t.p != NULL;
	out->t = -1;
	if (t.p != NULL && t.len > 0 && t.len < 19) {
		out->t = 0;
		for (size_t k = 0; k < t.len && out->t >= 0; k++)
			out->t = isdigit((unsigned char)t.p[k]) ? out->t * 10 + (t.p[k] - '0') : -1;
	}
	if (b.p != NULL) {
		const char *eq = b.p, *semi;

		while (eq > value && eq[-1] != '=')
			eq--;
		semi = memchr(b.p, ';', len - (size_t)(b.p - value));
		out->b_from = (size_t)(eq - value);
		out->b_to = semi != NULL ? (size_t)(semi - value) : len;
	}
	if (d.p != NULL && (out->domain = name_in_alabels(d, &nomem)) == NULL && nomem)
		return -1;
	out->canon_known = c.p == NULL || dkim_canon_known(c);
	if (c.p != NULL) {
		const char *slash = memchr(c.p, '/', c.len);

		out->relaxed_head = (size_t)((slash ? slash : c.p + c.len) - c.p) == 7 &&
				    strncasecmp(c.p, "relaxed", 7) == 0;

		out->relaxed_body = slash != NULL && (size_t)(c.p + c.len - slash - 1) == 7 &&
				    strncasecmp(slash + 1, "relaxed", 7) == 0;
	}
	if (l.p != NULL) {
		out->length = 0;
		for (size_t k = 0; k < l.len && out->length < 1000000000000000LL; k++)
			if (isdigit((unsigned char)l.p[k]))
				out->length = out->length * 10 + (l.p[k] - '0');
	}
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = span_is(names[j], required[k]);
		if (!found) {
			out->error = "a required tag (v, a, b, bh, d, h or s) is missing";
			return 0;
		}
	}
	if (!span_is(v, "1"))
		out->error = "unknown signature version (v= is not 1)";
	else if (out->domain == NULL || !labels_ok(out->domain, false, 2))
		out->error = "d= is not a valid domain name";
	else if (out->selector == NULL || *out->selector == '\0' ||
		 !labels_ok(out->selector, true, 1))
		out->error = "s= is not a valid selector";
	else if (!base64_ok(b))
		out->error = "b= holds characters outside base64 and folding white space";
	else if (!base64_ok(bh))
		out->error = "bh= holds characters outside base64 and folding white space";
	return 0;
}

/* content - one byte of a line's content */
static void content(struct dkim_bodylen *b, unsigned char c)
{
	b->any = true;
	b->line_simple++;
	if (c == ' ' || c == '\t') {
		b->wsp = true; /* a run counts once, and only before more content */
		return;
	}
	if (b->wsp)
		b->line_relaxed++;
	b->wsp = false;
	b->line_relaxed++;
}

/* end_line - a CRLF: empty lines are held back, for they count only when
 * content follows them (trailing empty lines are not part of the body) */
static void end_line(struct dkim_bodylen *b)
{
	b->any = true;
	if (b->line_simple == 0) {
		b->simple_pending += 2;
	} else {
		b->simple += b->simple_pending + b->line_simple + 2;
		b->simple_pending = 0;
	}
	if (b->line_relaxed == 0) {
		b->relaxed_pending += 2; /* white space only: an empty line */
	} else {
		b->relaxed += b->relaxed_pending + b->line_relaxed + 2;
		b->relaxed_pending = 0;
	}
	b->line_simple = b->line_relaxed = 0;
	b->wsp = false;
}

void dkim_bodylen_feed(struct dkim_bodylen *b, const unsigned char *chunk, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = chunk[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				end_line(b);
				continue;
			}
			content(b, '\r');
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			end_line(b); /* a bare LF ends a line, as libopendkim's FIXCRLF reads it */
		else
			content(b, c);
	}
}

long long dkim_bodylen_total(const struct dkim_bodylen *in, bool relaxed)
{
	struct dkim_bodylen b = *in;

	if (b.cr)
		content(&b, '\r');
	/* a last line without CRLF gets one (RFC 6376 3.4.3, 3.4.4) */
	if (relaxed)
		return b.relaxed +
		       (b.line_relaxed > 0 ? b.relaxed_pending + b.line_relaxed + 2 : 0);
	if (b.line_simple > 0)
		b.simple += b.simple_pending + b.line_simple + 2;
	return b.simple > 0 ? b.simple : 2; /* an empty body is one CRLF */
}

bool dkim_list_has(const char *list, size_t len, const char *word)
{
	size_t wl = strlen(word), i = 0;

	while (i < len) {
		size_t s = i, e;

		while (i < len && list[i] != ':')
			i++;
		e = i++;
		while (s < e && isspace((unsigned char)list[s]))
			s++;
		while (e > s && isspace((unsigned char)list[e - 1]))
			e--;
		if (e - s == wl && strncasecmp(list + s, word, wl) == 0)
			return true;
	}
	return false;
}
