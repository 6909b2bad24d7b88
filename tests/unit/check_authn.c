/*
 * check_authn.c - the parsers behind DMARC and Authentication-Results:
 * DMARC records (a table of real-world broken ones), the author of a
 * message (From fields as spoofers write them), the authserv-id of an
 * incoming Authentication-Results, our header's size limits, and the
 * header fields a DKIM h= selects.
 */
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "mail/author.h"
#include "auth/authres.h"
#include "auth/dkim_hsel.h"
#include "auth/dmarc.h"
#include "unit.h"

struct dmarc_case {
	const char *record;
	int ok;				/* 1 a DMARC record, 0 not one (v=DMARC1 is not first) */
	enum dmarc_policy p, sp, np;
	const char *ignored;		/* a fragment of the note, or NULL for none */
};

/* RFC 9989 4.7: after v=DMARC1 the record is read leniently; what is
 * ignored is noted (real-world mistakes come from published records) */
static const struct dmarc_case dmarc_cases[] = {
	{ "v=DMARC1; p=reject", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, NULL },
	{ "v=DMARC1;p=none", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, NULL },
	{ "v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=r; psd=n; t=n", 1, DMARC_P_QUARANTINE, DMARC_P_REJECT, DMARC_P_NONE, NULL },
	{ "v=DMARC1; p = Reject ;", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, NULL },
	{ "v = DMARC1 ; p=reject", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, NULL },
	{ "v=DMARC1; p=reject; rua=mailto:a@example.org,mailto:b@example.net; ruf=mailto:f@example.org; fo=1", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, NULL },
	{ "v=DMARC1; p=none; future=thing", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "future=thing (unknown tag)" },
	{ "v=DMARC1; rua=mailto:r@example.org", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "read as p=none" },
	{ "v=DMARC1", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "read as p=none" },
	{ "v=DMARC1; pct=50", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "pct=50 (not used since RFC 9989)" },
	{ "v=DMARC1; p=reject; rf=afrf; ri=86400", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "ri=86400" },
	/* real-world mistakes: ignored, the rest applies */
	{ "v=DMARC1; p=reject; fo:0", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "fo:0 (not tag=value)" },
	{ "v=DMARC1;; p=reject", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "empty tag" },
	{ "v=DMARC1; p=reject; rf:afrf", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "rf:afrf" },
	{ "v=DMARC1; p=rejectt", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "p=rejectt" },
	{ "v=DMARC1; p=reject; pct=110", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "pct=110" },
	{ "v=DMARC1; p=none; aspf=x", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "aspf=x" },
	{ "v=DMARC1; p=reject; sp=no", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "sp=no" },
	{ "v=DMARC1; p=reject; np=bogus", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "np=bogus" },
	{ "v=DMARC1; p=reject; v=DMARC1", 1, DMARC_P_REJECT, DMARC_P_UNSET, DMARC_P_UNSET, "only comes first" },
	{ "v=DMARC1; p=\"reject\"", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "p=\"reject\"" },
	{ "v=DMARC1; p=none; p=reject", 1, DMARC_P_NONE, DMARC_P_UNSET, DMARC_P_UNSET, "repeated" },
	/* the one strict rule: v=DMARC1 first, exactly */
	{ "v=DMARC1 p=reject", 0, 0, 0, 0, NULL },		/* missing ';' */
	{ "p=reject; v=DMARC1", 0, 0, 0, 0, NULL },
	{ "v=dmarc1; p=reject", 0, 0, 0, 0, NULL },
	{ "v=DMARC2; p=reject", 0, 0, 0, 0, NULL },
	{ "", 0, 0, 0, 0, NULL },
};

START_TEST(dmarc_records)
{
	const struct dmarc_case *c = &dmarc_cases[_i];
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *why = NULL;
	int rc = dmarc_record_parse(a, c->record, strlen(c->record), &r, &why);

	ck_assert_msg((rc == 0) == c->ok, "%s: got %s (%s)", c->record, rc == 0 ? "ok" : "not a record",
		      why ? why : "-");
	if (c->ok) {
		ck_assert_int_eq(r.p, c->p);
		ck_assert_int_eq(r.sp, c->sp);
		ck_assert_int_eq(r.np, c->np);
		if (c->ignored == NULL)
			ck_assert_msg(r.ignored == NULL, "%s: ignored %s", c->record, r.ignored);
		else
			ck_assert_msg(r.ignored != NULL && strstr(r.ignored, c->ignored) != NULL,
				      "%s: ignored %s, want %s", c->record, r.ignored ? r.ignored : "-",
				      c->ignored);
	} else {
		ck_assert_ptr_nonnull(why);
	}
	arena_free(a);
}
END_TEST

