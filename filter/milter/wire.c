/*
 * wire.c - milter frames and commands, checked (see wire.h)
 *
 * libmilter trusts the MTA: it stores a macro list with an odd number of
 * strings as it is and later walks it two entries at a time past its end.
 * Everything here is checked before it is used or allocated, because the
 * socket accepts any local process, not only the MTA.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/wire.h"
#include "util/strbuf.h"

/* Once the reader holds this much spare room with nothing pending, give it
 * back: an idle connection should cost a descriptor, not a body chunk. */
#define WIRE_READER_KEEP 4096

static uint32_t wire_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wire_set32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

bool wire_reader_feed(struct wire_reader *r, const void *data, size_t n)
{
	if (n == 0)
		return true;
	if (r->off > 0 && r->off == r->len) {
		r->off = r->len = 0;
	} else if (r->off > 0 && r->len + n > r->cap) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len + n > r->cap) {
		/* Bounded by the caller: it feeds at most one read at a time and
		 * wire_reader_next() refuses any frame over the limit, so the
		 * buffer never holds more than one frame plus one read. */
		size_t cap = r->cap ? r->cap : 1024;
		unsigned char *p;

		while (cap < r->len + n)
			cap *= 2;
		p = realloc(r->buf, cap);
		if (p == NULL)
			return false;
		r->buf = p;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return true;
}

int wire_reader_next(struct wire_reader *r, struct wire_frame *f, const char **why)
{
	size_t have = r->len - r->off;
	uint32_t flen;

	if (have < 4) {
		if (have == 0 && r->cap > WIRE_READER_KEEP)
			wire_reader_free(r);
		return 0;
	}
	flen = wire_get32(r->buf + r->off);
	if (flen == 0) {
		*why = "frame of length 0 (no command byte)";
		return -1;
	}
	if (flen - 1 > WIRE_DATA_MAX) {
		*why = "frame longer than the protocol's 64 KiB";
		return -1;
	}
	if (have < 4 + (size_t)flen)
		return 0;
	f->cmd = (char)r->buf[r->off + 4];
	f->data = r->buf + r->off + 5;
	f->len = flen - 1;
	r->off += 4 + (size_t)flen;
	return 1;
}

size_t wire_reader_pending(const struct wire_reader *r)
{
	return r->len - r->off;
}

void wire_reader_free(struct wire_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = r->off = 0;
}

bool wire_stage_of(char cmd, enum wire_stage *stage)
{
	switch (cmd) {
	case WIRE_C_CONNECT:
		*stage = WIRE_ST_CONNECT;
		return true;
	case WIRE_C_HELO:
		*stage = WIRE_ST_HELO;
		return true;
	case WIRE_C_MAIL:
		*stage = WIRE_ST_MAIL;
		return true;
	case WIRE_C_RCPT:
		*stage = WIRE_ST_RCPT;
		return true;
	case WIRE_C_DATA:
		*stage = WIRE_ST_DATA;
		return true;
	case WIRE_C_EOM:
		*stage = WIRE_ST_EOM;
		return true;
	case WIRE_C_EOH:
		*stage = WIRE_ST_EOH;
		return true;
	default:
		return false;
	}
}

/*
 * wire_split - the NUL-terminated strings of DATA into V (at most MAX); the
 * data must end with a NUL. Returns the count, or -1 (*WHY set).
 */
static long wire_split(const unsigned char *data, size_t len, const char **v, size_t max,
		       const char **why)
{
	size_t n = 0, start = 0;

	if (len == 0 || data[len - 1] != '\0') {
		*why = "string without its terminating NUL";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\0')
			continue;
		if (n == max) {
			*why = "too many strings in one command";
			return -1;
		}
		v[n++] = (const char *)data + start;
		start = i + 1;
	}
	return (long)n;
}

