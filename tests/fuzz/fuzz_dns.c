/*
 * fuzz_dns.c - libFuzzer target: what gatehouse itself reads of DNS
 * replies (dns_rdata.c: TXT character-strings, domain names in rdata) and
 * the answer cache (dns_cache.c). The input is a list of operations:
 *   'T' LEN BYTES          TXT rdata
 *   'N' LEN POS BYTES      a name at offset POS of the rdata
 *   'P' KEY TYPE ST TTL N {LEN BYTES}*N PLEN PBYTES   cache put
 *   'G' KEY TYPE           cache get
 *   'K' HI LO BYTES        a reply packet's TXT records (dns_packet_txt_each)
 * KEY picks one of a few names, in varying case and with or without the
 * trailing dot (other bytes are skipped).
 *
 * Invariants: a reply packet's TXT records come out of it (never more
 * bytes than it holds, every byte readable); TXT rdata decodes exactly
 * when its length-prefixed strings
 * tile it, into their concatenation (an independent reader says what to
 * expect); a name decodes whenever it is a well-formed uncompressed name
 * inside the rdata, the position moves past it and no further than the
 * rdata's end, there is no trailing dot (the root alone is "."), and the
 * text reads back to the same wire bytes; a cache hit is a deep copy of
 * the last answer put under that name and type (case and a trailing dot
 * do not matter), never a failure nor another name's answer; an answer
 * just put is found; failures and TTL 0 are never kept.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static bool take(struct fz_in *in, size_t k, const uint8_t **out)
{
	if (in->n < k)
		return false;
	*out = in->p;
	in->p += k;
	in->n -= k;
	return true;
}

static bool byte(struct fz_in *in, uint8_t *b)
{
	const uint8_t *p;

	if (!take(in, 1, &p))
		return false;
	*b = *p;
	return true;
}

/* fz_txt - dns_rdata_txt against a reader of its own */
static void fz_txt(const uint8_t *p, size_t len)
{
	struct dns_rdata rr = { .len = len, .data = (unsigned char *)p };
	struct strbuf got, want;
	size_t pos = 0;
	int rc, want_rc = 0;

	strbuf_init(&got);
	strbuf_init(&want);
	while (pos < len) {
		size_t n = p[pos++];

		if (n > len - pos) {
			want_rc = -1;
			break;
		}
		strbuf_append(&want, p + pos, n);
		pos += n;
	}
	rc = dns_rdata_txt(&rr, &got);
	if (rc != want_rc)
		abort();
	if (rc == 0 &&
	    (got.len != want.len || (got.len > 0 && memcmp(got.data, want.data, got.len) != 0)))
		abort();
	strbuf_free(&got);
	strbuf_free(&want);
}

/* plain_name_end - the end of the uncompressed name at START, or 0 when
 * there is none (past the end, a pointer, a label over 63, over 255) */
static size_t plain_name_end(const uint8_t *p, size_t len, size_t start)
{
	size_t pos = start, total = 0;

	while (pos < len) {
		size_t l = p[pos];

		if (l > 63)
			return 0;
		total += l + 1;
		if (total > 255 || l >= len - pos)
			return 0;
		pos += l + 1;
		if (l == 0)
			return pos;
	}
	return 0;
}

/* fz_name - dns_rdata_name at START */
static void fz_name(const uint8_t *p, size_t len, size_t start)
{
	struct dns_rdata rr = { .len = len, .data = (unsigned char *)p };
	size_t pos = start, end = plain_name_end(p, len, start), n;
	char *name = dns_rdata_name(&rr, &pos);
	ldns_rdf *back = NULL;
	char *abs;

	if (name == NULL) {
		if (end != 0)
			abort(); /* a well-formed name refused */
		return;
	}
	if (pos <= start || pos > len)
		abort();
	n = strlen(name);
	if (n == 0 || (n > 1 && name[n - 1] == '.' && (n < 2 || name[n - 2] != '\\')))
		abort();
	if (end != 0) {
		if (pos != end)
			abort();
		/* the text reads back to the same wire name */
		abs = malloc(n + 2);
		if (abs == NULL)
			abort();
		memcpy(abs, name, n);
		strcpy(abs + n, strcmp(name, ".") == 0 ? "" : ".");
		if (ldns_str2rdf_dname(&back, abs) != LDNS_STATUS_OK ||
		    ldns_rdf_size(back) != end - start ||
		    memcmp(ldns_rdf_data(back), p + start, end - start) != 0)
			abort();
		ldns_rdf_deep_free(back);
		free(abs);
	}
	free(name);
}

#define FZ_KEYS 4
static const char *const fz_names[FZ_KEYS] = { "example.org", "_dmarc.example.org",
					       "a.b.c.example.net", "x" };

/* One model slot per name and type: the last answer put, kept or not. */
struct fz_model {
	bool have;
	struct dns_result res; /* borrowed from the input */
	struct dns_rdata rr[8];
};

