/*
 * check_address.c - RFC 5321 envelope paths, table-driven: plain, quoted
 * and UTF-8 local parts, address literals, source routes, the null path and
 * <postmaster>, and the malformed ones (missing or double @, bad labels,
 * over-long domains and paths, brackets, NUL bytes within LEN, control
 * characters, trailing junk), plus domain lower-casing and never reading
 * past LEN.
 */
#include "mail/address.h"
#include "util/arena.h"
#include "unit.h"

/* One path and what parsing it must give. WHY is a substring of the reason
 * for a refused path (NULL: any reason). */
struct address_case {
	const char *path;
	bool allow_null;
	bool ok;
	const char *addr, *local, *domain;	/* expected when OK */
	const char *why;			/* expected when not OK */
};

#define GOOD(p, n, a, l, d) { p, n, true, a, l, d, NULL }
#define BAD(p, n, w) { p, n, false, NULL, NULL, NULL, w }

static const struct address_case address_cases[] = {
	/* plain */
	GOOD("<user@example.org>", true, "user@example.org", "user", "example.org"),
	GOOD("<user@example.org>", false, "user@example.org", "user", "example.org"),
	GOOD("user@example.org", true, "user@example.org", "user", "example.org"),
	GOOD("<first.last+tag@mail.example.org>", false, "first.last+tag@mail.example.org",
	     "first.last+tag", "mail.example.org"),
	GOOD("<a!#$%&'*+-/=?^_`{|}~z@example.org>", false,
	     "a!#$%&'*+-/=?^_`{|}~z@example.org", "a!#$%&'*+-/=?^_`{|}~z", "example.org"),
	GOOD("<u@a-b.x-y.example>", false, "u@a-b.x-y.example", "u", "a-b.x-y.example"),
	GOOD("<u@1.2.example>", false, "u@1.2.example", "u", "1.2.example"),
	GOOD("<u@localhost>", false, "u@localhost", "u", "localhost"),
	/* domain lower-cased, local part kept as written */
	GOOD("<John.Doe@Mail.EXAMPLE.Org>", false, "John.Doe@mail.example.org", "John.Doe",
	     "mail.example.org"),
	/* quoted local part: kept quoted */
	GOOD("<\"john doe\"@example.org>", false, "\"john doe\"@example.org", "\"john doe\"",
	     "example.org"),
	GOOD("<\"a\\\"b\\\\c\"@example.org>", false, "\"a\\\"b\\\\c\"@example.org",
	     "\"a\\\"b\\\\c\"", "example.org"),
	GOOD("<\"\"@example.org>", false, "\"\"@example.org", "\"\"", "example.org"),
	GOOD("<\"a@b\"@example.org>", false, "\"a@b\"@example.org", "\"a@b\"", "example.org"),
	/* address literals */
	GOOD("<user@[192.0.2.1]>", false, "user@[192.0.2.1]", "user", "[192.0.2.1]"),
	GOOD("<user@[IPv6:2001:db8::1]>", false, "user@[ipv6:2001:db8::1]", "user",
	     "[ipv6:2001:db8::1]"),
	/* UTF-8 (RFC 6531): non-ASCII bytes are kept, ASCII is lower-cased */
	GOOD("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>", false,
	     "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	     "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a"),
	GOOD("<J\xc3\xb6rg@M\xc3\xbcller.EXAMPLE>", false, "J\xc3\xb6rg@m\xc3\xbcller.example",
	     "J\xc3\xb6rg", "m\xc3\xbcller.example"),
	/* source route: accepted and dropped */
	GOOD("<@a.example,@b.example:user@d.example>", false, "user@d.example", "user",
	     "d.example"),
	GOOD("<@relay.example:user@d.example>", true, "user@d.example", "user", "d.example"),
	/* null path: only where allowed */
	GOOD("<>", true, "", "", ""),
	BAD("<>", false, "empty"),
	/* postmaster without a domain: RCPT only, any case */
	GOOD("<postmaster>", false, "postmaster", "postmaster", ""),
	GOOD("<PostMaster>", false, "PostMaster", "PostMaster", ""),
	GOOD("postmaster", false, "postmaster", "postmaster", ""),
	BAD("<postmaster>", true, "missing @"),
	BAD("<postmasters>", false, "missing @"),
	BAD("<webmaster>", false, "missing @"),

	/* missing or double @ */
	BAD("<userexample.org>", false, "missing @"),
	BAD("<user@@example.org>", false, "domain"),
	BAD("<user@exa@mple.org>", false, "unexpected"),
	BAD("<@example.org>", false, NULL),
	BAD("<user@>", false, "domain"),
	/* labels */
	BAD("<user@example..org>", false, "domain"),
	BAD("<user@.example.org>", false, "domain"),
	BAD("<user@example.org.>", false, "domain"),
	BAD("<user@-example.org>", false, "domain"),
	BAD("<user@example-.org>", false, "domain"),
	BAD("<user@exa_mple.org>", false, NULL),
	BAD("<user@exa mple.org>", false, NULL),
	/* local part */
	BAD("<.user@example.org>", false, "local part"),
	BAD("<user.@example.org>", false, "local part"),
	BAD("<us..er@example.org>", false, "local part"),
	BAD("<us er@example.org>", false, NULL),
	BAD("<us(er)@example.org>", false, NULL),
	BAD("<\"unterminated@example.org>", false, "local part"),
	BAD("<\"tab\there\"@example.org>", false, "local part"),
	BAD("<\"ctl\x01\"@example.org>", false, "local part"),
	BAD("<\"del\x7f\"@example.org>", false, "local part"),
	BAD("<\"esc\\\x01\"@example.org>", false, "local part"),
	BAD("<\"cr\r\nlf\"@example.org>", false, "local part"),
	/* brackets and junk */
	BAD("<user@example.org", false, "bracket"),
	BAD("<user@example.org", true, "bracket"),
	BAD("<", true, "bracket"),
	BAD("user@example.org>", false, "unexpected"),
	BAD("<<user@example.org>>", false, NULL),
	BAD("<user@example.org> x", false, "bracket"),
	BAD("<user@example.org x>", false, "unexpected"),
	BAD("<user@example.org>>", false, "unexpected"),
	BAD("< user@example.org>", false, NULL),
	BAD("<user@example.org >", false, "unexpected"),
	/* address literals */
	BAD("<user@[]>", false, "domain"),
	BAD("<user@[192.0.2.1>", false, "domain"),
	BAD("<user@[192.0.2.1]x>", false, "unexpected"),
	BAD("<user@[19 2.0.2.1]>", false, "domain"),
	BAD("<user@[a[b]>", false, "domain"),
	/* source routes */
	BAD("<@a.example,b.example:user@d.example>", false, "source route"),
	BAD("<@a.example user@d.example>", false, "source route"),
	BAD("<@:user@d.example>", false, "source route"),
	BAD("<@a.example:>", false, "local part"),
	/* an empty path is the null path when allowed, refused otherwise */
	BAD("", false, "empty"),
};

/* address_check_case - parse one row and compare */
static void address_check_case(struct arena *a, const struct address_case *c)
{
	struct address out;
	const char *why = NULL;
	int rc = address_parse_path(a, c->path, strlen(c->path), c->allow_null, &out, &why);

	if (c->ok) {
		ck_assert_msg(rc == 0, "'%s' (allow_null=%d) refused: %s", c->path,
			      c->allow_null, why ? why : "?");
		ck_assert_msg(strcmp(out.addr, c->addr) == 0, "'%s': addr '%s', want '%s'",
			      c->path, out.addr, c->addr);
		ck_assert_msg(strcmp(out.local, c->local) == 0, "'%s': local '%s', want '%s'",
			      c->path, out.local, c->local);
		ck_assert_msg(strcmp(out.domain, c->domain) == 0, "'%s': domain '%s', want '%s'",
			      c->path, out.domain, c->domain);
		ck_assert_msg(out.is_null == (c->addr[0] == '\0'), "'%s': is_null %d", c->path,
			      out.is_null);
	} else {
		ck_assert_msg(rc == -1, "'%s' (allow_null=%d) accepted as '%s'", c->path,
			      c->allow_null, out.addr ? out.addr : "?");
		ck_assert_msg(why != NULL && *why != '\0', "'%s': no reason", c->path);
		ck_assert_msg(c->why == NULL || strstr(why, c->why) != NULL,
			      "'%s': reason '%s' does not mention '%s'", c->path, why, c->why);
	}
}

START_TEST(address_table)
{
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof(address_cases) / sizeof(address_cases[0]); i++)
		address_check_case(a, &address_cases[i]);
	arena_free(a);
}
END_TEST

