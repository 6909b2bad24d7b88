/*
 * mime.c - the streaming MIME walk (see mime.h)
 *
 * The body is cut into lines as it arrives. A line can only be a boundary
 * if it is short, so a line longer than MIME_LINE_KEEP is passed on as
 * content in pieces and never held whole. Each part's header block is read
 * into a bounded buffer and handed to GMime's Content-Type and
 * Content-Disposition parsers (which also undo RFC 2231 and RFC 2047 in
 * parameters); a text part's lines go through GMime's transfer decoder and
 * charset converter into the text buffer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define MIME_LINE_KEEP 1000 /* RFC 2046: boundaries are at most 70 bytes, plus "--" twice */
#define MIME_HDR_MAX (64 * 1024)

struct frame {
	const char *boundary;
	size_t blen;
	unsigned depth_before; /* nesting outside this multipart */
};

enum wstate { W_HEADERS, W_BODY };
enum pkind { P_IGNORE, P_TEXT, P_RFC822 };

struct mime_walk {
	struct arena *arena;
	struct mime_limits lim;
	enum wstate state;
	struct strbuf line; /* the current line, up to MIME_LINE_KEEP */
	bool line_long;	    /* the current line was too long: passed on as content */
	bool pending_cr;    /* a long line's piece ended in CR: content unless LF follows */
	struct strbuf hdrs; /* the current part's header block */
	bool hdrs_over;
	struct frame *frames; /* open multiparts, innermost last */
	unsigned nframes;
	unsigned depth; /* multiparts and message/rfc822 around the current part */
	unsigned parts;
	enum pkind kind;
	GMimeFilter *dec, *cs; /* the text part's decoders, or NULL */
	bool pending_eol;      /* a line break owed to the text, unless a boundary follows */
	struct strbuf text;
	bool text_full;
	struct mime_attachment *atts;
	size_t natts, atts_cap;
	const char *truncated;
	bool failed; /* out of memory */
};

static void truncate_at(struct mime_walk *w, const char *why)
{
	if (w->truncated == NULL)
		w->truncated = why;
}

/* text_put - append to the text, up to the limit */
static void text_put(struct mime_walk *w, const char *p, size_t n)
{
	size_t room;

	if (w->text_full || n == 0)
		return;
	room = w->lim.text_limit - w->text.len;
	if (n > room) {
		n = room;
		w->text_full = true;
		truncate_at(w, "body_scan_limit");
	}
	strbuf_append(&w->text, p, n);
	if (w->text.failed)
		w->failed = true;
}

/* decode - DATA through the part's transfer decoder and charset converter */
static void decode(struct mime_walk *w, const char *data, size_t n, bool complete)
{
	char *out = (char *)data;
	size_t outlen = n, pre = 0;

	if (w->dec != NULL) {
		if (complete)
			g_mime_filter_complete(w->dec, out, outlen, 0, &out, &outlen, &pre);
		else
			g_mime_filter_filter(w->dec, out, outlen, 0, &out, &outlen, &pre);
	}
	if (w->cs != NULL) {
		if (complete)
			g_mime_filter_complete(w->cs, out, outlen, 0, &out, &outlen, &pre);
		else
			g_mime_filter_filter(w->cs, out, outlen, 0, &out, &outlen, &pre);
	}
	text_put(w, out, outlen);
}

/* content - body bytes of the current part */
static void content(struct mime_walk *w, const char *p, size_t n)
{
	if (w->kind != P_TEXT || w->text_full)
		return;
	if (w->pending_eol) {
		w->pending_eol = false;
		decode(w, "\n", 1, false);
	}
	decode(w, p, n, false);
}

/* part_end - flush and drop the current text part's decoders */
static void part_end(struct mime_walk *w)
{
	if (w->kind == P_TEXT && !w->text_full)
		decode(w, "", 0, true);
	if (w->dec != NULL)
		g_object_unref(w->dec);
	if (w->cs != NULL)
		g_object_unref(w->cs);
	w->dec = w->cs = NULL;
	w->kind = P_IGNORE;
	w->pending_eol = false;
}

static char *lower_dup(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s ? s : "");

	for (char *c = d; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d;
}

/* header_value - the unfolded value of field NAME in the header block, or NULL (g_free it) */
static char *header_value(const char *block, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *l = block; *l;) {
		const char *eol = strchr(l, '\n');
		const char *next = eol ? eol + 1 : l + strlen(l);

		if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
			const char *v = l + nlen + 1, *end = next;
			char *raw, *unfolded;

			while (*end == ' ' || *end == '\t') { /* folded continuation lines */
				const char *e2 = strchr(end, '\n');

				end = e2 ? e2 + 1 : end + strlen(end);
			}
			raw = g_strndup(v, (gsize)(end - v));
			unfolded = g_mime_utils_header_unfold(raw);
			g_free(raw);
			raw = rfc2047_join_words(unfolded); /* split encoded file names */
			g_free(unfolded);
			return raw;
		}
		l = next;
	}
	return NULL;
}

static bool is_text_charset_plain(const char *cs)
{
	return cs == NULL || strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0;
}

