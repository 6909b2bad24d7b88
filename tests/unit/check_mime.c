/*
 * check_mime.c - the streaming MIME walk (filter/mail/mime.c, include/mail/mime.h)
 *
 * What these tests promise: the text of text/plain and text/html parts that
 * are not attachments, transfer encoding undone (base64, quoted-printable
 * with soft line breaks) and converted to UTF-8 (unknown charsets kept as
 * they are); multipart nesting and message/rfc822 parts followed;
 * attachments named with RFC 2231 and RFC 2047 decoded; broken MIME (no
 * boundary, unclosed parts, odd boundary lines) walked without failing;
 * CRLF and LF input alike; long lines kept and never taken for boundaries;
 * and every limit (text, depth, parts) saying which one cut the walk.
 *
 * Every message is walked whole and then again in every chunk size from 1
 * up, and in irregular chunks: a streaming walk must not depend on where
 * the MTA cuts the body.
 */
#include "util/arena.h"
#include "mail/author.h"
#include "mail/mime.h"
#include "unit.h"

#define MAX_ATTS 16

/* Everything a walk produced, copied out of the walk and its arena. */
struct walked {
	char *text;
	size_t len;
	size_t natts;
	char *name[MAX_ATTS], *type[MAX_ATTS];
	const char *truncated;	/* static strings in mime.c */
	unsigned parts;
};

struct msg {
	const char *ct, *cte, *disp;	/* the message's own headers (NULL: absent) */
	const char *body;
	size_t len;			/* 0: strlen(body) */
};

static const struct mime_limits lim_default = { 1024 * 1024, 20, 500 };

static void walked_free(struct walked *w)
{
	free(w->text);
	for (size_t i = 0; i < w->natts; i++) {
		free(w->name[i]);
		free(w->type[i]);
	}
	memset(w, 0, sizeof(*w));
}

/* next_chunk - the size of chunk number I: CHUNK, or an irregular
 * sequence (1, 2, 3, 5, 8, ...) wrapping around when CHUNK is 0 */
static size_t next_chunk(size_t chunk, size_t i)
{
	static const size_t fib[] = { 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597 };

	return chunk ? chunk : fib[i % (sizeof(fib) / sizeof(fib[0]))];
}

/* walk - M through a new walk fed in chunks of CHUNK bytes (SIZE_MAX: all
 * at once, 0: irregular), into OUT */
static void walk(const struct msg *m, const struct mime_limits *lim, size_t chunk, struct walked *out)
{
	struct arena *a = arena_new();
	struct mime_walk *w;
	size_t len = m->len ? m->len : strlen(m->body), off = 0, n;
	const struct mime_attachment *att;
	const char *text;

	ck_assert(a != NULL);
	w = mime_walk_new(a, lim, m->ct, m->cte, m->disp);
	ck_assert(w != NULL);
	for (size_t i = 0; off < len; i++) {
		size_t c = chunk == SIZE_MAX ? len : next_chunk(chunk, i);

		if (c > len - off)
			c = len - off;
		ck_assert_int_eq(mime_walk_feed(w, (const unsigned char *)m->body + off, c), 0);
		off += c;
	}
	ck_assert_int_eq(mime_walk_finish(w), 0);
	memset(out, 0, sizeof(*out));
	text = mime_walk_text(w, &out->len);
	ck_assert(text != NULL && text[out->len] == '\0');
	out->text = malloc(out->len + 1);
	ck_assert(out->text != NULL);
	memcpy(out->text, text, out->len + 1);
	att = mime_walk_attachments(w, &n);
	ck_assert_uint_le(n, MAX_ATTS);
	out->natts = n;
	for (size_t i = 0; i < n; i++) {
		out->name[i] = strdup(att[i].filename);
		out->type[i] = strdup(att[i].type);
		ck_assert(out->name[i] != NULL && out->type[i] != NULL);
	}
	out->truncated = mime_walk_truncated(w);
	out->parts = mime_walk_parts(w);
	mime_walk_free(w);
	arena_free(a);
}