START_TEST(address_empty_allowed_is_null)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;

	ck_assert_int_eq(address_parse_path(a, "", 0, true, &out, &why), 0);
	ck_assert(out.is_null);
	ck_assert_str_eq(out.addr, "");
	ck_assert_int_eq(address_parse_path(a, "<>", 2, true, &out, &why), 0);
	ck_assert(out.is_null);
	ck_assert_str_eq(out.domain, "");
	arena_free(a);
}
END_TEST

/* address_repeat - N copies of C, NUL-terminated, in the arena */
static char *address_repeat(struct arena *a, char c, size_t n)
{
	char *s = arena_alloc(a, n + 1);

	memset(s, c, n);
	return s;
}

START_TEST(address_label_and_domain_bounds)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;
	char *l63 = address_repeat(a, 'a', 63), *l64 = address_repeat(a, 'b', 64);
	char *path;
	char *dom255, *dom256;

	path = arena_printf(a, "<u@%s.example>", l63);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), 0);
	path = arena_printf(a, "<u@%s.example>", l64);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), -1);
	path = arena_printf(a, "<u@example.%s>", l64);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "domain"));

	/* 4 x 63 + 3 dots = 255 octets: the limit itself */
	dom255 = arena_printf(a, "%s.%s.%s.%s", l63, l63, l63, l63);
	ck_assert_uint_eq(strlen(dom255), 255);
	path = arena_printf(a, "<u@%s>", dom255);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), 0);
	ck_assert_str_eq(out.domain, dom255);
	/* one more octet, every label still legal */
	dom256 = arena_printf(a, "%s.%s.%s.x%s", l63, l63, l63, l63);
	ck_assert_uint_eq(strlen(dom256), 256);
	path = arena_printf(a, "<u@%s>", dom256);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "domain"));
	arena_free(a);
}
END_TEST