START_TEST(dmarc_record_tags)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *why;
	static const char rec[] = "v=DMARC1; p=reject; t=Y; psd=y; adkim=S";

	ck_assert_int_eq(dmarc_record_parse(a, rec, sizeof(rec) - 1, &r, &why), 0);
	ck_assert(r.testing);
	ck_assert_int_eq(r.psd, 'y');
	ck_assert_int_eq(r.adkim, 's');
	ck_assert_int_eq(r.aspf, 'r');
	arena_free(a);
}
END_TEST

START_TEST(dmarc_record_nul)
{
	/* a NUL byte makes that tag's value invalid: ignored, the next p= counts */
	static const char rec[] = "v=DMARC1; p=none\0; p=reject";
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *why;

	ck_assert_int_eq(dmarc_record_parse(a, rec, sizeof(rec) - 1, &r, &why), 0);
	ck_assert_int_eq(r.p, DMARC_P_REJECT);
	ck_assert_ptr_nonnull(strstr(r.ignored, "control or non-ASCII"));
	arena_free(a);
}
END_TEST

struct author_case {
	const char *froms[3];
	enum author_status st;
	const char *domain;
};

static const struct author_case author_cases[] = {
	{ { "Alice <alice@Example.ORG>" }, AUTHOR_OK, "example.org" },
	{ { "alice@example.org" }, AUTHOR_OK, "example.org" },
	{ { "\"Bank, Inc.\" <ceo@bank.example>" }, AUTHOR_OK, "bank.example" },
	{ { "=?UTF-8?B?QmFuaw==?= <x@bank.example> (comment)" }, AUTHOR_OK, "bank.example" },
	{ { "<alice@example.org.>" }, AUTHOR_OK, "example.org" },
	{ { NULL }, AUTHOR_NO_FROM, NULL },
	{ { "a@example.org", "b@example.net" }, AUTHOR_MULTIPLE_FIELDS, NULL },
	{ { "a@example.org, b@example.net" }, AUTHOR_MULTIPLE_ADDRESSES, NULL },
	{ { "friends: a@example.org, b@example.net;" }, AUTHOR_MULTIPLE_ADDRESSES, NULL },
	{ { "undisclosed" }, AUTHOR_UNPARSEABLE, NULL },
	{ { "alice@localhost" }, AUTHOR_UNPARSEABLE, NULL },	/* no organizational domain */
	{ { "" }, AUTHOR_UNPARSEABLE, NULL },
	/* RFC 8616: U-labels and A-labels are one author domain, in A-labels */
	{ { "user@xn--mnchen-3ya.de" }, AUTHOR_OK, "xn--mnchen-3ya.de" },
	{ { "user@m\xc3\xbcnchen.de" }, AUTHOR_OK, "xn--mnchen-3ya.de" },
	{ { "User <user@M\xc3\x9cNCHEN.DE>" }, AUTHOR_OK, "xn--mnchen-3ya.de" },
	{ { "user@XN--MNCHEN-3YA.DE" }, AUTHOR_OK, "xn--mnchen-3ya.de" },
	{ { "user@xn--zz.de" }, AUTHOR_BAD_DOMAIN, NULL },
	/* a bounce's empty address is not garbage */
	{ { "MAILER-DAEMON <>" }, AUTHOR_EMPTY, NULL },
	{ { "<>" }, AUTHOR_EMPTY, NULL },
	{ { "a <b> <>" }, AUTHOR_UNPARSEABLE, NULL },
};

START_TEST(author_cases_test)
{
	const struct author_case *c = &author_cases[_i];
	struct header_field h[4];
	size_t n = 0;
	struct arena *a = arena_new();
	struct author au;

	h[n++] = (struct header_field){ "Subject", "hi", 2 };
	for (int k = 0; k < 3 && c->froms[k]; k++)
		h[n++] = (struct header_field){ k ? "FROM" : "From", c->froms[k], strlen(c->froms[k]) };
	ck_assert_int_eq(author_find(h, n, a, &au), 0);
	ck_assert_msg(au.status == c->st, "case %d: status %d, want %d", _i, au.status, c->st);
	if (c->domain)
		ck_assert_str_eq(au.domain, c->domain);
	arena_free(a);
}
END_TEST