static bool wire_decode_connect(const struct wire_frame *f, struct wire_cmd *c, const char **why)
{
	const unsigned char *d = f->data, *nul = memchr(d, '\0', f->len);
	size_t i;
	char fam;

	if (nul == NULL || (size_t)(nul - d) + 2 > f->len) {
		*why = "connect: host name or family missing";
		return false;
	}
	c->u.connect.host = (const char *)d;
	i = (size_t)(nul - d) + 1;
	fam = (char)d[i++];
	c->u.connect.addr = NULL;
	c->u.connect.port = 0;
	switch (fam) {
	case 'U':
		c->u.connect.family = WIRE_FAM_UNKNOWN;
		return true; /* libmilter ignores what may follow; so do we */
	case 'L':
		c->u.connect.family = WIRE_FAM_UNIX;
		break;
	case '4':
		c->u.connect.family = WIRE_FAM_INET;
		break;
	case '6':
		c->u.connect.family = WIRE_FAM_INET6;
		break;
	default:
		*why = "connect: unknown address family";
		return false;
	}
	if (i + 2 >= f->len || d[f->len - 1] != '\0' ||
	    memchr(d + i + 2, '\0', f->len - i - 2) != d + f->len - 1) {
		*why = "connect: port or address missing, or the address is not one string";
		return false;
	}
	c->u.connect.port = (uint16_t)(d[i] << 8 | d[i + 1]);
	c->u.connect.addr = (const char *)d + i + 2;
	if (c->u.connect.family != WIRE_FAM_UNIX) {
		unsigned char sa[sizeof(struct in6_addr)];
		const char *a = c->u.connect.addr;

		/* Sendmail writes IPv6 as "IPv6:2001:db8::1" */
		if (c->u.connect.family == WIRE_FAM_INET6 && strncasecmp(a, "IPv6:", 5) == 0)
			c->u.connect.addr = a += 5;
		if (inet_pton(c->u.connect.family == WIRE_FAM_INET ? AF_INET : AF_INET6, a, sa) !=
		    1) {
			*why = "connect: the address does not parse";
			return false;
		}
	}
	return true;
}

static bool wire_decode_macro(const struct wire_frame *f, struct wire_cmd *c, const char **why)
{
	long n;

	if (f->len < 1) {
		*why = "macro: no stage";
		return false;
	}
	c->u.macro.known_stage = wire_stage_of((char)f->data[0], &c->u.macro.stage);
	c->u.macro.npairs = 0;
	if (f->len == 1)
		return true; /* an empty list: the stage has no macros */
	n = wire_split(f->data + 1, f->len - 1, c->u.macro.pairs, WIRE_MACROS_MAX * 2, why);
	if (n < 0)
		return false;
	if (n % 2 != 0) {
		/* The packet that crashes libmilter: a name without a value. */
		*why = "macro: a name without a value (odd number of strings)";
		return false;
	}
	for (long i = 0; i < n; i += 2) {
		size_t nl = strlen(c->u.macro.pairs[i]);

		if (nl == 0 || nl > WIRE_MACRO_NAME_MAX) {
			*why = "macro: empty or over-long name";
			return false;
		}
		for (const char *p = c->u.macro.pairs[i]; *p; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
				*why = "macro: a name with a control character or space";
				return false;
			}
	}
	c->u.macro.npairs = (size_t)n / 2;
	return true;
}

bool wire_decode(const struct wire_frame *f, struct wire_cmd *c, const char **why)
{
	long n;

	c->cmd = f->cmd;
	switch (f->cmd) {
	case WIRE_C_OPTNEG:
		if (f->len < 12) {
			*why = "option negotiation shorter than 12 bytes";
			return false;
		}
		c->u.optneg.version = wire_get32(f->data);
		c->u.optneg.actions = wire_get32(f->data + 4);
		c->u.optneg.protocol = wire_get32(f->data + 8);
		return true;
	case WIRE_C_MACRO:
		return wire_decode_macro(f, c, why);
	case WIRE_C_CONNECT:
		return wire_decode_connect(f, c, why);
	case WIRE_C_HELO:
	case WIRE_C_UNKNOWN:
		if (f->len == 0 || memchr(f->data, '\0', f->len) != f->data + f->len - 1) {
			*why = "HELO or unknown command: not exactly one string";
			return false;
		}
		c->u.str.text = (const char *)f->data;
		return true;
	case WIRE_C_MAIL:
	case WIRE_C_RCPT:
		n = wire_split(f->data, f->len, c->u.args.argv, WIRE_ARGS_MAX, why);
		if (n < 0)
			return false;
		c->u.args.argv[n] = NULL;
		c->u.args.argc = (size_t)n;
		return true;
	case WIRE_C_HEADER: {
		const char *v[2];

		n = wire_split(f->data, f->len, v, 2, why);
		if (n < 0)
			return false;
		if (n != 2) {
			*why = "header: not a name and a value";
			return false;
		}
		if (v[0][0] == '\0') {
			*why = "header: empty name";
			return false;
		}
		c->u.header.name = v[0];
		c->u.header.value = v[1];
		c->u.header.value_len = strlen(v[1]);
		return true;
	}
	case WIRE_C_BODY:
	case WIRE_C_EOM:
		c->u.body.data = f->data;
		c->u.body.len = f->len;
		return true;
	case WIRE_C_DATA:
	case WIRE_C_EOH:
	case WIRE_C_ABORT:
	case WIRE_C_QUIT:
	case WIRE_C_QUIT_NC:
		return true; /* no data; libmilter ignores any, and so do we */
	default:
		*why = "unknown command byte";
		return false;
	}
}

