/*
 * fuzz_fixture.c - libFuzzer target: the DNS fixture parser (dns_fixture.c)
 * and the resolver built on it. The input is written to a file that a
 * resolver loads; then a few names are asked: the owner names of the
 * input's first lines (so records and faults that loaded get queried),
 * and fixed ones. Invariants: a fixture that does not load says why, every
 * reason as PATH:LINE: message; one that loads answers every question with
 * a known status, a reason exactly for the failures, records only with an
 * answer, and a name listed as a fault fails that way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/config.h"
#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fixture_path[4096];

/* fixture_file - the one file every input is written to */
static void fixture_write(const uint8_t *data, size_t size)
{
	FILE *fp;

	if (fixture_path[0] == '\0') {
		const char *dir = getenv("TMPDIR");
		int fd;

		snprintf(fixture_path, sizeof(fixture_path), "%s/fuzz-fixture-XXXXXX",
			 dir && *dir ? dir : "/tmp");
		fd = mkstemp(fixture_path);
		if (fd < 0)
			abort();
		close(fd);
	}
	fp = fopen(fixture_path, "wb");
	if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
}

static void fixture_cleanup(void) __attribute__((destructor));
static void fixture_cleanup(void)
{
	if (fixture_path[0] != '\0')
		unlink(fixture_path);
}

/* ask - one question; abort if the result breaks dns.h's contract */
static void ask(struct dns_resolver *r, const char *name, int type, const char *fault)
{
	struct dns_result res;

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
	dns_result_free(&res);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNS_T_A, DNS_T_TXT, DNS_T_MX, DNS_T_AAAA, DNS_T_PTR };
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 1000 };
	struct dns_resolver *r;
	char w1[256], w2[16];

	fixture_write(data, size);
	o.fixture_file = fixture_path;
	r = dns_resolver_new(&o, &errs);
	if (r == NULL) {
		size_t plen = strlen(fixture_path);

		if (errs.n == 0)
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strncmp(errs.lines[i], fixture_path, plen) != 0 ||
			    errs.lines[i][plen] != ':')
				abort();
		diag_clear(&errs);
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
	ask(r, "example.org", DNS_T_TXT, NULL);
	ask(r, "1.2.0.192.in-addr.arpa", DNS_T_PTR, NULL);
	dns_resolver_free(r);
	diag_clear(&errs);
	return 0;
}