START_TEST(authserv_ids)
{
	static const struct { const char *in, *id; } t[] = {
		{ "mx.example.org; spf=pass", "mx.example.org" },
		{ "  mx.example.org 1; dkim=pass", "mx.example.org" },
		{ "(forged) MX.Example.Org; dmarc=pass", "MX.Example.Org" },
		{ "(a (nested) comment) mx.example.org;", "mx.example.org" },
		{ "\"quoted id\"; none", "quoted id" },
		{ "mx.example.org;none", "mx.example.org" },
		{ "; spf=pass", NULL },
		{ "", NULL },
		{ "(unterminated", NULL },
		{ "mx.example.org/1; dkim=pass", "mx.example.org" },
		{ "mx.example.org.; spf=pass", "mx.example.org" },
		{ "mx.example.org(c);", "mx.example.org" },
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *id = authres_authserv_id(a, t[i].in, strlen(t[i].in));

		if (t[i].id == NULL)
			ck_assert_msg(id == NULL, "%s: got %s", t[i].in, id);
		else
			ck_assert_msg(id != NULL && strcmp(id, t[i].id) == 0, "%s: got %s", t[i].in,
				      id ? id : "(null)");
	}
	arena_free(a);
}
END_TEST

START_TEST(received_spf_receivers)
{
	static const struct { const char *in, *rcv; } t[] = {
		{ "pass (mx: ok) receiver=mx.example.org; client-ip=192.0.2.1;", "mx.example.org" },
		{ "fail client-ip=192.0.2.1; receiver = mx.example.org ;", "mx.example.org" },
		{ "pass (receiver=comment.example) client-ip=1.2.3.4;", NULL },
		{ "pass client-ip=1.2.3.4; notreceiver=x.example;", NULL },
		{ "none", NULL },
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *r = authres_received_spf_receiver(a, t[i].in, strlen(t[i].in));

		if (t[i].rcv == NULL)
			ck_assert_msg(r == NULL, "%s: got %s", t[i].in, r);
		else
			ck_assert_msg(r != NULL && strcmp(r, t[i].rcv) == 0, "%s: got %s", t[i].in,
				      r ? r : "(null)");
	}
	arena_free(a);
}
END_TEST

START_TEST(authres_limits)
{
	struct arena *a = arena_new();
	struct results r;
	struct dkim_result dk[40];
	struct authres_input in = { "mx.example.org", &r, "user@example.org", "mx.example.net" };
	const char **vals;
	size_t n, total = 0;

	memset(&r, 0, sizeof(r));
	r.spf_mailfrom.result = AR_PASS;
	for (int i = 0; i < 40; i++)
		dk[i] = (struct dkim_result){ AR_PASS, "example.org", "selector1", "rsa-sha256",
					      NULL, "abcdefgh", 2048 };
	r.dkim = dk;
	r.ndkim = 40;
	r.dmarc = (struct dmarc_result){ AR_PASS, "example.org", "reject", "none" };
	ck_assert_int_eq(authres_build(a, &in, &vals, &n), 0);
	ck_assert_uint_gt(n, 1);	/* 40 results do not fit in one header */
	for (size_t i = 0; i < n; i++) {
		const char *p = vals[i], *nl;

		ck_assert_uint_le(strlen(vals[i]) + AUTHRES_FIELD_NAME_LEN, AUTHRES_MAX_HEADER);
		ck_assert(strncmp(vals[i], "mx.example.org;\n\t", 17) == 0);
		ck_assert(strchr(vals[i], '\r') == NULL);	/* LF+TAB folding only */
		for (; p != NULL; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			ck_assert_uint_le(nl ? (size_t)(nl - p) : strlen(p), AUTHRES_MAX_LINE);
		}
		total += unit_count(vals[i], "dkim=pass");
	}
	ck_assert_uint_eq(total, 40);	/* nothing lost in the split */
	arena_free(a);
}
END_TEST