void wire_put(struct strbuf *out, char cmd, const void *data, size_t len)
{
	unsigned char head[5];

	wire_set32(head, (uint32_t)len + 1);
	head[4] = (unsigned char)cmd;
	strbuf_append(out, head, sizeof(head));
	if (len > 0)
		strbuf_append(out, data, len);
}

void wire_put_optneg(struct strbuf *out, uint32_t version, uint32_t actions, uint32_t protocol,
		     const char *const *lists)
{
	unsigned char d[12];
	struct strbuf sb;

	wire_set32(d, version);
	wire_set32(d + 4, actions);
	wire_set32(d + 8, protocol);
	strbuf_init(&sb);
	strbuf_append(&sb, d, sizeof(d));
	for (int st = 0; lists != NULL && st < WIRE_ST_COUNT; st++) {
		if (lists[st] == NULL || lists[st][0] == '\0')
			continue;
		wire_set32(d, (uint32_t)st);
		strbuf_append(&sb, d, 4);
		strbuf_append(&sb, lists[st], strlen(lists[st]) + 1);
	}
	if (sb.failed)
		out->failed = true;
	else
		wire_put(out, WIRE_C_OPTNEG, sb.data, sb.len);
	strbuf_free(&sb);
}

/* The longest text of one reply line: an SMTP reply line is at most 512
 * octets (RFC 5321 4.5.3.1.5) with the codes, and MTAs break on longer. */
#define WIRE_REPLY_LINE_MAX 400
#define WIRE_REPLY_LINES_MAX 8

/* wire_reply_line - append "CODE<sep>XCODE " and LINE (up to its newline or
 * end, bounded, '%' doubled for Sendmail, control characters dropped);
 * returns where the next line starts, or NULL after the last */
static const char *wire_reply_line(struct strbuf *sb, const char *code, const char *xcode,
				   const char *line, bool last)
{
	const char *p = line;
	size_t n = 0;

	strbuf_puts(sb, code);
	strbuf_putc(sb, last ? ' ' : '-');
	if (xcode != NULL && *xcode != '\0') {
		strbuf_puts(sb, xcode);
		strbuf_putc(sb, ' ');
	}
	for (; *p && *p != '\n'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (n >= WIRE_REPLY_LINE_MAX || ch == '\r' || ch < 0x20 || ch == 0x7f)
			continue;
		/* Sendmail reads the text as a format: a lone '%' would be
		 * expanded. libmilter's users double it; Postfix undoes that. */
		if (ch == '%')
			strbuf_putc(sb, '%');
		strbuf_putc(sb, (char)ch);
		n++;
	}
	return *p == '\n' ? p + 1 : NULL;
}

void wire_put_replycode(struct strbuf *out, const char *code, const char *xcode, const char *text)
{
	struct strbuf sb;
	const char *line = text ? text : "";
	size_t nlines = 1;

	for (const char *p = line; *p; p++)
		if (*p == '\n' && p[1] != '\0')
			nlines++;
	if (nlines > WIRE_REPLY_LINES_MAX)
		nlines = WIRE_REPLY_LINES_MAX;
	strbuf_init(&sb);
	for (size_t i = 0; i < nlines && line != NULL; i++) {
		if (i > 0)
			strbuf_puts(&sb, "\r\n");
		line = wire_reply_line(&sb, code, xcode, line, i + 1 == nlines);
	}
	if (sb.failed)
		out->failed = true;
	else
		wire_put(out, WIRE_R_REPLYCODE, sb.data, sb.len + 1);
	strbuf_free(&sb);
}

void wire_put_header(struct strbuf *out, char op, long index, const char *name, const char *lead,
		     const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	unsigned char idx[4];
	struct strbuf sb;

	strbuf_init(&sb);
	if (op != WIRE_R_ADDHEADER) {
		wire_set32(idx, (uint32_t)(index < 0 ? 0 : index));
		strbuf_append(&sb, idx, sizeof(idx));
	}
	strbuf_append(&sb, name, nl);
	strbuf_puts(&sb, lead);
	strbuf_append(&sb, value, vl);
	if (sb.failed)
		out->failed = true;
	else
		wire_put(out, op, sb.data, sb.len);
	strbuf_free(&sb);
}

void wire_put_strings(struct strbuf *out, char cmd, const char *a, const char *b)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_append(&sb, a, strlen(a) + 1);
	if (b != NULL)
		strbuf_append(&sb, b, strlen(b) + 1);
	if (sb.failed)
		out->failed = true;
	else
		wire_put(out, cmd, sb.data, sb.len);
	strbuf_free(&sb);
}