START_TEST(address_path_bound)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;
	char *l63 = address_repeat(a, 'd', 63);
	char *dom = arena_printf(a, "%s.%s.%s.%s", l63, l63, l63, l63);
	char *path;

	/* "<" + 254 + "@" + 255 + ">" = 512 octets: the longest path taken */
	path = arena_printf(a, "<%s@%s>", address_repeat(a, 'l', 254), dom);
	ck_assert_uint_eq(strlen(path), ADDRESS_MAX_PATH);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), 0);
	path = arena_printf(a, "<%s@%s>", address_repeat(a, 'l', 255), dom);
	ck_assert_uint_eq(strlen(path), ADDRESS_MAX_PATH + 1);
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "long"));
	path = arena_printf(a, "<%s@example.org>", address_repeat(a, 'x', 5000));
	ck_assert_int_eq(address_parse_path(a, path, strlen(path), true, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "long"));
	arena_free(a);
}
END_TEST

START_TEST(address_nul_inside_len)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;
	const char p1[] = "<us\0er@example.org>";
	const char p2[] = "<user@example.org\0>";
	const char p3[] = "<user@example.org>\0";

	ck_assert_int_eq(address_parse_path(a, p1, sizeof(p1) - 1, false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	ck_assert_int_eq(address_parse_path(a, p2, sizeof(p2) - 1, false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	ck_assert_int_eq(address_parse_path(a, p3, sizeof(p3) - 1, false, &out, &why), -1);
	/* the same bytes, LEN stopping before the NUL, are fine */
	ck_assert_int_eq(address_parse_path(a, p3, sizeof(p3) - 2, false, &out, &why), 0);
	ck_assert_str_eq(out.addr, "user@example.org");
	arena_free(a);
}
END_TEST

START_TEST(address_stops_at_len)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;
	const char text[] = "<user@Example.org>trailing junk";
	size_t len = strlen("<user@Example.org>");
	/* an exact-size heap copy without a terminator: ASan sees any overread */
	char *buf = malloc(len);

	memcpy(buf, text, len);
	ck_assert_int_eq(address_parse_path(a, buf, len, false, &out, &why), 0);
	ck_assert_str_eq(out.addr, "user@example.org");
	/* cut in the middle: parsed as what LEN covers */
	ck_assert_int_eq(address_parse_path(a, buf + 1, 4, false, &out, &why), -1);
	ck_assert_int_eq(address_parse_path(a, buf, len - 1, false, &out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "bracket"));
	free(buf);
	arena_free(a);
}
END_TEST

START_TEST(address_results_in_arena)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why = NULL;
	char path[] = "<Someone@Example.ORG>";

	ck_assert_int_eq(address_parse_path(a, path, strlen(path), false, &out, &why), 0);
	/* the caller's buffer is neither modified nor referenced */
	ck_assert_str_eq(path, "<Someone@Example.ORG>");
	memset(path, 'z', strlen(path));
	ck_assert_str_eq(out.addr, "Someone@example.org");
	ck_assert_str_eq(out.local, "Someone");
	ck_assert_str_eq(out.domain, "example.org");
	ck_assert(!out.is_null);
	arena_free(a);
}
END_TEST

static Suite *address_suite(void)
{
	Suite *s = suite_create("address");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, address_table);
	tcase_add_test(tc, address_empty_allowed_is_null);
	tcase_add_test(tc, address_label_and_domain_bounds);
	tcase_add_test(tc, address_path_bound);
	tcase_add_test(tc, address_nul_inside_len);
	tcase_add_test(tc, address_stops_at_len);
	tcase_add_test(tc, address_results_in_arena);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(address_suite());
}
