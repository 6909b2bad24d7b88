/*
 * authres.c - Authentication-Results headers (see authres.h)
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "auth/authres.h"
#include "util/arena.h"
#include "util/strbuf.h"

/* is_atext_dot - S is a dot-atom-text (RFC 5322 3.2.3) */
static bool is_dot_atom(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' ? p[1] == '.' || p[1] == '\0'
			     : !(isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			return false;
	}
	return true;
}

/* put_value - a property value: as is when RFC 8601 allows it bare (a
 * dot-atom, or local@domain with a dot-atom local part), else quoted */
static void put_value(struct strbuf *sb, const char *v)
{
	const char *at = strrchr(v, '@');
	bool bare;

	if (at != NULL) {
		char local[257];
		size_t ll = (size_t)(at - v);

		bare = ll < sizeof(local) && is_dot_atom(at + 1);
		if (bare && ll > 0) {
			memcpy(local, v, ll);
			local[ll] = '\0';
			bare = is_dot_atom(local);
		}
	} else {
		bare = is_dot_atom(v);
	}
	if (bare) {
		strbuf_puts(sb, v);
		return;
	}
	strbuf_putc(sb, '"');
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
}

/* is_token - S is a token of RFC 2045 5.1, the bare form of an
 * authserv-id (RFC 8601 2.2): no space, control or tspecial */
static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", *p) != NULL)
			return false;
	return true;
}

/* put_authserv_id - ID as a token, or as a quoted-string when it is not one
 * (the configuration refuses what neither form can hold) */
static void put_authserv_id(struct strbuf *sb, const char *id)
{
	if (is_token(id)) {
		strbuf_puts(sb, id);
		return;
	}
	strbuf_putc(sb, '"');
	for (const char *p = id; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *p);
	}
	strbuf_putc(sb, '"');
}

/* put_comment - "(TEXT)" with characters a comment cannot hold dropped */
static void put_comment(struct strbuf *sb, const char *text)
{
	strbuf_puts(sb, " (");
	for (const char *p = text; *p && p - text < 200; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '(' && *p != ')' && *p != '\\')
			strbuf_putc(sb, *p);
	strbuf_putc(sb, ')');
}

struct ar_items {
	char **v;
	size_t n, cap;
	struct arena *arena;
	bool failed;
};

static void add_item(struct ar_items *it, struct strbuf *sb)
{
	char *copy;

	if (sb->failed || it->failed) {
		it->failed = true;
		return;
	}
	if (it->n == it->cap) {
		size_t cap = it->cap;
		char **v = arena_grow(it->arena, it->v, &cap, sizeof(*v));

		if (v == NULL) {
			it->failed = true;
			return;
		}
		it->v = v;
		it->cap = cap;
	}
	copy = arena_strdup(it->arena, strbuf_cstr(sb));
	if (copy == NULL)
		it->failed = true;
	else
		it->v[it->n++] = copy;
	strbuf_reset(sb);
}