/* same_walk - X and Y found the same; WHAT names the feeding for the message */
static void same_walk(const struct walked *x, const struct walked *y, const char *what)
{
	ck_assert_msg(x->len == y->len && memcmp(x->text, y->text, x->len) == 0,
		      "%s: text differs:\n[%s]\nvs whole:\n[%s]", what, y->text, x->text);
	ck_assert_msg(x->natts == y->natts, "%s: %zu attachments vs %zu", what, y->natts, x->natts);
	for (size_t i = 0; i < x->natts; i++) {
		ck_assert_str_eq(x->name[i], y->name[i]);
		ck_assert_str_eq(x->type[i], y->type[i]);
	}
	ck_assert_msg((x->truncated == NULL) == (y->truncated == NULL) &&
		      (x->truncated == NULL || strcmp(x->truncated, y->truncated) == 0),
		      "%s: truncated %s vs %s", what, y->truncated ? y->truncated : "-",
		      x->truncated ? x->truncated : "-");
	ck_assert_msg(x->parts == y->parts, "%s: %u parts vs %u", what, y->parts, x->parts);
}

/* walk_lim - M walked whole into OUT, after checking that every chunking
 * (each size 1..N, and irregular chunks) gives the same result */
static void walk_lim(const struct msg *m, const struct mime_limits *lim, struct walked *out)
{
	size_t len = m->len ? m->len : strlen(m->body);
	size_t every = len <= 600 ? len : 64;	/* every size up to here, then a few */
	const size_t more[] = { 100, 127, 333, 999, 1000, 1001, 1024, 4096 };
	char what[64];

	walk(m, lim, SIZE_MAX, out);
	for (size_t c = 1; c <= every; c++) {
		struct walked w;

		walk(m, lim, c, &w);
		snprintf(what, sizeof(what), "chunks of %zu", c);
		same_walk(out, &w, what);
		walked_free(&w);
	}
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		struct walked w;

		if (more[i] <= every || more[i] >= len)
			continue;
		walk(m, lim, more[i], &w);
		snprintf(what, sizeof(what), "chunks of %zu", more[i]);
		same_walk(out, &w, what);
		walked_free(&w);
	}
	{
		struct walked w;

		walk(m, lim, 0, &w);
		same_walk(out, &w, "irregular chunks");
		walked_free(&w);
	}
}

static void walk_all(const struct msg *m, struct walked *out)
{
	walk_lim(m, &lim_default, out);
}

/* text_is - the walk's text is exactly WANT */
#define text_is(w, want) \
	ck_assert_msg((w)->len == strlen(want) && memcmp((w)->text, want, (w)->len) == 0, \
		      "text is\n[%s]\nwant\n[%s]", (w)->text, want)

/* crlf - TEXT with every LF made CRLF (malloc'd) */
static char *crlf(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(2 * n + 1), *o = out;

	ck_assert(out != NULL);
	for (const char *c = text; *c; c++) {
		if (*c == '\n')
			*o++ = '\r';
		*o++ = *c;
	}
	*o = '\0';
	return out;
}

/* ---- text ------------------------------------------------------------ */

START_TEST(plain_text)
{
	struct msg m = { NULL, NULL, NULL, "Hello\nWorld\n\nbye\n" };
	struct walked w;

	/* No Content-Type: text/plain, us-ascii (RFC 2045). The line break
	 * before the end belongs to the body's end, not the text. */
	walk_all(&m, &w);
	text_is(&w, "Hello\nWorld\n\nbye");
	ck_assert_uint_eq(w.natts, 0);
	ck_assert_ptr_null(w.truncated);
	ck_assert_uint_eq(w.parts, 1);
	walked_free(&w);

	m.ct = "text/plain; charset=\"us-ascii\"; format=flowed";
	m.body = "no final newline";
	walk_all(&m, &w);
	text_is(&w, "no final newline");
	walked_free(&w);

	m.ct = "TEXT/HTML; charset=UTF-8";
	m.body = "<p>caf\xc3\xa9</p>\n";
	walk_all(&m, &w);
	text_is(&w, "<p>caf\xc3\xa9</p>");
	walked_free(&w);

	m.ct = "text/plain";
	m.body = "";
	walk_all(&m, &w);
	text_is(&w, "");
	walked_free(&w);
}
END_TEST

