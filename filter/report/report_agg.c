/*
 * report_agg.c - aggregation, the RFC 9990 XML and its gzip (see
 * report_agg.h)
 *
 * SQLite does the grouping and the counting (one GROUP BY over the
 * period, ordered by every key so the output is stable); libxml2's text
 * writer does the XML and its escaping; zlib the gzip. A value that is not
 * valid UTF-8 or holds a control character (a DKIM selector is whatever a
 * sender wrote) is written with '?' in place of the bad bytes, so the
 * report stays well-formed XML.
 */
#include <ctype.h>
#include <jansson.h>
#include <libxml/encoding.h>
#include <libxml/xmlwriter.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "report/report_agg.h"
#include "report/report_store.h"
#include "util/strbuf.h"
#include "util/strlist.h"

#define NS_DMARC2 "urn:ietf:params:xml:ns:dmarc-2.0"

/* the grouping key, in this order, then the count */
enum col {
	C_DOMAIN,
	C_IP,
	C_DISP,
	C_DKIM_AL,
	C_SPF_AL,
	C_RTYPE,
	C_RCOMMENT,
	C_HFROM,
	C_EFROM,
	C_ETO,
	C_SPF_DOM,
	C_SPF_SCOPE,
	C_SPF_RES,
	C_DKIM,
	C_COUNT
};

#define KEY                                                                                \
	"policy_domain, source_ip, disposition, dkim_aligned, spf_aligned, reason_type,"   \
	" reason_comment, header_from, envelope_from, envelope_to, spf_domain, spf_scope," \
	" spf_result, dkim"

static const char agg_sql[] = "SELECT " KEY ", count(*) FROM evaluation WHERE t >= ?1 AND t < ?2"
			      " GROUP BY " KEY " ORDER BY " KEY;

static const char policy_sql[] =
	"SELECT p, sp, np, adkim, aspf, discovery, fo, testing, rua FROM evaluation"
	" WHERE policy_domain = ?1 AND t >= ?2 AND t < ?3 ORDER BY t DESC, id DESC LIMIT 1";

int report_agg_domain_listed(const char *list, const char *domain)
{
	size_t dl = strlen(domain), len;
	const char *cur = list, *p;

	while (strlist_next(&cur, &p, &len))
		if ((dl == len && strncasecmp(domain, p, len) == 0) ||
		    (dl > len && domain[dl - len - 1] == '.' &&
		     strncasecmp(domain + dl - len, p, len) == 0))
			return 1;
	return 0;
}

/* text - column I of Q, or NULL */
static const char *text(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}

/* put - <NAME>VALUE</NAME>, VALUE made valid for XML; NULL writes nothing */
static int put(xmlTextWriterPtr w, const char *name, const char *value)
{
	char *clean;
	int rc;

	if (value == NULL)
		return 0;
	if ((clean = strdup(value)) == NULL)
		return -1;
	for (unsigned char *c = (unsigned char *)clean; *c; c++)
		if (*c < 0x20 && *c != '\t')
			*c = '?';
	if (!xmlCheckUTF8((const xmlChar *)clean))
		for (unsigned char *c = (unsigned char *)clean; *c; c++)
			if (*c >= 0x80)
				*c = '?';
	rc = xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST clean);
	free(clean);
	return rc < 0 ? -1 : 0;
}

static int put_ll(xmlTextWriterPtr w, const char *name, long long v)
{
	return xmlTextWriterWriteFormatElement(w, BAD_CAST name, "%lld", v) < 0 ? -1 : 0;
}

static int open_el(xmlTextWriterPtr w, const char *name)
{
	return xmlTextWriterStartElement(w, BAD_CAST name) < 0 ? -1 : 0;
}