int authres_build(struct arena *arena, const struct authres_input *in, const char ***out, size_t *n)
{
	const struct results *r = in->r;
	struct ar_items it = { .arena = arena };
	struct strbuf sb, hdr;
	const char **vals = NULL;
	size_t nvals = 0, cap = 0;

	strbuf_init(&sb);
	if (r->spf_mailfrom.result != AR_UNSET) {
		strbuf_printf(&sb, "spf=%s", ar_result_name(r->spf_mailfrom.result));
		if (r->spf_mailfrom.reason)
			put_comment(&sb, r->spf_mailfrom.reason);
		strbuf_puts(&sb, " smtp.mailfrom=");
		put_value(&sb, in->mailfrom && *in->mailfrom
				       ? in->mailfrom
				       : (r->spf_mailfrom.domain ? r->spf_mailfrom.domain : ""));
		add_item(&it, &sb);
	}
	if (r->spf_helo.result != AR_UNSET && in->helo && *in->helo) {
		strbuf_printf(&sb, "spf=%s smtp.helo=", ar_result_name(r->spf_helo.result));
		put_value(&sb, in->helo);
		add_item(&it, &sb);
	}
	if (r->dkim_checked && r->ndkim == 0) {
		strbuf_puts(&sb, "dkim=none (no signature)"); /* RFC 8601 2.7.1 */
		add_item(&it, &sb);
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dkim_result *d = &r->dkim[i];

		strbuf_printf(&sb, "dkim=%s",
			      ar_result_name(d->result) ? ar_result_name(d->result) : "neutral");
		if (d->reason)
			put_comment(&sb, d->reason);
		if (d->domain) {
			strbuf_puts(&sb, " header.d=");
			put_value(&sb, d->domain);
		}
		if (d->selector) {
			strbuf_puts(&sb, " header.s=");
			put_value(&sb, d->selector);
		}
		if (d->algorithm)
			strbuf_printf(&sb, " header.a=%s", d->algorithm);
		if (d->b) {
			strbuf_puts(&sb, " header.b=");
			put_value(&sb, d->b);
		}
		add_item(&it, &sb);
	}
	if (r->dmarc.result != AR_UNSET && r->dmarc.from_domain != NULL) {
		const struct dmarc_result *dm = &r->dmarc;

		strbuf_printf(&sb, "dmarc=%s", ar_result_name(dm->result));
		if (dm->policy) {
			/* which tag gave the policy, what was applied, and why
			 * (np, t=y, a local override, ignored tags) */
			struct strbuf c;

			strbuf_init(&c);
			strbuf_printf(&c, "%s=%s%s dis=%s", dm->policy_tag ? dm->policy_tag : "p",
				      dm->policy, dm->testing ? " t=y" : "",
				      dm->disposition ? dm->disposition : "none");
			if (dm->why_policy)
				strbuf_printf(&c, "; %s", dm->why_policy);
			if (dm->override)
				strbuf_printf(&c, "; not enforced: %s", dm->override);
			if (dm->ignored)
				strbuf_printf(&c, "; ignored: %s", dm->ignored);
			put_comment(&sb, strbuf_cstr(&c));
			strbuf_free(&c);
		} else if (dm->reason && dm->result != AR_NONE) {
			put_comment(&sb, dm->reason);
		}
		strbuf_puts(&sb, " header.from=");
		put_value(&sb, dm->from_domain);
		/* RFC 8601 2.3's policy ptype: the policy the domain asks
		 * receivers to apply to this author domain (t=y applied) */
		if (dm->policy)
			strbuf_printf(&sb, " policy.dmarc=%s",
				      dm->testing && strcmp(dm->policy, "reject") == 0
					      ? "quarantine"
				      : dm->testing ? "none"
						    : dm->policy);
		add_item(&it, &sb);
	}
	strbuf_free(&sb);
	if (it.failed)
		return -1;

	/* Pack items into headers: "id;\n\titem;\n\titem", a new header
	 * before one would pass AUTHRES_MAX_HEADER. */
	strbuf_init(&hdr);
	for (size_t i = 0; i <= it.n; i++) {
		size_t add = i < it.n ? strlen(it.v[i]) + 3 : 0;
		/* the limit counts the whole field, "Authentication-Results: " too */
		bool flush = i == it.n || (hdr.len > 0 && hdr.len + add + AUTHRES_FIELD_NAME_LEN >
								  AUTHRES_MAX_HEADER);

		if (flush && (hdr.len > 0 || (i == it.n && nvals == 0))) {
			if (hdr.len == 0) {
				put_authserv_id(&hdr, in->authserv_id);
				strbuf_puts(&hdr, "; none"); /* nothing ran */
			}
			if (nvals == cap) {
				const char **v = arena_grow(arena, vals, &cap, sizeof(*v));

				if (v == NULL)
					break;
				vals = v;
			}
			vals[nvals] = arena_strdup(arena, strbuf_cstr(&hdr));
			if (vals[nvals] == NULL || hdr.failed)
				break;
			nvals++;
			strbuf_reset(&hdr);
		}
		if (i == it.n)
			break;
		if (hdr.len == 0)
			put_authserv_id(&hdr, in->authserv_id);
		/* A single item longer than a line is cut: the limits of RFC
		 * 5322 win over completeness of a comment or a value. */
		strbuf_puts(&hdr, ";\n\t");
		strbuf_append(&hdr, it.v[i],
			      strlen(it.v[i]) < AUTHRES_MAX_LINE - 2 ? strlen(it.v[i])
								     : AUTHRES_MAX_LINE - 2);
	}
	strbuf_free(&hdr);
	*out = vals;
	*n = nvals;
	return nvals > 0 ? 0 : -1;
}

