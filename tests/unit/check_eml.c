/*
 * check_eml.c - message files to header fields and body chunks, the way an
 * MTA hands them to a milter: folded fields joined with "\n", white space
 * after the colon stripped, CRLF and LF input, the mbox "From " line
 * dropped, a non-header line ending the header section (no_separator),
 * files with headers only or nothing at all, the body in CRLF lines and
 * chunks of at most EML_CHUNK, NUL bytes passed through, and a callback
 * stopping the feed.
 */
#include "mail/eml.h"
#include "util/strbuf.h"
#include "unit.h"

/* What the callbacks saw, in order. */
struct eml_test_rec {
	struct strbuf names, values;	/* each field as NAME\1 and VALUE\1 */
	size_t nheaders;
	size_t value_len[16];		/* lengths of the first 16 values */
	int eoh_calls;
	size_t eoh_after;		/* headers seen when eoh came */
	struct strbuf body;
	size_t nchunks, max_chunk;
	/* stop the feed: the Nth header, at eoh, or at the Nth chunk (0 = never) */
	size_t stop_header, stop_chunk;
	bool stop_eoh;
	bool order_ok;			/* nothing came after the body started but body */
};

static int eml_test_header(void *ctx, const char *name, const char *value, size_t len)
{
	struct eml_test_rec *r = ctx;

	if (r->eoh_calls || r->nchunks)
		r->order_ok = false;
	strbuf_puts(&r->names, name);
	strbuf_putc(&r->names, '\1');
	strbuf_append(&r->values, value, len);
	strbuf_putc(&r->values, '\1');
	if (r->nheaders < 16)
		r->value_len[r->nheaders] = len;
	r->nheaders++;
	return r->stop_header != 0 && r->nheaders == r->stop_header;
}

static int eml_test_eoh(void *ctx)
{
	struct eml_test_rec *r = ctx;

	if (r->nchunks)
		r->order_ok = false;
	r->eoh_calls++;
	r->eoh_after = r->nheaders;
	return r->stop_eoh;
}

static int eml_test_body(void *ctx, const unsigned char *chunk, size_t len)
{
	struct eml_test_rec *r = ctx;

	if (r->eoh_calls != 1)
		r->order_ok = false;
	strbuf_append(&r->body, chunk, len);
	r->nchunks++;
	if (len > r->max_chunk)
		r->max_chunk = len;
	return r->stop_chunk != 0 && r->nchunks == r->stop_chunk;
}

static const struct eml_callbacks eml_test_cb = { eml_test_header, eml_test_eoh, eml_test_body };

static void eml_test_init(struct eml_test_rec *r)
{
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->names);
	strbuf_init(&r->values);
	strbuf_init(&r->body);
	r->order_ok = true;
}

static void eml_test_free(struct eml_test_rec *r)
{
	strbuf_free(&r->names);
	strbuf_free(&r->values);
	strbuf_free(&r->body);
}

/* eml_test_feed - feed LEN bytes of TEXT into R; returns eml_feed's result */
static int eml_test_feed(struct eml_test_rec *r, const void *text, size_t len,
			 struct eml_stats *st)
{
	/* fmemopen does not take a zero size everywhere: use /dev/null */
	FILE *fp = len ? fmemopen((void *)text, len, "r") : fopen("/dev/null", "r");
	int rc;

	ck_assert(fp != NULL);
	rc = eml_feed(fp, &eml_test_cb, r, st);
	fclose(fp);
	ck_assert(r->order_ok);
	return rc;
}

/* eml_test_run - feed a C string and expect success */
static void eml_test_run(struct eml_test_rec *r, const char *text, struct eml_stats *st)
{
	ck_assert_int_eq(eml_test_feed(r, text, strlen(text), st), 0);
}

