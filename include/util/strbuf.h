/*
 * strbuf.h - growable byte string for building output of unknown length
 *
 * Used wherever text is assembled from network data (log lines, header
 * values, reports), so no fixed buffer ever truncates or overflows. Growth
 * failure is sticky: once an append fails, sb->failed is set, later appends
 * do nothing, and the caller checks once at the end.
 *
 * Memory: the buffer is owned by the strbuf; strbuf_free releases it.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data; /* always NUL-terminated when len > 0 or after init */
	size_t len, cap;
	bool failed;
};

void strbuf_init(struct strbuf *);
void strbuf_free(struct strbuf *);
void strbuf_reset(struct strbuf *);
void strbuf_append(struct strbuf *, const void *p, size_t len);
void strbuf_puts(struct strbuf *, const char *s);
void strbuf_putc(struct strbuf *, char c);
void strbuf_printf(struct strbuf *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* strbuf_cstr - the contents as a C string ("" when empty or failed) */
const char *strbuf_cstr(const struct strbuf *);

#endif