static void fz_key(uint8_t k, char *out)
{
	const char *n = fz_names[k % FZ_KEYS];
	size_t i = 0;

	for (; n[i]; i++)
		out[i] = (k & 0x10) && (i % 2 == 0) && n[i] >= 'a' && n[i] <= 'z'
				 ? (char)(n[i] - 32)
				 : n[i];
	if (k & 0x20)
		out[i++] = '.';
	out[i] = '\0';
}

static const int fz_types[4] = { DNS_T_TXT, DNS_T_A, DNS_T_MX, DNS_T_PTR };

static bool same_result(const struct dns_result *a, const struct dns_result *b)
{
	if (a->status != b->status || a->n != b->n || a->packet_len != b->packet_len ||
	    (a->packet == NULL) != (b->packet == NULL) ||
	    (a->packet != NULL && memcmp(a->packet, b->packet, a->packet_len) != 0))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].len != b->rr[i].len ||
		    memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) != 0)
			return false;
	return true;
}

/* dns_packet_txt_each's records, counted */
struct fz_pkt {
	size_t len, total;
	unsigned long sum;
};

static bool fz_pkt_txt(void *ctx, const char *text, size_t len)
{
	struct fz_pkt *pk = ctx;

	if (text == NULL)
		abort();
	/* every byte readable (ASan sees the read) */
	for (size_t i = 0; i < len; i++)
		pk->sum += (unsigned char)text[i];
	pk->total += len;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_model model[FZ_KEYS][4];
	struct fz_in in = { data, size };
	struct dns_cache *c = dns_cache_new();
	uint8_t op;

	if (c == NULL)
		abort();
	memset(model, 0, sizeof(model));
	while (byte(&in, &op)) {
		uint8_t k, t, st, ttl, n, len, pos;
		const uint8_t *p;
		char name[64];

		switch (op) {
		case 'T':
			if (!byte(&in, &len) || !take(&in, len, &p))
				break;
			fz_txt(p, len);
			continue;
		case 'N':
			if (!byte(&in, &len) || !byte(&in, &pos) || !take(&in, len, &p))
				break;
			if (pos < len)
				fz_name(p, len, pos);
			continue;
		case 'P': {
			struct fz_model m = { 0 };
			bool keep;

			if (!byte(&in, &k) || !byte(&in, &t) || !byte(&in, &st) ||
			    !byte(&in, &ttl) || !byte(&in, &n))
				break;
			m.res.status = (enum dns_status)(st % 5);
			m.res.rrtype = fz_types[t % 4];
			m.res.why = m.res.status >= DNS_TEMPFAIL ? "fuzz" : NULL;
			m.res.n = n % 9;
			m.res.rr = m.rr;
			for (size_t i = 0; i < m.res.n; i++) {
				if (!byte(&in, &len) || !take(&in, len, &p))
					goto done;
				m.rr[i].len = len;
				m.rr[i].data = (unsigned char *)p;
			}
			if (!byte(&in, &len) || !take(&in, len, &p))
				goto done;
			m.res.packet = len ? (unsigned char *)p : NULL;
			m.res.packet_len = len;
			fz_key(k, name);
			dns_cache_put(c, name, m.res.rrtype, &m.res, ttl);
			keep = ttl > 0 && m.res.status <= DNS_NODATA;
			if (keep) {
				struct fz_model *slot = &model[k % FZ_KEYS][t % 4];

				*slot = m;
				slot->have = true;
				slot->res.rr = slot->rr;
			}
			/* just put, with time to spare: it is there */
			if (keep && ttl >= 5) {
				struct dns_result got;

				if (!dns_cache_get(c, name, m.res.rrtype, &got) ||
				    !same_result(&got, &m.res))
					abort();
				dns_result_free(&got);
			}
			continue;
		}
		case 'K': { /* a reply packet read for its TXT records */
			uint8_t hi, lo;
			struct fz_pkt pk = { 0, 0, 0 };
			int rc;

			if (!byte(&in, &hi) || !byte(&in, &lo) || !take(&in, (size_t)hi << 8 | lo, &p))
				break;
			pk.len = (size_t)hi << 8 | lo;
			rc = dns_packet_txt_each(p, pk.len, fz_pkt_txt, &pk);
			if (rc != 0 && rc != -1)
				abort(); /* FN never stops it */
			if (pk.total > pk.len)
				abort(); /* strings come out of the packet, never more */
			continue;
		}
		case 'G': {
			struct dns_result got;
			const struct fz_model *m;

			if (!byte(&in, &k) || !byte(&in, &t))
				break;
			fz_key(k, name);
			m = &model[k % FZ_KEYS][t % 4];
			memset(&got, 0, sizeof(got));
			if (dns_cache_get(c, name, fz_types[t % 4], &got)) {
				if (!m->have)
					abort(); /* nothing was ever kept under this key */
				if (got.status > DNS_NODATA || !same_result(&got, &m->res))
					abort();
				dns_result_free(&got);
			}
			continue;
		}
		default:
			continue;
		}
		break;
	}
done:
	dns_cache_free(c);
	return 0;
}