/* eml_test_bytes_eq - SB holds exactly LEN bytes of WANT */
static void eml_test_bytes_eq(const struct strbuf *sb, const void *want, size_t len,
			      const char *what)
{
	ck_assert_msg(sb->len == len && (len == 0 || memcmp(sb->data, want, len) == 0),
		      "%s: got %zu bytes [%s], want %zu bytes [%s]", what, sb->len,
		      strbuf_cstr(sb), len, (const char *)want);
}

#define EML_EQ(sb, lit, what) eml_test_bytes_eq((sb), (lit), sizeof(lit) - 1, (what))

START_TEST(eml_folded_headers)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "Subject: one\n two\n\tthree\nFrom: a@example.org\n"
			 "Received: from x\n  by y\n\nbody\n", &st);
	EML_EQ(&r.names, "Subject\1From\1Received\1", "names");
	EML_EQ(&r.values, " one\n two\n\tthree\1 a@example.org\1 from x\n  by y\1", "values");
	ck_assert_uint_eq(st.headers, 3);
	ck_assert_int_eq(r.eoh_calls, 1);
	ck_assert_uint_eq(r.eoh_after, 3);
	EML_EQ(&r.body, "body\r\n", "body");
	ck_assert(!st.no_separator);
	ck_assert(!st.stopped);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_colon_whitespace)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	/* As Postfix 3.7 hands them to a milter that asked for
	 * SMFIP_HDR_LEADSPC: all that follows the colon, spaces and tabs
	 * included (the engine takes the one space away, engine_header_raw) */
	eml_test_run(&r, "A:   \t value with trailing  \nB:value\nC:\nD: \nE::x\nF:\tt\n\n", &st);
	EML_EQ(&r.names, "A\1B\1C\1D\1E\1F\1", "names");
	EML_EQ(&r.values, "   \t value with trailing  \1value\1\1 \1:x\1\tt\1", "values");
	ck_assert_uint_eq(r.value_len[2], 0);
	ck_assert_uint_eq(r.value_len[3], 1);
	ck_assert_uint_eq(r.nchunks, 0);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_crlf_input)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "Subject: a\r\n b\r\nFrom: x@example.org\r\n\r\nline1\r\n\r\nline3\r\n", &st);
	EML_EQ(&r.names, "Subject\1From\1", "names");
	EML_EQ(&r.values, " a\n b\1 x@example.org\1", "values");
	EML_EQ(&r.body, "line1\r\n\r\nline3\r\n", "body");
	ck_assert_uint_eq(st.body_bytes, 16);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_lf_input)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "From: x@example.org\n\nline1\n\nline3\nlast without newline", &st);
	EML_EQ(&r.body, "line1\r\n\r\nline3\r\nlast without newline\r\n", "body");
	ck_assert_uint_eq(st.body_bytes, r.body.len);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_mbox_from_line)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "From sender@example.org Mon Jan  1 00:00:00 2024\n"
			 "From: sender@example.org\nSubject: s\n\nbody\n", &st);
	EML_EQ(&r.names, "From\1Subject\1", "names");
	ck_assert(!st.no_separator);
	eml_test_free(&r);

	/* only on the first line: later, "From " is not a header and starts the body */
	eml_test_init(&r);
	eml_test_run(&r, "Subject: s\nFrom nobody\nrest\n", &st);
	EML_EQ(&r.names, "Subject\1", "names");
	EML_EQ(&r.body, "From nobody\r\nrest\r\n", "body");
	ck_assert(st.no_separator);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_non_header_line_ends_header)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "From: a@example.org\nthis is not a header\nX-Late: b\n\nmore\n", &st);
	EML_EQ(&r.names, "From\1", "names");
	ck_assert_int_eq(r.eoh_calls, 1);
	ck_assert_uint_eq(r.eoh_after, 1);
	EML_EQ(&r.body, "this is not a header\r\nX-Late: b\r\n\r\nmore\r\n", "body");
	ck_assert(st.no_separator);
	eml_test_free(&r);

	/* a space in the name: not a field either */
	eml_test_init(&r);
	eml_test_run(&r, "From: a@example.org\nBad Name: x\n", &st);
	EML_EQ(&r.names, "From\1", "names");
	EML_EQ(&r.body, "Bad Name: x\r\n", "body");
	ck_assert(st.no_separator);
	eml_test_free(&r);

	/* white space before any field is not a continuation */
	eml_test_init(&r);
	eml_test_run(&r, " indented\nFrom: a@example.org\n", &st);
	ck_assert_uint_eq(r.nheaders, 0);
	EML_EQ(&r.body, " indented\r\nFrom: a@example.org\r\n", "body");
	ck_assert(st.no_separator);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_headers_only)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	eml_test_run(&r, "From: a@example.org\nSubject: folded\n at the end", &st);
	EML_EQ(&r.names, "From\1Subject\1", "names");
	EML_EQ(&r.values, " a@example.org\1 folded\n at the end\1", "values");
	ck_assert_int_eq(r.eoh_calls, 1);
	ck_assert_uint_eq(r.eoh_after, 2);
	ck_assert_uint_eq(r.nchunks, 0);
	ck_assert_uint_eq(st.body_bytes, 0);
	ck_assert(!st.no_separator);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_empty_input)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	ck_assert_int_eq(eml_test_feed(&r, "", 0, &st), 0);
	ck_assert_uint_eq(r.nheaders, 0);
	ck_assert_int_eq(r.eoh_calls, 1);
	ck_assert_uint_eq(r.nchunks, 0);
	ck_assert_uint_eq(st.headers, 0);
	ck_assert_uint_eq(st.body_bytes, 0);
	eml_test_free(&r);

	/* a blank first line: no headers, then the body */
	eml_test_init(&r);
	eml_test_run(&r, "\nbody only\n", &st);
	ck_assert_uint_eq(r.nheaders, 0);
	ck_assert_int_eq(r.eoh_calls, 1);
	EML_EQ(&r.body, "body only\r\n", "body");
	ck_assert(!st.no_separator);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_body_chunks)
{
	struct eml_test_rec r;
	struct eml_stats st;
	struct strbuf in, want;

	strbuf_init(&in);
	strbuf_init(&want);
	strbuf_puts(&in, "From: a@example.org\n\n");
	for (int i = 0; i < 20000; i++) {
		strbuf_printf(&in, "line %06d of the body\n", i);
		strbuf_printf(&want, "line %06d of the body\r\n", i);
	}
	/* one line longer than a chunk */
	for (int i = 0; i < 3 * EML_CHUNK; i++)
		strbuf_putc(&in, (char)('a' + i % 26));
	strbuf_putc(&in, '\n');
	for (int i = 0; i < 3 * EML_CHUNK; i++)
		strbuf_putc(&want, (char)('a' + i % 26));
	strbuf_puts(&want, "\r\n");
	ck_assert(!in.failed && !want.failed);

	eml_test_init(&r);
	ck_assert_int_eq(eml_test_feed(&r, in.data, in.len, &st), 0);
	ck_assert_uint_le(r.max_chunk, EML_CHUNK);
	ck_assert_uint_ge(r.nchunks, (want.len + EML_CHUNK - 1) / EML_CHUNK);
	ck_assert_uint_eq(st.body_bytes, want.len);
	ck_assert_msg(r.body.len == want.len && memcmp(r.body.data, want.data, want.len) == 0,
		      "body differs: %zu bytes, want %zu", r.body.len, want.len);
	eml_test_free(&r);
	strbuf_free(&in);
	strbuf_free(&want);
}
END_TEST

