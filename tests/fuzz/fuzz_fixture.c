/*
 * fuzz_fixture.c - libFuzzer target: the DNS fixture parser (dns_fixture.c)
 * and the resolver built on it. The input is written to a file that a
 * resolver loads; then a few names are asked: the owner names of the
 * input's first lines (so records and faults that loaded get queried),
 * and fixed ones. Invariants: a fixture that does not load says why, every
 * reason as PATH:LINE: message; one that loads answers every question with
 * a known status, a reason exactly for the failures, records only with an
 * answer, and a name listed as a fault fails that way; and a name the
 * fixture does not hold is NXDOMAIN (dns.h): example.org, unless the
 * input names it.
 *
 * The fixture is a memfd, the resolver is the input's (fuzz_dnsfix.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/config.h"
#include "dns/dns.h"
#include "fuzz_dnsfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_dnsfix fz_fix = { .file = FZ_MEMFD_INIT };

static void fixture_cleanup(void) __attribute__((destructor));
static void fixture_cleanup(void)
{
	fz_dnsfix_free(&fz_fix);
}

/* ask - one question; abort if the result breaks dns.h's contract */
static enum dns_status ask(struct dns_resolver *r, const char *name, int type, const char *fault)
{
	struct dns_result res;
	enum dns_status st;

	dns_query(r, name, type, NULL, &res);
	switch (res.status) {
	case DNS_ANSWER:
		if (res.n == 0 || res.rr == NULL || res.why != NULL)
			abort();
		for (size_t i = 0; i < res.n; i++)
			if (res.rr[i].data == NULL && res.rr[i].len != 0)
				abort();
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (res.n != 0 || res.why != NULL)
			abort();
		break;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
		if (res.n != 0 || res.why == NULL || *res.why == '\0')
			abort();
		break;
	default:
		abort();
	}
	/* A fault line for a name that is a valid domain name fails that way
	 * (a record for the same name does not override it). */
	if (fault != NULL && res.status != DNS_PERMFAIL &&
	    (res.status != DNS_TEMPFAIL || strcmp(res.why, fault) != 0))
		abort();
	st = res.status;
	dns_result_free(&res);
	return st;
}

/* first_words - the first words of line N of TEXT as dns_fixture.c reads
 * them; the number of words found (at most 3), -1 past the end */
static int first_words(const char *text, size_t size, int n, char *w1, char *w2)
{
	char w3[2];
	const char *p = text, *end = text + size;
	char line[600];
	size_t len;

	for (int i = 0; i < n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return -1;
		p = nl + 1;
	}
	len = (size_t)(end - p);
	if (memchr(p, '\n', len) != NULL)
		len = (size_t)((const char *)memchr(p, '\n', len) - p);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, p, len);
	line[len] = '\0';
	w1[0] = w2[0] = '\0';
	return sscanf(line, "%255s %15s %1s", w1, w2, w3);
}

static const char *fault_why(const char *word)
{
	if (strcasecmp(word, "TIMEOUT") == 0)
		return "timeout";
	if (strcasecmp(word, "SERVFAIL") == 0)
		return "SERVFAIL";
	if (strcasecmp(word, "REFUSED") == 0)
		return "REFUSED";
	return NULL;
}

/* mentions_example - the input may name example.org: it says so, or holds
 * an escape, a wildcard or a DNAME that could */
static bool mentions_example(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\\' || data[i] == '*' ||
		    (size - i >= 11 &&
		     strncasecmp((const char *)data + i, "example.org", 11) == 0) ||
		    (size - i >= 5 && strncasecmp((const char *)data + i, "dname", 5) == 0))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNS_T_A, DNS_T_TXT, DNS_T_MX, DNS_T_AAAA, DNS_T_PTR };
	struct diag errs = { 0 };
	struct dns_resolver *r = fz_dnsfix_load(&fz_fix, data, size, &errs);
	char w1[256], w2[16];

	if (r == NULL) {
		size_t plen = strlen(fz_fix.file.path);

		if (errs.n == 0)
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strncmp(errs.lines[i], fz_fix.file.path, plen) != 0 ||
			    errs.lines[i][plen] != ':')
				abort();
		diag_clear(&errs);
		fz_dnsfix_release(&fz_fix);
		return 0;
	}
	if (errs.n != 0)
		abort();
	for (int line = 0; line < 4; line++) {
		const char *fault;
		int words = first_words((const char *)data, size, line, w1, w2);

		if (words < 1 || w1[0] == ';' || w1[0] == '#')
			continue;
		fault = words == 2 ? fault_why(w2) : NULL;
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			ask(r, w1, types[t], fault);
	}
	if (ask(r, "example.org", DNS_T_TXT, NULL) != DNS_NXDOMAIN && !mentions_example(data, size))
		abort(); /* not in the fixture, yet not NXDOMAIN */
	ask(r, "1.2.0.192.in-addr.arpa", DNS_T_PTR, NULL);
	diag_clear(&errs);
	fz_dnsfix_release(&fz_fix);
	return 0;
}
