/*
 * diag.h - a list of diagnostics, each "FILE:LINE[:COL]: message"
 *
 * Every loader (configuration, rule files, DNS fixtures, trust anchors, key
 * and map files) reports what is wrong by appending lines to a struct diag
 * and goes on, so one run names every error it can find. The caller prints
 * them and frees them with diag_clear(). Loaders depend on this module only,
 * never on the configuration, so the list sits at the bottom of the layers.
 *
 * Memory: the list owns copies of its lines. When memory runs out a line is
 * dropped (the load still fails through its own return code).
 * Threads: one list belongs to one load; no locking.
 */
#ifndef DIAG_H
#define DIAG_H

#include <stdarg.h>
#include <stddef.h>

struct diag {
	char **lines; /* "FILE:LINE: message", owned */
	size_t n, cap;
};

/* diag_push - append a copy of LINE; a NULL D is ignored */
void diag_push(struct diag *d, const char *line);
/* diag_pushf - append a printf-formatted line */
void diag_pushf(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* diag_at - append "FILE:LINE: message", or "FILE:LINE:COL: message" when COL > 0 */
void diag_at(struct diag *d, const char *file, unsigned long line, unsigned long col,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* diag_vat - diag_at with a va_list */
void diag_vat(struct diag *d, const char *file, unsigned long line, unsigned long col,
	      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* diag_clear - free every line; D is empty and reusable afterwards */
void diag_clear(struct diag *d);

#endif
