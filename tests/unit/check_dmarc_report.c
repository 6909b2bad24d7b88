/*
 * check_dmarc_report.c - DMARC aggregate reports (RFC 9990): rua= parsing,
 * the SQLite store, the recorder (everything written; a store it cannot
 * open, a locked store and a full queue dropped, counted and logged;
 * expiry by age), aggregation into XML
 * (validated against tests/dmarc/rfc9990.xsd with libxml2's schema
 * validator), file names, reproducibility, the report mail (GMime), and
 * its destinations (consent of external ones, on a DNS fixture)
 */
#include <gmime/gmime.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <sqlite3.h>
#include <zlib.h>

#include "auth/dmarc.h"
#include "dns/dns.h"
#include "mail/author.h"
#include "report/report_agg.h"
#include "report/report_mail.h"
#include "report/report_recorder.h"
#include "report/report_store.h"
#include "unit.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

#define XSD "tests/dmarc/rfc9990.xsd"

/* ---------------------------------------------------------------- rua= */

START_TEST(rua_keeps_mailto_addresses_and_sizes)
{
	struct arena *a = arena_new();
	struct dmarc_uri *u;
	size_t n;
	struct strbuf notes;
	const char v[] = " mailto:A%2Bdmarc@Example.ORG!10m , mailto:b@c.example?subject=x,"
			 "https://r.example/x, mailto:nodomain, mailto:x@y.example!12q,"
			 "mailto:evil%3E@d.example, mailto:t@e.example!7";

	strbuf_init(&notes);
	ck_assert_int_eq(dmarc_rua_parse(a, v, sizeof(v) - 1, &u, &n, &notes), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(u[0].mailbox, "A+dmarc@Example.ORG");
	ck_assert_str_eq(u[0].domain, "example.org");
	ck_assert_uint_eq(u[0].max_size, 10ULL * 1024 * 1024);
	ck_assert_str_eq(u[1].mailbox, "b@c.example");
	ck_assert_uint_eq(u[1].max_size, 0);
	ck_assert_str_eq(u[2].mailbox, "t@e.example");
	ck_assert_uint_eq(u[2].max_size, 7);
	/* each dropped URI is named with its reason */
	ck_assert_ptr_nonnull(
		strstr(strbuf_cstr(&notes), "https://r.example/x (not a mailto: URI)"));
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "(no local@domain address)"));
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "(bad size after '!')"));
	ck_assert_ptr_nonnull(
		strstr(strbuf_cstr(&notes), "evil%3E@d.example (not a plain address)"));
	strbuf_free(&notes);
	arena_free(a);
}
END_TEST

START_TEST(rua_and_fo_in_the_record)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *why;
	const char rec[] = "v=DMARC1; p=reject; rua=mailto:r@x.example,ftp://no; fo=0:d";

	ck_assert_int_eq(dmarc_record_parse(a, rec, sizeof(rec) - 1, &r, &why), 0);
	ck_assert_uint_eq(r.nrua, 1);
	ck_assert_str_eq(r.rua[0].mailbox, "r@x.example");
	ck_assert_str_eq(r.fo, "0:d");
	ck_assert_ptr_nonnull(r.ignored);
	ck_assert_ptr_nonnull(strstr(r.ignored, "ftp://no (not a mailto: URI)"));
	/* an invalid fo= is ignored and noted, the rest stays */
	ck_assert_int_eq(dmarc_record_parse(a, "v=DMARC1; p=none; fo=x", 22, &r, &why), 0);
	ck_assert_ptr_null(r.fo);
	ck_assert_ptr_nonnull(strstr(r.ignored, "fo=x"));
	arena_free(a);
}
END_TEST

/* ---------------------------------------------------------------- store */

static char *tmp_db(void)
{
	char *p = unit_write_file("", 0);

	unlink(p); /* a path to create */
	return p;
}

static void drop_db(char *p)
{
	char x[600];

	snprintf(x, sizeof(x), "%s-wal", p);
	unlink(x);
	snprintf(x, sizeof(x), "%s-shm", p);
	unlink(x);
	unit_remove_file(p);
}

static const struct report_dkim sig_pass[] = { { "a.example", "s1", "pass" } };

