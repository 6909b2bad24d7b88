/*
 * corpus.c - load the benchmark corpus (see corpus.h).
 *
 * The header block is cut into fields here rather than by a MIME library:
 * a milter must see the bytes an MTA sends (Postfix cuts fields at lines
 * that do not start with white space and passes values unparsed), and a
 * parser such as GMime would decode or refold them.
 */
#define _DEFAULT_SOURCE
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(fp);
	return buf;
}

/* next_line - the line at *pos without its LF or CRLF; advances *pos */
static const char *next_line(const char *s, size_t len, size_t *pos, size_t *llen)
{
	const char *line = s + *pos, *nl;

	if (*pos >= len)
		return NULL;
	nl = memchr(line, '\n', len - *pos);
	*llen = nl ? (size_t)(nl - line) : len - *pos;
	*pos += *llen + (nl ? 1 : 0);
	if (*llen > 0 && line[*llen - 1] == '\r')
		(*llen)--;
	return line;
}

static int add_header(struct corpus_msg *m, const char *line, size_t llen)
{
	const char *colon = memchr(line, ':', llen);
	struct corpus_header *h;
	size_t nlen;

	if (colon == NULL)
		return -1;
	h = realloc(m->headers, (m->nheaders + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	m->headers = h;
	h = &m->headers[m->nheaders++];
	nlen = (size_t)(colon - line);
	h->name = strndup(line, nlen);
	h->value = strndup(colon + 1, llen - nlen - 1);
	h->lead = strspn(h->value, " \t");
	return h->name && h->value ? 0 : -1;
}

/* append a continuation line to the last field: LF, then the line itself */
static int fold_header(struct corpus_msg *m, const char *line, size_t llen)
{
	struct corpus_header *h = &m->headers[m->nheaders - 1];
	size_t old = strlen(h->value);
	char *v = realloc(h->value, old + 1 + llen + 1);

	if (v == NULL)
		return -1;
	v[old] = '\n';
	memcpy(v + old + 1, line, llen);
	v[old + 1 + llen] = '\0';
	h->value = v;
	return 0;
}

static int split_message(struct corpus_msg *m, const char *s, size_t len)
{
	size_t pos = 0, llen, blen = 0;
	const char *line;

	while ((line = next_line(s, len, &pos, &llen)) != NULL && llen > 0) {
		if ((line[0] == ' ' || line[0] == '\t') && m->nheaders > 0) {
			if (fold_header(m, line, llen) < 0)
				return -1;
		} else if (add_header(m, line, llen) < 0) {
			return -1;
		}
	}
	/* body: every line CRLF-terminated, as the MTA sends it */
	m->body = malloc((len - pos) * 2 + 1);
	if (m->body == NULL)
		return -1;
	while ((line = next_line(s, len, &pos, &llen)) != NULL) {
		memcpy(m->body + blen, line, llen);
		blen += llen;
		m->body[blen++] = '\r';
		m->body[blen++] = '\n';
	}
	m->body_len = blen;
	return 0;
}

int corpus_load(struct corpus *c, const char *manifest)
{
	FILE *fp = fopen(manifest, "r");
	char *dir = strdup(manifest), *slash, line[4096];

	c->msgs = NULL;
	c->n = 0;
	if (fp == NULL || dir == NULL) {
		fprintf(stderr, "loadgen: cannot read %s\n", manifest);
		free(dir);
		if (fp)
			fclose(fp);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[4], *save = NULL, path[8192], *text;
		struct corpus_msg *m;
		size_t len, i;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (i = 0; i < 4; i++)
			if ((f[i] = strtok_r(i == 0 ? line : NULL, "\t", &save)) == NULL)
				break;
		if (i < 4) {
			fprintf(stderr, "loadgen: %s: a line with fewer than 4 fields\n", manifest);
			goto fail;
		}
		m = realloc(c->msgs, (c->n + 1) * sizeof(*m));
		if (m == NULL)
			goto fail;
		c->msgs = m;
		m = &c->msgs[c->n++];
		memset(m, 0, sizeof(*m));
		snprintf(path, sizeof(path), "%s%s", f[0][0] == '/' ? "" : dir, f[0]);
		m->file = strdup(path);
		m->mail_from = strdup(f[1]);
		m->rcpt = strdup(f[2]);
		m->auth = strcmp(f[3], "-") == 0 ? NULL : strdup(f[3]);
		if ((text = slurp(path, &len)) == NULL) {
			fprintf(stderr, "loadgen: cannot read %s\n", path);
			goto fail;
		}
		m->size = len;
		if (split_message(m, text, len) < 0) {
			fprintf(stderr, "loadgen: %s: not a message (header without a colon?)\n", path);
			free(text);
			goto fail;
		}
		free(text);
	}
	fclose(fp);
	free(dir);
	if (c->n == 0) {
		fprintf(stderr, "loadgen: %s names no messages\n", manifest);
		return -1;
	}
	return 0;
fail:
	fclose(fp);
	free(dir);
	corpus_free(c);
	return -1;
}

void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct corpus_msg *m = &c->msgs[i];

		for (size_t h = 0; h < m->nheaders; h++) {
			free(m->headers[h].name);
			free(m->headers[h].value);
		}
		free(m->headers);
		free(m->body);
		free(m->file);
		free(m->mail_from);
		free(m->rcpt);
		free(m->auth);
	}
	free(c->msgs);
	c->msgs = NULL;
	c->n = 0;
}