static int close_el(xmlTextWriterPtr w)
{
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

/* report_id - 32 hex digits of SHA-256 over the report's identity */
static char *report_id(const struct report_meta *m, const char *domain)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct strbuf in;
	char *hex = malloc(33);

	strbuf_init(&in);
	strbuf_printf(&in, "%s!%s!%lld!%lld", m->receiver, domain, m->begin, m->end);
	if (hex == NULL || in.failed ||
	    EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16) {
		strbuf_free(&in);
		free(hex);
		return NULL;
	}
	strbuf_free(&in);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

/* head - <feedback> down to <policy_published>; R->rua from the record */
static int head(xmlTextWriterPtr w, sqlite3 *db, const struct report_meta *m, struct report *r)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, policy_sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, r->policy_domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, m->begin);
	sqlite3_bind_int64(q, 3, m->end);
	if (sqlite3_step(q) != SQLITE_ROW)
		goto out;
	if (text(q, 8) != NULL && (r->rua = strdup(text(q, 8))) == NULL)
		goto out;
	if (xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 || open_el(w, "feedback") ||
	    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST NS_DMARC2) < 0 ||
	    put(w, "version", "1.0") || open_el(w, "report_metadata") ||
	    put(w, "org_name", m->org_name) || put(w, "email", m->email) ||
	    put(w, "report_id", r->report_id) || open_el(w, "date_range") ||
	    put_ll(w, "begin", m->begin) || put_ll(w, "end", m->end - 1) || close_el(w) ||
	    put(w, "generator", m->generator) || close_el(w) || open_el(w, "policy_published") ||
	    put(w, "domain", r->policy_domain) || put(w, "p", text(q, 0)) ||
	    put(w, "sp", text(q, 1)) || put(w, "np", text(q, 2)) || put(w, "adkim", text(q, 3)) ||
	    put(w, "aspf", text(q, 4)) || put(w, "discovery_method", text(q, 5)) ||
	    put(w, "fo", text(q, 6)) || put(w, "testing", text(q, 7)) || close_el(w))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(q);
	return rc;
}

/* dkim_results - the <dkim> elements from the stored JSON array */
static int dkim_results(xmlTextWriterPtr w, const char *json)
{
	json_t *a = json != NULL ? json_loads(json, 0, NULL) : NULL;
	size_t i;
	json_t *one;
	int rc = 0;

	json_array_foreach(a, i, one)
	{
		if (open_el(w, "dkim") ||
		    put(w, "domain", json_string_value(json_array_get(one, 0))) ||
		    put(w, "selector", json_string_value(json_array_get(one, 1))) ||
		    put(w, "result", json_string_value(json_array_get(one, 2))) || close_el(w)) {
			rc = -1;
			break;
		}
	}
	json_decref(a);
	return rc;
}

/* record - one <record> from the current row of Q */
static int record(xmlTextWriterPtr w, sqlite3_stmt *q)
{
	if (open_el(w, "record") || open_el(w, "row") || put(w, "source_ip", text(q, C_IP)) ||
	    put_ll(w, "count", sqlite3_column_int64(q, C_COUNT)) ||
	    open_el(w, "policy_evaluated") || put(w, "disposition", text(q, C_DISP)) ||
	    put(w, "dkim", text(q, C_DKIM_AL)) || put(w, "spf", text(q, C_SPF_AL)))
		return -1;
	if (text(q, C_RTYPE) != NULL && (open_el(w, "reason") || put(w, "type", text(q, C_RTYPE)) ||
					 put(w, "comment", text(q, C_RCOMMENT)) || close_el(w)))
		return -1;
	if (close_el(w) || close_el(w) || open_el(w, "identifiers") ||
	    put(w, "header_from", text(q, C_HFROM)) || put(w, "envelope_from", text(q, C_EFROM)) ||
	    put(w, "envelope_to", text(q, C_ETO)) || close_el(w) || open_el(w, "auth_results") ||
	    dkim_results(w, text(q, C_DKIM)))
		return -1;
	if (text(q, C_SPF_DOM) != NULL &&
	    (open_el(w, "spf") || put(w, "domain", text(q, C_SPF_DOM)) ||
	     put(w, "scope", text(q, C_SPF_SCOPE)) || put(w, "result", text(q, C_SPF_RES)) ||
	     close_el(w)))
		return -1;
	return close_el(w) || close_el(w) ? -1 : 0;
}

