/*
 * eml.c - message file to header fields and body chunks (see eml.h)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mail/eml.h"
#include "util/strbuf.h"

struct eml_state {
	const struct eml_callbacks *cb;
	void *ctx;
	struct eml_stats *st;
	struct strbuf name, value; /* the field being assembled */
	bool have_field;
	struct strbuf chunk; /* body bytes not yet handed over */
};

/* strip_eol - length of LINE without its LF or CRLF */
static size_t strip_eol(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

/* field_name_len - length of the field name if LINE starts "name:", or
 * "name WSP* :" (RFC 5322 4.5.1's obsolete form, whose white space Postfix
 * strips before the milter sees the name), else 0; *COLON gets the
 * colon's index */
static size_t field_name_len(const char *line, size_t len, size_t *colon)
{
	size_t name = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':') {
			*colon = i;
			return name > 0 ? name : i;
		}
		if (c == ' ' || c == '\t') {
			if (name == 0)
				name = i; /* white space after the name: only more may follow */
			continue;
		}
		if (c < 33 || c > 126 || name > 0)
			return 0;
	}
	return 0;
}

static int flush_field(struct eml_state *es)
{
	int rc;

	if (!es->have_field)
		return 0;
	es->have_field = false;
	if (es->name.failed || es->value.failed) {
		errno = ENOMEM;
		return -1;
	}
	es->st->headers++;
	rc = es->cb->header(es->ctx, strbuf_cstr(&es->name), es->value.data ? es->value.data : "",
			    es->value.len);
	strbuf_reset(&es->name);
	strbuf_reset(&es->value);
	return rc;
}

static int flush_body(struct eml_state *es, bool all)
{
	while (es->chunk.len >= EML_CHUNK || (all && es->chunk.len > 0)) {
		size_t n = es->chunk.len < EML_CHUNK ? es->chunk.len : EML_CHUNK;
		int rc = es->cb->body(es->ctx, (unsigned char *)es->chunk.data, n);

		es->st->body_bytes += n;
		memmove(es->chunk.data, es->chunk.data + n, es->chunk.len - n);
		es->chunk.len -= n;
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int body_line(struct eml_state *es, const char *line, size_t len)
{
	if (es->chunk.failed) {
		errno = ENOMEM;
		return -1;
	}
	strbuf_append(&es->chunk, line, len);
	strbuf_append(&es->chunk, "\r\n", 2);
	return flush_body(es, false);
}

/* start_field - "Name: value" begins a new field (the colon at COLON) */
static void start_field(struct eml_state *es, const char *line, size_t len, size_t nlen,
			size_t colon)
{
	size_t v = colon + 1;

	/* all that follows the colon, the space too: what Postfix and
	 * Sendmail send a milter that asked for SMFIP_HDR_LEADSPC, as
	 * gatehouse does */
	strbuf_append(&es->name, line, nlen);
	strbuf_append(&es->value, line + v, len - v);
	es->have_field = true;
}

int eml_feed(FILE *fp, const struct eml_callbacks *cb, void *ctx, struct eml_stats *st)
{
	struct eml_state es = { .cb = cb, .ctx = ctx, .st = st };
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	bool in_header = true;
	ssize_t got;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	strbuf_init(&es.name);
	strbuf_init(&es.value);
	strbuf_init(&es.chunk);
	while (rc == 0 && (got = getline(&line, &cap, fp)) > 0) {
		size_t len = strip_eol(line, (size_t)got);

		lineno++;
		if (!in_header) {
			rc = body_line(&es, line, len);
			continue;
		}
		if (lineno == 1 && len >= 5 && memcmp(line, "From ", 5) == 0 &&
		    field_name_len(line, len, &(size_t){ 0 }) == 0)
			continue; /* mbox separator ("From : x" is an obsolete field) */
		if (len > 0 && (line[0] == ' ' || line[0] == '\t') && es.have_field) {
			strbuf_putc(&es.value, '\n');
			strbuf_append(&es.value, line, len);
			continue;
		}
		if ((rc = flush_field(&es)) != 0)
			break;
		if (len == 0) {
			in_header = false;
			rc = cb->eoh(ctx);
			continue;
		}
		size_t colon = 0, nlen = field_name_len(line, len, &colon);

		if (nlen > 0) {
			start_field(&es, line, len, nlen, colon);
			continue;
		}
		/* Not a field: the header section ends here and this line is
		 * the first of the body, which is what Postfix does. */
		st->no_separator = true;
		in_header = false;
		if ((rc = cb->eoh(ctx)) == 0)
			rc = body_line(&es, line, len);
	}
	if (rc == 0 && ferror(fp))
		rc = -1;
	if (rc == 0 && in_header) {
		if ((rc = flush_field(&es)) == 0)
			rc = cb->eoh(ctx);
	}
	if (rc == 0)
		rc = flush_body(&es, true);
	if (rc > 0) {
		st->stopped = true;
		rc = 0;
	}
	free(line);
	strbuf_free(&es.name);
	strbuf_free(&es.value);
	strbuf_free(&es.chunk);
	return rc;
}