/* entry - a typical evaluation; callers change what they test */
static struct report_entry entry(long long t, const char *domain, const char *ip, const char *disp)
{
	return (struct report_entry){
		.t = t,
		.source_ip = ip,
		.header_from = domain,
		.envelope_from = "bounce.example",
		.envelope_to = "example.net",
		.policy_domain = domain,
		.p = "reject",
		.adkim = "r",
		.aspf = "r",
		.testing = "n",
		.discovery = "treewalk",
		.rua = "mailto:agg@a.example",
		.disposition = disp,
		.dkim_aligned = strcmp(disp, "pass") == 0 ? "pass" : "fail",
		.spf_aligned = "fail",
		.spf_domain = "bounce.example",
		.spf_scope = "mfrom",
		.spf_result = "softfail",
		.dkim = strcmp(disp, "pass") == 0 ? sig_pass : NULL,
		.ndkim = strcmp(disp, "pass") == 0 ? 1 : 0,
	};
}

static void insert(struct report_store *st, struct report_entry e)
{
	struct report_entry *one = report_entry_dup(&e);
	struct strbuf err;

	strbuf_init(&err);
	ck_assert_ptr_nonnull(one);
	ck_assert_msg(report_store_insert(st, &one, 1, &err) == 0, "%s", strbuf_cstr(&err));
	free(one);
	strbuf_free(&err);
}

static long long count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long n = -1;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM evaluation", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

START_TEST(entry_dup_is_one_independent_block)
{
	char ip[] = "192.0.2.1";
	struct report_entry e = entry(5, "a.example", ip, "pass"), *d = report_entry_dup(&e);

	ck_assert_ptr_nonnull(d);
	ip[0] = 'X';
	ck_assert_str_eq(d->source_ip, "192.0.2.1");
	ck_assert_ptr_null(d->sp);
	ck_assert_uint_eq(d->ndkim, 1);
	ck_assert_str_eq(d->dkim[0].selector, "s1");
	ck_assert_ptr_ne(d->dkim, e.dkim);
	free(d);
}
END_TEST

START_TEST(store_expires_and_remembers_sent)
{
	char *path = tmp_db();
	struct strbuf err;
	struct report_store *st;
	long long deleted = -1;

	strbuf_init(&err);
	ck_assert_ptr_null(report_store_open(path, false, &err)); /* not created */
	ck_assert_uint_gt(err.len, 0);
	st = report_store_open(path, true, &err);
	ck_assert_ptr_nonnull(st);
	insert(st, entry(100, "a.example", "192.0.2.1", "pass"));
	insert(st, entry(200, "a.example", "192.0.2.1", "pass"));
	ck_assert_int_eq(report_store_expire(st, 150, &deleted, &err), 0);
	ck_assert_int_eq(deleted, 1);
	ck_assert_int_eq(count_rows(path), 1);
	ck_assert_int_eq(report_store_sent(st, "abc", &err), 0);
	ck_assert_int_eq(report_store_mark_sent(st, "abc", "a.example", 7, &err), 0);
	ck_assert_int_eq(report_store_mark_sent(st, "abc", "a.example", 8, &err), 0);
	ck_assert_int_eq(report_store_sent(st, "abc", &err), 1);
	report_store_close(st);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

/* ---------------------------------------------------------------- recorder */

START_TEST(recorder_writes_everything_pushed)
{
	char *path = tmp_db();
	struct report_recorder_options o = { .path = path, .max_age_days = 30 };
	struct report_recorder *r = report_recorder_new(&o);
	struct report_stats s;
	long long now = (long long)time(NULL);

	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < 250; i++) {
		struct report_entry e = entry(now, "a.example", "192.0.2.1", "pass");

		ck_assert(report_recorder_push(r, report_entry_dup(&e)));
	}
	report_recorder_flush(r);
	report_recorder_stats(r, &s);
	ck_assert_uint_eq(s.recorded, 250);
	ck_assert_uint_eq(s.dropped_queue + s.dropped_store, 0);
	report_recorder_free(r);
	ck_assert_int_eq(count_rows(path), 250);
	drop_db(path);
}
END_TEST