START_TEST(non_text_top_level)
{
	struct msg m = { "application/pdf; name=\"report.pdf\"", "base64", NULL, "JVBERi0xLjQK\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "report.pdf");
	ck_assert_str_eq(w.type[0], "application/pdf");
	walked_free(&w);

	/* text/calendar is neither body text nor an attachment */
	m.ct = "text/calendar";
	m.cte = NULL;
	m.body = "BEGIN:VCALENDAR\n";
	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 0);
	walked_free(&w);
}
END_TEST

START_TEST(alternative_text_html)
{
	struct msg m = { "multipart/alternative; boundary=\"=_alt\"", NULL, NULL,
		"This is a multi-part message in MIME format.\n"
		"\n"
		"--=_alt\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"\n"
		"plain version\n"
		"second line\n"
		"\n"
		"--=_alt\n"
		"Content-Type: text/html; charset=utf-8\n"
		"\n"
		"<p>html version</p>\n"
		"--=_alt--\n"
		"epilogue is not text\n" };
	struct walked w;

	walk_all(&m, &w);
	/* parts separated by a newline; preamble and epilogue left out */
	text_is(&w, "plain version\nsecond line\n\n<p>html version</p>");
	ck_assert_uint_eq(w.natts, 0);
	ck_assert_uint_eq(w.parts, 3);
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);
}
END_TEST

START_TEST(base64_text)
{
	struct msg m = { "text/plain; charset=utf-8", "base64", NULL,
		/* "Hello World!\nCaf\xc3\xa9 ist gut.\n" in lines of 8 */
		"SGVsbG8g\nV29ybGQh\nCkNhZsOp\nIGlzdCBn\ndXQuCg==\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "Hello World!\nCaf\xc3\xa9 ist gut.\n");
	walked_free(&w);

	/* the encoding's name in any case, the value with spaces around it */
	m.cte = " Base64 ";
	walk_all(&m, &w);
	text_is(&w, "Hello World!\nCaf\xc3\xa9 ist gut.\n");
	walked_free(&w);

	/* base64 in a part of a multipart, CRLF */
	m.ct = "multipart/mixed; boundary=b";
	m.cte = NULL;
	m.body = "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		 "c2VjcmV0IHBs\r\nYW5z\r\n--b--\r\n";
	walk_all(&m, &w);
	text_is(&w, "secret plans");
	walked_free(&w);
}
END_TEST

START_TEST(quoted_printable_text)
{
	struct msg m = { "text/plain; charset=utf-8", "quoted-printable", NULL,
		"Hello =\n"
		"World=3D=C3=A9 and a very long line that was wrapped here=\n"
		" and continues\n"
		"tail=20\n" };
	struct walked w;
	char *body;

	walk_all(&m, &w);
	text_is(&w, "Hello World=\xc3\xa9 and a very long line that was wrapped here and continues\ntail ");
	walked_free(&w);

	/* the same with CRLF soft line breaks */
	body = crlf(m.body);
	m.body = body;
	walk_all(&m, &w);
	text_is(&w, "Hello World=\xc3\xa9 and a very long line that was wrapped here and continues\ntail ");
	walked_free(&w);
	free(body);

	/* lower-case hex, the encoding's name in upper case */
	m.cte = "Quoted-Printable";
	m.body = "caf=c3=a9\n";
	walk_all(&m, &w);
	text_is(&w, "caf\xc3\xa9");
	walked_free(&w);
}
END_TEST

START_TEST(charsets)
{
	struct msg m = { "text/plain; charset=iso-8859-1", NULL, NULL, "caf\xe9 na\xefve\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "caf\xc3\xa9 na\xc3\xafve");
	walked_free(&w);

	/* windows-1252: the euro sign and curly quotes live in 0x80-0x9f */
	m.ct = "text/plain; charset=\"Windows-1252\"";
	m.body = "\x80 5 \x93quoted\x94\n";
	walk_all(&m, &w);
	text_is(&w, "\xe2\x82\xac 5 \xe2\x80\x9cquoted\xe2\x80\x9d");
	walked_free(&w);

	/* quoted-printable, then the charset */
	m.ct = "text/html; charset=iso-8859-1";
	m.cte = "quoted-printable";
	m.body = "<b>caf=E9</b>=\n!\n";
	walk_all(&m, &w);
	text_is(&w, "<b>caf\xc3\xa9</b>!");
	walked_free(&w);

	/* base64, then the charset: "\xe0 bient\xf4t" */
	m.ct = "text/plain; charset=ISO-8859-1";
	m.cte = "base64";
	m.body = "4CBiaWVu\ndPR0\n";
	walk_all(&m, &w);
	text_is(&w, "\xc3\xa0 bient\xc3\xb4t");
	walked_free(&w);

	/* a charset nobody knows: the bytes are kept as they are */
	m.ct = "text/plain; charset=x-no-such-charset";
	m.cte = NULL;
	m.body = "caf\xe9\n";
	walk_all(&m, &w);
	text_is(&w, "caf\xe9");
	walked_free(&w);

	/* multi-byte UTF-8 is not converted, even when split across chunks */
	m.ct = "text/plain; charset=utf-8";
	m.body = "\xe2\x82\xac\xf0\x9f\x98\x80\n";
	walk_all(&m, &w);
	text_is(&w, "\xe2\x82\xac\xf0\x9f\x98\x80");
	walked_free(&w);

	/* a multi-byte charset split across chunks: Shift_JIS "\x93\xfa\x96\x7b" is Japan */
	m.ct = "text/plain; charset=shift_jis";
	m.body = "\x93\xfa\x96\x7b\n";
	walk_all(&m, &w);
	text_is(&w, "\xe6\x97\xa5\xe6\x9c\xac");
	walked_free(&w);
}
END_TEST

/* ---- structure ------------------------------------------------------- */

static const char nested[] =
	"preamble\n"
	"--outer\n"
	"Content-Type: multipart/alternative;\n"
	"\tboundary=\"inner\"\n"
	"\n"
	"--inner\n"
	"content-type: text/plain\n"
	"\n"
	"inner plain\n"
	"--inner\n"
	"Content-Type: text/html\n"
	"\n"
	"<i>inner html</i>\n"
	"--inner--\n"
	"\n"
	"--outer\n"
	"Content-Type: Application/PDF\n"
	"Content-Disposition: attachment; filename=\"report.pdf\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQK\n"
	"--outer\n"
	"Content-Type: text/plain\n"
	"\n"
	"after the attachment\n"
	"--outer--\n";

START_TEST(nested_multiparts)
{
	struct msg m = { "multipart/mixed; boundary=outer", NULL, NULL, nested };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "inner plain\n<i>inner html</i>\nafter the attachment");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "report.pdf");
	ck_assert_str_eq(w.type[0], "application/pdf");
	ck_assert_uint_eq(w.parts, 6);
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);
}
END_TEST