static void add_attachment(struct mime_walk *w, const char *name, const char *type)
{
	struct mime_attachment *a;

	if (w->natts == w->atts_cap &&
	    (w->atts = arena_grow(w->arena, w->atts, &w->atts_cap, sizeof(*w->atts))) == NULL) {
		w->failed = true;
		return;
	}
	a = &w->atts[w->natts];
	a->filename = arena_strdup(w->arena, name ? name : "");
	a->type = lower_dup(w->arena, type);
	if (a->filename == NULL || a->type == NULL)
		w->failed = true;
	else
		w->natts++;
}

/* part_begin - set up the part described by these header values */
static void part_begin(struct mime_walk *w, const char *ctype, const char *cte, const char *disp)
{
	GMimeContentType *ct = g_mime_content_type_parse(NULL, ctype ? ctype : "text/plain");
	GMimeContentDisposition *cd = disp ? g_mime_content_disposition_parse(NULL, disp) : NULL;
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";
	const char *filename = cd ? g_mime_content_disposition_get_parameter(cd, "filename") : NULL;
	bool attachment = cd && g_mime_content_disposition_is_attachment(cd);
	char *full;

	if (filename == NULL && ct != NULL)
		filename = g_mime_content_type_get_parameter(ct, "name");
	full = g_strdup_printf("%s/%s", type ? type : "text", sub ? sub : "plain");
	w->kind = P_IGNORE;
	w->state = W_BODY;
	if (strcasecmp(type ? type : "", "multipart") == 0) {
		const char *b = ct ? g_mime_content_type_get_parameter(ct, "boundary") : NULL;

		if (b == NULL || *b == '\0' || strlen(b) > 200) {
			/* unwalkable: its body stays unscanned */
		} else if (w->depth >= w->lim.max_depth) {
			truncate_at(w, "mime_max_depth");
		} else {
			struct frame *f = &w->frames[w->nframes++];

			f->boundary = arena_strdup(w->arena, b);
			f->blen = strlen(b);
			f->depth_before = w->depth++;
			if (f->boundary == NULL)
				w->failed = true;
		}
	} else if (strcasecmp(full, "message/rfc822") == 0 && !attachment && filename == NULL) {
		if (w->depth >= w->lim.max_depth) {
			truncate_at(w, "mime_max_depth");
		} else {
			w->depth++;
			w->kind = P_RFC822; /* the body is another message: its headers come next */
			w->state = W_HEADERS;
		}
	} else if (attachment || filename != NULL ||
		   (strcasecmp(type ? type : "", "text") != 0 &&
		    strcasecmp(type ? type : "", "message") != 0)) {
		add_attachment(w, filename, full);
	} else if (strcasecmp(sub ? sub : "", "plain") == 0 ||
		   strcasecmp(sub ? sub : "", "html") == 0) {
		GMimeContentEncoding enc = cte ? g_mime_content_encoding_from_string(cte)
					       : GMIME_CONTENT_ENCODING_DEFAULT;
		const char *charset = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;

		w->kind = P_TEXT;
		if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
		    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		    enc == GMIME_CONTENT_ENCODING_UUENCODE)
			w->dec = g_mime_filter_basic_new(enc, FALSE);
		if (!is_text_charset_plain(charset))
			w->cs = g_mime_filter_charset_new(charset,
							  "UTF-8"); /* NULL: unknown, kept as is */
		if (w->text.len > 0)
			text_put(w, "\n", 1);
	}
	g_free(full);
	if (ct != NULL)
		g_object_unref(ct);
	if (cd != NULL)
		g_object_unref(cd);
}

/* headers_done - the current part's header block is complete */
static void headers_done(struct mime_walk *w)
{
	const char *block = strbuf_cstr(&w->hdrs);
	char *ct = header_value(block, "Content-Type");
	char *cte = header_value(block, "Content-Transfer-Encoding");
	char *cd = header_value(block, "Content-Disposition");

	part_begin(w, ct, cte, cd);
	g_free(ct);
	g_free(cte);
	g_free(cd);
	strbuf_reset(&w->hdrs);
	w->hdrs_over = false;
}

/* boundary_at - the frame whose boundary LINE is (innermost first), or -1;
 * *CLOSE when it is the closing delimiter */
static int boundary_at(const struct mime_walk *w, const char *line, size_t len, bool *close)
{
	if (len < 2 || line[0] != '-' || line[1] != '-')
		return -1;
	for (unsigned i = w->nframes; i > 0; i--) {
		const struct frame *f = &w->frames[i - 1];
		const char *rest;
		size_t rlen;

		if (len - 2 < f->blen || memcmp(line + 2, f->boundary, f->blen) != 0)
			continue;
		rest = line + 2 + f->blen;
		rlen = len - 2 - f->blen;
		*close = rlen >= 2 && rest[0] == '-' && rest[1] == '-';
		if (*close) {
			rest += 2;
			rlen -= 2;
		}
		while (rlen > 0 && (*rest == ' ' || *rest == '\t' || *rest == '\r'))
			rest++, rlen--;
		if (rlen == 0)
			return (int)(i - 1);
	}
	return -1;
}