START_TEST(eml_long_header_line)
{
	struct eml_test_rec r;
	struct eml_stats st;
	struct strbuf in;

	/* no fixed line buffer: a 200000-octet field arrives whole */
	strbuf_init(&in);
	strbuf_puts(&in, "X-Long: ");
	for (int i = 0; i < 200000; i++)
		strbuf_putc(&in, 'v');
	strbuf_puts(&in, "\nFrom: a@example.org\n\n");
	eml_test_init(&r);
	ck_assert_int_eq(eml_test_feed(&r, in.data, in.len, &st), 0);
	ck_assert_uint_eq(r.nheaders, 2);
	ck_assert_uint_eq(r.value_len[0], 200001); /* the space too */
	eml_test_free(&r);
	strbuf_free(&in);
}
END_TEST

START_TEST(eml_nul_bytes)
{
	static const char in[] = "X-Nul: a\0b\nFrom: c@example.org\n\nbo\0dy\n\0\n";
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	ck_assert_int_eq(eml_test_feed(&r, in, sizeof(in) - 1, &st), 0);
	EML_EQ(&r.names, "X-Nul\1From\1", "names");
	ck_assert_uint_eq(r.value_len[0], 4);
	EML_EQ(&r.values, " a\0b\1 c@example.org\1", "values");
	EML_EQ(&r.body, "bo\0dy\r\n\0\r\n", "body");
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_stop_in_header)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	r.stop_header = 2;
	eml_test_run(&r, "A: 1\nB: 2\nC: 3\n\nbody\n", &st);
	ck_assert_uint_eq(r.nheaders, 2);
	ck_assert_int_eq(r.eoh_calls, 0);
	ck_assert_uint_eq(r.nchunks, 0);
	ck_assert(st.stopped);
	eml_test_free(&r);

	/* the last field is flushed at end of file: stopping there works too */
	eml_test_init(&r);
	r.stop_header = 1;
	eml_test_run(&r, "A: 1", &st);
	ck_assert_int_eq(r.eoh_calls, 0);
	ck_assert(st.stopped);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_stop_at_eoh)
{
	struct eml_test_rec r;
	struct eml_stats st;

	eml_test_init(&r);
	r.stop_eoh = true;
	eml_test_run(&r, "A: 1\n\nbody\n", &st);
	ck_assert_int_eq(r.eoh_calls, 1);
	ck_assert_uint_eq(r.nchunks, 0);
	ck_assert(st.stopped);
	eml_test_free(&r);

	/* also when a non-header line ended the header */
	eml_test_init(&r);
	r.stop_eoh = true;
	eml_test_run(&r, "A: 1\nnot a header\n", &st);
	ck_assert_uint_eq(r.nchunks, 0);
	ck_assert(st.stopped);
	ck_assert(st.no_separator);
	eml_test_free(&r);
}
END_TEST