START_TEST(message_rfc822)
{
	struct msg m = { "multipart/mixed; boundary=\"b1\"", NULL, NULL,
		"--b1\n"
		"Content-Type: text/plain\n"
		"\n"
		"see the forwarded message\n"
		"--b1\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"From: someone@example.org\n"
		"Subject: inner\n"
		"Content-Type: multipart/mixed; boundary=b2\n"
		"\n"
		"--b2\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"inner caf=E9\n"
		"--b2\n"
		"Content-Type: application/x-msdownload; name=\"setup.exe\"\n"
		"\n"
		"MZ\n"
		"--b2--\n"
		"--b1\n"
		"Content-Type: text/plain\n"
		"\n"
		"outer again\n"
		"--b1--\n" };
	struct walked w;

	walk_all(&m, &w);
	/* the inner message's headers are not text; its parts are walked */
	text_is(&w, "see the forwarded message\ninner caf\xc3\xa9\nouter again");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "setup.exe");
	ck_assert_str_eq(w.type[0], "application/x-msdownload");
	walked_free(&w);

	/* a forwarded message as an attachment is one, not text */
	m.body = "--b1\n"
		 "Content-Type: message/rfc822\n"
		 "Content-Disposition: attachment; filename=\"fwd.eml\"\n"
		 "\n"
		 "Subject: inner\n"
		 "\n"
		 "inner body\n"
		 "--b1--\n";
	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "fwd.eml");
	ck_assert_str_eq(w.type[0], "message/rfc822");
	walked_free(&w);

	/* message/rfc822 as the message's own type, with a plain body */
	m.ct = "message/rfc822";
	m.body = "Subject: inner\nContent-Type: text/plain\n\ninner body\n";
	walk_all(&m, &w);
	text_is(&w, "inner body");
	walked_free(&w);
}
END_TEST