/* gzip - LEN bytes of IN into R->gz: no name, no time stamp (reproducible) */
static int gzip(const unsigned char *in, size_t len, struct report *r)
{
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 32;
	if ((r->gz = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = r->gz;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	r->gz_len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* finish - close the document, gzip it, name the file */
static int finish(xmlTextWriterPtr w, xmlBufferPtr buf, const struct report_meta *m,
		  struct report *r)
{
	struct strbuf name;

	if (xmlTextWriterEndDocument(w) < 0 || xmlTextWriterFlush(w) < 0 ||
	    gzip(xmlBufferContent(buf), (size_t)xmlBufferLength(buf), r) != 0)
		return -1;
	strbuf_init(&name);
	strbuf_printf(&name, "%s!%s!%lld!%lld!%s.xml.gz", m->receiver, r->policy_domain, m->begin,
		      m->end - 1, r->report_id);
	r->file_name = name.failed ? NULL : strdup(strbuf_cstr(&name));
	strbuf_free(&name);
	return r->file_name != NULL ? 0 : -1;
}

void report_agg_free(struct report *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		free(r[i].policy_domain);
		free(r[i].report_id);
		free(r[i].file_name);
		free(r[i].rua);
		free(r[i].gz);
	}
	free(r);
}

/* one_domain - the report of DOMAIN from Q's rows (Q is on its first row);
 * leaves Q on the next domain's first row (or done: *MORE false) */
static int one_domain(sqlite3 *db, sqlite3_stmt *q, const struct report_meta *m, struct report *r,
		      bool *more)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf != NULL ? xmlNewTextWriterMemory(buf, 0) : NULL;
	int rc = -1, step = SQLITE_ROW;

	if (w == NULL || (r->policy_domain = strdup(text(q, C_DOMAIN))) == NULL ||
	    (r->report_id = report_id(m, r->policy_domain)) == NULL ||
	    xmlTextWriterSetIndent(w, 1) < 0 || head(w, db, m, r) != 0)
		goto out;
	while (step == SQLITE_ROW && strcmp(text(q, C_DOMAIN), r->policy_domain) == 0) {
		if (record(w, q) != 0)
			goto out;
		r->records++;
		r->messages += (unsigned long long)sqlite3_column_int64(q, C_COUNT);
		step = sqlite3_step(q);
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		goto out;
	*more = step == SQLITE_ROW;
	rc = finish(w, buf, m, r);
out:
	if (w != NULL)
		xmlFreeTextWriter(w);
	if (buf != NULL)
		xmlBufferFree(buf);
	return rc;
}

int report_agg_build(struct report_store *st, const struct report_meta *m, struct report **out,
		     size_t *n, struct strbuf *err)
{
	sqlite3 *db = report_store_db(st);
	sqlite3_stmt *q = NULL;
	struct report *v = NULL;
	size_t nv = 0;
	bool more;
	int step;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, agg_sql, -1, &q, NULL) != SQLITE_OK) {
		strbuf_printf(err, "query: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(q, 1, m->begin);
	sqlite3_bind_int64(q, 2, m->end);
	step = sqlite3_step(q);
	more = step == SQLITE_ROW;
	while (more) {
		struct report *grown;

		if (report_agg_domain_listed(m->exclude, text(q, C_DOMAIN))) {
			const char *skip = text(q, C_DOMAIN);
			char *d = strdup(skip);

			if (d == NULL)
				goto nomem;
			while ((step = sqlite3_step(q)) == SQLITE_ROW &&
			       strcmp(text(q, C_DOMAIN), d) == 0)
				;
			free(d);
			more = step == SQLITE_ROW;
			continue;
		}
		if ((grown = realloc(v, (nv + 1) * sizeof(*v))) == NULL)
			goto nomem;
		v = grown;
		memset(&v[nv], 0, sizeof(v[nv]));
		if (one_domain(db, q, m, &v[nv++], &more) != 0) {
			strbuf_printf(err, "report for %s: %s",
				      v[nv - 1].policy_domain ? v[nv - 1].policy_domain : "?",
				      sqlite3_errcode(db) != SQLITE_OK &&
						      sqlite3_errcode(db) != SQLITE_ROW &&
						      sqlite3_errcode(db) != SQLITE_DONE
					      ? sqlite3_errmsg(db)
					      : "cannot build the XML (out of memory?)");
			goto fail;
		}
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		strbuf_printf(err, "query: %s", sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_finalize(q);
	*out = v;
	*n = nv;
	return 0;
nomem:
	strbuf_puts(err, "out of memory");
fail:
	sqlite3_finalize(q);
	report_agg_free(v, nv);
	return -1;
}
