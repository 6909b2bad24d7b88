/*
 * fuzz_dnsfix.h - a DNS fixture resolver per input, for the targets whose
 * inputs are (or write) DNS fixtures: fuzz_fixture, fuzz_spf, fuzz_dkim,
 * fuzz_dmarc. Included, not linked (static functions).
 *
 * The fixture lives in a memfd. The targets used to rewrite a file under
 * TMPDIR for every input, and truncating a file on a disk mounted with
 * "discard" (as / is here) waits for the device: most of their time at
 * about 50 inputs a second went there (perf: sched_switch in D state under
 * ext4_truncate -> blkdev_issue_discard).
 *
 * The resolver is built per input and freed after it, on purpose: loading
 * one input after another into one resolver is possible, but libunbound
 * never frees removed local data (and ub_ctx_zone_remove(".") keeps it
 * answering), so every input would leave allocations behind; libFuzzer
 * then runs each input a second time hunting a leak (a stop-the-world
 * LeakSanitizer pass, measured slower than building the resolver).
 */
#ifndef FUZZ_DNSFIX_H
#define FUZZ_DNSFIX_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dns/dns.h"
#include "util/strbuf.h"
#include "util/diag.h"

#include "fuzz_memfd.h"

#define FZ_DNSFIX_TIMEOUT_MS 10000 /* per query; budgets: FZ_DNSFIX_BUDGET_MS */
#define FZ_DNSFIX_BUDGET_MS 30000

struct fz_dnsfix {
	struct fz_memfd file; /* FZ_MEMFD_INIT until the first load */
	struct dns_resolver *r;
};

/* fz_dnsfix_load - a resolver answering from TEXT (LEN bytes), or NULL with
 * the reasons in ERRS when the fixture does not load */
static struct dns_resolver *fz_dnsfix_load(struct fz_dnsfix *f, const void *text, size_t len,
					   struct diag *errs)
{
	/* A fixture answers at once, and its TIMEOUT lines fail at once: the
	 * timeout only ever ends a query when the machine stalls (a shared
	 * CPU, LeakSanitizer stopping the threads), and a stall must not pass
	 * for a DNS failure, or the invariants on results would flake. */
	struct dns_options o = { .timeout_ms = FZ_DNSFIX_TIMEOUT_MS };

	o.fixture_file = fz_memfd_write(&f->file, "fuzz-fixture", text, len);
	dns_resolver_free(f->r);
	f->r = dns_resolver_new(&o, errs);
	return f->r;
}

/* fz_dnsfix_release - the input's resolver goes */
static void fz_dnsfix_release(struct fz_dnsfix *f)
{
	dns_resolver_free(f->r);
	f->r = NULL;
}

static void fz_dnsfix_free(struct fz_dnsfix *f)
{
	fz_dnsfix_release(f);
	fz_memfd_close(&f->file);
}

/* fz_txt_line - OWNER's TXT record holding LEN bytes of P: every byte but
 * printable ASCII as \DDD, cut into character-strings of 255 */
static inline void fz_txt_line(struct strbuf *sb, const char *owner, const uint8_t *p, size_t len)
{
	strbuf_printf(sb, "%s TXT", owner);
	if (len == 0)
		strbuf_puts(sb, " \"\"");
	for (size_t off = 0; off < len; off += 255) {
		size_t n = len - off < 255 ? len - off : 255;

		strbuf_puts(sb, " \"");
		for (size_t i = 0; i < n; i++) {
			uint8_t c = p[off + i];

			if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == ';')
				strbuf_printf(sb, "\\%03u", c);
			else
				strbuf_putc(sb, (char)c);
		}
		strbuf_putc(sb, '"');
	}
	strbuf_putc(sb, '\n');
}

#endif