START_TEST(attachment_names)
{
	struct msg m = { "multipart/mixed; boundary=b", NULL, NULL,
		"--b\n"
		"Content-Type: application/pdf\n"
		"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\n"
		"\n"
		"x\n"
		"--b\n"
		"Content-Type: application/octet-stream\n"
		"Content-Disposition: attachment;\n"
		" filename*0*=UTF-8''caf%C3%A9%20;\n"
		" filename*1=\"invoice\";\n"
		" filename*2=\".js\"\n"
		"\n"
		"x\n"
		"--b\n"
		"Content-Type: application/vnd.ms-excel; name=\"=?UTF-8?B?w6l0w6kueGxzbQ==?=\"\n"
		"\n"
		"x\n"
		"--b\n"
		"Content-Type: image/png\n"
		"\n"
		"x\n"
		"--b\n"
		"Content-Type: application/zip; name=\"fallback.zip\"\n"
		"Content-Disposition: attachment; filename=\"preferred.zip\"\n"
		"\n"
		"x\n"
		"--b\n"
		"Content-Type: application/octet-stream\n"
		"Content-Disposition: inline; filename*=iso-8859-1'en'r%E9sum%E9.doc\n"
		"\n"
		"x\n"
		"--b--\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 6);
	ck_assert_str_eq(w.name[0], "\xe2\x82\xac rates.pdf");		/* RFC 2231 */
	ck_assert_str_eq(w.name[1], "caf\xc3\xa9 invoice.js");		/* RFC 2231 continuations */
	ck_assert_str_eq(w.name[2], "\xc3\xa9t\xc3\xa9.xlsm");		/* RFC 2047 in name= */
	ck_assert_str_eq(w.type[2], "application/vnd.ms-excel");
	ck_assert_str_eq(w.name[3], "");				/* an inline image has no name */
	ck_assert_str_eq(w.type[3], "image/png");
	ck_assert_str_eq(w.name[4], "preferred.zip");			/* filename before name */
	ck_assert_str_eq(w.name[5], "r\xc3\xa9sum\xc3\xa9.doc");	/* RFC 2231 in latin-1 */
	walked_free(&w);
}
END_TEST

START_TEST(text_attachment)
{
	/* A text part that is an attachment is not body text, but is listed. */
	struct msg m = { "multipart/mixed; boundary=b", NULL, NULL,
		"--b\n"
		"Content-Type: text/plain\n"
		"\n"
		"the body\n"
		"--b\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Disposition: attachment\n"
		"\n"
		"attached text\n"
		"--b\n"
		"Content-Type: text/html; name=\"page.html\"\n"
		"\n"
		"<p>named html</p>\n"
		"--b\n"
		"Content-Type: text/plain\n"
		"Content-Disposition: ATTACHMENT; filename=notes.txt\n"
		"\n"
		"notes\n"
		"--b--\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "the body");
	ck_assert_uint_eq(w.natts, 3);
	ck_assert_str_eq(w.name[0], "");
	ck_assert_str_eq(w.type[0], "text/plain");
	ck_assert_str_eq(w.name[1], "page.html");
	ck_assert_str_eq(w.type[1], "text/html");
	ck_assert_str_eq(w.name[2], "notes.txt");
	walked_free(&w);

	/* the message itself can be an attachment */
	m.ct = "text/plain";
	m.disp = "attachment; filename=\"whole.txt\"";
	m.body = "not body text\n";
	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "whole.txt");
	walked_free(&w);
}
END_TEST

/* ---- broken MIME ----------------------------------------------------- */

START_TEST(missing_boundary)
{
	/* A multipart without a boundary cannot be walked: nothing in it is
	 * text or an attachment, and nothing fails. */
	struct msg m = { "multipart/mixed", NULL, NULL,
		"--b\nContent-Type: text/plain\n\nhidden\n--b--\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "");
	ck_assert_uint_eq(w.natts, 0);
	walked_free(&w);

	m.ct = "multipart/mixed; boundary=\"\"";
	walk_all(&m, &w);
	text_is(&w, "");
	walked_free(&w);

	/* the same inside a multipart: the rest of the outer one still counts */
	m.ct = "multipart/mixed; boundary=o";
	m.body = "--o\nContent-Type: multipart/alternative\n\n--x\nContent-Type: text/plain\n\nhidden\n--x--\n"
		 "--o\nContent-Type: text/plain\n\nvisible\n--o--\n";
	walk_all(&m, &w);
	text_is(&w, "visible");
	walked_free(&w);
}
END_TEST

START_TEST(unclosed_multipart)
{
	struct msg m = { "multipart/mixed; boundary=b", NULL, NULL,
		"--b\n"
		"Content-Type: text/plain\n"
		"\n"
		"first\n"
		"--b\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"cut off here caf=E9\n"
		"and here" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "first\ncut off here caf\xc3\xa9\nand here");
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);

	/* headers of a part and then the end */
	m.body = "--b\nContent-Type: text/plain\n\nfirst\n--b\nContent-Type: application/zip; name=a.zip\n";
	walk_all(&m, &w);
	text_is(&w, "first");
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_str_eq(w.name[0], "a.zip");
	walked_free(&w);

	/* an inner multipart left open, the outer one closed */
	m.ct = "multipart/mixed; boundary=o";
	m.body = "--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\ninner\n"
		 "--o\nContent-Type: text/plain\n\nouter\n--o--\n";
	walk_all(&m, &w);
	text_is(&w, "inner\nouter");
	walked_free(&w);
}
END_TEST

START_TEST(boundary_lines)
{
	struct msg m = { "multipart/mixed; boundary=\"sep\"", NULL, NULL,
		"--sep \t\n"			/* trailing white space: still the boundary */
		"Content-Type: text/plain\n"
		"\n"
		"one\n"
		"--sepx\n"			/* a longer word: content */
		"--se\n"			/* a shorter one: content */
		"-- sep\n"
		"--sep\t \n"
		"\n"				/* no headers: text/plain */
		"two\n"
		"--sep--  \n"			/* closing, with trailing white space */
		"--sep\n"			/* after the close: epilogue, ignored */
		"\n"
		"epilogue\n" };
	struct walked w;

	walk_all(&m, &w);
	text_is(&w, "one\n--sepx\n--se\n-- sep\ntwo");
	ck_assert_uint_eq(w.parts, 3);
	walked_free(&w);
}
END_TEST

START_TEST(crlf_and_lf)
{
	struct msg m = { "multipart/mixed; boundary=outer", NULL, NULL, nested };
	struct walked lf, cr;
	char *body = crlf(nested);

	walk_all(&m, &lf);
	m.body = body;
	walk_all(&m, &cr);
	same_walk(&lf, &cr, "CRLF");
	text_is(&cr, "inner plain\n<i>inner html</i>\nafter the attachment");
	walked_free(&lf);
	walked_free(&cr);
	free(body);
}
END_TEST

START_TEST(long_lines)
{
	/* A line longer than 1000 bytes is never a boundary, and is kept whole. */
	size_t n = 3000;
	char *body = malloc(n + 200), *want = malloc(n + 200);
	struct msg m = { "multipart/mixed; boundary=b", NULL, NULL, NULL };
	struct walked w;

	ck_assert(body != NULL && want != NULL);
	strcpy(body, "--b\n\n--b");
	memset(body + strlen(body), 'x', n);
	strcpy(body + 8 + n, "\nshort\n--b--\n");
	strcpy(want, "--b");
	memset(want + 3, 'x', n);
	strcpy(want + 3 + n, "\nshort");
	m.body = body;
	walk_all(&m, &w);
	text_is(&w, want);
	walked_free(&w);

	/* a long base64 line (no wrapping) decodes whole */
	{
		size_t quads = 1000;
		char *b64 = malloc(quads * 4 + 2), *plain = malloc(quads * 3 + 1);
		struct msg m2 = { "text/plain", "base64", NULL, NULL };

		ck_assert(b64 != NULL && plain != NULL);
		for (size_t i = 0; i < quads; i++)
			memcpy(b64 + 4 * i, "YWJj", 4), memcpy(plain + 3 * i, "abc", 3);
		strcpy(b64 + quads * 4, "\n");
		plain[quads * 3] = '\0';
		m2.body = b64;
		walk_all(&m2, &w);
		text_is(&w, plain);
		walked_free(&w);
		free(b64);
		free(plain);
	}
	free(body);
	free(want);
}
END_TEST

START_TEST(long_lines_crlf)
{
	/* A CRLF line longer than 1000 bytes loses its CR like a short one, so
	 * a CRLF message has the text of the same message in LF. Regression
	 * (fixed in 37ccae8): the long-line path passed the CR on as text. */
	size_t n = 1500;
	char *lf = malloc(n + 20), *cr;
	struct msg m = { "text/plain", NULL, NULL, NULL };
	struct walked a, b;

	ck_assert(lf != NULL);
	memset(lf, 'y', n);
	strcpy(lf + n, "\nend\n");
	cr = crlf(lf);
	m.body = lf;
	walk_all(&m, &a);
	m.body = cr;
	walk_all(&m, &b);
	ck_assert_msg(memchr(b.text, '\r', b.len) == NULL, "a CR is left in the text of a long CRLF line");
	same_walk(&a, &b, "CRLF");
	walked_free(&a);
	walked_free(&b);
	free(lf);
	free(cr);
}
END_TEST

START_TEST(garbage_headers)
{
	struct msg m = { "multipart/mixed; boundary=b", NULL, NULL,
		"--b\n"
		"this is not a header\n"
		"Content-Type: ;;;===\n"
		"Content-Transfer-Encoding: x-nonsense\n"
		"\n"
		"plain anyway\n"
		"--b\n"
		"Content-Type: text/plain; charset=\"\n"
		"\n"
		"odd charset\n"
		"--b--\n" };
	struct walked w;

	/* what the text is depends on GMime's reading of garbage; that it is
	 * the same however the body is cut, and nothing fails, is what counts */
	walk_all(&m, &w);
	walked_free(&w);
	mime_walk_free(NULL);
}
END_TEST

/* ---- limits ---------------------------------------------------------- */

START_TEST(limit_text)
{
	struct mime_limits lim = lim_default;
	struct msg m = { "text/plain", NULL, NULL, "0123456789abcdef\n" };
	struct walked w;

	lim.text_limit = 10;
	walk_lim(&m, &lim, &w);
	text_is(&w, "0123456789");
	ck_assert_str_eq(w.truncated, "body_scan_limit");
	walked_free(&w);

	/* exactly the limit is not truncated */
	lim.text_limit = 16;
	walk_lim(&m, &lim, &w);
	text_is(&w, "0123456789abcdef");
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);

	/* decoded bytes count, not encoded ones; later parts are cut too */
	m.ct = "multipart/mixed; boundary=b";
	m.body = "--b\nContent-Transfer-Encoding: base64\n\nYWFhYWFhYWFhYQ==\n"
		 "--b\n\nbbbbbbbbbb\n--b\nContent-Type: application/zip; name=z.zip\n\nx\n--b--\n";
	lim.text_limit = 15;
	walk_lim(&m, &lim, &w);
	text_is(&w, "aaaaaaaaaa\nbbbb");
	ck_assert_str_eq(w.truncated, "body_scan_limit");
	/* attachments past the text limit are still listed */
	ck_assert_uint_eq(w.natts, 1);
	walked_free(&w);
}
END_TEST

