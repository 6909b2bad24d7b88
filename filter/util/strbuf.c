/*
 * strbuf.c - growable byte string (see strbuf.h)
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

void strbuf_init(struct strbuf *sb)
{
	sb->data = NULL;
	sb->len = sb->cap = 0;
	sb->failed = false;
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->failed = false;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

/* strbuf_reserve - room for ADD more bytes plus a NUL; false (and sticky failure) if not */
static int strbuf_reserve(struct strbuf *sb, size_t add)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return 0;
	if (add > SIZE_MAX - sb->len - 1) {
		sb->failed = true;
		return 0;
	}
	need = sb->len + add + 1;
	if (need <= sb->cap)
		return 1;
	cap = sb->cap < 64 ? 64 : sb->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->failed = true;
		return 0;
	}
	sb->data = p;
	sb->cap = cap;
	return 1;
}

void strbuf_append(struct strbuf *sb, const void *p, size_t len)
{
	if (!strbuf_reserve(sb, len))
		return;
	if (len > 0)
		memcpy(sb->data + sb->len, p, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_append(sb, &c, 1);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		return;
	}
	if (!strbuf_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

const char *strbuf_cstr(const struct strbuf *sb)
{
	return sb->failed || sb->data == NULL ? "" : sb->data;
}
