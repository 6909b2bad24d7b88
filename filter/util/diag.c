/*
 * diag.c - a list of "FILE:LINE[:COL]: message" lines (see diag.h)
 *
 * Lines are formatted into allocated memory, never a fixed buffer: a rule
 * file name or a PCRE2 message quoted back can be long, and a cut line hides
 * the part an admin needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"

/* diag_take - append LINE, which the list now owns (freed when it cannot be kept) */
static void diag_take(struct diag *d, char *line)
{
	if (line == NULL)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **p = realloc(d->lines, cap * sizeof(*p));

		if (p == NULL) {
			free(line);
			return;
		}
		d->lines = p;
		d->cap = cap;
	}
	d->lines[d->n++] = line;
}

void diag_push(struct diag *d, const char *line)
{
	if (d != NULL && line != NULL)
		diag_take(d, strdup(line));
}

/* diag_vformat - PREFIX (may be NULL) followed by FMT, in new memory */
static char *diag_vformat(const char *prefix, const char *fmt, va_list ap)
{
	char *msg, *full;

	if (vasprintf(&msg, fmt, ap) < 0)
		return NULL;
	if (prefix == NULL)
		return msg;
	if (asprintf(&full, "%s%s", prefix, msg) < 0)
		full = NULL;
	free(msg);
	return full;
}

void diag_pushf(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	diag_take(d, diag_vformat(NULL, fmt, ap));
	va_end(ap);
}

void diag_at(struct diag *d, const char *file, unsigned long line, unsigned long col,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vat(d, file, line, col, fmt, ap);
	va_end(ap);
}

void diag_vat(struct diag *d, const char *file, unsigned long line, unsigned long col,
	      const char *fmt, va_list ap)
{
	char *prefix;
	int n;

	if (d == NULL)
		return;
	if (col > 0)
		n = asprintf(&prefix, "%s:%lu:%lu: ", file, line, col);
	else
		n = asprintf(&prefix, "%s:%lu: ", file, line);
	if (n < 0)
		return;
	diag_take(d, diag_vformat(prefix, fmt, ap));
	free(prefix);
}

void diag_clear(struct diag *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = d->cap = 0;
}
