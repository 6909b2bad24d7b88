/*
 * address.c - RFC 5321 envelope path parser (see address.h)
 *
 * A recursive-descent reading of RFC 5321's Path grammar:
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 * with RFC 6531's extension that bytes >= 0x80 may appear in atoms and
 * labels. Nothing is copied until the whole path has been checked, and
 * every step is bounded by LEN, so a hostile path costs at most one pass.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "util/arena.h"

struct cursor {
	const char *p, *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static int peek(const struct cursor *c)
{
	return at_end(c) ? -1 : (unsigned char)*c->p;
}

/* atext of RFC 5322 plus UTF-8 bytes (RFC 6531) */
static bool is_atext(int ch)
{
	if (ch < 0)
		return false;
	if (ch >= 0x80)
		return true;
	return isalnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static bool is_letdig(int ch)
{
	return ch >= 0x80 || (ch >= 0 && ch < 0x80 && isalnum(ch));
}

/* dot_string - atom *("." atom) */
static bool parse_dot_string(struct cursor *c)
{
	for (;;) {
		if (!is_atext(peek(c)))
			return false;
		while (is_atext(peek(c)))
			c->p++;
		if (peek(c) != '.')
			return true;
		c->p++;
	}
}

/* quoted_string - DQUOTE *(qtextSMTP / "\" %d32-126) DQUOTE */
static bool parse_quoted_string(struct cursor *c)
{
	if (peek(c) != '"')
		return false;
	c->p++;
	while (!at_end(c)) {
		int ch = peek(c);

		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch == '\\') {
			c->p++;
			ch = peek(c);
			if (ch < 32 || ch > 126)
				return false;
		} else if (ch < 32 || ch == 127) {
			return false;
		}
		c->p++;
	}
	return false;
}

/* domain - sub-domain *("." sub-domain); labels 1..63, whole <= 255 */
static bool parse_domain(struct cursor *c)
{
	const char *start = c->p;

	for (;;) {
		const char *label = c->p;

		if (!is_letdig(peek(c)))
			return false;
		while (is_letdig(peek(c)) || peek(c) == '-')
			c->p++;
		if (c->p[-1] == '-' || c->p - label > 63)
			return false;
		if (peek(c) != '.')
			break;
		c->p++;
	}
	return c->p - start <= 255;
}

/* address_literal - "[" ( IPv4 / "IPv6:" ... / tag ":" ... ) "]"; content is
 * checked for its character set only: what the literal means is the
 * caller's business, and checks treat literals as having no domain policy. */
static bool parse_address_literal(struct cursor *c)
{
	const char *start = c->p;

	if (peek(c) != '[')
		return false;
	c->p++;
	while (!at_end(c) && peek(c) != ']') {
		int ch = peek(c);

		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return false;
		c->p++;
	}
	if (peek(c) != ']' || c->p - start < 2)
		return false;
	c->p++;
	return true;
}

/* source route: "@" domain *( "," "@" domain ) ":" - accepted and ignored (RFC 5321 4.1.2) */
static bool skip_source_route(struct cursor *c)
{
	if (peek(c) != '@')
		return true;
	for (;;) {
		c->p++;
		if (!parse_domain(c))
			return false;
		if (peek(c) == ':') {
			c->p++;
			return true;
		}
		if (peek(c) != ',')
			return false;
		c->p++;
		if (peek(c) != '@')
			return false;
	}
}

static char *lower_ascii(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x80)
			*p = (char)tolower((unsigned char)*p);
	return s;
}

int address_parse_path(struct arena *arena, const char *path, size_t len, bool allow_null,
		       struct address *out, const char **why)
{
	struct cursor c = { path, path + len };
	const char *lp_start, *lp_end, *dom_start, *dom_end;
	bool bracketed;

	memset(out, 0, sizeof(*out));
	if (len > ADDRESS_MAX_PATH) {
		*why = "address too long";
		return -1;
	}
	if (memchr(path, '\0', len) != NULL) {
		*why = "NUL byte in address";
		return -1;
	}
	bracketed = peek(&c) == '<';
	if (bracketed) {
		if (len < 2 || path[len - 1] != '>') {
			*why = "unbalanced angle brackets";
			return -1;
		}
		c.p++;
		c.end--;
	}
	if (at_end(&c)) {
		if (!allow_null) {
			*why = "empty recipient address";
			return -1;
		}
		out->addr = out->local = out->domain = "";
		out->is_null = true;
		return 0;
	}
	if (!skip_source_route(&c)) {
		*why = "malformed source route";
		return -1;
	}
	lp_start = c.p;
	if (!(peek(&c) == '"' ? parse_quoted_string(&c) : parse_dot_string(&c))) {
		*why = "malformed local part";
		return -1;
	}
	lp_end = c.p;
	if (at_end(&c) && !allow_null && lp_end - lp_start == 10 &&
	    strncasecmp(lp_start, "postmaster", 10) == 0) {
		/* RFC 5321 4.1.1.3: "<Postmaster>" must be accepted at RCPT. */
		out->local = arena_memdup(arena, lp_start, 10);
		out->addr = out->local;
		out->domain = "";
		return out->local == NULL ? (*why = "out of memory", -1) : 0;
	}
	if (peek(&c) != '@') {
		*why = "missing @domain";
		return -1;
	}
	c.p++;
	dom_start = c.p;
	if (!(peek(&c) == '[' ? parse_address_literal(&c) : parse_domain(&c))) {
		*why = "malformed domain";
		return -1;
	}
	dom_end = c.p;
	if (!at_end(&c)) {
		*why = "unexpected characters after the address";
		return -1;
	}
	if (lp_end - lp_start > 256) {
		*why = "local part too long";
		return -1;
	}
	out->local = arena_memdup(arena, lp_start, (size_t)(lp_end - lp_start));
	out->domain = arena_memdup(arena, dom_start, (size_t)(dom_end - dom_start));
	if (out->local == NULL || out->domain == NULL) {
		*why = "out of memory";
		return -1;
	}
	lower_ascii((char *)out->domain);
	out->addr = arena_printf(arena, "%s@%s", out->local, out->domain);
	if (out->addr == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}