/* line_done - one complete line (without its LF) */
static void line_done(struct mime_walk *w, const char *line, size_t len)
{
	bool close = false;
	int fi;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if ((fi = boundary_at(w, line, len, &close)) >= 0) {
		struct frame *f = &w->frames[fi];

		part_end(w);
		w->depth = f->depth_before + (close ? 0 : 1);
		w->nframes = (unsigned)fi + (close ? 0 : 1);
		if (close) {
			w->state = W_BODY; /* the epilogue: ignored */
			return;
		}
		if (w->parts >= w->lim.max_parts) {
			truncate_at(w, "mime_max_parts");
			w->nframes = 0; /* nothing more is walked */
			w->state = W_BODY;
			return;
		}
		w->parts++;
		w->state = W_HEADERS;
		return;
	}
	if (w->state == W_HEADERS) {
		if (len == 0) {
			headers_done(w);
			return;
		}
		if (w->hdrs.len + len + 1 > MIME_HDR_MAX) {
			w->hdrs_over = true;
			return;
		}
		strbuf_append(&w->hdrs, line, len);
		strbuf_putc(&w->hdrs, '\n');
		if (w->hdrs.failed)
			w->failed = true;
		return;
	}
	content(w, line, len);
	if (w->kind == P_TEXT)
		w->pending_eol = true;
}

struct mime_walk *mime_walk_new(struct arena *arena, const struct mime_limits *lim,
				const char *content_type, const char *cte, const char *disposition)
{
	struct mime_walk *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->arena = arena;
	w->lim = *lim;
	if (w->lim.max_depth == 0)
		w->lim.max_depth = 1;
	strbuf_init(&w->line);
	strbuf_init(&w->hdrs);
	strbuf_init(&w->text);
	w->frames = calloc(w->lim.max_depth, sizeof(*w->frames));
	if (w->frames == NULL) {
		mime_walk_free(w);
		return NULL;
	}
	w->parts = 1;
	part_begin(w, content_type, cte, disposition);
	return w;
}

/* long_content - a piece of a line too long to be a boundary; the CR of a
 * CRLF is not content, even when the chunk ends between CR and LF */
static void long_content(struct mime_walk *w, const char *s, size_t seg, bool at_lf)
{
	if (w->state != W_BODY)
		return;
	if (w->pending_cr) {
		w->pending_cr = false;
		if (!(seg == 0 && at_lf))
			content(w, "\r", 1);
	}
	if (seg > 0 && s[seg - 1] == '\r') {
		seg--;
		w->pending_cr = !at_lf;
	}
	content(w, s, seg);
}

int mime_walk_feed(struct mime_walk *w, const unsigned char *p, size_t n)
{
	const char *s = (const char *)p;

	while (n > 0 && !w->failed) {
		const char *lf = memchr(s, '\n', n);
		size_t seg = lf ? (size_t)(lf - s) : n;

		if (w->line_long) {
			/* the rest of a line too long to be a boundary */
			long_content(w, s, seg, lf != NULL);
		} else if (w->line.len + seg > MIME_LINE_KEEP) {
			/* too long for a boundary: pass it on now, never hold it */
			if (w->state == W_BODY) {
				content(w, w->line.data ? w->line.data : "", w->line.len);
				long_content(w, s, seg, lf != NULL);
			} else {
				w->hdrs_over = true;
			}
			strbuf_reset(&w->line);
			w->line_long = true;
		} else {
			strbuf_append(&w->line, s, seg);
		}
		if (lf == NULL)
			break;
		if (w->line_long) {
			w->line_long = false;
			w->pending_cr = false;
			if (w->kind == P_TEXT && w->state == W_BODY)
				w->pending_eol = true;
		} else {
			line_done(w, w->line.data ? w->line.data : "", w->line.len);
			strbuf_reset(&w->line);
		}
		s += seg + 1;
		n -= seg + 1;
	}
	if (w->line.failed)
		w->failed = true;
	return w->failed ? -1 : 0;
}

int mime_walk_finish(struct mime_walk *w)
{
	if (w->line.len > 0 && !w->line_long)
		line_done(w, w->line.data, w->line.len);
	strbuf_reset(&w->line);
	if (w->state == W_HEADERS)
		headers_done(w); /* headers without a body */
	part_end(w);
	return w->failed ? -1 : 0;
}

const char *mime_walk_text(const struct mime_walk *w, size_t *len)
{
	*len = w->text.len;
	return strbuf_cstr(&w->text);
}

const struct mime_attachment *mime_walk_attachments(const struct mime_walk *w, size_t *n)
{
	*n = w->natts;
	return w->atts;
}

const char *mime_walk_truncated(const struct mime_walk *w)
{
	return w->truncated;
}

unsigned mime_walk_parts(const struct mime_walk *w)
{
	return w->parts;
}

void mime_walk_free(struct mime_walk *w)
{
	if (w == NULL)
		return;
	if (w->dec != NULL)
		g_object_unref(w->dec);
	if (w->cs != NULL)
		g_object_unref(w->cs);
	strbuf_free(&w->line);
	strbuf_free(&w->hdrs);
	strbuf_free(&w->text);
	free(w->frames);
	free(w);
}