START_TEST(authres_quoting)
{
	struct arena *a = arena_new();
	struct results r;
	struct authres_input in = { "mx.example.org", &r, "\"odd local\"@example.org", "h" };
	const char **vals;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.spf_mailfrom.result = AR_FAIL;
	r.spf_mailfrom.reason = "reason with (parens) and \\ backslash";
	ck_assert_int_eq(authres_build(a, &in, &vals, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(vals[0], "smtp.mailfrom=\"\\\"odd local\\\"@example.org\"") != NULL, "%s", vals[0]);
	ck_assert_msg(strstr(vals[0], "(reason with parens and  backslash)") != NULL, "%s", vals[0]);
	arena_free(a);
}
END_TEST

struct hsel_seen {
	size_t idx[64];
	size_t n;
};

static bool hsel_record(void *ctx, const char *name, size_t len, size_t idx)
{
	struct hsel_seen *s = ctx;

	(void)name;
	(void)len;
	ck_assert_uint_lt(s->n, 64);
	s->idx[s->n++] = idx;
	return true;
}

/* hsel_naive - RFC 6376 5.4.2 the slow, obvious way: the N-th use of a name
 * in H takes the N-th instance from the bottom */
static size_t hsel_naive(const struct dkim_field *f, size_t n, const char *h, size_t upto,
			 const char *name, size_t len)
{
	size_t before = 0;

	for (size_t p = 0; p < upto;) {
		size_t s = p;

		while (p < upto && h[p] != ':')
			p++;
		if (p - s == len && strncasecmp(h + s, name, len) == 0)
			before++;
		p++;
	}
	for (size_t k = n; len > 0 && k-- > 0;)
		if (strlen(f[k].name) == len && strncasecmp(f[k].name, name, len) == 0 &&
		    before-- == 0)
			return k;
	return DKIM_HSEL_NONE;
}

struct hsel_cmp {
	const struct dkim_field *f;
	size_t n;
	const char *h;
};

static bool hsel_compare(void *ctx, const char *name, size_t len, size_t idx)
{
	const struct hsel_cmp *c = ctx;

	ck_assert_uint_eq(idx, hsel_naive(c->f, c->n, c->h, (size_t)(name - c->h), name, len));
	return true;
}

/* h= selects bottom-up, each instance once, names without case; an empty
 * name or one with nothing left selects nothing; and on random headers
 * and h= lists it agrees with the obvious quadratic reading. */
START_TEST(dkim_hsel_selects)
{
	static const struct dkim_field f[] = { { "From", "", 0, false },    { "To", "", 0, false },
					       { "Subject", "", 0, false }, { "X-A", "", 0, false },
					       { "x-a", "", 0, false },	    { "X-A", "", 0, false } };
	static const size_t want[] = { 0, 5, 4, DKIM_HSEL_NONE, 3, DKIM_HSEL_NONE, 1,
				       DKIM_HSEL_NONE };
	static const char *const pool[] = { "From", "to", "X-A", "x-a", "Subject", "Date", "" };
	struct hsel_seen seen = { .n = 0 };
	unsigned seed = 7;

	ck_assert_int_eq(dkim_hsel(f, 6, "from:x-a:X-A::x-a:x-a:to:nosuch", hsel_record, &seen), 0);
	ck_assert_uint_eq(seen.n, 8);
	for (size_t i = 0; i < 8; i++)
		ck_assert_uint_eq(seen.idx[i], want[i]);
	for (int round = 0; round < 2000; round++) {
		struct dkim_field rf[12];
		char h[256] = "";
		size_t n = (size_t)(rand_r(&seed) % 12), names = (size_t)(rand_r(&seed) % 20);
		struct hsel_cmp c = { rf, n, h };

		for (size_t i = 0; i < n; i++)
			rf[i] = (struct dkim_field){ pool[rand_r(&seed) % 6], "", 0, false };
		for (size_t i = 0; i < names; i++) {
			if (i > 0)
				strcat(h, ":");
			strcat(h, pool[rand_r(&seed) % 7]);
		}
		ck_assert_int_eq(dkim_hsel(rf, n, h, hsel_compare, &c), 0);
	}
}
END_TEST

static Suite *authn_suite(void)
{
	Suite *s = suite_create("authn");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dmarc_records, 0, sizeof(dmarc_cases) / sizeof(dmarc_cases[0]));
	tcase_add_test(tc, dmarc_record_nul);
	tcase_add_test(tc, dmarc_record_tags);
	tcase_add_loop_test(tc, author_cases_test, 0, sizeof(author_cases) / sizeof(author_cases[0]));
	tcase_add_test(tc, authserv_ids);
	tcase_add_test(tc, received_spf_receivers);
	tcase_add_test(tc, authres_limits);
	tcase_add_test(tc, authres_quoting);
	tcase_add_test(tc, dkim_hsel_selects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	author_lib_init();
	return unit_run(authn_suite());
}
