/*
 * check_spf.c - SPF (RFC 7208) over a DNS fixture: the seven results, every
 * mechanism and modifier, CIDR lengths, the DNS lookup limits of section
 * 4.6.4 (10 terms, 2 void lookups, 10 MX names), loops, long records,
 * macros (including hostile ones), the identities (HELO, MAIL FROM, null
 * sender, quoted local parts, IPv4-mapped clients), the DNS budget and the
 * Received-SPF header.
 *
 * Most cases are rows of one table, run as a loop test: one identity, one
 * client, the result RFC 7208 gives (with the section in a comment), and
 * what the reason must mention. Where gatehouse does not give RFC 7208's
 * result today the row says so (TODAY(rfc, today)) and asserts today's
 * result, so that a fix shows up as a failing row to update instead of
 * passing unnoticed; the comment above such a row says what is wrong.
 * Every row must finish within SPF_CASE_MS; Check's tcase timeout is the
 * guard against a hang.
 */
#include <string.h>
#include <time.h>

#include "util/arena.h"
#include "dns/dns.h"
#include "auth/spf.h"
#include "auth/spf_servers.h"
#include "util/strbuf.h"
#include "unit.h"

#define SPF_CASE_MS 3000	/* a fixture answers in microseconds; 3 s means stuck */

#define L63 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define L70 L63 "yyyyyyy"

/* The fixed part of the fixture; spf_fixture_text() adds the generated part. */
static const char spf_fixture_base[] =
	"; results (RFC 7208 2.6)\n"
	"pass.test. TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\"\n"
	"softfail.test. TXT \"v=spf1 ip4:192.0.2.0/24 ~all\"\n"
	"neutral.test. TXT \"v=spf1 ip4:192.0.2.0/24 ?all\"\n"
	"noall.test. TXT \"v=spf1 ip4:192.0.2.0/24\"\n"
	"empty.test. TXT \"v=spf1\"\n"
	"plusall.test. TXT \"v=spf1 +all\"\n"
	"failall.test. TXT \"v=spf1 -all\"\n"
	"notspf.test. TXT \"v=spf10 -all\"\n"
	"notspf.test. TXT \"site-verification=abc\"\n"
	"othertxt.test. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"othertxt.test. TXT \"some unrelated text\"\n"
	"timeout.test. TIMEOUT\n"
	"servfail.test. SERVFAIL\n"
	"refused.test. REFUSED\n"
	"badip.test. TXT \"v=spf1 ip4:192.0.2.300 -all\"\n"
	"badmech.test. TXT \"v=spf1 frobnicate:x.test -all\"\n"
	"tworecs.test. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"tworecs.test. TXT \"v=spf1 -all\"\n"
	"tld. TXT \"v=spf1 -all\"\n"
	"\n"
	"; ip4 / ip6 and their CIDR lengths (RFC 7208 5.6)\n"
	"cidr.test. TXT \"v=spf1 ip4:192.0.2.128/25 ip6:2001:db8:1::/48 -all\"\n"
	"cidr-host.test. TXT \"v=spf1 ip4:192.0.2.1/32 ip6:2001:db8::1/128 -all\"\n"
	"cidr4-0.test. TXT \"v=spf1 ip4:0.0.0.0/0 -all\"\n"
	"cidr6-0.test. TXT \"v=spf1 ip6:::/0 -all\"\n"
	"cidr4-33.test. TXT \"v=spf1 ip4:192.0.2.0/33 -all\"\n"
	"cidr6-129.test. TXT \"v=spf1 ip6:2001:db8::/129 -all\"\n"
	"v6only.test. TXT \"v=spf1 ip6:2001:db8::/32 -all\"\n"
	"a0.test. TXT \"v=spf1 a/0 -all\"\n"
	"a0.test. A 192.0.2.10\n"
	"a0.test. AAAA 2001:db8::10\n"
	"a0-none.test. TXT \"v=spf1 a/0 -all\"\n"
	"a0-none.test. MX 10 mail.mx.test.\n"
	"a60.test. TXT \"v=spf1 a//0 -all\"\n"
	"a60.test. AAAA 2001:db8::10\n"
	"mx0.test. TXT \"v=spf1 mx/0//0 -all\"\n"
	"mx0.test. MX 10 mail.mx.test.\n"
	"mx3.test. TXT \"v=spf1 mx mx mx ip6:2001:db8::/32 -all\"\n"
	"mx3.test. MX 10 mail.mx.test.\n"
	"mx60-3.test. TXT \"v=spf1 mx//0 mx//0 mx//0 ip6:2001:db8::/32 -all\"\n"
	"mx60-3.test. MX 10 mail.mx.test.\n"
	"\n"
	"; a, mx, ptr, exists, include, redirect (RFC 7208 5.2-5.7, 6.1)\n"
	"a.test. TXT \"v=spf1 a -all\"\n"
	"a.test. A 192.0.2.10\n"
	"a.test. AAAA 2001:db8::10\n"
	"a-cidr.test. TXT \"v=spf1 a:host.a-cidr.test/24//64 -all\"\n"
	"host.a-cidr.test. A 192.0.2.77\n"
	"host.a-cidr.test. AAAA 2001:db8:0:1::77\n"
	"mx.test. TXT \"v=spf1 mx -all\"\n"
	"mx.test. MX 10 mail.mx.test.\n"
	"mx.test. MX 20 backup.mx.test.\n"
	"mail.mx.test. A 192.0.2.20\n"
	"backup.mx.test. AAAA 2001:db8::20\n"
	"mx-temp.test. TXT \"v=spf1 mx -all\"\n"
	"mx-temp.test. MX 10 servfail.test.\n"
	"ptr.test. TXT \"v=spf1 ptr -all\"\n"
	"30.2.0.192.in-addr.arpa. PTR host.ptr.test.\n"
	"31.2.0.192.in-addr.arpa. PTR liar.ptr.test.\n"
	"host.ptr.test. A 192.0.2.30\n"
	"liar.ptr.test. A 192.0.2.99\n"
	"exists.test. TXT \"v=spf1 exists:%{ir}.list.exists.test -all\"\n"
	"1.2.0.192.list.exists.test. A 127.0.0.2\n"
	"include.test. TXT \"v=spf1 include:pass.test -all\"\n"
	"include-fail.test. TXT \"v=spf1 include:failall.test ip4:192.0.2.0/24 -all\"\n"
	"include-none.test. TXT \"v=spf1 include:nothing.test -all\"\n"
	"include-temp.test. TXT \"v=spf1 include:timeout.test -all\"\n"
	"include-perm.test. TXT \"v=spf1 include:badmech.test -all\"\n"
	"redirect.test. TXT \"v=spf1 redirect=pass.test\"\n"
	"redirect-none.test. TXT \"v=spf1 redirect=nothing.test\"\n"
	"redirect-all.test. TXT \"v=spf1 -all redirect=plusall.test\"\n"
	"a-temp.test. TXT \"v=spf1 a:timeout.test ip4:192.0.2.0/24 -all\"\n"
	"\n"
	"; the limits of RFC 7208 4.6.4 (h1..h12.lim.test are generated)\n"
	"ok.lim.test. A 192.0.2.1\n"
	"inc.lim.test. TXT \"v=spf1 a:h1.lim.test -all\"\n"
	"red.lim.test. TXT \"v=spf1 -all\"\n"
	"red2.lim.test. TXT \"v=spf1 a:h8.lim.test -all\"\n"
	"mixed-ten.test. TXT \"v=spf1 include:inc.lim.test mx:mx.test ptr "
	"exists:%{ir}.list.exists.test a:h4.lim.test a:h5.lim.test a:h6.lim.test "
	"a:h7.lim.test redirect=red.lim.test\"\n"
	"mixed-eleven.test. TXT \"v=spf1 include:inc.lim.test mx:mx.test ptr "
	"exists:%{ir}.list.exists.test a:h4.lim.test a:h5.lim.test a:h6.lim.test "
	"a:h7.lim.test redirect=red2.lim.test\"\n"
	"nodata.void.test. A 192.0.2.200\n"
	"void2.test. TXT \"v=spf1 a:nx1.void.test mx:nodata.void.test ip4:192.0.2.0/24 -all\"\n"
	"void3.test. TXT \"v=spf1 a:nx1.void.test mx:nodata.void.test exists:nx2.void.test "
	"ip4:192.0.2.0/24 -all\"\n"
	"loop-a.test. TXT \"v=spf1 include:loop-b.test -all\"\n"
	"loop-b.test. TXT \"v=spf1 include:loop-a.test -all\"\n"
	"self-redirect.test. TXT \"v=spf1 redirect=self-redirect.test\"\n"
	"why.lim.test. TXT \"you are not %{i}\"\n"
	"exp-void.test. TXT \"v=spf1 a:nx1.void.test a:nx2.void.test -all exp=nothing.test\"\n"
	"exp-temp.test. TXT \"v=spf1 -all exp=timeout.test\"\n"
	"exp-temp-neutral.test. TXT \"v=spf1 ?all exp=timeout.test\"\n"
	"p-ten.test. TXT \"v=spf1 a:h1.lim.test a:h2.lim.test a:h3.lim.test a:h4.lim.test "
	"a:h5.lim.test a:h6.lim.test a:h7.lim.test a:h8.lim.test a:h9.lim.test "
	"exists:%{p}.p.macro.test -all\"\n"
	"\n"
	"; macros (RFC 7208 7)\n"
	"l.macro.test. TXT \"v=spf1 exists:%{l}.users.macro.test -all\"\n"
	"alice.users.macro.test. A 127.0.0.2\n"
	"postmaster.users.macro.test. A 127.0.0.2\n"
	"d.macro.test. TXT \"v=spf1 exists:%{d}.domains.macro.test -all\"\n"
	"d.macro.test.domains.macro.test. A 127.0.0.2\n"
	"i.macro.test. TXT \"v=spf1 exists:%{i}.ips.macro.test -all\"\n"
	"192.0.2.1.ips.macro.test. A 127.0.0.2\n"
	"ir.macro.test. TXT \"v=spf1 exists:%{ir}.%{v}.arpa.macro.test -all\"\n"
	"1.2.0.192.in-addr.arpa.macro.test. A 127.0.0.2\n"
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.macro.test. "
	"A 127.0.0.2\n"
	"sub.deep.d2.test. TXT \"v=spf1 exists:%{d2}.two.macro.test -all\"\n"
	"d2.test.two.macro.test. A 127.0.0.2\n"
	"dash1.macro.test. TXT \"v=spf1 exists:%{l1r-}.lr.macro.test -all\"\n"
	"first.lr.macro.test. A 127.0.0.2\n"
	"dash2.macro.test. TXT \"v=spf1 exists:%{l-}.ld.macro.test -all\"\n"
	"first.last.ld.macro.test. A 127.0.0.2\n"
	"multidelim.macro.test. TXT \"v=spf1 exists:%{l2r+-}.md.macro.test -all\"\n"
	"bar.foo.md.macro.test. A 127.0.0.2\n"
	"p.macro.test. TXT \"v=spf1 exists:%{p}.p.macro.test -all\"\n"
	"host.ptr.test.p.macro.test. A 127.0.0.2\n"
	"h.macro.test. TXT \"v=spf1 exists:%{h}.helo.macro.test -all\"\n"
	"mx.example.org.helo.macro.test. A 127.0.0.2\n"
	"d4.macro.test. TXT \"v=spf1 exists:%{d4}.x.macro.test -all\"\n"
	"d4.macro.test.x.macro.test. A 127.0.0.2\n"
	"d127.macro.test. TXT \"v=spf1 exists:%{d127}.x.macro.test -all\"\n"
	"d127.macro.test.x.macro.test. A 127.0.0.2\n"
	"d0.macro.test. TXT \"v=spf1 exists:%{d0}.x.macro.test -all\"\n"
	"dhuge.macro.test. TXT \"v=spf1 exists:%{d99999999999999999999}.x.macro.test -all\"\n"
	"badletter.macro.test. TXT \"v=spf1 exists:%{x}.x.macro.test -all\"\n"
	"trailing.macro.test. TXT \"v=spf1 exists:x.macro.test% -all\"\n"
	"unclosed.macro.test. TXT \"v=spf1 exists:%{l.x.macro.test -all\"\n"
	"expl.test. TXT \"v=spf1 -all exp=why.expl.test\"\n"
	"why.expl.test. TXT \"%{i} is not one of %{d}'s designated mail servers.%_%%%-\"\n"
	"upper.macro.test. TXT \"v=spf1 -all exp=why.upper.macro.test\"\n"
	"why.upper.macro.test. TXT \"see %{L}\"\n"
	"label.macro.test. TXT \"v=spf1 exists:%{l}.label.macro.test -all\"\n"
	"pmany.macro.test. TXT \"v=spf1 exists:%{p}%{p}%{p}%{p}%{p}%{p}%{p}%{p}%{p}%{p}.x.macro.test"
	" -all\"\n"
	"incmacro.macro.test. TXT \"v=spf1 include:%{l}.%{d} -all\"\n"
	"bomb.macro.test. TXT \"v=spf1 -all exp=why.bomb.macro.test\"\n"
	"mapped.test. TXT \"v=spf1 exists:%{i}.%{v}.mapped.test -all\"\n"
	"192.0.2.1.in-addr.mapped.test. A 127.0.0.2\n";

