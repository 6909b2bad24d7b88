/*
 * dns_rdata.c - reading TXT strings and domain names out of rdata (see dns.h)
 *
 * Names are decoded by ldns (libunbound hands them over uncompressed in
 * wire format); TXT rdata is a sequence of length-prefixed strings
 * (RFC 1035 section 3.3.14), every length checked against the rdata's end.
 */
#include <arpa/nameser.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/strbuf.h"

/*
 * The answer section walked as libopendkim walks it (RR by RR, each
 * skipped by its RDLENGTH: glibc's ns_parserr), not as ldns reads it: ldns
 * interprets rdata by type, so extra bytes inside a CNAME's rdata became
 * the "next" record to it while libopendkim skipped them and read the TXT
 * record behind, and it allocates a record's whole length for each of its
 * strings (8,100 empty strings in 8 KB: 66 MB and 213 ms per packet).
 */
int dns_packet_txt_each(const unsigned char *packet, size_t len,
			bool (*fn)(void *ctx, const char *text, size_t tlen), void *ctx)
{
	ns_msg msg;
	ns_rr rr;
	struct strbuf txt;
	int rc = 0;

	if (len > 65535 || ns_initparse(packet, (int)len, &msg) != 0)
		return -1;
	strbuf_init(&txt);
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && rc == 0; i++) {
		const unsigned char *d;
		size_t n, pos = 0;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
			rc = -1;
			break;
		}
		if (ns_rr_type(rr) != ns_t_txt)
			continue; /* any class: libopendkim does not look */
		d = ns_rr_rdata(rr);
		n = ns_rr_rdlen(rr);
		strbuf_reset(&txt);
		/* character-strings, each a length byte and its bytes */
		while (pos < n && rc == 0) {
			size_t sl = d[pos++];

			if (sl > n - pos)
				rc = -1; /* a string past its record */
			else
				strbuf_append(&txt, d + pos, sl);
			pos += sl;
		}
		if (rc == 0 && txt.failed)
			rc = -1;
		if (rc == 0 && !fn(ctx, txt.data != NULL ? txt.data : "", txt.len))
			rc = 1;
	}
	strbuf_free(&txt);
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
