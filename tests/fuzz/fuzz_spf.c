/*
 * fuzz_spf.c - libFuzzer target: spf_check() on hostile SPF records. The
 * input's lines (at most four) are the TXT records of fuzz.test,
 * a.fuzz.test, b.fuzz.test and c.fuzz.test, written into a DNS fixture
 * beside fixed records the mechanisms can reach (A, AAAA, MX, PTR,
 * timeouts); the records go through the whole path: dns.c, the record
 * checker, libspf2, the limits. Each input is evaluated for MAIL FROM with
 * an IPv4 and an IPv6 client and for HELO. Invariants: one of RFC 7208's
 * seven results, always with a reason; an explanation only on fail; the
 * counts within the limits; and it ends (libFuzzer's -timeout).
 *
 * The fixture is a memfd, the resolver is the input's (fuzz_dnsfix.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <spf2/spf.h>
#include <sys/socket.h>

#include "auth/spf.h"
#include "auth/spf_servers.h"
#include "conf/config.h"
#include "dns/dns.h"
#include "fuzz_dnsfix.h"
#include "util/arena.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char spf_fixed[] =
	"fuzz.test. A 192.0.2.1\n"
	"fuzz.test. AAAA 2001:db8::1\n"
	"fuzz.test. MX 10 mx.fuzz.test.\n"
	"fuzz.test. MX 20 a.fuzz.test.\n"
	"mx.fuzz.test. A 192.0.2.2\n"
	"mx.fuzz.test. AAAA 2001:db8::2\n"
	"a.fuzz.test. A 198.51.100.1\n"
	"b.fuzz.test. MX 10 mx.fuzz.test.\n"
	"1.2.0.192.in-addr.arpa. PTR mx.fuzz.test.\n"
	"1.2.0.192.in-addr.arpa. PTR fuzz.test.\n"
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR fuzz.test.\n"
	"1.2.0.192.list.fuzz.test. A 127.0.0.2\n"
	"user.fuzz.test. A 127.0.0.2\n"
	"exp.fuzz.test. TXT \"%{i} is not allowed for %{d} (%{s}, %{h}, %{p})\"\n"
	"slow.fuzz.test. TIMEOUT\n"
	"broken.fuzz.test. SERVFAIL\n";

static const char *const spf_owners[] = { "fuzz.test.", "a.fuzz.test.", "b.fuzz.test.",
					  "c.fuzz.test." };

static struct fz_dnsfix spf_fix = { .file = FZ_MEMFD_INIT };

static void spf_cleanup(void) __attribute__((destructor));
static void spf_cleanup(void)
{
	fz_dnsfix_free(&spf_fix);
}

/* spf_load - the fixed records and the input's into the resolver */
static struct dns_resolver *spf_load(const uint8_t *data, size_t size, struct diag *errs)
{
	struct dns_resolver *r;
	struct strbuf sb;
	size_t start = 0;

	strbuf_init(&sb);
	strbuf_puts(&sb, spf_fixed);
	for (size_t rec = 0; rec < 4 && start <= size; rec++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;

		fz_txt_line(&sb, spf_owners[rec], data + start, end - start);
		if (nl == NULL)
			break;
		start = end + 1;
	}
	if (sb.failed)
		abort();
	r = fz_dnsfix_load(&spf_fix, sb.data, sb.len, errs);
	strbuf_free(&sb);
	return r;
}

static void spf_one(struct spf_servers *sv, struct dns_resolver *r, struct arena *a, const char *ip,
		    const char *helo, const char *from, enum spf_which which)
{
	struct spf_query q = {
		.client_ip = ip, .helo = helo, .mailfrom = from, .receiver = "mx.receiver.test"
	};
	struct spf_outcome o;
	struct dns_budget b = { 0 }; /* no SMTP command bound */

	dns_budget_start(&b, 5000);
	if (spf_check(sv, r, &b, a, &q, which, &o) != 0)
		abort(); /* only when out of memory */
	switch (o.result) {
	case AR_PASS:
	case AR_FAIL:
	case AR_SOFTFAIL:
	case AR_NEUTRAL:
	case AR_NONE:
	case AR_TEMPERROR:
	case AR_PERMERROR:
		break;
	default:
		abort();
	}
	if (o.result != AR_FAIL && o.explanation != NULL)
		abort();
	if (o.dns_mechanisms > 11 || o.void_lookups > 3)
		abort();
	if (o.domain == NULL || o.sender == NULL || o.identity == NULL)
		abort();
	/* the header must come out in one piece whatever the reason says */
	if (spf_received_header(a, &o, &q, "mx.receiver.test") == NULL)
		abort();
}

/* libspf2 prints warnings to stderr (an exp= lookup that the DNS layer
 * refused, for one); they say nothing the invariants check, and would
 * clutter make check's replay */
static void spf_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag errs = { 0 };
	struct dns_resolver *r;
	struct spf_servers *sv;
	struct arena *a;

	SPF_warning_handler = spf_quiet;
	if (size > 8192)
		return 0; /* a TXT RRset fits in 64 KB; bigger only slows the search */
	r = spf_load(data, size, &errs);
	if (r == NULL)
		abort(); /* every byte string is a loadable TXT record */
	a = arena_new();
	/* one pool for the three checks: the second and third reuse the
	 * server the first gave back, as the daemon's checks do */
	sv = spf_servers_new();
	if (a == NULL || sv == NULL)
		abort();
	spf_one(sv, r, a, "192.0.2.1", "fuzz.test", "first-last+tag@fuzz.test", SPF_CHECK_MAILFROM);
	spf_one(sv, r, a, "2001:db8::1", "mx.fuzz.test", "user@fuzz.test", SPF_CHECK_MAILFROM);
	spf_one(sv, r, a, "::ffff:198.51.100.1", "fuzz.test", "", SPF_CHECK_HELO);
	spf_servers_free(sv);
	arena_free(a);
	fz_dnsfix_release(&spf_fix);
	diag_clear(&errs);
	return 0;
}