START_TEST(recorder_counts_and_logs_a_store_it_cannot_open)
{
	struct unit_log ul;
	struct report_recorder_options o = { .path = "/nonexistent-dir/x/reports.sqlite",
					     .max_age_days = 30 };
	struct report_recorder *r;
	struct report_stats s;
	struct report_entry e = entry(1, "a.example", "192.0.2.1", "pass");

	unit_log_open(&ul, LOG_INFO);
	o.log = &ul.log;
	r = report_recorder_new(&o);
	ck_assert(report_recorder_push(r, report_entry_dup(&e)));
	ck_assert(report_recorder_push(r, report_entry_dup(&e)));
	report_recorder_flush(r);
	report_recorder_stats(r, &s);
	ck_assert_uint_eq(s.recorded, 0);
	ck_assert_uint_eq(s.dropped_store, 2);
	report_recorder_free(r);
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "not recorded in /nonexistent-dir/x/"));
	unit_log_close(&ul);
}
END_TEST

START_TEST(recorder_counts_a_locked_store)
{
	char *path = tmp_db();
	struct report_recorder_options o = { .path = path, .max_age_days = 30 };
	struct report_recorder *r;
	struct report_stats s;
	struct report_entry e = entry(1, "a.example", "192.0.2.1", "pass");
	struct strbuf err;
	struct report_store *st;
	sqlite3 *db;

	strbuf_init(&err);
	st = report_store_open(path, true, &err); /* the tables exist */
	report_store_close(st);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	r = report_recorder_new(&o);
	ck_assert(report_recorder_push(r, report_entry_dup(&e)));
	report_recorder_flush(r); /* past the busy timeout */
	report_recorder_stats(r, &s);
	ck_assert_uint_eq(s.dropped_store, 1);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	ck_assert(report_recorder_push(r, report_entry_dup(&e)));
	report_recorder_flush(r);
	report_recorder_stats(r, &s);
	ck_assert_uint_eq(s.recorded, 1);
	report_recorder_free(r);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

START_TEST(recorder_expires_old_records)
{
	char *path = tmp_db();
	struct report_recorder_options o = { .path = path, .max_age_days = 30 };
	struct report_recorder *r = report_recorder_new(&o);
	struct report_stats s;
	struct report_entry old = entry(1, "a.example", "192.0.2.1", "pass");
	struct report_entry now = entry((long long)time(NULL), "a.example", "192.0.2.1", "pass");

	/* the first batch opens the store; expiry follows it at once */
	ck_assert(report_recorder_push(r, report_entry_dup(&old)));
	ck_assert(report_recorder_push(r, report_entry_dup(&now)));
	report_recorder_flush(r);
	report_recorder_stats(r, &s);
	ck_assert_uint_eq(s.recorded, 2);
	ck_assert_uint_eq(s.expired, 1);
	ck_assert_int_eq(count_rows(path), 1);
	report_recorder_free(r);
	drop_db(path);
}
END_TEST

START_TEST(recorder_drops_and_counts_when_its_queue_is_full)
{
	char *path = tmp_db();
	struct unit_log ul;
	struct report_recorder_options o = { .path = path, .max_age_days = 30, .queue_max = 2 };
	struct report_recorder *r;
	struct report_stats s;
	/* recent: the writer's expiry (after its first batch) keeps it */
	struct report_entry e = entry((long long)time(NULL), "a.example", "192.0.2.1", "pass");
	struct strbuf err;
	struct report_store *st;
	sqlite3 *db;
	int accepted = 0;

	strbuf_init(&err);
	st = report_store_open(path, true, &err);
	report_store_close(st);
	unit_log_open(&ul, LOG_INFO);
	o.log = &ul.log;
	/* the writer waits out the busy timeout on each batch: at most one
	 * batch of two in its hands and two queued, so five pushes made in
	 * that time drop one at least */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	r = report_recorder_new(&o);
	for (int i = 0; i < 5; i++)
		accepted += report_recorder_push(r, report_entry_dup(&e));
	report_recorder_stats(r, &s);
	ck_assert_int_le(accepted, 4);
	ck_assert_uint_eq(s.dropped_queue, 5 - (unsigned)accepted);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	report_recorder_flush(r);
	report_recorder_stats(r, &s);
	/* every push is accounted for, once */
	ck_assert_uint_eq(s.recorded + s.dropped_store + s.dropped_queue, 5);
	ck_assert_int_eq(count_rows(path), (long long)s.recorded);
	report_recorder_free(r);
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "not recorded in"));
	ck_assert_ptr_nonnull(strstr(unit_log_text(&ul), "the queue is full"));
	unit_log_close(&ul);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