/* spf_txt - a TXT line for NAME with TEXT cut into character-strings of at
 * most CHUNK octets (RFC 7208 3.3: they are concatenated without spaces) */
static void spf_txt(struct strbuf *sb, const char *name, const char *text, size_t chunk)
{
	size_t len = strlen(text);

	strbuf_printf(sb, "%s TXT", name);
	for (size_t off = 0; off < len; off += chunk)
		strbuf_printf(sb, " \"%.*s\"", (int)(len - off < chunk ? len - off : chunk), text + off);
	strbuf_putc(sb, '\n');
}

/* spf_fixture_text - the whole fixture (malloc'd) */
static char *spf_fixture_text(void)
{
	struct strbuf sb, rec;
	char *text;

	strbuf_init(&sb);
	strbuf_init(&rec);
	strbuf_puts(&sb, spf_fixture_base);

	/* a:h1..a:h12: names that answer, never with the client */
	for (int i = 1; i <= 12; i++)
		strbuf_printf(&sb, "h%d.lim.test. A 198.51.100.%d\n", i, i);
	/* exactly 10 a: terms, a miss and a hit on the tenth; 11 terms */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 10; i++)
		strbuf_printf(&rec, " a:h%d.lim.test", i);
	strbuf_puts(&rec, " -all");
	spf_txt(&sb, "ten.test.", strbuf_cstr(&rec), 200);
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 9; i++)
		strbuf_printf(&rec, " a:h%d.lim.test", i);
	strbuf_puts(&rec, " a:ok.lim.test -all");
	spf_txt(&sb, "ten-last.test.", strbuf_cstr(&rec), 200);
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 10; i++)
		strbuf_printf(&rec, " a:h%d.lim.test", i);
	strbuf_puts(&rec, " a:ok.lim.test -all");
	spf_txt(&sb, "eleven.test.", strbuf_cstr(&rec), 200);
	/* ten terms and an exp= (not a term, RFC 7208 4.6.4 and 6.2) */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 10; i++)
		strbuf_printf(&rec, " a:h%d.lim.test", i);
	strbuf_puts(&rec, " -all exp=why.lim.test");
	spf_txt(&sb, "ten-exp.test.", strbuf_cstr(&rec), 200);
	/* six includes that fail, and an exp= */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 6; i++)
		strbuf_printf(&rec, " include:i%d.inc.test", i);
	strbuf_puts(&rec, " -all exp=why.lim.test");
	spf_txt(&sb, "inc-exp.test.", strbuf_cstr(&rec), 200);
	/* 20 includes; the first one lets 198.51.100.201 in */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 20; i++) {
		strbuf_printf(&rec, " include:i%d.inc.test", i);
		strbuf_printf(&sb, "i%d.inc.test. TXT \"v=spf1 %s-all\"\n", i,
			      i == 1 ? "ip4:198.51.100.201 " : "");
	}
	strbuf_puts(&rec, " -all");
	spf_txt(&sb, "inc20.test.", strbuf_cstr(&rec), 200);
	/* an MX host name asked again by 11 a: terms: 12 terms */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1 mx:mx.test");
	for (int i = 0; i < 11; i++)
		strbuf_puts(&rec, " a:mail.mx.test");
	strbuf_puts(&rec, " -all");
	spf_txt(&sb, "mx-reuse.test.", strbuf_cstr(&rec), 200);
	/* a redirect chain 15 long */
	for (int i = 1; i < 15; i++)
		strbuf_printf(&sb, "r%d.chain.test. TXT \"v=spf1 redirect=r%d.chain.test\"\n", i, i + 1);
	strbuf_puts(&sb, "r15.chain.test. TXT \"v=spf1 +all\"\n");
	/* MX with 10 names (the client is the tenth) and with 11 */
	for (int i = 1; i <= 11; i++) {
		strbuf_printf(&sb, "m%d.mxn.test. A %s\n", i, i == 10 ? "192.0.2.1" : "198.51.100.150");
		strbuf_printf(&sb, "mx11.test. MX %d m%d.mxn.test.\n", i, i);
		if (i <= 10)
			strbuf_printf(&sb, "mx10.test. MX %d m%d.mxn.test.\n", i, i);
	}
	strbuf_puts(&sb, "mx10.test. TXT \"v=spf1 mx -all\"\nmx11.test. TXT \"v=spf1 mx -all\"\n");

	/* over 512 bytes in several strings, one mechanism cut in two */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 1; i <= 30; i++)
		strbuf_printf(&rec, " ip4:198.51.100.%d", i);
	strbuf_puts(&rec, " ip4:192.0.2.1 -all");
	ck_assert_uint_gt(rec.len, 512);
	spf_txt(&sb, "long.test.", strbuf_cstr(&rec), 100);
	/* 26 ip6 mechanisms, then the client's ip4 and -all */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 0; i < 26; i++)
		strbuf_printf(&rec, " ip6:2001:db8:%x::/48", i + 0x100);
	strbuf_puts(&rec, " ip4:192.0.2.1 -all");
	spf_txt(&sb, "ip6x26.test.", strbuf_cstr(&rec), 200);
	/* 64 and 65 ip4 mechanisms */
	for (int n = 62; n <= 63; n++) {
		strbuf_reset(&rec);
		strbuf_puts(&rec, "v=spf1");
		for (int i = 0; i < n; i++)
			strbuf_printf(&rec, " ip4:10.0.%d.1", i);
		strbuf_puts(&rec, " ip4:192.0.2.1 -all");
		spf_txt(&sb, n == 62 ? "m64.test." : "m65.test.", strbuf_cstr(&rec), 200);
	}
	/* 63 and 64 ip4 mechanisms, then redirect=: libspf2 compiles redirect=
	 * as a mechanism, so the second record is 65 of them and its
	 * redirect= is the one dropped */
	for (int n = 63; n <= 64; n++) {
		strbuf_reset(&rec);
		strbuf_puts(&rec, "v=spf1");
		for (int i = 0; i < n; i++)
			strbuf_printf(&rec, " ip4:10.0.%d.1", i);
		strbuf_puts(&rec, " redirect=target.redir.test");
		spf_txt(&sb, n == 63 ? "r64.redir.test." : "r65.redir.test.", strbuf_cstr(&rec),
			200);
	}
	strbuf_puts(&sb, "target.redir.test. TXT \"v=spf1 -all\"\n");
	/* a record of 450 mechanisms (about 8 KB) */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1");
	for (int i = 0; i < 450; i++)
		strbuf_printf(&rec, " ip4:10.%d.%d.0/24", i / 250, i % 250);
	strbuf_puts(&rec, " ip4:192.0.2.1 -all");
	spf_txt(&sb, "huge.test.", strbuf_cstr(&rec), 255);

	/* macros: 4 x 63-octet labels give 266 octets, truncated from the
	 * left by whole labels to 202 (RFC 7208 7.3), which exists */
	strbuf_puts(&sb, "trunc.macro.test. TXT \"v=spf1 exists:%{l}.%{l}.%{l}.%{l}.trunc.macro.test -all\"\n");
	strbuf_puts(&sb, L63 "." L63 "." L63 ".trunc.macro.test. A 127.0.0.2\n");
	/* 40 of them: 2560 octets, also truncated to the last three labels */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1 exists:");
	for (int i = 0; i < 40; i++)
		strbuf_puts(&rec, "%{l}.");
	strbuf_puts(&rec, "many.macro.test -all");
	spf_txt(&sb, "many.macro.test.", strbuf_cstr(&rec), 200);
	strbuf_puts(&sb, L63 "." L63 "." L63 ".many.macro.test. A 127.0.0.2\n");
	/* 100 %{i} in one name, 100 %{ir} with IPv6: hundreds of labels */
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1 exists:");
	for (int i = 0; i < 100; i++)
		strbuf_puts(&rec, "%{i}");
	strbuf_puts(&rec, ".ii.macro.test -all");
	spf_txt(&sb, "ii.macro.test.", strbuf_cstr(&rec), 200);
	strbuf_reset(&rec);
	strbuf_puts(&rec, "v=spf1 exists:");
	for (int i = 0; i < 100; i++)
		strbuf_puts(&rec, "%{ir}.");
	strbuf_puts(&rec, "irir.macro.test -all");
	spf_txt(&sb, "irir.macro.test.", strbuf_cstr(&rec), 200);
	/* an explanation of 200 %{l}: 14 KB for a 70-octet local part */
	strbuf_reset(&rec);
	for (int i = 0; i < 200; i++)
		strbuf_puts(&rec, "%{l}");
	spf_txt(&sb, "why.bomb.macro.test.", strbuf_cstr(&rec), 200);

	strbuf_free(&rec);
	ck_assert(!sb.failed);
	text = strdup(strbuf_cstr(&sb));
	ck_assert_ptr_nonnull(text);
	strbuf_free(&sb);
	return text;
}

