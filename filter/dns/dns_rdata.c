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

int dns_packet_txt_each(const unsigned char *packet, size_t len,
			bool (*fn)(void *ctx, const char *text, size_t tlen), void *ctx)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *an;
	struct strbuf txt;
	int rc = 0;

	if (ldns_wire2pkt(&pkt, packet, len) != LDNS_STATUS_OK)
		return -1;
	an = ldns_pkt_answer(pkt);
	strbuf_init(&txt);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an) && rc == 0; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		strbuf_reset(&txt);
		/* each rdf a character-string: its length byte, then its bytes */
		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
			const ldns_rdf *f = ldns_rr_rdf(rr, k);
			const uint8_t *d = ldns_rdf_data(f);
			size_t n = ldns_rdf_size(f);

			if (n == 0 || (size_t)d[0] + 1 != n) {
				rc = -1; /* not a character-string: ldns let through what we cannot read */
				break;
			}
			strbuf_append(&txt, d + 1, n - 1);
		}
		if (rc == 0 && txt.failed)
			rc = -1;
		if (rc == 0 && !fn(ctx, txt.data != NULL ? txt.data : "", txt.len))
			rc = 1;
	}
	strbuf_free(&txt);
	ldns_pkt_free(pkt);
	return rc;
}

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