/* ---------------------------------------------------------------- reports */

static struct strbuf gunzip(const struct report *r)
{
	struct strbuf out;
	z_stream z = { 0 };
	unsigned char buf[4096];
	int rc;

	strbuf_init(&out);
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = r->gz;
	z.avail_in = (uInt)r->gz_len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		ck_assert(rc == Z_OK || rc == Z_STREAM_END);
		strbuf_append(&out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return out;
}

static bool schema_valid(const struct strbuf *xml)
{
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(XSD);
	xmlSchemaPtr schema = xmlSchemaParse(pc);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	xmlDocPtr doc = xmlReadMemory(xml->data, (int)xml->len, "report.xml", NULL, 0);
	bool ok;

	ck_assert_ptr_nonnull(schema);
	ck_assert_ptr_nonnull(doc);
	ok = xmlSchemaValidateDoc(vc, doc) == 0;
	xmlFreeDoc(doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	return ok;
}

/* xpath - the text of the first node of EXPR in XML ("" if none) */
static char *xpath(const struct strbuf *xml, const char *expr)
{
	xmlDocPtr doc = xmlReadMemory(xml->data, (int)xml->len, "r.xml", NULL, 0);
	xmlXPathContextPtr c = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o;
	xmlChar *t;
	char *out;

	xmlXPathRegisterNs(c, BAD_CAST "d", BAD_CAST "urn:ietf:params:xml:ns:dmarc-2.0");
	o = xmlXPathEvalExpression(BAD_CAST expr, c);
	ck_assert_ptr_nonnull(o);
	if (o->type == XPATH_NUMBER) {
		char num[32];

		snprintf(num, sizeof(num), "%g", o->floatval);
		out = strdup(num);
	} else {
		t = o->nodesetval && o->nodesetval->nodeNr > 0
			    ? xmlNodeGetContent(o->nodesetval->nodeTab[0])
			    : NULL;
		out = strdup(t ? (const char *)t : "");
		xmlFree(t);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(c);
	xmlFreeDoc(doc);
	return out;
}

static void assert_xpath(const struct strbuf *xml, const char *expr, const char *want)
{
	char *got = xpath(xml, expr);

	ck_assert_msg(strcmp(got, want) == 0, "%s: got '%s', want '%s'", expr, got, want);
	free(got);
}

static const struct report_meta meta = {
	.org_name = "Receiver & Co <test>",
	.email = "dmarc@receiver.example",
	.receiver = "receiver.example",
	.generator = "gatehouse test",
	.exclude = "skip.example",
	.begin = 86400,
	.end = 2 * 86400,
};

/* fill - a period with two domains, one excluded, and rows outside it */
static struct report_store *fill(const char *path)
{
	struct strbuf err;
	struct report_store *st;
	struct report_entry e;

	strbuf_init(&err);
	st = report_store_open(path, true, &err);
	ck_assert_ptr_nonnull(st);
	for (int i = 0; i < 3; i++)
		insert(st, entry(86400 + i, "a.example", "192.0.2.1", "pass"));
	insert(st, entry(86400 + 50, "a.example", "192.0.2.2", "reject"));
	e = entry(86400 + 60, "a.example", "2001:db8::1", "none");
	e.reason_type = "trusted_forwarder";
	e.reason_comment = "trusted forwarder";
	insert(st, e);
	e = entry(86400 + 70, "b.example", "192.0.2.3", "quarantine");
	e.sp = "none";
	e.np = "reject";
	e.testing = "y";
	e.fo = "1";
	e.header_from = "sub.b.example";
	e.envelope_to = NULL;
	insert(st, e);
	insert(st, entry(86400 + 80, "skip.example", "192.0.2.4", "pass")); /* excluded */
	insert(st, entry(86399, "a.example", "192.0.2.9", "pass"));	    /* before */
	insert(st, entry(2 * 86400, "a.example", "192.0.2.9", "pass"));	    /* after */
	strbuf_free(&err);
	return st;
}

START_TEST(reports_per_domain_counted_valid_and_named)
{
	char *path = tmp_db();
	struct report_store *st = fill(path);
	struct report *r;
	size_t n;
	struct strbuf err, a, b;

	strbuf_init(&err);
	ck_assert_msg(report_agg_build(st, &meta, &r, &n, &err) == 0, "%s", strbuf_cstr(&err));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0].policy_domain, "a.example");
	ck_assert_uint_eq(r[0].messages, 5);
	ck_assert_uint_eq(r[0].records, 3);
	ck_assert_uint_eq(strlen(r[0].report_id), 32);
	ck_assert_str_eq(r[0].rua, "mailto:agg@a.example");
	{
		char want[200];

		snprintf(want, sizeof(want), "receiver.example!a.example!86400!172799!%s.xml.gz",
			 r[0].report_id);
		ck_assert_str_eq(r[0].file_name, want);
	}
	a = gunzip(&r[0]);
	b = gunzip(&r[1]);
	ck_assert(schema_valid(&a));
	ck_assert(schema_valid(&b));
	assert_xpath(&a, "/d:feedback/d:report_metadata/d:org_name", "Receiver & Co <test>");
	assert_xpath(&a, "/d:feedback/d:report_metadata/d:date_range/d:end", "172799");
	assert_xpath(&a, "count(/d:feedback/d:record)", "3");
	assert_xpath(&a, "sum(/d:feedback/d:record/d:row/d:count)", "5");
	assert_xpath(&a, "/d:feedback/d:record[d:row/d:source_ip='192.0.2.1']/d:row/d:count", "3");
	assert_xpath(&a,
		     "/d:feedback/d:record[d:row/d:source_ip='192.0.2.1']/d:auth_results/d:dkim/"
		     "d:selector",
		     "s1");
	assert_xpath(
		&a,
		"/d:feedback/d:record[d:row/d:source_ip='2001:db8::1']/d:row/d:policy_evaluated/"
		"d:reason/d:type",
		"trusted_forwarder");
	assert_xpath(&a, "count(/d:feedback/d:policy_published/d:sp)", "0");
	assert_xpath(&b, "/d:feedback/d:policy_published/d:np", "reject");
	assert_xpath(&b, "/d:feedback/d:policy_published/d:testing", "y");
	assert_xpath(&b, "/d:feedback/d:record/d:identifiers/d:header_from", "sub.b.example");
	assert_xpath(&b, "count(/d:feedback/d:record/d:identifiers/d:envelope_to)", "0");
	strbuf_free(&a);
	strbuf_free(&b);
	report_agg_free(r, n);
	report_store_close(st);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

START_TEST(reports_are_reproducible)
{
	char *path = tmp_db();
	struct report_store *st = fill(path);
	struct report *r1, *r2;
	size_t n1, n2;
	struct strbuf err;

	strbuf_init(&err);
	ck_assert_int_eq(report_agg_build(st, &meta, &r1, &n1, &err), 0);
	ck_assert_int_eq(report_agg_build(st, &meta, &r2, &n2, &err), 0);
	ck_assert_uint_eq(n1, n2);
	for (size_t i = 0; i < n1; i++) {
		ck_assert_str_eq(r1[i].file_name, r2[i].file_name);
		ck_assert_uint_eq(r1[i].gz_len, r2[i].gz_len);
		ck_assert(memcmp(r1[i].gz, r2[i].gz, r1[i].gz_len) == 0);
	}
	/* another period, another report id */
	{
		struct report_meta m2 = meta;
		struct report *r3;
		size_t n3;

		m2.end += 1;
		ck_assert_int_eq(report_agg_build(st, &m2, &r3, &n3, &err), 0);
		ck_assert_str_ne(r3[0].report_id, r1[0].report_id);
		report_agg_free(r3, n3);
	}
	report_agg_free(r1, n1);
	report_agg_free(r2, n2);
	report_store_close(st);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

START_TEST(bad_bytes_stay_well_formed_xml)
{
	char *path = tmp_db();
	struct strbuf err, x;
	struct report_store *st;
	struct report_entry e = entry(86400 + 1, "a.example", "192.0.2.1", "pass");
	const struct report_dkim odd[] = { { "a.example", "s\x01\xff<&>", "pass" } };
	struct report *r;
	size_t n;

	strbuf_init(&err);
	st = report_store_open(path, true, &err);
	e.dkim = odd;
	insert(st, e);
	ck_assert_int_eq(report_agg_build(st, &meta, &r, &n, &err), 0);
	x = gunzip(&r[0]);
	ck_assert(schema_valid(&x));
	assert_xpath(&x, "/d:feedback/d:record/d:auth_results/d:dkim/d:selector",
		     "s?"
		     "?<&>");
	strbuf_free(&x);
	report_agg_free(r, n);
	report_store_close(st);
	strbuf_free(&err);
	drop_db(path);
}
END_TEST

START_TEST(domain_list_matches_names_and_subdomains)
{
	ck_assert(report_agg_domain_listed("a.example, b.example", "b.example"));
	ck_assert(report_agg_domain_listed("a.example,b.example", "x.B.example"));
	ck_assert(!report_agg_domain_listed("a.example", "xa.example"));
	ck_assert(!report_agg_domain_listed("", "a.example"));
}
END_TEST

START_TEST(report_mail_carries_the_report)
{
	struct report r = { .policy_domain = "a.example",
			    .report_id = "0123abcd",
			    .file_name = "receiver.example!a.example!86400!172799!0123abcd.xml.gz",
			    .gz = (unsigned char *)"\x1f\x8b binary \x00\xff",
			    .gz_len = 13,
			    .messages = 5 };
	const char *to[] = { "agg@a.example", "x@b.example" };
	struct strbuf mail;
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;
	GMimePart *att = NULL;
	GMimeStream *content;
	GByteArray *bytes;

	author_lib_init();
	strbuf_init(&mail);
	ck_assert_int_eq(report_mail_build(&meta, &r, to, 2, 1000000000, &mail), 0);
	s = g_mime_stream_mem_new_with_buffer(mail.data, mail.len);
	p = g_mime_parser_new_with_stream(s);
	m = g_mime_parser_construct_message(p, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(
		g_mime_message_get_subject(m),
		"Report Domain: a.example Submitter: receiver.example Report-ID: <0123abcd>");
	ck_assert_int_eq(internet_address_list_length(g_mime_message_get_to(m)), 2);
	ck_assert_str_eq(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(
				 internet_address_list_get_address(g_mime_message_get_from(m), 0))),
			 "dmarc@receiver.example");
	{
		GMimeObject *top = g_mime_message_get_mime_part(m);

		ck_assert(GMIME_IS_MULTIPART(top));
		for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(top)); i++) {
			GMimeObject *o = g_mime_multipart_get_part(GMIME_MULTIPART(top), i);

			if (GMIME_IS_PART(o) &&
			    g_mime_content_type_is_type(g_mime_object_get_content_type(o),
							"application", "gzip"))
				att = GMIME_PART(o);
		}
	}
	ck_assert_ptr_nonnull(att);
	ck_assert_str_eq(g_mime_part_get_filename(att), r.file_name);
	content = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(att), content);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(content));
	ck_assert_uint_eq(bytes->len, r.gz_len);
	ck_assert(memcmp(bytes->data, r.gz, r.gz_len) == 0);
	g_object_unref(content);
	g_object_unref(m);
	g_object_unref(p);
	g_object_unref(s);
	strbuf_free(&mail);
}
END_TEST

