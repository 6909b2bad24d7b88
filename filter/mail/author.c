/*
 * author.c - From header to author domain with GMime (see author.h)
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mail/author.h"
#include "mail/header.h"
#include "mail/idn.h"
#include "util/arena.h"
#include "util/gh.h"

void author_lib_init(void)
{
	g_mime_init();
}

const char *author_status_text(enum author_status s)
{
	switch (s) {
	case AUTHOR_OK:
		return "one author";
	case AUTHOR_NO_FROM:
		return "the message has no From header";
	case AUTHOR_MULTIPLE_FIELDS:
		return "the message has more than one From header";
	case AUTHOR_MULTIPLE_ADDRESSES:
		return "the From header names more than one address";
	case AUTHOR_UNPARSEABLE:
		return "the From header has no usable address";
	case AUTHOR_EMPTY:
		return "the From header has an empty address";
	case AUTHOR_BAD_DOMAIN:
		return "the From domain is not a valid domain name (IDNA 2008)";
	}
	return "?";
}

/* author_domain - the lower-cased domain of ADDR, without a trailing dot; NULL if none */
static char *author_domain(struct arena *arena, const char *addr)
{
	const char *at = strrchr(addr, '@');
	char *d;
	size_t len;

	if (at == NULL || at[1] == '\0')
		return NULL;
	d = arena_strdup(arena, at + 1);
	if (d == NULL)
		return NULL;
	len = strlen(d);
	while (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	for (char *p = d; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == '@' || *p == '[')
			return NULL; /* not a domain (an address literal has no DMARC) */
		if ((unsigned char)*p < 0x80)
			*p = (char)tolower((unsigned char)*p);
	}
	return len > 0 && strchr(d, '.') != NULL ? d : NULL;
}

/* author_empty_angle - VALUE is "[display name] <>": one mailbox whose
 * address is empty, as bounces write it. GMime refuses it like garbage,
 * so it is recognized here: exactly one "<>" at the end, no other angle
 * bracket, no '@', no ',' (not a list). */
static bool author_empty_angle(const char *v, size_t len)
{
	size_t end = len;

	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t' || v[end - 1] == '\r' ||
			   v[end - 1] == '\n'))
		end--;
	if (end < 2 || v[end - 1] != '>')
		return false;
	end--;
	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	if (end == 0 || v[end - 1] != '<')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((v[i] == '<' && i != end - 1) || (v[i] == '>' && i < end) || v[i] == '@' ||
		    v[i] == ',')
			return false;
	return true;
}

int author_find(const struct header_field *h, size_t n, struct arena *arena, struct author *out)
{
	const struct header_field *from = NULL;
	InternetAddressList *list;
	InternetAddress *ia;
	size_t count = 0;
	const char *domain, *why;
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "From") == 0) {
			from = &h[i];
			count++;
		}
	if (count == 0) {
		out->status = AUTHOR_NO_FROM;
		return GH_OK;
	}
	if (count > 1) {
		out->status = AUTHOR_MULTIPLE_FIELDS;
		return GH_OK;
	}
	if (memchr(from->value, '\0', from->value_len) != NULL) {
		out->status = AUTHOR_UNPARSEABLE;
		return GH_OK;
	}
	if (author_empty_angle(from->value, from->value_len)) {
		out->status = AUTHOR_EMPTY;
		out->address = "";
		return GH_OK;
	}
	list = internet_address_list_parse(NULL, from->value);
	if (list == NULL || internet_address_list_length(list) == 0) {
		out->status = AUTHOR_UNPARSEABLE;
		if (list != NULL)
			g_object_unref(list);
		return GH_OK;
	}
	if (internet_address_list_length(list) > 1) {
		out->status = AUTHOR_MULTIPLE_ADDRESSES;
		g_object_unref(list);
		return GH_OK;
	}
	ia = internet_address_list_get_address(list, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		out->status = AUTHOR_MULTIPLE_ADDRESSES; /* a group: no single author */
		g_object_unref(list);
		return GH_OK;
	}
	out->address = arena_strdup(
		arena, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
	out->display = internet_address_get_name(ia)
			       ? arena_strdup(arena, internet_address_get_name(ia))
			       : NULL;
	g_object_unref(list);
	if (out->address == NULL)
		return GH_ERR_NOMEM;
	if (*out->address == '\0') {
		out->status = AUTHOR_EMPTY;
		return GH_OK;
	}
	domain = author_domain(arena, out->address);
	if (domain == NULL) {
		out->status = AUTHOR_UNPARSEABLE;
		return GH_OK;
	}
	rc = idn_domain(arena, domain, &out->domain, &why);
	if (rc < 0)
		return GH_ERR_NOMEM;
	out->status = rc == IDN_OK ? AUTHOR_OK : AUTHOR_BAD_DOMAIN;
	return GH_OK;
}
