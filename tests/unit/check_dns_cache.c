/*
 * check_dns_cache.c - the resolver's answer cache: what is kept, for how
 * long, under which key, and that a hit is a copy the caller owns
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns_cache.h"
#include "unit.h"

/* answer - a result with one TXT-like record holding TEXT and a packet */
static struct dns_result answer(enum dns_status st, const char *text)
{
	struct dns_result r = { .status = st, .rrtype = DNS_T_TXT };

	if (st == DNS_ANSWER) {
		r.n = 1;
		r.rr = calloc(1, sizeof(*r.rr));
		r.rr[0].len = strlen(text);
		r.rr[0].data = (unsigned char *)strdup(text);
	}
	r.packet_len = 3;
	r.packet = (unsigned char *)strdup("pkt");
	return r;
}

START_TEST(hit_is_a_copy)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_result r = answer(DNS_ANSWER, "v=spf1 -all"), got;

	dns_cache_put(c, "Example.ORG.", DNS_T_TXT, &r, 60);
	dns_result_free(&r);	/* the cache kept its own copy */
	ck_assert(dns_cache_get(c, "example.org", DNS_T_TXT, &got));
	ck_assert_int_eq(got.status, DNS_ANSWER);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_mem_eq(got.rr[0].data, "v=spf1 -all", 11);
	ck_assert_uint_eq(got.packet_len, 3);
	dns_result_free(&got);
	ck_assert(dns_cache_get(c, "EXAMPLE.org.", DNS_T_TXT, &got));	/* case, trailing dot */
	dns_result_free(&got);
	ck_assert(!dns_cache_get(c, "example.org", DNS_T_MX, &got));	/* another type */
	ck_assert(!dns_cache_get(c, "www.example.org", DNS_T_TXT, &got));
	dns_cache_free(c);
}
END_TEST

START_TEST(negative_answers_kept_failures_not)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_result nx = answer(DNS_NXDOMAIN, NULL), nd = answer(DNS_NODATA, NULL);
	struct dns_result tf = answer(DNS_TEMPFAIL, NULL), pf = answer(DNS_PERMFAIL, NULL), got;

	dns_cache_put(c, "nx.example", DNS_T_TXT, &nx, 60);
	dns_cache_put(c, "nd.example", DNS_T_TXT, &nd, 60);
	dns_cache_put(c, "tf.example", DNS_T_TXT, &tf, 60);
	dns_cache_put(c, "pf.example", DNS_T_TXT, &pf, 60);
	dns_cache_put(c, "zero.example", DNS_T_TXT, &nx, 0);
	ck_assert(dns_cache_get(c, "nx.example", DNS_T_TXT, &got));
	ck_assert_int_eq(got.status, DNS_NXDOMAIN);
	dns_result_free(&got);
	ck_assert(dns_cache_get(c, "nd.example", DNS_T_TXT, &got));
	ck_assert_int_eq(got.status, DNS_NODATA);
	dns_result_free(&got);
	ck_assert(!dns_cache_get(c, "tf.example", DNS_T_TXT, &got));
	ck_assert(!dns_cache_get(c, "pf.example", DNS_T_TXT, &got));
	ck_assert(!dns_cache_get(c, "zero.example", DNS_T_TXT, &got));
	dns_result_free(&nx);
	dns_result_free(&nd);
	dns_result_free(&tf);
	dns_result_free(&pf);
	dns_cache_free(c);
}
END_TEST

START_TEST(expires_with_its_ttl)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_result r = answer(DNS_ANSWER, "x"), got;

	dns_cache_put(c, "short.example", DNS_T_TXT, &r, 1);
	ck_assert(dns_cache_get(c, "short.example", DNS_T_TXT, &got));
	dns_result_free(&got);
	sleep(2);	/* a TTL of 1 s has surely passed on the monotonic clock */
	ck_assert(!dns_cache_get(c, "short.example", DNS_T_TXT, &got));
	dns_result_free(&r);
	dns_cache_free(c);
}
END_TEST

START_TEST(bounded_by_its_slots)
{
	struct dns_cache *c = dns_cache_new();
	struct dns_result r = answer(DNS_ANSWER, "x"), got;
	char name[64];
	unsigned kept = 0;

	/* Four times as many names as slots: the cache stays bounded, the
	 * newest answers are there, and a replaced one is simply a miss. */
	for (unsigned i = 0; i < 4 * DNS_CACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "n%u.example", i);
		dns_cache_put(c, name, DNS_T_TXT, &r, 60);
	}
	for (unsigned i = 0; i < 4 * DNS_CACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "n%u.example", i);
		if (dns_cache_get(c, name, DNS_T_TXT, &got)) {
			kept++;
			dns_result_free(&got);
		}
	}
	ck_assert_uint_le(kept, DNS_CACHE_SLOTS);
	ck_assert_uint_gt(kept, DNS_CACHE_SLOTS / 2);
	snprintf(name, sizeof(name), "n%u.example", 4 * DNS_CACHE_SLOTS - 1);
	ck_assert(dns_cache_get(c, name, DNS_T_TXT, &got));	/* the last one put */
	dns_result_free(&got);
	dns_result_free(&r);
	dns_cache_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns_cache");
	TCase *tc = tcase_create("cache");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, hit_is_a_copy);
	tcase_add_test(tc, negative_answers_kept_failures_not);
	tcase_add_test(tc, expires_with_its_ttl);
	tcase_add_test(tc, bounded_by_its_slots);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
