/*
 * dns_rdata.c - reading TXT strings and domain names out of rdata (see dns.h)
 *
 * Names are decoded by ldns (libunbound hands them over uncompressed in
 * wire format); TXT rdata is a sequence of length-prefixed strings
 * (RFC 1035 section 3.3.14), every length checked against the rdata's end.
 */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/strbuf.h"

int dns_rdata_txt(const struct dns_rdata *rr, struct strbuf *out)
{
	size_t pos = 0;

	while (pos < rr->len) {
		size_t n = rr->data[pos++];

		if (n > rr->len - pos)
			return -1;
		strbuf_append(out, rr->data + pos, n);
		pos += n;
	}
	return out->failed ? -1 : 0;
}

char *dns_rdata_name(const struct dns_rdata *rr, size_t *pos)
{
	ldns_rdf *dname = NULL;
	char *text, *copy;
	size_t len;

	if (*pos >= rr->len || ldns_wire2dname(&dname, rr->data, rr->len, pos) != LDNS_STATUS_OK)
		return NULL;
	text = ldns_rdf2str(dname);
	ldns_rdf_deep_free(dname);
	if (text == NULL)
		return NULL;
	len = strlen(text);
	if (len > 1 && text[len - 1] == '.')
		text[--len] = '\0';
	/* ldns allocates with its own allocator: hand out a plain malloc'd copy. */
	copy = strdup(text);
	free(text);
	return copy;
}
