/*
 * dmarc_record.c - DMARC record syntax, RFC 7489 section 6.4 (see dmarc.h)
 *
 * The record is a tag-list: "v=DMARC1" first, then "tag=value" separated
 * by ';' with optional white space around. Values of known tags must be
 * valid; a record that breaks this is malformed (permerror) rather than
 * silently defaulted, so an admin sees the domain's mistake.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"

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

/* one_tag - apply TAG=VALUE; NULL or a reason */
static const char *one_tag(const char *tag, size_t tlen, const char *v, size_t vlen,
			   struct dmarc_record *r, bool *seen_p, bool *seen_rua)
{
	if (span_eq(tag, tlen, "p")) {
		if ((r->p = parse_policy(v, vlen)) == DMARC_P_UNSET)
			return "p= must be none, quarantine or reject";
		*seen_p = true;
	} else if (span_eq(tag, tlen, "sp")) {
		if ((r->sp = parse_policy(v, vlen)) == DMARC_P_UNSET)
			return "sp= must be none, quarantine or reject";
	} else if (span_eq(tag, tlen, "adkim") || span_eq(tag, tlen, "aspf")) {
		if (vlen != 1 ||
		    (tolower((unsigned char)v[0]) != 'r' && tolower((unsigned char)v[0]) != 's'))
			return "adkim= and aspf= must be r or s";
		*(tlen == 5 ? &r->adkim : &r->aspf) = (char)tolower((unsigned char)v[0]);
	} else if (span_eq(tag, tlen, "pct")) {
		long n = 0;

		if (vlen == 0 || vlen > 3)
			return "pct= must be 0..100";
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				return "pct= must be 0..100";
			n = n * 10 + (v[i] - '0');
		}
		if (n > 100)
			return "pct= must be 0..100";
		r->pct = (int)n;
	} else if (span_eq(tag, tlen, "ri")) {
		for (size_t i = 0; i < vlen; i++)
			if (!isdigit((unsigned char)v[i]))
				return "ri= must be a number";
		if (vlen == 0)
			return "ri= must be a number";
	} else if (span_eq(tag, tlen, "v")) {
		return "v= may only come first";
	} else if (span_eq(tag, tlen, "rua") && vlen > 0)
		*seen_rua = true;
	/* ruf, fo, rf and unknown tags: not used for the decision */
	return NULL;
}

int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *out, const char **why)
{
	size_t i = 0;
	bool first = true, seen_p = false, seen_rua = false;

	memset(out, 0, sizeof(*out));
	out->adkim = out->aspf = 'r';
	out->pct = 100;
	*why = NULL;
	if (memchr(text, '\0', len) != NULL) {
		*why = "NUL byte in the record";
		return -1;
	}
	while (i < len) {
		size_t ts, te, vs, ve;

		while (i < len && is_wsp(text[i]))
			i++;
		if (i == len)
			break;
		ts = i;
		while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '_'))
			i++;
		te = i;
		while (i < len && is_wsp(text[i]))
			i++;
		if (te == ts || i >= len || text[i] != '=') {
			*why = "expected tag=value";
			return -1;
		}
		i++;
		while (i < len && is_wsp(text[i]))
			i++;
		vs = i;
		while (i < len && text[i] != ';')
			i++;
		ve = i;
		while (ve > vs && is_wsp(text[ve - 1]))
			ve--;
		if (i < len)
			i++; /* the ';' */
		if (first) {
			if (!span_eq(text + ts, te - ts, "v") ||
			    !(ve - vs == 6 && strncmp(text + vs, "DMARC1", 6) == 0)) {
				*why = "a DMARC record starts with v=DMARC1";
				return -1;
			}
			first = false;
			continue;
		}
		for (size_t k = vs; k < ve; k++)
			if ((unsigned char)text[k] < 0x20 || (unsigned char)text[k] >= 0x7f) {
				*why = "control or non-ASCII byte in a value";
				return -1;
			}
		if ((*why = one_tag(text + ts, te - ts, text + vs, ve - vs, out, &seen_p,
				    &seen_rua)) != NULL)
			return -1;
	}
	if (first) {
		*why = "a DMARC record starts with v=DMARC1";
		return -1;
	}
	if (!seen_p) {
		/* RFC 7489 6.6.3: without p=, a record with rua= acts as p=none;
		 * without either it is no DMARC record at all */
		if (!seen_rua) {
			*why = "no p= tag";
			return -1;
		}
		out->p = DMARC_P_NONE;
	}
	return 0;
}