START_TEST(limit_depth)
{
	struct mime_limits lim = lim_default;
	struct msg m = { "multipart/mixed; boundary=d1", NULL, NULL,
		"--d1\n"
		"\n"
		"depth one\n"
		"--d1\n"
		"Content-Type: multipart/mixed; boundary=d2\n"
		"\n"
		"--d2\n"
		"\n"
		"depth two\n"
		"--d2\n"
		"Content-Type: multipart/mixed; boundary=d3\n"
		"\n"
		"--d3\n"
		"\n"
		"depth three\n"
		"--d3--\n"
		"--d2--\n"
		"--d1\n"
		"\n"
		"depth one again\n"
		"--d1--\n" };
	struct walked w;

	walk_lim(&m, &lim, &w);
	text_is(&w, "depth one\ndepth two\ndepth three\ndepth one again");
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);

	lim.max_depth = 2;
	walk_lim(&m, &lim, &w);
	text_is(&w, "depth one\ndepth two\ndepth one again");
	ck_assert_str_eq(w.truncated, "mime_max_depth");
	walked_free(&w);

	lim.max_depth = 1;
	walk_lim(&m, &lim, &w);
	text_is(&w, "depth one\ndepth one again");
	ck_assert_str_eq(w.truncated, "mime_max_depth");
	walked_free(&w);

	/* message/rfc822 counts as a level */
	m.body = "--d1\nContent-Type: message/rfc822\n\nSubject: x\n\ninner\n--d1--\n";
	lim.max_depth = 1;
	walk_lim(&m, &lim, &w);
	text_is(&w, "");
	ck_assert_str_eq(w.truncated, "mime_max_depth");
	walked_free(&w);
	lim.max_depth = 2;
	walk_lim(&m, &lim, &w);
	text_is(&w, "inner");
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);
}
END_TEST

