/*
 * check_dns.c - the shared resolver: every typed status from a fixture
 * (answer, NXDOMAIN, NODATA, TIMEOUT/SERVFAIL/REFUSED lines, malformed
 * names), TXT and name decoding, TXT records in a reply packet, CNAME
 * chains, fixture errors as FILE:LINE,
 * the per-message budget, many threads on one resolver, and a real query
 * timeout against a forwarder on loopback that never answers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "util/strbuf.h"
#include "unit.h"

static const char dns_fixture_text[] =
	"; a comment\n"
	"# another\n"
	"\n"
	"example.org. 300 IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24 -all\"\n"
	"example.org. MX 10 mx1.example.org.\n"
	"example.org. MX 20 mx2.example.org.\n"
	"mx1.example.org. A 192.0.2.10\n"
	"mx1.example.org. AAAA 2001:db8::10\n"
	"alias.example.org. CNAME example.org.\n"
	"loop1.example.org. CNAME loop2.example.org.\n"
	"loop2.example.org. CNAME loop1.example.org.\n"
	"10.2.0.192.in-addr.arpa. PTR mx1.example.org.\n"
	"Slow.Example. TIMEOUT\n"
	"broken.example SERVFAIL\n"
	"refused.example. REFUSED\n";

static struct dns_resolver *dns_fixture(const char *text, char **path)
{
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 2000 };
	struct dns_resolver *r;

	*path = unit_write_file(text, strlen(text));
	o.fixture_file = *path;
	r = dns_resolver_new(&o, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	ck_assert_msg(r != NULL, "fixture did not load");
	diag_clear(&errs);
	return r;
}

/* ask - one query; the status, and the result in OUT for more checks */
static enum dns_status ask(struct dns_resolver *r, const char *name, int type,
			   struct dns_result *out)
{
	dns_query(r, name, type, NULL, out);
	return out->status;
}

START_TEST(dns_fixture_statuses)
{
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_result res;

	ck_assert_int_eq(ask(r, "example.org", DNS_T_TXT, &res), DNS_ANSWER);
	ck_assert_uint_eq(res.n, 1);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "EXAMPLE.ORG.", DNS_T_TXT, &res), DNS_ANSWER);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "example.org", DNS_T_A, &res), DNS_NODATA);
	ck_assert_ptr_null(res.why);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "nothere.example.org", DNS_T_A, &res), DNS_NXDOMAIN);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "other.test", DNS_T_TXT, &res), DNS_NXDOMAIN);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "slow.example", DNS_T_TXT, &res), DNS_TEMPFAIL);
	ck_assert_str_eq(res.why, "timeout");
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "broken.example.", DNS_T_A, &res), DNS_TEMPFAIL);
	ck_assert_str_eq(res.why, "SERVFAIL");
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "refused.example", DNS_T_MX, &res), DNS_TEMPFAIL);
	ck_assert_str_eq(res.why, "REFUSED");
	dns_result_free(&res);
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

START_TEST(dns_malformed_names)
{
	static const char *const bad[] = {
		"", "a..b", "toolonglabel-0123456789012345678901234567890123456789012345678901234.example",
	};
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_result res;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ask(r, bad[i], DNS_T_A, &res), DNS_PERMFAIL);
		ck_assert_ptr_nonnull(res.why);
		dns_result_free(&res);
	}
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