START_TEST(eml_stop_in_body)
{
	struct eml_test_rec r;
	struct eml_stats st;
	struct strbuf in;

	strbuf_init(&in);
	strbuf_puts(&in, "A: 1\n\n");
	for (int i = 0; i < 10000; i++)
		strbuf_puts(&in, "0123456789012345678901234567890123456789\n");
	eml_test_init(&r);
	r.stop_chunk = 1;
	ck_assert_int_eq(eml_test_feed(&r, in.data, in.len, &st), 0);
	ck_assert_uint_eq(r.nchunks, 1);
	ck_assert_uint_eq(r.body.len, EML_CHUNK);
	ck_assert(st.stopped);
	eml_test_free(&r);
	strbuf_free(&in);
}
END_TEST

static Suite *eml_suite(void)
{
	Suite *s = suite_create("eml");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, eml_folded_headers);
	tcase_add_test(tc, eml_colon_whitespace);
	tcase_add_test(tc, eml_crlf_input);
	tcase_add_test(tc, eml_lf_input);
	tcase_add_test(tc, eml_mbox_from_line);
	tcase_add_test(tc, eml_non_header_line_ends_header);
	tcase_add_test(tc, eml_headers_only);
	tcase_add_test(tc, eml_empty_input);
	tcase_add_test(tc, eml_body_chunks);
	tcase_add_test(tc, eml_long_header_line);
	tcase_add_test(tc, eml_nul_bytes);
	tcase_add_test(tc, eml_stop_in_header);
	tcase_add_test(tc, eml_stop_at_eoh);
	tcase_add_test(tc, eml_stop_in_body);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(eml_suite());
}
