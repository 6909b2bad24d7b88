/*
 * report_mail.c - report destinations and the report mail (see
 * report_mail.h)
 *
 * The destinations come from DNS, so from anyone: dmarc_rua_parse()
 * already kept only plain mailto: addresses, and here the external ones
 * need the receiving domain's consent, so a forged record cannot aim a
 * flood of reports at a victim. The mail itself is built by GMime, which
 * does the header encoding and the base64 of the attachment.
 */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "dns/dns.h"
#include "report/report_agg.h"
#include "report/report_mail.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define MAIL_DNS_MS 10000 /* DNS time for one report's destinations */

enum consent { CONSENT_NO, CONSENT_YES, CONSENT_TEMP, CONSENT_NOMEM };

/* consent - does DEST agree to receive reports about DOMAIN? When its
 * record has a rua=, *OVERRIDE gets it (else NULL) */
static enum consent consent(struct dns_resolver *dns, struct dns_budget *b, struct arena *arena,
			    const char *domain, const char *dest,
			    const struct dmarc_record **override, struct strbuf *notes)
{
	struct strbuf name, txt;
	struct dns_result res;
	enum consent c = CONSENT_NO;

	*override = NULL;
	strbuf_init(&name);
	strbuf_printf(&name, "%s._report._dmarc.%s", domain, dest);
	if (name.failed) {
		strbuf_free(&name);
		return CONSENT_NOMEM;
	}
	if (name.len > 253) {
		strbuf_printf(notes, "%s: longer than DNS allows, no consent\n",
			      strbuf_cstr(&name));
		strbuf_free(&name);
		return CONSENT_NO;
	}
	dns_query(dns, strbuf_cstr(&name), DNS_T_TXT, b, &res);
	if (res.status == DNS_TEMPFAIL) {
		strbuf_printf(notes,
			      "%s: DNS failure (%s): not sent now, the next run asks again\n",
			      strbuf_cstr(&name), res.why ? res.why : "temporary");
		c = CONSENT_TEMP;
	}
	for (size_t i = 0; res.status == DNS_ANSWER && i < res.n && c == CONSENT_NO; i++) {
		struct dmarc_record *rec = arena_alloc(arena, sizeof(*rec));
		const char *why;

		strbuf_init(&txt);
		if (rec == NULL) {
			c = CONSENT_NOMEM;
		} else if (dns_rdata_txt(&res.rr[i], &txt) == 0 && !txt.failed &&
			   dmarc_record_parse(arena, txt.data, txt.len, rec, &why) == 0) {
			c = CONSENT_YES;
			*override = rec->nrua > 0 ? rec : NULL;
		}
		strbuf_free(&txt);
	}
	if (c == CONSENT_NO)
		strbuf_printf(notes, "%s: no v=DMARC1 record: %s does not take reports for %s\n",
			      strbuf_cstr(&name), dest, domain);
	dns_result_free(&res);
	strbuf_free(&name);
	return c;
}

/* add - append ADDR to the list unless it is there already */
static int add(struct arena *arena, const char ***to, size_t *n, size_t *cap, const char *addr)
{
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*to)[i], addr) == 0)
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		const char **g = arena_alloc(arena, ncap * sizeof(*g));

		if (g == NULL)
			return -1;
		if (*n > 0)
			memcpy(g, *to, *n * sizeof(*g));
		*to = g;
		*cap = ncap;
	}
	(*to)[(*n)++] = addr;
	return 0;
}

/* fits - the mail of MAIL_SIZE bytes is within U's "!size" */
static bool fits(const struct dmarc_uri *u, size_t mail_size, struct strbuf *notes)
{
	if (u->max_size == 0 || mail_size <= u->max_size)
		return true;
	strbuf_printf(notes, "%s: the report mail (%zu bytes) is over its limit of %llu bytes\n",
		      u->mailbox, mail_size, u->max_size);
	return false;
}

