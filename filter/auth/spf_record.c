/*
 * spf_record.c - RFC 7208 section 12 record grammar, and the rewrite for
 * libspf2 (see spf_record.h)
 *
 * A record is "v=spf1" then terms separated by spaces. Each term is a
 * modifier (name "=" value) or a directive ([qualifier] mechanism). Every
 * domain-spec is a macro-string whose end is a top label or a macro. The
 * checks follow the ABNF of section 12 term by term; anything the grammar
 * does not produce is a syntax error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/spf_record.h"
#include "util/strbuf.h"

struct spf_term {
	const char *p; /* the term's text, not NUL-terminated */
	size_t len;
};

bool spf_record_is_spf(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

/* macro_expand_ok - "%{" letter transformers *delimiter "}" at *I (past the
 * "%{"), advancing *I past "}"; EXPLAIN allows c, r and t (RFC 7.2) */
static bool macro_expand_ok(const char *s, size_t len, size_t *i, bool explain)
{
	static const char letters[] = "slodiphv";
	static const char explain_only[] = "crt";
	char c;

	if (*i >= len)
		return false;
	c = (char)tolower((unsigned char)s[*i]);
	if (strchr(letters, c) == NULL && !(explain && strchr(explain_only, c) != NULL))
		return false;
	if (c == '\0')
		return false;
	(*i)++;
	while (*i < len && isdigit((unsigned char)s[*i]))
		(*i)++;
	if (*i < len && (s[*i] == 'r' || s[*i] == 'R'))
		(*i)++;
	while (*i < len && strchr(".-+,/_=", s[*i]) != NULL && s[*i] != '\0')
		(*i)++;
	if (*i >= len || s[*i] != '}')
		return false;
	(*i)++;
	return true;
}

/* macro_string_ok - S is a macro-string; *ENDS_IN_MACRO tells whether its
 * last element is a macro-expand (for domain-end) */
static bool macro_string_ok(const char *s, size_t len, bool explain, bool *ends_in_macro)
{
	bool last_macro = false;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 1 >= len)
				return false;
			if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
				i += 2;
				last_macro = true;
				continue;
			}
			if (s[i + 1] != '{')
				return false;
			i += 2;
			if (!macro_expand_ok(s, len, &i, explain))
				return false;
			last_macro = true;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return false; /* visible ASCII only: no space, control or 8-bit */
		last_macro = false;
		i++;
	}
	if (ends_in_macro != NULL)
		*ends_in_macro = last_macro;
	return true;
}

/* toplabel_ok - RFC 7208 toplabel: alphanumerics with inner hyphens, not all digits */
static bool toplabel_ok(const char *s, size_t len)
{
	bool alpha = false, hyphen = false;

	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			hyphen = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || hyphen;
}

/* domain_spec_ok - macro-string domain-end (RFC 7208 section 12) */
static bool domain_spec_ok(const char *s, size_t len)
{
	bool ends_in_macro = false;
	size_t end = len, dot;

	if (len == 0 || !macro_string_ok(s, len, false, &ends_in_macro))
		return false;
	if (ends_in_macro)
		return true;
	if (end > 0 && s[end - 1] == '.')
		end--; /* domain-end may carry one trailing dot */
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		if (s[dot - 1] == '}')
			return false; /* the top label may not contain a macro */
	if (dot == 0)
		return false; /* domain-end needs "." toplabel */
	return toplabel_ok(s + dot, end - dot);
}

