/*
 * dmarc_record.c - DMARC record syntax, RFC 9989 section 4.7 (see dmarc.h)
 *
 * The record is a tag-list: "v=DMARC1" first, then "tag=value" separated
 * by ';' with optional white space around. RFC 9989 keeps only the first
 * rule strict: a record that does not start with v=DMARC1 is no DMARC
 * record. Everything after it is read leniently, as the RFC asks: unknown
 * tags are ignored, a tag with an invalid value is ignored and its default
 * applies, and a record without a valid p= reads as p=none. A strict reading
 * turned one stray token ("fo:0", ";;") into a permerror that policy
 * accepted, so the domain's p=reject protected nothing. What was ignored is
 * reported, so the admin still sees the domain's mistake.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define DMARC_IGNORED_MAX 240 /* characters of the "ignored" note */

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_NONE:
		return "none";
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	default:
		return NULL;
	}
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* span_eq - S..S+LEN equals WORD, ignoring ASCII case */
static bool span_eq(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

static enum dmarc_policy parse_policy(const char *v, size_t len)
{
	if (span_eq(v, len, "none"))
		return DMARC_P_NONE;
	if (span_eq(v, len, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (span_eq(v, len, "reject"))
		return DMARC_P_REJECT;
	return DMARC_P_UNSET;
}

/* is_tag_name - ALPHA *(ALPHA / DIGIT / "_") */
static bool is_tag_name(const char *s, size_t len)
{
	if (len == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* value_ok - no control or non-ASCII byte (NUL included) */
static bool value_ok(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			return false;
	return true;
}

struct parse_state {
	struct dmarc_record *r;
	struct arena *arena;
	struct strbuf ignored;
	bool nomem;
	bool seen_rua, seen_fo;
	bool seen_p, seen_sp, seen_np, seen_adkim, seen_aspf, seen_psd, seen_t;
};

/* note - append what was ignored: "WHAT (WHY)", printable ASCII only */
static void note(struct parse_state *ps, const char *what, size_t len, const char *why)
{
	if (ps->ignored.len >= DMARC_IGNORED_MAX)
		return;
	if (ps->ignored.len > 0)
		strbuf_puts(&ps->ignored, ", ");
	for (size_t i = 0; i < len && i < 40; i++)
		strbuf_putc(&ps->ignored,
			    (unsigned char)what[i] >= 0x20 && (unsigned char)what[i] < 0x7f
				    ? what[i]
				    : '?');
	if (len > 40)
		strbuf_puts(&ps->ignored, "...");
	strbuf_printf(&ps->ignored, " (%s)", why);
	if (ps->ignored.len >= DMARC_IGNORED_MAX)
		strbuf_puts(&ps->ignored, ", ...");
}

/* one_policy - p, sp or np: the first valid one counts */
static bool one_policy(enum dmarc_policy *dst, bool *seen, const char *v, size_t vlen)
{
	enum dmarc_policy p = parse_policy(v, vlen);

	if (*seen || p == DMARC_P_UNSET)
		return false;
	*dst = p;
	*seen = true;
	return true;
}

/* one_letter - a one-letter value out of CHOICES, ignoring case */
static bool one_letter(char *dst, bool *seen, const char *v, size_t vlen, const char *choices)
{
	char c = vlen == 1 ? (char)tolower((unsigned char)v[0]) : '\0';

	if (*seen || c == '\0' || strchr(choices, c) == NULL)
		return false;
	*dst = c;
	*seen = true;
	return true;
}

/* one_tag - apply TAG=VALUE, or say in the note why it was ignored */
static void one_tag(struct parse_state *ps, const char *spec, size_t slen, const char *tag,
		    size_t tlen, const char *v, size_t vlen)
{
	struct dmarc_record *r = ps->r;
	char t = 'n';
	bool ok;

	if (!value_ok(v, vlen)) {
		note(ps, spec, slen, "control or non-ASCII byte");
		return;
	}
	if (span_eq(tag, tlen, "p"))
		ok = one_policy(&r->p, &ps->seen_p, v, vlen);
	else if (span_eq(tag, tlen, "sp"))
		ok = one_policy(&r->sp, &ps->seen_sp, v, vlen);
	else if (span_eq(tag, tlen, "np"))
		ok = one_policy(&r->np, &ps->seen_np, v, vlen);
	else if (span_eq(tag, tlen, "adkim"))
		ok = one_letter(&r->adkim, &ps->seen_adkim, v, vlen, "rs");
	else if (span_eq(tag, tlen, "aspf"))
		ok = one_letter(&r->aspf, &ps->seen_aspf, v, vlen, "rs");
	else if (span_eq(tag, tlen, "psd"))
		ok = one_letter(&r->psd, &ps->seen_psd, v, vlen, "ynu");
	else if (span_eq(tag, tlen, "t")) {
		ok = one_letter(&t, &ps->seen_t, v, vlen, "yn");
		if (ok)
			r->testing = t == 'y';
	} else if (span_eq(tag, tlen, "rua")) {
		/* aggregate reports go to these (report/); a bad URI drops
		 * only itself, and the note says which */
		struct strbuf notes;

		if (ps->seen_rua) {
			note(ps, spec, slen, "repeated, the first counts");
			return;
		}
		ps->seen_rua = true;
		strbuf_init(&notes);
		if (dmarc_rua_parse(ps->arena, v, vlen, &r->rua, &r->nrua, &notes) != 0 ||
		    notes.failed)
			ps->nomem = true;
		else if (notes.len > 0)
			note(ps, notes.data, notes.len, "ignored");
		strbuf_free(&notes);
		return;
	} else if (span_eq(tag, tlen, "fo")) {
		/* reported back in policy_published (RFC 9990); colon-separated
		 * 0, 1, d, s */
		size_t good = 0;

		while (good < vlen && v[good] != '\0' && strchr("01ds: ", v[good]) != NULL)
			good++;
		if (ps->seen_fo || vlen == 0 || good < vlen) {
			note(ps, spec, slen, "invalid or repeated value, default applies");
			return;
		}
		ps->seen_fo = true;
		if ((r->fo = arena_memdup(ps->arena, v, vlen)) == NULL)
			ps->nomem = true;
		return;
	} else if (span_eq(tag, tlen, "ruf")) {
		return; /* failure reports: not sent, nothing depends on it */
	} else if (span_eq(tag, tlen, "pct") || span_eq(tag, tlen, "rf") ||
		   span_eq(tag, tlen, "ri")) {
		note(ps, spec, slen, "not used since RFC 9989");
		return;
	} else if (span_eq(tag, tlen, "v")) {
		note(ps, spec, slen, "v= only comes first");
		return;
	} else {
		note(ps, spec, slen, "unknown tag");
		return;
	}
	if (!ok)
		note(ps, spec, slen, "invalid or repeated value, default applies");
}

int dmarc_record_parse(struct arena *arena, const char *text, size_t len, struct dmarc_record *out,
		       const char **why)
{
	struct parse_state ps = { .r = out, .arena = arena };
	size_t i = 0;
	bool first = true;

	memset(out, 0, sizeof(*out));
	out->adkim = out->aspf = 'r';
	out->psd = 'u';
	*why = NULL;
	strbuf_init(&ps.ignored);
	while (i <= len) {
		size_t s = i, e, ts, te, vs, ve;

		while (i < len && text[i] != ';')
			i++;
		e = i++; /* the tag-spec is text[s..e); i is past its ';' */
		while (s < e && is_wsp(text[s]))
			s++;
		while (e > s && is_wsp(text[e - 1]))
			e--;
		if (first) {
			/* v=DMARC1, exactly, is the one strict rule left */
			const char *eq = memchr(text + s, '=', e - s);

			first = false;
			if (eq == NULL)
				break;
			te = (size_t)(eq - text);
			while (te > s && is_wsp(text[te - 1]))
				te--;
			vs = (size_t)(eq - text) + 1;
			while (vs < e && is_wsp(text[vs]))
				vs++;
			if (!span_eq(text + s, te - s, "v") || e - vs != 6 ||
			    strncmp(text + vs, "DMARC1", 6) != 0)
				break;
			out->valid = true;
			continue;
		}
		if (s == e) {
			if (i <= len) /* a trailing ';' is allowed; ";;" is noted */
				note(&ps, ";;", 2, "empty tag");
			continue;
		}
		ts = s;
		te = s;
		while (te < e && text[te] != '=')
			te++;
		if (te == e) {
			note(&ps, text + s, e - s, "not tag=value");
			continue;
		}
		vs = te + 1;
		while (te > ts && is_wsp(text[te - 1]))
			te--;
		while (vs < e && is_wsp(text[vs]))
			vs++;
		ve = e;
		if (!is_tag_name(text + ts, te - ts)) {
			note(&ps, text + s, e - s, "not tag=value");
			continue;
		}
		one_tag(&ps, text + s, e - s, text + ts, te - ts, text + vs, ve - vs);
	}
	if (!out->valid) {
		strbuf_free(&ps.ignored);
		*why = "a DMARC record starts with v=DMARC1";
		return -1;
	}
	if (!ps.seen_p) {
		/* RFC 9989: a record without a valid p= is read as p=none */
		out->p = DMARC_P_NONE;
		out->p_missing = true;
		note(&ps, "p", 1, "missing or invalid: read as p=none");
	}
	if (ps.ignored.failed || ps.nomem) {
		strbuf_free(&ps.ignored);
		*why = "out of memory";
		return -1;
	}
	if (ps.ignored.len > 0 &&
	    (out->ignored = arena_strdup(arena, strbuf_cstr(&ps.ignored))) == NULL) {
		strbuf_free(&ps.ignored);
		*why = "out of memory";
		return -1;
	}
	strbuf_free(&ps.ignored);
	return 0;
}
