/*
 * table_file.c - split Postfix/OpenDKIM table text into logical lines
 *
 * One reader for the three formats, so continuation lines, comments and
 * line numbers mean the same thing in each; a strbuf collects a logical line
 * because a continued line has no length bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/table_file.h"
#include "util/diag.h"
#include "util/strbuf.h"

static int table_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* table_emit - hand the logical line in SB (started at LINE) to FN */
static int table_emit(const char *file, unsigned long line, struct strbuf *sb, table_line_fn fn,
		      void *ctx, struct diag *errs)
{
	char *p, *key, *end;
	int rc;

	if (sb->len == 0)
		return 0;
	p = sb->data;
	while (table_is_space(*p))
		p++;
	key = p;
	while (*p != '\0' && !table_is_space(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (table_is_space(*p))
		p++;
	end = p + strlen(p);
	while (end > p && table_is_space(end[-1]))
		*--end = '\0';
	rc = fn(ctx, file, line, key, p, errs);
	strbuf_reset(sb);
	return rc;
}

int table_file_parse(const char *file, const char *text, size_t len, table_line_fn fn, void *ctx,
		     struct diag *errs)
{
	struct strbuf sb;
	unsigned long lineno = 0, start = 0;
	size_t i = 0;
	int rc = 0;

	strbuf_init(&sb);
	while (i < len && rc == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		const char *l = text + i;
		size_t k = 0;

		lineno++;
		i += n + (nl != NULL);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (memchr(l, '\0', n) != NULL) {
			diag_at(errs, file, lineno, 0, "NUL byte in the line");
			continue;
		}
		while (k < n && table_is_space(l[k]))
			k++;
		if (k == n || l[k] == '#')
			continue; /* blank or comment: neither starts nor ends a line */
		if (k > 0 && sb.len > 0) {
			strbuf_putc(&sb, ' ');
			strbuf_append(&sb, l + k, n - k);
			continue;
		}
		if (k > 0) {
			diag_at(errs, file, lineno, 0,
				"continuation line (starts with white space) without a line before "
				"it");
			continue;
		}
		rc = table_emit(file, start, &sb, fn, ctx, errs);
		start = lineno;
		strbuf_append(&sb, l, n);
	}
	if (rc == 0)
		rc = table_emit(file, start, &sb, fn, ctx, errs);
	if (sb.failed)
		rc = -1;
	strbuf_free(&sb);
	return rc;
}

char *table_file_read(const char *path, size_t *len, struct diag *errs)
{
	FILE *fp = fopen(path, "r");
	struct strbuf sb;
	char chunk[4096];
	size_t n;

	if (fp == NULL) {
		diag_pushf(errs, "%s:0: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	strbuf_init(&sb);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		strbuf_append(&sb, chunk, n);
	if (ferror(fp) || sb.failed) {
		diag_pushf(errs, "%s:0: cannot read: %s", path,
			   ferror(fp) ? strerror(errno) : "out of memory");
		fclose(fp);
		strbuf_free(&sb);
		return NULL;
	}
	fclose(fp);
	*len = sb.len;
	strbuf_putc(&sb, '\0');
	if (sb.failed) {
		diag_pushf(errs, "%s:0: cannot read: out of memory", path);
		strbuf_free(&sb);
		return NULL;
	}
	return sb.data;
}

char *table_file_next_word(const char **p, int *oom)
{
	const char *s = *p, *e;
	char *w;

	*oom = 0;
	while (*s != '\0' && (table_is_space(*s) || *s == ','))
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	e = s;
	while (*e != '\0' && !table_is_space(*e) && *e != ',')
		e++;
	w = strndup(s, (size_t)(e - s));
	if (w == NULL)
		*oom = 1;
	*p = e;
	return w;
}