START_TEST(dns_decoding)
{
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_result res;
	struct strbuf sb;
	size_t pos;
	char *name;
	bool saw1 = false, saw2 = false;

	strbuf_init(&sb);
	ck_assert_int_eq(ask(r, "example.org", DNS_T_TXT, &res), DNS_ANSWER);
	ck_assert_int_eq(dns_rdata_txt(&res.rr[0], &sb), 0);
	ck_assert_str_eq(strbuf_cstr(&sb), "v=spf1 ip4:192.0.2.0/24 -all");
	dns_result_free(&res);

	ck_assert_int_eq(ask(r, "example.org", DNS_T_MX, &res), DNS_ANSWER);
	ck_assert_uint_eq(res.n, 2);
	for (size_t i = 0; i < res.n; i++) {
		pos = 2;	/* after the preference */
		name = dns_rdata_name(&res.rr[i], &pos);
		ck_assert_ptr_nonnull(name);
		ck_assert_uint_eq(pos, res.rr[i].len);
		saw1 |= strcmp(name, "mx1.example.org") == 0;
		saw2 |= strcmp(name, "mx2.example.org") == 0;
		free(name);
	}
	ck_assert(saw1 && saw2);
	dns_result_free(&res);

	ck_assert_int_eq(ask(r, "mx1.example.org", DNS_T_AAAA, &res), DNS_ANSWER);
	ck_assert_uint_eq(res.rr[0].len, 16);
	dns_result_free(&res);
	ck_assert_int_eq(ask(r, "10.2.0.192.in-addr.arpa", DNS_T_PTR, &res), DNS_ANSWER);
	pos = 0;
	name = dns_rdata_name(&res.rr[0], &pos);
	ck_assert_str_eq(name, "mx1.example.org");
	free(name);
	dns_result_free(&res);

	/* malformed rdata: a TXT length past the end, a name past the end */
	{
		unsigned char txt[] = { 5, 'a', 'b' };
		unsigned char dname[] = { 3, 'a', 'b' };
		struct dns_rdata bad_txt = { sizeof(txt), txt }, bad_name = { sizeof(dname), dname };

		strbuf_reset(&sb);
		ck_assert_int_eq(dns_rdata_txt(&bad_txt, &sb), -1);
		pos = 0;
		ck_assert_ptr_null(dns_rdata_name(&bad_name, &pos));
		pos = 3;
		ck_assert_ptr_null(dns_rdata_name(&bad_name, &pos));
	}
	strbuf_free(&sb);
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

/* a reply to "k.example. TXT" with ANCOUNT answers of RDATA (a CLASS) */
static size_t packet_with(unsigned char *out, const unsigned char *rr, size_t rrlen, int ancount)
{
	static const unsigned char head[] = { 0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					      1,    'k',  7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',
					      0,    0,	  16,	0,    1 };

	memcpy(out, head, sizeof(head));
	out[7] = (unsigned char)ancount;
	memcpy(out + sizeof(head), rr, rrlen);
	return sizeof(head) + rrlen;
}

struct txt_seen {
	char text[64][64];
	size_t n;
};

static bool txt_record(void *ctx, const char *text, size_t len)
{
	struct txt_seen *t = ctx;

	ck_assert_uint_lt(len, 64);
	memcpy(t->text[t->n], text, len);
	t->text[t->n++][len] = '\0';
	return true;
}

/* What a reader of the reply packet may read: every TXT record of the
 * answer, of any class (libopendkim does not look at the class), its
 * strings joined; a string whose length runs past its record is no reply
 * at all, not a record to skip. */
START_TEST(dns_packet_txt)
{
	/* owner = the question (pointer 0xc00c), TYPE TXT, CLASS, TTL 300 */
	static const unsigned char two[] = {
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 44, 0, 8, 3, 'a', '=', '1', 3, 'p', '=', 'x',
		0xc0, 0x0c, 0, 16, 0, 3, 0, 0, 1, 44, 0, 4, 3, 'c', 'h', '!' /* class CH */
	};
	static const unsigned char bad[] = {
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 44, 0, 5, 3, 'p', '=', 'x', 5 /* past the end */
	};
	static const unsigned char a_rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1 };
	unsigned char pkt[512];
	struct txt_seen seen = { .n = 0 };
	size_t len = packet_with(pkt, two, sizeof(two), 2);

	ck_assert_int_eq(dns_packet_txt_each(pkt, len, txt_record, &seen), 0);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.text[0], "a=1p=x");
	ck_assert_str_eq(seen.text[1], "ch!");
	seen.n = 0;
	len = packet_with(pkt, bad, sizeof(bad), 1);
	ck_assert_int_eq(dns_packet_txt_each(pkt, len, txt_record, &seen), -1);
	ck_assert_uint_eq(seen.n, 0);
	len = packet_with(pkt, a_rr, sizeof(a_rr), 1);
	ck_assert_int_eq(dns_packet_txt_each(pkt, len, txt_record, &seen), 0);
	ck_assert_uint_eq(seen.n, 0); /* not a TXT record */
	ck_assert_int_eq(dns_packet_txt_each(pkt, 11, txt_record, &seen), -1); /* cut short */
}
END_TEST

/* Records are walked by their lengths, as libopendkim walks them: bytes a
 * CNAME's rdata holds after its name are not a record of their own (ldns
 * read them as one, and took the TXT behind for the additional section),
 * and many empty strings are cheap. */
