/*
 * dkim_canon.c - streaming body and relaxed header canonicalization
 * (RFC 6376 3.4; see dkim_canon.h)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/dkim_canon.h"
#include "util/strbuf.h"

struct dkim_body {
	EVP_MD_CTX *md;
	bool relaxed;
	bool cr;	 /* a CR was the last byte: a line end if LF follows */
	bool wsp;	 /* relaxed: white space waits for content on the line */
	bool any;	 /* anything written yet */
	bool line_open;	 /* the current line has content (simple: any byte) */
	size_t empty;	 /* line ends held back */
	size_t line_len; /* octets on the current line */
	size_t longest;	 /* longest line seen */
	unsigned char out[512];
	size_t nout;
	bool failed;
};

struct dkim_body *dkim_body_new(bool relaxed, const EVP_MD *sha256)
{
	struct dkim_body *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->relaxed = relaxed;
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL || EVP_DigestInit_ex(b->md, sha256 ? sha256 : EVP_sha256(), NULL) != 1) {
		dkim_body_free(b);
		return NULL;
	}
	return b;
}

void dkim_body_free(struct dkim_body *b)
{
	if (b == NULL)
		return;
	EVP_MD_CTX_free(b->md);
	free(b);
}

static void dkim_flush(struct dkim_body *b)
{
	if (b->nout > 0 && EVP_DigestUpdate(b->md, b->out, b->nout) != 1)
		b->failed = true;
	b->nout = 0;
}

static void dkim_emit(struct dkim_body *b, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = sizeof(b->out) - b->nout;

		if (k == 0) {
			dkim_flush(b);
			continue;
		}
		if (k > n)
			k = n;
		memcpy(b->out + b->nout, p, k);
		b->nout += k;
		p += k;
		n -= k;
	}
}

/* dkim_content - N bytes that make the line non-empty: held line ends
 * and white space first */
static void dkim_content(struct dkim_body *b, const char *p, size_t n)
{
	for (; b->empty > 0; b->empty--)
		dkim_emit(b, "\r\n", 2);
	if (b->wsp) {
		dkim_emit(b, " ", 1);
		b->wsp = false;
	}
	dkim_emit(b, p, n);
	b->any = true;
	b->line_open = true;
}

/* Byte classes for the run scan in dkim_body_update(): content, a space
 * (kept as it is between content when relaxed), and everything that ends a
 * run (line ends; a tab when relaxed). Simple canonicalization keeps every
 * byte but the line ends. */
enum { DKIM_C_TEXT, DKIM_C_SPACE, DKIM_C_STOP };

static const unsigned char dkim_class_relaxed[256] = {
	['\r'] = DKIM_C_STOP, ['\n'] = DKIM_C_STOP, ['\t'] = DKIM_C_STOP, [' '] = DKIM_C_SPACE
};
static const unsigned char dkim_class_simple[256] = { ['\r'] = DKIM_C_STOP, ['\n'] = DKIM_C_STOP };

/* May byte class C, followed by class D, stay in a run of content? Text
 * may; a space only when content follows (a single space between words is
 * relaxed's own form). A table lookup instead of a branch per word, whose
 * misprediction at every space was most of the scan's cost. */
static const bool dkim_run_keeps[3][3] = {
	[DKIM_C_TEXT] = { true, true, true },
	[DKIM_C_SPACE] = { [DKIM_C_TEXT] = true },
};

static void dkim_line_end(struct dkim_body *b)
{
	if (b->line_len > b->longest)
		b->longest = b->line_len;
	b->line_len = 0;
	b->wsp = false; /* relaxed: white space at the end of a line goes */
	b->line_open = false;
	b->empty++;
}

static void dkim_byte(struct dkim_body *b, char c)
{
	b->line_len++;
	if (b->relaxed && (c == ' ' || c == '\t')) {
		b->wsp = true;
		return;
	}
	dkim_content(b, &c, 1);
}

int dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t len)
{
	const unsigned char *cls = b->relaxed ? dkim_class_relaxed : dkim_class_simple;

	for (size_t i = 0; i < len; i++) {
		char c = (char)p[i];

		/* a run of content goes in one piece: the per-byte path below
		 * was 9% of a verified message's CPU */
		if (!b->cr && cls[p[i]] == DKIM_C_TEXT) {
			size_t j = i + 1;

			while (j + 1 < len && dkim_run_keeps[cls[p[j]]][cls[p[j + 1]]])
				j++;
			if (j + 1 == len && cls[p[j]] == DKIM_C_TEXT)
				j++; /* the chunk's last byte; a space there waits */
			b->line_len += j - i;
			dkim_content(b, (const char *)p + i, j - i);
			i = j - 1;
			continue;
		}

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				dkim_line_end(b);
				continue;
			}
			dkim_byte(b, '\r');
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			dkim_line_end(b);
		else
			dkim_byte(b, c);
	}
	return b->failed ? -1 : 0;
}

int dkim_body_final(struct dkim_body *b, unsigned char out[32])
{
	unsigned int n = 0;

	if (b->cr) {
		b->cr = false;
		dkim_byte(b, '\r');
	}
	if (b->line_len > b->longest)
		b->longest = b->line_len;
	/* The last line with content ends with CRLF; held empty lines vanish.
	 * An empty body is "" relaxed and one CRLF simple (RFC 6376 3.4.3/4). */
	if (b->any || !b->relaxed)
		dkim_emit(b, "\r\n", 2);
	dkim_flush(b);
	if (b->failed || EVP_DigestFinal_ex(b->md, out, &n) != 1 || n != 32)
		return -1;
	return 0;
}

size_t dkim_body_longest_line(const struct dkim_body *b)
{
	return b->longest > b->line_len ? b->longest : b->line_len;
}

void dkim_canon_header_relaxed(struct strbuf *sb, const char *name, const char *value, size_t len,
			       bool crlf)
{
	bool wsp = false, started = false;

	for (const char *p = name; *p; p++)
		strbuf_putc(sb, (char)tolower((unsigned char)*p));
	strbuf_putc(sb, ':');
	for (size_t i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (c == ' ' || c == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && started)
			strbuf_putc(sb, ' ');
		wsp = false;
		started = true;
		strbuf_putc(sb, c);
	}
	if (crlf)
		strbuf_puts(sb, "\r\n");
}