/* ---------------------------------------------------------------- destinations */

static const char dest_zone[] =
	"; destinations of reports about policy.example (organizational domain:\n"
	"; its own record); the consent records of RFC 9990 section 4\n"
	"_dmarc.policy.example. TXT \"v=DMARC1; p=reject\"\n"
	"policy.example._report._dmarc.yes.example. TXT \"v=DMARC1\"\n"
	"policy.example._report._dmarc.redir.example. TXT \"v=DMARC1; "
	"rua=mailto:other@redir.example\"\n"
	"policy.example._report._dmarc.away.example. TXT \"v=DMARC1; "
	"rua=mailto:x@elsewhere.example\"\n"
	"policy.example._report._dmarc.junk.example. TXT \"v=spf1 -all\"\n"
	"policy.example._report._dmarc.temp.example. SERVFAIL\n";

/* dests - report_mail_destinations for RUA about policy.example */
static enum report_mail_rc dests(struct dns_resolver *dns, struct arena *a, const char *rua,
				 const char *exclude, size_t size, struct strbuf *notes,
				 struct strbuf *list)
{
	const char **to;
	size_t n;
	enum report_mail_rc rc = report_mail_destinations(dns, a, "policy.example", rua, exclude,
							  size, &to, &n, notes);

	for (size_t i = 0; i < n; i++)
		strbuf_printf(list, "%s%s", i ? " " : "", to[i]);
	return rc;
}