START_TEST(dns_packet_txt_walk)
{
	static const unsigned char cname_then_txt[] = {
		/* CNAME to the question's name, then an "A record" hidden in its rdata */
		0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 1, 44, 0, 17, 0xc0, 0x0c, 0, 0, 1, 0, 1, 0, 0, 1,
		44, 0, 4, 192, 0, 2, 1,
		/* the TXT record libopendkim would read */
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 44, 0, 4, 3, 'p', '=', 'k'
	};
	static unsigned char pkt[9000], rr[8200];
	struct txt_seen seen = { .n = 0 };
	size_t len = packet_with(pkt, cname_then_txt, sizeof(cname_then_txt), 2);

	ck_assert_int_eq(dns_packet_txt_each(pkt, len, txt_record, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_str_eq(seen.text[0], "p=k");
	/* one TXT record of 8,100 empty strings */
	memcpy(rr, (const unsigned char[]){ 0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 44, 8100 >> 8,
					    8100 & 0xff },
	       12);
	memset(rr + 12, 0, 8100);
	seen.n = 0;
	len = packet_with(pkt, rr, 12 + 8100, 1);
	ck_assert_int_eq(dns_packet_txt_each(pkt, len, txt_record, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_str_eq(seen.text[0], "");
}
END_TEST

START_TEST(dns_cname)
{
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_result res;

	ck_assert_int_eq(ask(r, "alias.example.org", DNS_T_TXT, &res), DNS_ANSWER);
	dns_result_free(&res);
	/* a CNAME loop ends, it does not spin */
	ck_assert_int_ne(ask(r, "loop1.example.org", DNS_T_TXT, &res), DNS_ANSWER);
	dns_result_free(&res);
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

START_TEST(dns_fixture_errors)
{
	static const char text[] =
		"ok.example. A 192.0.2.1\n"
		"\n"
		"bad.example. A 999.1.1.1\n"
		"bad2.example. NOSUCHTYPE x\n"
		"fine.example. TXT \"x\"\n";
	struct diag errs = { 0 };
	char *path = unit_write_file(text, strlen(text));
	struct dns_options o = { .timeout_ms = 1000, .fixture_file = path };
	char want[512];

	ck_assert_ptr_null(dns_resolver_new(&o, &errs));
	ck_assert_uint_eq(errs.n, 2);
	snprintf(want, sizeof(want), "%s:3: bad record", path);
	ck_assert_msg(strncmp(errs.lines[0], want, strlen(want)) == 0, "got %s", errs.lines[0]);
	snprintf(want, sizeof(want), "%s:4: bad record", path);
	ck_assert_msg(strncmp(errs.lines[1], want, strlen(want)) == 0, "got %s", errs.lines[1]);
	diag_clear(&errs);
	unit_remove_file(path);

	o.fixture_file = "/nonexistent/fixture";
	ck_assert_ptr_null(dns_resolver_new(&o, &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert(strstr(errs.lines[0], "/nonexistent/fixture:0: cannot open") != NULL);
	diag_clear(&errs);
}
END_TEST

START_TEST(dns_budget_used_up)
{
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_budget b = { 0 }; /* no SMTP command bound */
	struct dns_result res;

	dns_budget_start(&b, 0);
	dns_query(r, "example.org", DNS_T_TXT, &b, &res);
	ck_assert_int_eq(res.status, DNS_TEMPFAIL);
	ck_assert(strstr(res.why, "budget") != NULL);
	ck_assert_uint_eq(b.queries, 1);
	dns_result_free(&res);
	dns_budget_start(&b, 10000);
	dns_query(r, "example.org", DNS_T_TXT, &b, &res);
	ck_assert_int_eq(res.status, DNS_ANSWER);
	dns_result_free(&res);
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

struct dns_thread_arg {
	struct dns_resolver *r;
	int failures;
};

static void *dns_thread(void *p)
{
	struct dns_thread_arg *a = p;

	for (int i = 0; i < 200; i++) {
		struct dns_result res;
		enum dns_status want = i % 2 ? DNS_ANSWER : DNS_NXDOMAIN;

		dns_query(a->r, i % 2 ? "mx1.example.org" : "no.example.org", DNS_T_A, NULL, &res);
		a->failures += res.status != want;
		dns_result_free(&res);
	}
	return NULL;
}

START_TEST(dns_threads)
{
	char *path;
	struct dns_resolver *r = dns_fixture(dns_fixture_text, &path);
	struct dns_thread_arg args[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		args[i].r = r;
		args[i].failures = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, dns_thread, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	dns_resolver_free(r);
	unit_remove_file(path);
}
END_TEST

/* silent_forwarder - a UDP socket on loopback that takes queries and never
 * answers; its "127.0.0.1@PORT" into FWD; returns the socket */
static int silent_forwarder(char *fwd, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(fwd, len, "127.0.0.1@%u", ntohs(sa.sin_port));
	return fd;
}

START_TEST(dns_real_timeout)
{
	/* A forwarder that receives queries and never answers: the query must
	 * come back as a timeout, not hang (Check's own test timeout would
	 * fail this test if it hung). */
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 300 };
	struct dns_resolver *r;
	struct dns_result res;
	char fwd[64];
	int fd = silent_forwarder(fwd, sizeof(fwd));

	o.forwarders = fwd;
	r = dns_resolver_new(&o, &errs);
	ck_assert_ptr_nonnull(r);
	dns_query(r, "example.org", DNS_T_TXT, NULL, &res);
	ck_assert_int_eq(res.status, DNS_TEMPFAIL);
	ck_assert_str_eq(res.why, "timeout");
	dns_result_free(&res);
	dns_resolver_free(r);
	close(fd);
	diag_clear(&errs);
}
END_TEST

START_TEST(dns_command_budget)
{
	/* A silent forwarder, a query timeout of 5 s, a message budget of 10 s
	 * and an SMTP command's budget of 200 ms: the command's bound ends the
	 * wait and the reason names it (a HELO check's lookups used to run
	 * against the connection's budget only). Then a new command starts a
	 * new bound; a spent message budget still wins. */
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 5000 };
	struct dns_resolver *r;
	struct dns_budget b = { 0 };
	struct dns_result res;
	char fwd[64];
	int fd = silent_forwarder(fwd, sizeof(fwd));

	o.forwarders = fwd;
	r = dns_resolver_new(&o, &errs);
	ck_assert_ptr_nonnull(r);
	dns_budget_start(&b, 10000);
	dns_budget_command(&b, 200);
	dns_query(r, "example.org", DNS_T_TXT, &b, &res);
	ck_assert_int_eq(res.status, DNS_TEMPFAIL);
	ck_assert_str_eq(res.why, "DNS budget for this SMTP command used up");
	dns_result_free(&res);
	/* the command's bound is spent: the next query of it fails at once */
	dns_query(r, "example.net", DNS_T_TXT, &b, &res);
	ck_assert_str_eq(res.why, "DNS budget for this SMTP command used up");
	dns_result_free(&res);
	/* the message's bound, when it is the earlier one, is named instead */
	dns_budget_command(&b, 5000);
	dns_budget_start(&b, 150);
	dns_query(r, "example.com", DNS_T_TXT, &b, &res);
	ck_assert_str_eq(res.why, "DNS budget for this message used up");
	dns_result_free(&res);
	dns_resolver_free(r);
	close(fd);
	diag_clear(&errs);
}
END_TEST

START_TEST(dns_bad_forwarder)
{
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 300, .forwarders = "127.0.0.1@53, not-an-ip" };

	ck_assert_ptr_null(dns_resolver_new(&o, &errs));
	ck_assert_uint_ge(errs.n, 1);
	ck_assert(strstr(errs.lines[errs.n - 1], "not-an-ip") != NULL);
	diag_clear(&errs);
}
END_TEST

static Suite *dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, dns_fixture_statuses);
	tcase_add_test(tc, dns_malformed_names);
	tcase_add_test(tc, dns_decoding);
	tcase_add_test(tc, dns_cname);
	tcase_add_test(tc, dns_packet_txt);
	tcase_add_test(tc, dns_packet_txt_walk);
	tcase_add_test(tc, dns_fixture_errors);
	tcase_add_test(tc, dns_budget_used_up);
	tcase_add_test(tc, dns_threads);
	tcase_add_test(tc, dns_real_timeout);
	tcase_add_test(tc, dns_command_budget);
	tcase_add_test(tc, dns_bad_forwarder);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(dns_suite());
}