/* cidr_ok - "/" ("0" / %x31-39 0*xDIGIT) with value <= MAX at S; LEN bytes */
static bool cidr_ok(const char *s, size_t len, long max, long *value)
{
	long v = 0;

	if (len < 2 || s[0] != '/' || len > 4)
		return false;
	if (s[1] == '0' && len > 2)
		return false; /* no leading zero: "/032" is not a prefix length */
	for (size_t i = 1; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*value = v;
	return true;
}

/* ip4_network_ok - qnum "." qnum "." qnum "." qnum, no leading zeros */
static bool ip4_network_ok(const char *s, size_t len)
{
	int parts = 0;
	size_t i = 0;

	while (parts < 4) {
		size_t start = i;
		long v = 0;

		while (i < len && isdigit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		parts++;
		if (parts < 4) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

static bool ip6_network_ok(const char *s, size_t len)
{
	char buf[64];
	unsigned char a[16];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, a) == 1;
}

/* split_dual_cidr - the [ip4-cidr]["/" ip6-cidr] suffix of T; its start in *AT */
static bool split_dual_cidr(const char *s, size_t len, size_t *at, long *c4, long *c6, bool *has4,
			    bool *has6)
{
	size_t i = len, slash2;

	*has4 = *has6 = false;
	*at = len;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == len || i == 0 || s[i - 1] != '/')
		return true; /* no suffix */
	if (i >= 2 && s[i - 2] == '/') {
		/* "//N": ip6 length, maybe preceded by "/M" */
		if (!cidr_ok(s + i - 1, len - i + 1, 128, c6))
			return false;
		*has6 = true;
		slash2 = i - 2;
		*at = slash2;
		i = slash2;
		while (i > 0 && isdigit((unsigned char)s[i - 1]))
			i--;
		if (i < slash2 && i > 0 && s[i - 1] == '/') {
			if (!cidr_ok(s + i - 1, slash2 - i + 1, 32, c4))
				return false;
			*has4 = true;
			*at = i - 1;
		}
		return true;
	}
	if (!cidr_ok(s + i - 1, len - i + 1, 32, c4))
		return false;
	*has4 = true;
	*at = i - 1;
	return true;
}

struct spf_norm {
	struct strbuf out;
	bool v6;
	bool has_all;
	char *redirect; /* "redirect=..." term, emitted last */
	char *exp;	/* the exp= domain-spec */
	int redirects, exps;
};

static void emit(struct spf_norm *n, const char *qual, const char *text, size_t len)
{
	strbuf_putc(&n->out, ' ');
	strbuf_puts(&n->out, qual);
	strbuf_append(&n->out, text, len);
}

/* emit_synth - "exists:DOMAIN<suffix>", DOMAIN defaulting to the current one */
static void emit_synth(struct spf_norm *n, const char *qual, const char *dom, size_t dlen,
		       const char *suffix)
{
	strbuf_printf(&n->out, " %sexists:", qual);
	if (dlen > 0)
		strbuf_append(&n->out, dom, dlen);
	else
		strbuf_puts(&n->out, "%{d}");
	strbuf_puts(&n->out, suffix);
}

/* a_or_mx - "a" / "mx" [":" domain-spec] [dual-cidr] */
static const char *a_or_mx(struct spf_norm *n, const char *qual, bool mx, const char *arg,
			   size_t len)
{
	size_t at;
	long c4 = 32, c6 = 128;
	bool has4, has6, zero;
	const char *dom = NULL;
	size_t dlen = 0;

	if (!split_dual_cidr(arg, len, &at, &c4, &c6, &has4, &has6))
		return "bad prefix length in a or mx";
	if (at > 0) {
		if (arg[0] != ':' || !domain_spec_ok(arg + 1, at - 1))
			return "bad domain in a or mx";
		dom = arg + 1;
		dlen = at - 1;
	}
	zero = n->v6 ? (has6 && c6 == 0) : (has4 && c4 == 0);
	if (!zero) {
		/* Keep only the prefix length for the client's family: libspf2
		 * refuses a 0 even for the family it does not use. */
		strbuf_printf(&n->out, " %s%s", qual, mx ? "mx" : "a");
		if (dom != NULL) {
			strbuf_putc(&n->out, ':');
			strbuf_append(&n->out, dom, dlen);
		}
		if (!n->v6 && has4)
			strbuf_printf(&n->out, "/%ld", c4);
		if (n->v6 && has6)
			strbuf_printf(&n->out, "//%ld", c6);
		return NULL;
	}
	if (!mx && !n->v6) {
		/* a/0 for an IPv4 client: any A record matches, as exists asks */
		strbuf_printf(&n->out, " %sexists:", qual);
		if (dom != NULL)
			strbuf_append(&n->out, dom, dlen);
		else
			strbuf_puts(&n->out, "%{d}");
		return NULL;
	}
	emit_synth(n, qual, dom, dlen,
		   mx ? (n->v6 ? SPF_SYNTH_MX6 : SPF_SYNTH_MX4) : SPF_SYNTH_AAAA);
	return NULL;
}

/* directive - [qualifier] mechanism; appends its libspf2 form */
static const char *directive(struct spf_norm *n, const char *t, size_t len)
{
	char qual[2] = { 0, 0 };
	size_t name_len = 0;
	const char *arg;
	size_t alen;

	if (len > 0 && strchr("+-?~", t[0]) != NULL) {
		qual[0] = t[0];
		t++;
		len--;
	}
	while (name_len < len && isalnum((unsigned char)t[name_len]))
		name_len++;
	arg = t + name_len;
	alen = len - name_len;
#define IS(word) (name_len == strlen(word) && strncasecmp(t, word, name_len) == 0)
	if (IS("all")) {
		if (alen != 0)
			return "bad all mechanism";
		n->has_all = true;
		emit(n, qual, "all", 3);
		return NULL;
	}
	if (IS("include") || IS("exists")) {
		if (alen < 2 || arg[0] != ':' || !domain_spec_ok(arg + 1, alen - 1))
			return IS("include") ? "bad include mechanism" : "bad exists mechanism";
		emit(n, qual, t, len);
		return NULL;
	}
	if (IS("a") || IS("mx"))
		return a_or_mx(n, qual, IS("mx"), arg, alen);
	if (IS("ptr")) {
		if (alen > 0 && (arg[0] != ':' || !domain_spec_ok(arg + 1, alen - 1)))
			return "bad ptr mechanism";
		emit(n, qual, t, len);
		return NULL;
	}
	if (IS("ip4") || IS("ip6")) {
		bool v4 = IS("ip4");
		const char *slash;
		size_t net_len;
		long c = v4 ? 32 : 128;

		if (alen < 2 || arg[0] != ':')
			return "bad ip4 or ip6 mechanism";
		slash = memchr(arg + 1, '/', alen - 1);
		net_len = slash ? (size_t)(slash - (arg + 1)) : alen - 1;
		if (!(v4 ? ip4_network_ok(arg + 1, net_len) : ip6_network_ok(arg + 1, net_len)))
			return v4 ? "bad ip4 address" : "bad ip6 address";
		if (slash != NULL && !cidr_ok(slash, alen - 1 - net_len, v4 ? 32 : 128, &c))
			return "bad ip4 or ip6 prefix length";
		if (c == 0) {
			/* /0 is every address of the family: two halves libspf2 takes */
			strbuf_printf(&n->out,
				      v4 ? " %sip4:0.0.0.0/1 %sip4:128.0.0.0/1"
					 : " %sip6:::/1 %sip6:8000::/1",
				      qual, qual);
			return NULL;
		}
		emit(n, qual, t, len);
		return NULL;
	}
#undef IS
	return "unknown mechanism";
}

/* modifier - name "=" value; false when T is not a modifier at all */
static bool modifier(struct spf_norm *n, const char *t, size_t len, const char **why)
{
	size_t i = 0;

	*why = NULL;
	if (len == 0 || !isalpha((unsigned char)t[0]))
		return false;
	while (i < len && (isalnum((unsigned char)t[i]) || strchr("-_.", t[i]) != NULL))
		i++;
	if (i >= len || t[i] != '=')
		return false;
	if (i == 8 && strncasecmp(t, "redirect", 8) == 0) {
		if (++n->redirects > 1 || !domain_spec_ok(t + 9, len - 9)) {
			*why = n->redirects > 1 ? "more than one redirect=" : "bad redirect=";
			return true;
		}
		free(n->redirect);
		n->redirect = strndup(t, len);
		if (n->redirect == NULL)
			*why = "out of memory";
		return true;
	}
	if (i == 3 && strncasecmp(t, "exp", 3) == 0) {
		if (++n->exps > 1 || !domain_spec_ok(t + 4, len - 4))
			*why = n->exps > 1 ? "more than one exp=" : "bad exp=";
		else if ((n->exp = strndup(t + 4, len - 4)) == NULL)
			*why = "out of memory";
		return true; /* checked, kept for the caller, dropped from the record */
	}
	if (!macro_string_ok(t + i + 1, len - i - 1, false, NULL))
		*why = "bad modifier value";
	return true; /* unknown modifier: checked, then ignored */
}

char *spf_record_normalize(const char *text, size_t len, bool v6, char **exp, bool *redirect,
			   const char **why)
{
	struct spf_norm n = { .v6 = v6 };
	size_t i = 6;
	char *out = NULL;

	*why = NULL;
	*exp = NULL;
	*redirect = false;
	if (!spf_record_is_spf(text, len)) {
		*why = "not an SPF record";
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		*why = "NUL byte in the record";
		return NULL;
	}
	strbuf_init(&n.out);
	strbuf_puts(&n.out, "v=spf1");
	while (i < len && *why == NULL) {
		size_t start;

		if (text[i] != ' ') {
			*why = "terms must be separated by spaces";
			break;
		}
		while (i < len && text[i] == ' ')
			i++;
		start = i;
		while (i < len && text[i] != ' ')
			i++;
		if (i == start)
			break; /* trailing spaces */
		if (!modifier(&n, text + start, i - start, why) && *why == NULL)
			*why = directive(&n, text + start, i - start);
	}
	if (*why == NULL && n.redirect != NULL && !n.has_all) {
		strbuf_putc(&n.out, ' ');
		strbuf_puts(&n.out, n.redirect); /* RFC 6.1: only after every mechanism */
	}
	if (*why == NULL && n.out.failed)
		*why = "out of memory";
	if (*why == NULL && (out = strdup(strbuf_cstr(&n.out))) == NULL)
		*why = "out of memory";
	if (out != NULL) {
		*exp = n.exp;
		n.exp = NULL;
		*redirect = n.redirect != NULL && !n.has_all;
	}
	free(n.exp);
	free(n.redirect);
	strbuf_free(&n.out);
	return out;
}