enum report_mail_rc report_mail_destinations(struct dns_resolver *dns, struct arena *arena,
					     const char *policy_domain, const char *rua,
					     const char *exclude, size_t mail_size,
					     const char ***to, size_t *nto, struct strbuf *notes)
{
	struct dns_budget b = { 0 };
	struct dmarc_uri *u;
	size_t nu, cap = 0;
	const char *porg = NULL, *why = NULL;
	bool temp = false;

	*to = NULL;
	*nto = 0;
	if (rua == NULL || *rua == '\0') {
		strbuf_printf(notes, "%s publishes no usable rua=\n", policy_domain);
		return RM_OK;
	}
	if (dmarc_rua_parse(arena, rua, strlen(rua), &u, &nu, notes) != 0)
		return RM_NOMEM;
	dns_budget_start(&b, MAIL_DNS_MS);
	if (dmarc_org_domain(dns, &b, arena, policy_domain, &porg, &why) != 0) {
		if (why == NULL)
			return RM_NOMEM;
		strbuf_printf(notes, "%s: organizational domain: %s\n", policy_domain, why);
		return RM_TEMP;
	}
	for (size_t i = 0; i < nu; i++) {
		const char *dorg = NULL;
		const struct dmarc_record *over;

		if (report_agg_domain_listed(exclude, u[i].domain)) {
			strbuf_printf(notes, "%s: excluded (dmarc_report_exclude)\n", u[i].mailbox);
			continue;
		}
		if (dmarc_org_domain(dns, &b, arena, u[i].domain, &dorg, &why) != 0) {
			if (why == NULL)
				return RM_NOMEM;
			strbuf_printf(notes, "%s: organizational domain: %s\n", u[i].domain, why);
			temp = true;
			continue;
		}
		if (strcasecmp(dorg, porg) == 0) {
			if (fits(&u[i], mail_size, notes) &&
			    add(arena, to, nto, &cap, u[i].mailbox) != 0)
				return RM_NOMEM;
			continue;
		}
		switch (consent(dns, &b, arena, policy_domain, u[i].domain, &over, notes)) {
		case CONSENT_NOMEM:
			return RM_NOMEM;
		case CONSENT_TEMP:
			temp = true;
			continue;
		case CONSENT_NO:
			continue;
		case CONSENT_YES:
			break;
		}
		if (over == NULL) {
			if (fits(&u[i], mail_size, notes) &&
			    add(arena, to, nto, &cap, u[i].mailbox) != 0)
				return RM_NOMEM;
			continue;
		}
		/* the consumer's own rua= replaces ours, on the same host only */
		for (size_t k = 0; k < over->nrua; k++)
			if (strcasecmp(over->rua[k].domain, u[i].domain) != 0) {
				strbuf_printf(notes,
					      "%s: its consent names another host (%s): neither "
					      "is used\n",
					      u[i].mailbox, over->rua[k].domain);
				over = NULL;
				break;
			}
		for (size_t k = 0; over != NULL && k < over->nrua; k++)
			if (fits(&over->rua[k], mail_size, notes) &&
			    add(arena, to, nto, &cap, over->rua[k].mailbox) != 0)
				return RM_NOMEM;
	}
	return temp ? RM_TEMP : RM_OK;
}

int report_mail_build(const struct report_meta *m, const struct report *r, const char *const *to,
		      size_t nto, long long now, struct strbuf *out)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeMultipart *mp = g_mime_multipart_new_with_subtype("mixed");
	GMimeTextPart *txt = g_mime_text_part_new_with_subtype("plain");
	GMimePart *att = g_mime_part_new_with_type("application", "gzip");
	GMimeStream *data = g_mime_stream_mem_new_with_buffer((const char *)r->gz, r->gz_len);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(data,
								   GMIME_CONTENT_ENCODING_DEFAULT);
	GMimeStream *o = g_mime_stream_mem_new();
	GDateTime *date = g_date_time_new_from_unix_utc(now);
	struct strbuf subject, body, mid;
	GByteArray *bytes;

	strbuf_init(&subject);
	strbuf_init(&body);
	strbuf_init(&mid);
	strbuf_printf(&subject, "Report Domain: %s Submitter: %s Report-ID: <%s>", r->policy_domain,
		      m->receiver, r->report_id);
	strbuf_printf(&body,
		      "DMARC aggregate report (RFC 9990) from %s about mail from %s,\n"
		      "%llu message(s) from %lld to %lld (seconds since the epoch, UTC).\n",
		      m->receiver, r->policy_domain, r->messages, m->begin, m->end - 1);
	strbuf_printf(&mid, "%s@%s", r->report_id, m->receiver);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, m->org_name, m->email);
	for (size_t i = 0; i < nto; i++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to[i]);
	g_mime_message_set_subject(msg, strbuf_cstr(&subject), NULL);
	g_mime_message_set_message_id(msg, strbuf_cstr(&mid));
	g_mime_message_set_date(msg, date);
	g_mime_text_part_set_text(txt, strbuf_cstr(&body));
	g_mime_part_set_content(att, dw);
	g_mime_part_set_filename(att, r->file_name);
	g_mime_part_set_content_encoding(att, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_multipart_add(mp, (GMimeObject *)txt);
	g_mime_multipart_add(mp, (GMimeObject *)att);
	g_mime_message_set_mime_part(msg, (GMimeObject *)mp);
	g_mime_object_write_to_stream((GMimeObject *)msg, NULL, o);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(o));
	strbuf_append(out, bytes->data, bytes->len);
	g_object_unref(o);
	g_object_unref(dw);
	g_object_unref(data);
	g_object_unref(att);
	g_object_unref(txt);
	g_object_unref(mp);
	g_object_unref(msg);
	g_date_time_unref(date);
	strbuf_free(&subject);
	strbuf_free(&body);
	strbuf_free(&mid);
	return out->failed ? -1 : 0;
}