START_TEST(destinations_need_consent_outside_the_organization)
{
	char *zone = unit_write_file(dest_zone, sizeof(dest_zone) - 1);
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 500, .fixture_file = zone };
	struct dns_resolver *dns = dns_resolver_new(&o, &errs);
	struct arena *a = arena_new();
	struct strbuf notes, list;

	ck_assert_ptr_nonnull(dns);
	strbuf_init(&notes);
	strbuf_init(&list);
	/* inside the organization: no question; consent; consent with a
	 * redirect on the same host; no consent (no record, or no DMARC
	 * record); a redirect to another host: neither */
	ck_assert_int_eq(
		dests(dns, a,
		      "mailto:a@policy.example,mailto:b@sub.policy.example,mailto:c@yes.example,"
		      "mailto:d@redir.example,mailto:e@no.example,mailto:f@junk.example,"
		      "mailto:g@away.example",
		      "", 1000, &notes, &list),
		RM_OK);
	ck_assert_str_eq(strbuf_cstr(&list),
			 "a@policy.example b@sub.policy.example c@yes.example other@redir.example");
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "no.example does not take reports"));
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "junk.example does not take reports"));
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "g@away.example: its consent names "
							  "another host (elsewhere.example)"));
	/* excluded domains and "!size" */
	strbuf_reset(&list);
	ck_assert_int_eq(dests(dns, a, "mailto:a@policy.example!500,mailto:c@yes.example",
			       "yes.example", 1000, &notes, &list),
			 RM_OK);
	ck_assert_str_eq(strbuf_cstr(&list), "");
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "c@yes.example: excluded"));
	ck_assert_ptr_nonnull(strstr(strbuf_cstr(&notes), "over its limit of 500 bytes"));
	/* a DNS failure: nothing is decided, the report waits for a rerun */
	strbuf_reset(&list);
	ck_assert_int_eq(dests(dns, a, "mailto:a@policy.example,mailto:t@temp.example", "", 1000,
			       &notes, &list),
			 RM_TEMP);
	strbuf_free(&notes);
	strbuf_free(&list);
	arena_free(a);
	dns_resolver_free(dns);
	diag_clear(&errs);
	unit_remove_file(zone);
}
END_TEST

static Suite *dmarc_report_suite(void)
{
	Suite *s = suite_create("dmarc_report");
	TCase *t = tcase_create("all");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, rua_keeps_mailto_addresses_and_sizes);
	tcase_add_test(t, rua_and_fo_in_the_record);
	tcase_add_test(t, entry_dup_is_one_independent_block);
	tcase_add_test(t, store_expires_and_remembers_sent);
	tcase_add_test(t, recorder_writes_everything_pushed);
	tcase_add_test(t, recorder_counts_and_logs_a_store_it_cannot_open);
	tcase_add_test(t, recorder_counts_a_locked_store);
	tcase_add_test(t, recorder_drops_and_counts_when_its_queue_is_full);
	tcase_add_test(t, recorder_expires_old_records);
	tcase_add_test(t, reports_per_domain_counted_valid_and_named);
	tcase_add_test(t, reports_are_reproducible);
	tcase_add_test(t, bad_bytes_stay_well_formed_xml);
	tcase_add_test(t, domain_list_matches_names_and_subdomains);
	tcase_add_test(t, report_mail_carries_the_report);
	tcase_add_test(t, destinations_need_consent_outside_the_organization);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return unit_run(dmarc_report_suite());
}