/* Per test (in the forked child): the resolver over the fixture, an arena. */
static struct dns_resolver *spf_dns;
static struct spf_servers *spf_pool; /* every check of a test reuses its servers */
static struct arena *spf_arena;
static char *spf_fixture_path;

static void spf_setup(void)
{
	struct diag errs = { 0 };
	struct dns_options o = { .timeout_ms = 2000 };
	char *text = spf_fixture_text();

	spf_fixture_path = unit_write_file(text, strlen(text));
	free(text);
	o.fixture_file = spf_fixture_path;
	spf_dns = dns_resolver_new(&o, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	ck_assert_msg(spf_dns != NULL, "fixture did not load");
	diag_clear(&errs);
	spf_arena = arena_new();
	ck_assert_ptr_nonnull(spf_arena);
	spf_pool = spf_servers_new();
	ck_assert_ptr_nonnull(spf_pool);
}

static void spf_teardown(void)
{
	dns_resolver_free(spf_dns);
	spf_servers_free(spf_pool);
	spf_pool = NULL;
	arena_free(spf_arena);
	unit_remove_file(spf_fixture_path);
	spf_dns = NULL;
	spf_arena = NULL;
	spf_fixture_path = NULL;
}

static long spf_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* spf_run - one check with a fresh 10-second budget; fails on a slow one */
static void spf_run(const char *ip, const char *helo, const char *from, enum spf_which which,
		    struct spf_outcome *out)
{
	struct spf_query q = { .client_ip = ip, .helo = helo, .mailfrom = from,
			       .receiver = "mx.receiver.test" };
	struct dns_budget b = { 0 }; /* no SMTP command bound */
	struct timespec t0;
	long ms;

	dns_budget_start(&b, 10000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(spf_check(spf_pool, spf_dns, &b, spf_arena, &q, which, out), 0);
	ms = spf_ms_since(&t0);
	ck_assert_msg(ms < SPF_CASE_MS, "spf_check took %ld ms", ms);
}

static bool spf_rfc_result(enum ar_result r)
{
	return r == AR_PASS || r == AR_FAIL || r == AR_SOFTFAIL || r == AR_NEUTRAL ||
	       r == AR_NONE || r == AR_TEMPERROR || r == AR_PERMERROR;
}

#define H SPF_CHECK_HELO
#define M SPF_CHECK_MAILFROM
#define IN "192.0.2.1"		/* in pass.test's ip4 */
#define OUT "203.0.113.5"	/* in no record */
#define IN6 "2001:db8::1"
#define OUT6 "2001:db8:ffff::1"	/* outside 2001:db8::/48 and 2001:db8:1::/48 */
#define HELO "mx.example.org"

/* Row flags */
#define ANY 1u		/* hostile input: any of the seven results, quickly */
#define NO_REASON 2u	/* today no reason: libspf2 refuses the record when compiling it
			 * and spf.c ignores SPF_request_query_mailfrom's error code */

struct spf_case {
	const char *name;
	enum spf_which which;
	const char *ip, *helo, *from;
	enum ar_result want;	/* RFC 7208's result */
	enum ar_result also;	/* another result RFC 7208 allows, or AR_UNSET */
	enum ar_result today;	/* gatehouse's result when it is not RFC 7208's (a finding), or AR_UNSET */
	const char *reason;	/* a fragment the reason must contain, or NULL */
	unsigned flags;
};

#define R(r) AR_##r, AR_UNSET, AR_UNSET
#define R2(r, r2) AR_##r, AR_##r2, AR_UNSET
#define TODAY(rfc, now) AR_##rfc, AR_UNSET, AR_##now

static const struct spf_case spf_cases[] = {
	/* The seven results (RFC 7208 2.6) */
	{ "pass", M, IN, HELO, "a@pass.test", R(PASS), "designates", 0 },
	{ "fail (-all)", M, OUT, HELO, "a@pass.test", R(FAIL), "does not designate", 0 },
	{ "softfail (~all)", M, OUT, HELO, "a@softfail.test", R(SOFTFAIL), NULL, 0 },
	{ "neutral (?all)", M, OUT, HELO, "a@neutral.test", R(NEUTRAL), NULL, 0 },
	{ "no match and no all: neutral (4.7)", M, OUT, HELO, "a@noall.test", R(NEUTRAL), NULL, 0 },
	{ "empty record: neutral (4.7)", M, IN, HELO, "a@empty.test", R(NEUTRAL), NULL, 0 },
	{ "+all", M, OUT, HELO, "a@plusall.test", R(PASS), NULL, 0 },
	{ "NXDOMAIN: none (4.3)", M, IN, HELO, "a@nothing.test", R(NONE), NULL, 0 },
	{ "no v=spf1 record: none (4.5)", M, IN, HELO, "a@notspf.test", R(NONE), NULL, 0 },
	{ "other TXT next to the record", M, IN, HELO, "a@othertxt.test", R(PASS), NULL, 0 },
	{ "TIMEOUT: temperror (4.4)", M, IN, HELO, "a@timeout.test", R(TEMPERROR), "timeout", 0 },
	{ "SERVFAIL: temperror (4.4)", M, IN, HELO, "a@servfail.test", R(TEMPERROR), "SERVFAIL", 0 },
	{ "REFUSED: temperror (4.4)", M, IN, HELO, "a@refused.test", R(TEMPERROR), "REFUSED", 0 },
	{ "syntax error: bad ip4 (4.6)", M, IN, HELO, "a@badip.test", R(PERMERROR), NULL, 0 },
	{ "syntax error: unknown mechanism (4.6)", M, IN, HELO, "a@badmech.test", R(PERMERROR), NULL, 0 },
	{ "two SPF records: permerror (4.5)", M, IN, HELO, "a@tworecs.test", R(PERMERROR), NULL, 0 },

	/* ip4 / ip6 (RFC 7208 5.6) */
	{ "ip4 /25 in", M, "192.0.2.129", HELO, "a@cidr.test", R(PASS), NULL, 0 },
	{ "ip4 /25 out", M, IN, HELO, "a@cidr.test", R(FAIL), NULL, 0 },
	{ "ip6 /48 in", M, "2001:db8:1::5", HELO, "a@cidr.test", R(PASS), NULL, 0 },
	{ "ip6 /48 out", M, "2001:db8:2::5", HELO, "a@cidr.test", R(FAIL), NULL, 0 },
	{ "ip4 /32 exact", M, IN, HELO, "a@cidr-host.test", R(PASS), NULL, 0 },
	{ "ip4 /32 next address", M, "192.0.2.2", HELO, "a@cidr-host.test", R(FAIL), NULL, 0 },
	{ "ip6 /128 exact", M, IN6, HELO, "a@cidr-host.test", R(PASS), NULL, 0 },
	{ "ip6 /128 next address", M, "2001:db8::2", HELO, "a@cidr-host.test", R(FAIL), NULL, 0 },
	{ "ip6 in pass.test", M, IN6, HELO, "a@pass.test", R(PASS), NULL, 0 },
	{ "ip6 outside pass.test", M, "2001:db9::1", HELO, "a@pass.test", R(FAIL), NULL, 0 },
	/* 5.6: ip4-cidr-length = "/" ("0" / ...) - /0 is every address of the family */
	{ "ip4:0.0.0.0/0 matches any IPv4", M, OUT, HELO, "a@cidr4-0.test", R(PASS), NULL, 0 },
	{ "ip4:0.0.0.0/0 and an IPv6 client", M, IN6, HELO, "a@cidr4-0.test", R(FAIL), NULL, 0 },
	{ "ip6:::/0 matches any IPv6", M, OUT6, HELO, "a@cidr6-0.test", R(PASS), NULL, 0 },
	/* a/0, a//0, mx/0: any address of the family, if the name has one */
	{ "a/0 with an A record", M, OUT, HELO, "a@a0.test", R(PASS), NULL, 0 },
	{ "a/0, IPv6 client: /128 applies", M, OUT6, HELO, "a@a0.test", R(FAIL), NULL, 0 },
	{ "a/0 without an A record", M, OUT, HELO, "a@a0-none.test", R(FAIL), NULL, 0 },
	{ "a//0, IPv6 client", M, OUT6, HELO, "a@a60.test", R(PASS), NULL, 0 },
	{ "a//0, IPv4 client, no A", M, OUT, HELO, "a@a60.test", R(FAIL), NULL, 0 },
	{ "mx/0//0, IPv4", M, OUT, HELO, "a@mx0.test", R(PASS), NULL, 0 },
	{ "mx/0//0, IPv6, MX host without AAAA", M, OUT6, HELO, "a@mx0.test", R(FAIL), NULL, 0 },
	/* an MX query that answers is not a void lookup (4.6.4), whatever the
	 * hosts' addresses: three mx terms whose hosts have no AAAA are fine */
	{ "3 x mx, hosts without AAAA: not void", M, "2001:db8::5", HELO, "a@mx3.test", R(PASS), NULL, 0 },
	/* the same with //0: the /0 rewrite counts each as a void lookup */
	{ "3 x mx//0, hosts without AAAA: not void", M, "2001:db8::5", HELO, "a@mx60-3.test", TODAY(PASS, PERMERROR), NULL, 0 },
	{ "ip4 /33: permerror (5.6)", M, IN, HELO, "a@cidr4-33.test", R(PERMERROR), NULL, 0 },
	{ "ip6 /129: permerror (5.6)", M, IN6, HELO, "a@cidr6-129.test", R(PERMERROR), NULL, 0 },

	/* a, mx, ptr, exists, include, redirect */
	{ "a (5.3)", M, "192.0.2.10", HELO, "a@a.test", R(PASS), NULL, 0 },
	{ "a, IPv6 client (5.3)", M, "2001:db8::10", HELO, "a@a.test", R(PASS), NULL, 0 },
	{ "a miss", M, IN, HELO, "a@a.test", R(FAIL), NULL, 0 },
	{ "a:name/24//64, IPv4", M, IN, HELO, "a@a-cidr.test", R(PASS), NULL, 0 },
	{ "a:name/24//64, IPv6", M, "2001:db8:0:1::1", HELO, "a@a-cidr.test", R(PASS), NULL, 0 },
	{ "a:name/24//64, IPv6 outside", M, "2001:db8:0:2::1", HELO, "a@a-cidr.test", R(FAIL), NULL, 0 },
	{ "mx (5.4)", M, "192.0.2.20", HELO, "a@mx.test", R(PASS), NULL, 0 },
	{ "mx, IPv6 (5.4)", M, "2001:db8::20", HELO, "a@mx.test", R(PASS), NULL, 0 },
	{ "mx miss", M, IN, HELO, "a@mx.test", R(FAIL), NULL, 0 },
	{ "mx host SERVFAIL: temperror", M, IN, HELO, "a@mx-temp.test", R(TEMPERROR), NULL, 0 },
	{ "ptr validated (5.5)", M, "192.0.2.30", HELO, "a@ptr.test", R(PASS), NULL, 0 },
	{ "ptr name that does not resolve back", M, "192.0.2.31", HELO, "a@ptr.test", R(FAIL), NULL, 0 },
	{ "ptr without PTR record", M, OUT, HELO, "a@ptr.test", R(FAIL), NULL, 0 },
	{ "exists %{ir} (5.7)", M, IN, HELO, "a@exists.test", R(PASS), NULL, 0 },
	{ "exists miss", M, "192.0.2.2", HELO, "a@exists.test", R(FAIL), NULL, 0 },
	{ "include pass (5.2)", M, IN, HELO, "a@include.test", R(PASS), NULL, 0 },
	{ "include fail is no match (5.2)", M, IN, HELO, "a@include-fail.test", R(PASS), NULL, 0 },
	{ "include then -all", M, OUT, HELO, "a@include.test", R(FAIL), NULL, 0 },
	{ "include of no record: permerror (5.2)", M, IN, HELO, "a@include-none.test", R(PERMERROR), NULL, 0 },
	{ "include of a timeout: temperror (5.2)", M, IN, HELO, "a@include-temp.test", R(TEMPERROR), NULL, 0 },
	{ "include of a broken record: permerror (5.2)", M, IN, HELO, "a@include-perm.test", R(PERMERROR), NULL, 0 },
	{ "redirect (6.1)", M, IN, HELO, "a@redirect.test", R(PASS), NULL, 0 },
	{ "redirect, fail", M, OUT, HELO, "a@redirect.test", R(FAIL), NULL, 0 },
	{ "redirect to no record: permerror (6.1)", M, IN, HELO, "a@redirect-none.test", R(PERMERROR), NULL, 0 },
	{ "redirect ignored after all (6.1)", M, IN, HELO, "a@redirect-all.test", R(FAIL), NULL, 0 },
	{ "a timeout before a match: temperror (4.6.2)", M, IN, HELO, "a@a-temp.test", R(TEMPERROR), NULL, 0 },

	/* RFC 7208 4.6.4: ten DNS-querying terms, two void lookups, ten MX names */
	{ "10 DNS terms", M, IN, HELO, "a@ten.test", R(FAIL), NULL, 0 },
	{ "10 DNS terms, the tenth matches", M, IN, HELO, "a@ten-last.test", R(PASS), NULL, 0 },
	{ "11 DNS terms: permerror", M, IN, HELO, "a@eleven.test", R(PERMERROR), "more than 10 DNS", 0 },
	{ "10 terms of every kind", M, OUT, HELO, "a@mixed-ten.test", R(FAIL), NULL, 0 },
	{ "11 terms of every kind: permerror", M, OUT, HELO, "a@mixed-eleven.test", R(PERMERROR), "more than 10 DNS", 0 },
	{ "20 includes: permerror", M, IN, HELO, "a@inc20.test", R(PERMERROR), "more than 10 DNS", 0 },
	{ "20 includes, the first matches", M, "198.51.100.201", HELO, "a@inc20.test", R(PASS), NULL, 0 },
	{ "redirect chain of 15: permerror", M, IN, HELO, "a@r1.chain.test", R(PERMERROR), NULL, 0 },
	{ "include loop: permerror", M, IN, HELO, "a@loop-a.test", R(PERMERROR), NULL, 0 },
	/* an a: term naming a host an MX answer gave is a term all the same
	 * (the layer exempts only the MX's own address lookup of it) */
	{ "mx + 11 x a:<an MX host>: permerror", M, OUT, HELO, "a@mx-reuse.test", R(PERMERROR), NULL, 0 },
	{ "redirect to itself: permerror", M, IN, HELO, "a@self-redirect.test", R(PERMERROR), NULL, 0 },
	{ "2 void lookups (NXDOMAIN, NODATA)", M, IN, HELO, "a@void2.test", R(PASS), NULL, 0 },
	{ "3 void lookups: permerror", M, IN, HELO, "a@void3.test", R(PERMERROR), "more than 2 void", 0 },
	{ "MX with 10 names, the tenth matches", M, IN, HELO, "a@mx10.test", R(PASS), NULL, 0 },
	{ "MX with 11 names: permerror", M, OUT, HELO, "a@mx11.test", R(PERMERROR), "MX", 0 },
	/* 4.6.4 counts the terms; exp= is not one, and 6.2 ignores an exp=
	 * that fails in DNS or finds nothing (suite: exp-void, exp-dns-error) */
	{ "10 terms and exp=: not a term", M, IN, HELO, "a@ten-exp.test", R(FAIL), NULL, 0 },
	{ "6 failing includes and exp=", M, IN, HELO, "a@inc-exp.test", R(FAIL), NULL, 0 },
	{ "2 voids and exp= to NXDOMAIN", M, IN, HELO, "a@exp-void.test", R(FAIL), NULL, 0 },
	{ "exp= times out: still fail (6.2)", M, IN, HELO, "a@exp-temp.test", R(FAIL), NULL, 0 },
	{ "neutral, exp= times out (6.2)", M, IN, HELO, "a@exp-temp-neutral.test", R(NEUTRAL), NULL, 0 },
	/* %{p} is a macro, not a term: 9 a: + exists = 10 terms; the layer
	 * counts the PTR query %{p} makes as an eleventh */
	{ "%{p} is not a DNS term", M, "192.0.2.30", HELO, "a@p-ten.test", TODAY(PASS, PERMERROR), NULL, 0 },

	/* Records over 512 bytes, several strings (RFC 7208 3.3, 3.4): the
	 * strings are joined without spaces and the record is evaluated;
	 * 3.4's size is advice to publishers, not a limit for verifiers. */
	{ "record of 700 bytes in 100-byte strings", M, IN, HELO, "a@long.test", R(PASS), NULL, 0 },
	{ "record of 700 bytes, no match", M, OUT, HELO, "a@long.test", R(FAIL), NULL, 0 },
	/* RFC 7208 sets no limit on the number or size of mechanisms; libspf2
	 * compiles mechanisms until they take about 511 bytes (its
	 * SPF_MAX_MECH_LEN: 64 ip4, 25 ip6, 25 a:name) and silently evaluates
	 * only those, -all included. gatehouse compiles each record once to
	 * notice: a match in the kept part stands, falling through the kept
	 * part is a permerror that says why, never a silently wrong answer */
	{ "64 mechanisms, the 63rd matches", M, IN, HELO, "a@m64.test", R(PASS), NULL, 0 },
	{ "64 mechanisms, -all is the 64th", M, OUT, HELO, "a@m64.test", R(FAIL), NULL, 0 },
	{ "65 mechanisms, the 64th matches", M, IN, HELO, "a@m65.test", R(PASS), NULL, 0 },
	{ "65 mechanisms, -all is the 65th", M, OUT, HELO, "a@m65.test", TODAY(FAIL, PERMERROR), NULL, 0 },
	/* redirect= counts as a mechanism too: 63 ip4 and a redirect= fit, and
	 * the redirect's -all fails the client; with 64 ip4 the redirect= is
	 * what libspf2 drops, and without noticing the answer was neutral */
	{ "63 ip4 and redirect=: the target fails", M, "198.51.100.7", HELO, "a@r64.redir.test", R(FAIL), NULL, 0 },
	{ "64 ip4 and redirect=: redirect= dropped", M, "198.51.100.7", HELO, "a@r65.redir.test", TODAY(FAIL, PERMERROR), "libspf2", 0 },
	{ "26 ip6, then the client's ip4", M, IN, HELO, "a@ip6x26.test", TODAY(PASS, PERMERROR), NULL, 0 },
	{ "26 ip6, then -all", M, OUT, HELO, "a@ip6x26.test", TODAY(FAIL, PERMERROR), NULL, 0 },
	{ "record of 8 KB, 452 mechanisms", M, IN, HELO, "a@huge.test", TODAY(PASS, PERMERROR), NULL, 0 },

	/* Macros (RFC 7208 7) */
	{ "%{l}", M, IN, HELO, "alice@l.macro.test", R(PASS), NULL, 0 },
	{ "%{l}, other local part", M, IN, HELO, "bob@l.macro.test", R(FAIL), NULL, 0 },
	{ "%{d}", M, IN, HELO, "a@d.macro.test", R(PASS), NULL, 0 },
	{ "%{i}", M, IN, HELO, "a@i.macro.test", R(PASS), NULL, 0 },
	{ "%{ir}.%{v} IPv4", M, IN, HELO, "a@ir.macro.test", R(PASS), NULL, 0 },
	{ "%{ir}.%{v} IPv6", M, IN6, HELO, "a@ir.macro.test", R(PASS), NULL, 0 },
	{ "%{d2}", M, IN, HELO, "a@sub.deep.d2.test", R(PASS), NULL, 0 },
	{ "%{l1r-}", M, IN, HELO, "first-last@dash1.macro.test", R(PASS), NULL, 0 },
	{ "%{l1r-}, other order", M, IN, HELO, "last-first@dash1.macro.test", R(FAIL), NULL, 0 },
	{ "%{l-}", M, IN, HELO, "first-last@dash2.macro.test", R(PASS), NULL, 0 },
	{ "%{l2r+-} (two delimiters)", M, IN, HELO, "foo-bar+zip@multidelim.macro.test", R(PASS), NULL, 0 },
	{ "%{p} validated", M, "192.0.2.30", HELO, "a@p.macro.test", R(PASS), NULL, 0 },
	{ "%{p} not validated", M, "192.0.2.31", HELO, "a@p.macro.test", R(FAIL), NULL, 0 },
	{ "%{h}", M, IN, HELO, "a@h.macro.test", R(PASS), NULL, 0 },
	/* 7.3: "if the value specifies more parts than are available, all the
	 * available parts are used" (7.4's example: %{d4} of email.example.com
	 * is email.example.com) and "Implementations MUST support at least a
	 * value of 127". libspf2 drops the first character instead. */
	{ "%{d4} of a 3-label domain", M, IN, HELO, "a@d4.macro.test", TODAY(PASS, FAIL), NULL, 0 },
	{ "%{d127} of a 3-label domain", M, IN, HELO, "a@d127.macro.test", TODAY(PASS, FAIL), NULL, 0 },
	/* 7.3: "If a DIGIT is specified, the value MUST be nonzero" */
	{ "%{d0}: permerror", M, IN, HELO, "a@d0.macro.test", R(PERMERROR), NULL, NO_REASON },
	{ "%{d99999999999999999999}", M, IN, HELO, "a@dhuge.macro.test", R(PERMERROR), NULL, ANY | NO_REASON },
	/* 7.1: macro-letter is one of s l o d i p h c r t v */
	{ "%{x}: permerror", M, IN, HELO, "a@badletter.macro.test", R(PERMERROR), NULL, 0 },
	{ "lone % at the end: permerror", M, IN, HELO, "a@trailing.macro.test", R(PERMERROR), NULL, 0 },
	{ "unclosed %{: permerror", M, IN, HELO, "a@unclosed.macro.test", R(PERMERROR), NULL, 0 },
	/* 7.3: a name over 253 octets loses labels on the left until it fits;
	 * libspf2 asks for the whole name, which no DNS query can carry */
	{ "266-octet name truncated", M, IN, HELO, L63 "@trunc.macro.test", TODAY(PASS, FAIL), NULL, 0 },
	{ "2560-octet name truncated", M, IN, HELO, L63 "@many.macro.test", TODAY(PASS, FAIL), NULL, 0 },
	{ "100 x %{i}", M, IN, HELO, "a@ii.macro.test", R(FAIL), NULL, 0 },
	/* a valid domain-spec of 600 octets: libspf2 refuses over 511 */
	{ "100 x %{ir} of IPv6", M, IN6, HELO, "a@irir.macro.test", TODAY(FAIL, PERMERROR), NULL, NO_REASON },
	/* a 70-octet label: RFC 7208 leaves it open (suite:
	 * invalid-domain-long-via-macro allows fail or permerror) */
	{ "%{l} giving a 70-octet label", M, IN, HELO, L70 "@label.macro.test", R2(FAIL, PERMERROR), NULL, 0 },
	{ "10 x %{p}", M, "192.0.2.30", HELO, "a@pmany.macro.test", R(FAIL), NULL, 0 },
	{ "10 x %{p}, IPv6", M, IN6, HELO, "a@pmany.macro.test", R(FAIL), NULL, 0 },
	{ "include:%{l}.%{d} of no record", M, IN, HELO, "a@incmacro.macro.test", R(PERMERROR), NULL, 0 },
	{ "exp= of 200 x %{l}", M, IN, HELO, L70 "@bomb.macro.test", R(FAIL), NULL, 0 },

	/* Identities */
	{ "HELO identity (2.3)", H, IN, "pass.test", "a@failall.test", R(PASS), NULL, 0 },
	{ "HELO identity fail", H, OUT, "pass.test", "a@plusall.test", R(FAIL), NULL, 0 },
	{ "HELO address literal: none (2.3, 4.3)", H, IN, "[192.0.2.1]", "a@pass.test", R(NONE), "fully qualified", 0 },
	{ "HELO IPv6 literal: none", H, IN, "[IPv6:2001:db8::1]", "a@pass.test", R(NONE), "fully qualified", 0 },
	{ "HELO bare word: none (4.3)", H, IN, "mailhost", "a@pass.test", R(NONE), "fully qualified", 0 },
	{ "HELO empty: none", H, IN, "", "a@pass.test", R(NONE), NULL, 0 },
	/* "tld." is one label; spf_domain_ok() takes the trailing dot for
	 * the dot of a multi-label name and evaluates it */
	{ "HELO single label with a dot: none (4.3)", H, IN, "tld.", "a@pass.test", R(NONE), NULL, 0 },
	{ "HELO with an empty label: none (4.3)", H, IN, "pass..test", "a@pass.test", R(NONE), NULL, 0 },
	{ "MAIL FROM address literal: none", M, IN, HELO, "a@[192.0.2.1]", R(NONE), NULL, 0 },
	{ "MAIL FROM label of 64 octets: none (4.3)", M, IN, HELO, "a@" L63 "z.test", R(NONE), NULL, 0 },
	{ "null sender: postmaster@HELO (2.4)", M, IN, "pass.test", "", R(PASS), NULL, 0 },
	{ "null sender, %{l} is postmaster (4.3)", M, IN, "l.macro.test", "", R(PASS), NULL, 0 },
	{ "null sender, HELO literal: none", M, IN, "[192.0.2.1]", "", R(NONE), NULL, 0 },
	{ "quoted local part with a space", M, IN, HELO, "\"a b\"@pass.test", R(PASS), NULL, 0 },
	{ "quoted local part with an @", M, IN, HELO, "\"a@b\"@pass.test", R(PASS), NULL, 0 },
	{ "quoted local part in %{l}", M, IN, HELO, "\"a b\"@l.macro.test", R(FAIL), NULL, 0 },
	{ "IPv4-mapped IPv6 checked as IPv4 (5)", M, "::ffff:192.0.2.1", HELO, "a@pass.test", R(PASS), NULL, 0 },
	{ "IPv4-mapped, ip4 /25", M, "::ffff:192.0.2.129", HELO, "a@cidr.test", R(PASS), NULL, 0 },
	{ "IPv4-mapped, ip6-only record", M, "::ffff:192.0.2.1", HELO, "a@v6only.test", R(FAIL), NULL, 0 },
	{ "IPv4-mapped, %{i}.%{v}", M, "::ffff:192.0.2.1", HELO, "a@mapped.test", R(PASS), NULL, 0 },
	{ "client address that is no address", M, "not-an-ip", HELO, "a@pass.test", R(NONE), NULL, 0 },
	{ "client address empty", M, "", HELO, "a@pass.test", R(NONE), NULL, 0 },
};

#define SPF_NCASES ((int)(sizeof(spf_cases) / sizeof(spf_cases[0])))

static const char *spf_name(enum ar_result r)
{
	return ar_result_name(r) ? ar_result_name(r) : "unset";
}

START_TEST(spf_table)
{
	const struct spf_case *c = &spf_cases[_i];
	enum ar_result want = c->today != AR_UNSET ? c->today : c->want;
	struct spf_outcome o;

	spf_run(c->ip, c->helo, c->from, c->which, &o);
	ck_assert_msg(spf_rfc_result(o.result), "%s: result %d is none of RFC 7208's",
		      c->name, (int)o.result);
	if (!(c->flags & ANY))
		ck_assert_msg(o.result == want || (c->also != AR_UNSET && o.result == c->also),
			      "%s: got %s (%s), want %s%s%s", c->name, spf_name(o.result),
			      o.reason ? o.reason : "no reason", spf_name(want),
			      c->today != AR_UNSET ? "; RFC 7208 says " : "",
			      c->today != AR_UNSET ? spf_name(c->want) : "");
	if (!(c->flags & NO_REASON))
		ck_assert_msg(o.reason != NULL && *o.reason != '\0', "%s: no reason", c->name);
	if (c->reason != NULL)
		ck_assert_msg(o.reason != NULL && strstr(o.reason, c->reason) != NULL,
			      "%s: reason '%s' lacks '%s'", c->name, o.reason ? o.reason : "",
			      c->reason);
	ck_assert_str_eq(o.identity, c->which == H ? "helo" : "mailfrom");
	ck_assert_ptr_nonnull(o.domain);
	ck_assert_ptr_nonnull(o.sender);
	if (o.result != AR_FAIL)
		ck_assert_ptr_null(o.explanation);
	ck_assert_uint_le(o.dns_mechanisms, 11);
	ck_assert_uint_le(o.void_lookups, 3);
}
END_TEST

/* What the outcome says besides the result: domain, sender, counts. */
START_TEST(spf_outcome_fields)
{
	struct spf_outcome o;

	spf_run(IN, "pass.test", "a@failall.test", H, &o);
	ck_assert_str_eq(o.domain, "pass.test");
	ck_assert_str_eq(o.sender, "postmaster@pass.test");
	ck_assert_str_eq(o.identity, "helo");

	spf_run(IN, "pass.test", "user@failall.test", M, &o);
	ck_assert_int_eq(o.result, AR_FAIL);
	ck_assert_str_eq(o.domain, "failall.test");
	ck_assert_str_eq(o.sender, "user@failall.test");

	/* null sender: the MAIL FROM identity is postmaster@HELO (2.4) */
	spf_run(IN, "pass.test", "", M, &o);
	ck_assert_int_eq(o.result, AR_PASS);
	ck_assert_str_eq(o.identity, "mailfrom");
	ck_assert_str_eq(o.domain, "pass.test");
	ck_assert_str_eq(o.sender, "postmaster@pass.test");

	spf_run(IN, HELO, "\"a@b\"@pass.test", M, &o);
	ck_assert_str_eq(o.domain, "pass.test");
	ck_assert_str_eq(o.sender, "\"a@b\"@pass.test");

	spf_run(IN, HELO, "a@ten.test", M, &o);
	ck_assert_uint_eq(o.dns_mechanisms, 10);
	ck_assert_uint_eq(o.void_lookups, 0);
	spf_run(IN, HELO, "a@eleven.test", M, &o);
	ck_assert_uint_eq(o.dns_mechanisms, 11);
	spf_run(IN, HELO, "a@inc20.test", M, &o);
	ck_assert_uint_eq(o.dns_mechanisms, 11);
	spf_run(IN, HELO, "a@void2.test", M, &o);
	ck_assert_uint_eq(o.void_lookups, 2);
	spf_run(IN, HELO, "a@void3.test", M, &o);
	ck_assert_uint_eq(o.void_lookups, 3);
	/* the first TXT query is not a term; MX host lookups are not either */
	spf_run("192.0.2.20", HELO, "a@mx.test", M, &o);
	ck_assert_uint_eq(o.dns_mechanisms, 1);
	spf_run(IN, HELO, "a@mx10.test", M, &o);
	ck_assert_uint_eq(o.dns_mechanisms, 1);
}
END_TEST

/* exp= (RFC 7208 6.2): the domain's text, macros expanded, only on fail */
START_TEST(spf_explanation)
{
	struct spf_outcome o;

	spf_run(IN, HELO, "a@expl.test", M, &o);
	ck_assert_int_eq(o.result, AR_FAIL);
	ck_assert_ptr_nonnull(o.explanation);
	/* %_ is a space, %% a percent sign, %- "%20" (7.1) */
	ck_assert_str_eq(o.explanation,
			 "192.0.2.1 is not one of expl.test's designated mail servers. %%20");
	/* upper-case macro letters are URL-escaped (7.3) */
	spf_run(IN, HELO, "~jack&jill@upper.macro.test", M, &o);
	ck_assert_int_eq(o.result, AR_FAIL);
	ck_assert_ptr_nonnull(o.explanation);
	ck_assert_str_eq(o.explanation, "see ~jack%26jill");
	/* no exp=: no explanation (libspf2's default is turned off) */
	spf_run(OUT, HELO, "a@pass.test", M, &o);
	ck_assert_int_eq(o.result, AR_FAIL);
	ck_assert_ptr_null(o.explanation);
	/* a huge one ends somewhere */
	spf_run(IN, HELO, L70 "@bomb.macro.test", M, &o);
	ck_assert_int_eq(o.result, AR_FAIL);
	if (o.explanation != NULL)
		ck_assert_uint_le(strlen(o.explanation), 65536);
}
END_TEST

/* The message's DNS budget: used up means temperror, never a wait */
START_TEST(spf_budget)
{
	struct spf_query q = { .client_ip = IN, .helo = HELO, .mailfrom = "a@pass.test",
			       .receiver = "mx.receiver.test" };
	struct spf_outcome o;
	struct dns_budget b = { 0 }; /* no SMTP command bound */

	dns_budget_start(&b, 0);
	ck_assert_int_eq(spf_check(spf_pool, spf_dns, &b, spf_arena, &q, M, &o), 0);
	ck_assert_int_eq(o.result, AR_TEMPERROR);
	ck_assert_ptr_nonnull(o.reason);
	ck_assert(strstr(o.reason, "budget") != NULL);
	/* no budget at all: only the per-query timeout */
	ck_assert_int_eq(spf_check(NULL, spf_dns, NULL, spf_arena, &q, M, &o), 0);
	ck_assert_int_eq(o.result, AR_PASS);
}
END_TEST

/* The same evaluation many times over on one resolver: no state leaks
 * from one check into the next (counts, limits, DNS errors). */
START_TEST(spf_repeat)
{
	for (int i = 0; i < 50; i++) {
		struct spf_outcome o;

		spf_run(IN, HELO, "a@eleven.test", M, &o);
		ck_assert_int_eq(o.result, AR_PERMERROR);
		spf_run(IN, HELO, "a@timeout.test", M, &o);
		ck_assert_int_eq(o.result, AR_TEMPERROR);
		spf_run(IN, HELO, "a@pass.test", M, &o);
		ck_assert_int_eq(o.result, AR_PASS);
		ck_assert_uint_eq(o.dns_mechanisms, 0);
		arena_reset(spf_arena);
	}
}
END_TEST

/* spf_header_ok - a Received-SPF value (RFC 7208 9.1) as a milter may add
 * it: no CR, every LF followed by a tab, no NUL, balanced quotes */
static void spf_header_ok(const char *h)
{
	bool quoted = false;

	ck_assert_ptr_nonnull(h);
	ck_assert_msg(strchr(h, '\r') == NULL, "CR in %s", h);
	for (const char *p = h; *p; p++) {
		if (*p == '\n')
			ck_assert_msg(p[1] == '\t', "LF without a tab after it in %s", h);
		else
			ck_assert_msg((unsigned char)*p >= 32 || *p == '\t', "control in %s", h);
		if (*p == '\\' && quoted) {
			ck_assert(p[1] != '\0');
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		}
	}
	ck_assert_msg(!quoted, "unbalanced quotes in %s", h);
}

/* A server given back to the pool serves the next check under that
 * check's receiver name, whichever name it had before */
START_TEST(spf_servers_reused)
{
	static const char *const names[] = { "a.receiver.test", "b.receiver.test", "",
					     "b.receiver.test", NULL, "a.receiver.test" };
	struct spf_query q = { .client_ip = IN, .helo = HELO, .mailfrom = "a@pass.test" };
	struct dns_budget b = { 0 };
	struct spf_outcome o;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		q.receiver = names[i];
		dns_budget_start(&b, 10000);
		ck_assert_int_eq(spf_check(spf_pool, spf_dns, &b, spf_arena, &q, M, &o), 0);
		ck_assert_int_eq(o.result, AR_PASS);
		ck_assert_ptr_nonnull(o.reason);
		if (names[i] != NULL && *names[i] != '\0')
			ck_assert_msg(strncmp(o.reason, names[i], strlen(names[i])) == 0 &&
					      o.reason[strlen(names[i])] == ':',
				      "#%zu: %s", i, o.reason);
		else /* libspf2's default: this host's name */
			ck_assert_msg(strstr(o.reason, "receiver.test") == NULL, "#%zu: %s", i,
				      o.reason);
	}
}
END_TEST

START_TEST(spf_received_header_value)
{
	struct spf_query q = { .client_ip = IN, .helo = HELO, .mailfrom = "a@pass.test",
			       .receiver = "mx.receiver.test" };
	struct spf_outcome o;
	char *h;

	/* from a real evaluation */
	spf_run(q.client_ip, q.helo, q.mailfrom, M, &o);
	h = spf_received_header(spf_arena, &o, &q, "mx.receiver.test");
	spf_header_ok(h);
	ck_assert_msg(strncmp(h, "pass (mx.receiver.test: ", 24) == 0, "%s", h);
	ck_assert_uint_eq(unit_count(h, "mx.receiver.test: "), 1);
	ck_assert(strstr(h, "client-ip=192.0.2.1;") != NULL);
	ck_assert(strstr(h, "envelope-from=\"a@pass.test\";") != NULL);
	ck_assert(strstr(h, "helo=\"mx.example.org\";") != NULL);
	ck_assert(strstr(h, "identity=mailfrom;") != NULL);
	ck_assert(strstr(h, "receiver=mx.receiver.test;") != NULL);
	ck_assert(strstr(h, "\n\t") != NULL);

	/* hostile values: quotes, backslashes, CR LF, parentheses */
	q.helo = "evil\"helo\r\n\tX-Injected: yes";
	q.mailfrom = "\"a\\\"b\r\nc\"@pass.test";
	spf_run(q.client_ip, q.helo, q.mailfrom, M, &o);
	o.reason = "broken (record) \\ with\r\nX-Injected: yes";
	h = spf_received_header(spf_arena, &o, &q, "mx.receiver.test");
	spf_header_ok(h);
	ck_assert_msg(strstr(h, "\nX-Injected") == NULL, "%s", h);
	ck_assert(strstr(h, "envelope-from=\"") != NULL);
	ck_assert(strstr(h, "helo=\"evil\\\"helo") != NULL);
	ck_assert(strstr(h, "identity=mailfrom;") != NULL);
	ck_assert(strstr(h, "client-ip=192.0.2.1;") != NULL);
	/* the comment holds no parentheses but its own */
	ck_assert_uint_eq(unit_count(h, "("), 1);
	ck_assert_uint_eq(unit_count(h, ")"), 1);

	/* HELO identity, IPv6 client, no reason */
	q.client_ip = IN6;
	q.helo = "pass.test";
	spf_run(q.client_ip, q.helo, "a@pass.test", H, &o);
	o.reason = NULL;
	h = spf_received_header(spf_arena, &o, &q, "mx.receiver.test");
	spf_header_ok(h);
	ck_assert(strstr(h, "client-ip=2001:db8::1;") != NULL);
	ck_assert(strstr(h, "identity=helo;") != NULL);
	ck_assert(strstr(h, "envelope-from=\"postmaster@pass.test\";") != NULL);

	/* every result word */
	for (enum ar_result r = AR_PASS; r <= AR_PERMERROR; r++) {
		o.result = r;
		o.reason = "x";
		h = spf_received_header(spf_arena, &o, &q, "mx.receiver.test");
		spf_header_ok(h);
		ck_assert(strncmp(h, ar_result_name(r), strlen(ar_result_name(r))) == 0);
	}
}
END_TEST

/* A fixture loads the way check_dns.c says; here only what SPF needs:
 * a TXT over 255 octets in several strings is one record. */
START_TEST(spf_fixture_long_txt)
{
	struct dns_result res;
	struct strbuf sb;

	dns_query(spf_dns, "long.test", DNS_T_TXT, NULL, &res);
	ck_assert_int_eq(res.status, DNS_ANSWER);
	ck_assert_uint_eq(res.n, 1);
	strbuf_init(&sb);
	ck_assert_int_eq(dns_rdata_txt(&res.rr[0], &sb), 0);
	ck_assert_uint_gt(sb.len, 512);
	ck_assert(strstr(strbuf_cstr(&sb), " ip4:192.0.2.1 -all") != NULL);
	strbuf_free(&sb);
	dns_result_free(&res);
}
END_TEST

static Suite *spf_suite(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("table");
	TCase *tc2 = tcase_create("more");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, spf_setup, spf_teardown);
	tcase_add_loop_test(tc, spf_table, 0, SPF_NCASES);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tc2, 20);
	tcase_add_checked_fixture(tc2, spf_setup, spf_teardown);
	tcase_add_test(tc2, spf_outcome_fields);
	tcase_add_test(tc2, spf_explanation);
	tcase_add_test(tc2, spf_budget);
	tcase_add_test(tc2, spf_servers_reused);
	tcase_add_test(tc2, spf_repeat);
	tcase_add_test(tc2, spf_received_header_value);
	tcase_add_test(tc2, spf_fixture_long_txt);
	suite_add_tcase(s, tc2);
	return s;
}

int main(void)
{
	return unit_run(spf_suite());
}