/* skip_cfws - white space and (nested) comments */
static size_t skip_cfws(const char *v, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && depth > 0)
			depth--;
		else if (v[i] == '\\' && depth > 0 && i + 1 < len)
			i++;
		else if (depth == 0 && !isspace((unsigned char)v[i]))
			break;
		i++;
	}
	return i;
}

const char *authres_authserv_id(struct arena *arena, const char *value, size_t len)
{
	size_t i = skip_cfws(value, len, 0), start = i;

	/* authserv-id is a value: a token, or a quoted-string */
	if (i < len && value[i] == '"') {
		struct strbuf sb;
		const char *id;

		strbuf_init(&sb);
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && i + 1 < len)
				i++;
			strbuf_putc(&sb, value[i]);
		}
		id = sb.len > 0 && !sb.failed ? arena_strdup(arena, strbuf_cstr(&sb)) : NULL;
		strbuf_free(&sb);
		return id;
	}
	/* a token (RFC 2045) ends at white space, controls and tspecials;
	 * "id/1" or "id(comment)" must read as "id" */
	while (i < len && (unsigned char)value[i] > 0x20 && value[i] != 0x7f &&
	       strchr("()<>@,;:\\\"/[]?=", value[i]) == NULL)
		i++;
	/* "id." claims to be "id" just as well */
	while (i > start + 1 && value[i - 1] == '.')
		i--;
	return i > start ? arena_memdup(arena, value + start, i - start) : NULL;
}

/* lenient_claim - what a lax reader takes for the authserv-id: after CFWS,
 * everything up to white space, ';' or '(', quotes and trailing dots off */
static bool lenient_claim(const char *value, size_t len, const char *id)
{
	size_t i = skip_cfws(value, len, 0), start = i, idlen = strlen(id);

	while (i < len && !isspace((unsigned char)value[i]) && value[i] != ';' && value[i] != '(')
		i++;
	if (i - start >= 2 && value[start] == '"' && value[i - 1] == '"') {
		start++;
		i--;
	}
	while (i > start + 1 && value[i - 1] == '.')
		i--;
	return i - start == idlen && strncasecmp(value + start, id, idlen) == 0;
}

bool authres_claims(struct arena *arena, const char *value, size_t len, const char *id)
{
	const char *claim = authres_authserv_id(arena, value, len);

	return (claim != NULL && strcasecmp(claim, id) == 0) || lenient_claim(value, len, id);
}

bool authres_received_spf_claims(struct arena *arena, const char *value, size_t len, const char *id)
{
	const char *r = authres_received_spf_receiver(arena, value, len);
	size_t n;

	if (r == NULL)
		return false;
	n = strlen(r);
	if (n >= 2 && r[0] == '"' && r[n - 1] == '"')
		return n - 2 == strlen(id) && strncasecmp(r + 1, id, n - 2) == 0;
	return strcasecmp(r, id) == 0;
}

const char *authres_received_spf_receiver(struct arena *arena, const char *value, size_t len)
{
	/* key-value-list of RFC 7208 9.1: find "receiver" "=" at a key position */
	for (size_t i = 0; i + 9 <= len; i++) {
		size_t start;

		if (strncasecmp(value + i, "receiver", 8) != 0 ||
		    (i > 0 && value[i - 1] != ';' && !isspace((unsigned char)value[i - 1])))
			continue;
		start = i + 8;
		while (start < len && isspace((unsigned char)value[start]))
			start++;
		if (start >= len || value[start] != '=')
			continue;
		start = skip_cfws(value, len, start + 1);
		i = start;
		while (i < len && value[i] != ';' && !isspace((unsigned char)value[i]) &&
		       value[i] != '(')
			i++;
		return i > start ? arena_memdup(arena, value + start, i - start) : NULL;
	}
	return NULL;
}