START_TEST(limit_depth_deep)
{
	/* 2,000 nested multiparts under the default depth limit: bounded, no
	 * stack or memory growth, the limit said. */
	size_t cap = 2000 * 80 + 100, len = 0;
	char *body = malloc(cap);
	struct msg m = { "multipart/mixed; boundary=n0", NULL, NULL, NULL };
	struct walked w;

	ck_assert(body != NULL);
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"--n%d\nContent-Type: multipart/mixed; boundary=n%d\n\n", i, i + 1);
	len += (size_t)snprintf(body + len, cap - len, "--n2000\n\ndeepest\n");
	m.body = body;
	walk(&m, &lim_default, SIZE_MAX, &w);
	text_is(&w, "");
	ck_assert_str_eq(w.truncated, "mime_max_depth");
	walked_free(&w);
	free(body);
}
END_TEST

START_TEST(limit_parts)
{
	struct mime_limits lim = lim_default;
	struct msg m = { "multipart/mixed; boundary=p", NULL, NULL,
		"--p\n\npart a\n--p\n\npart b\n--p\n\npart c\n--p\n"
		"Content-Type: application/zip; name=d.zip\n\nx\n--p--\n" };
	struct walked w;

	walk_lim(&m, &lim, &w);
	text_is(&w, "part a\npart b\npart c");
	ck_assert_uint_eq(w.parts, 5);
	ck_assert_uint_eq(w.natts, 1);
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);

	/* the message is part 1: three parts are the message and two more */
	lim.max_parts = 3;
	walk_lim(&m, &lim, &w);
	text_is(&w, "part a\npart b");
	ck_assert_str_eq(w.truncated, "mime_max_parts");
	ck_assert_uint_eq(w.parts, 3);
	ck_assert_uint_eq(w.natts, 0);
	walked_free(&w);

	lim.max_parts = 5;
	walk_lim(&m, &lim, &w);
	ck_assert_ptr_null(w.truncated);
	walked_free(&w);
}
END_TEST

static void setup(void)
{
	author_lib_init();	/* GMime's global state, in every forked test */
}

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *text = tcase_create("text"), *structure = tcase_create("structure");
	TCase *broken = tcase_create("broken"), *limits = tcase_create("limits");
	TCase *all[] = { text, structure, broken, limits };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_unchecked_fixture(all[i], setup, NULL);
		tcase_set_timeout(all[i], 60);
	}
	tcase_add_test(text, plain_text);
	tcase_add_test(text, non_text_top_level);
	tcase_add_test(text, alternative_text_html);
	tcase_add_test(text, base64_text);
	tcase_add_test(text, quoted_printable_text);
	tcase_add_test(text, charsets);
	tcase_add_test(structure, nested_multiparts);
	tcase_add_test(structure, message_rfc822);
	tcase_add_test(structure, attachment_names);
	tcase_add_test(structure, text_attachment);
	tcase_add_test(broken, missing_boundary);
	tcase_add_test(broken, unclosed_multipart);
	tcase_add_test(broken, boundary_lines);
	tcase_add_test(broken, crlf_and_lf);
	tcase_add_test(broken, long_lines);
	tcase_add_test(broken, garbage_headers);
	tcase_add_test(limits, limit_text);
	tcase_add_test(limits, limit_depth);
	tcase_add_test(limits, limit_depth_deep);
	tcase_add_test(limits, limit_parts);
	tcase_add_test(broken, long_lines_crlf);
	suite_add_tcase(s, text);
	suite_add_tcase(s, structure);
	suite_add_tcase(s, broken);
	suite_add_tcase(s, limits);
	return s;
}

int main(void)
{
	return unit_run(mime_suite());
}
