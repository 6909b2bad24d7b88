/*
 * table_file.h - the "KEY VALUE" text tables Postfix and OpenDKIM share
 *
 * Postfix's lookup-table source files (smtpd_sender_login_maps) and
 * OpenDKIM's KeyTable and SigningTable are one format: a line is a key, white
 * space, and a value; a line that starts with white space continues the line
 * before it; blank lines and lines whose first non-blank character is '#'
 * are skipped. table_file_parse() splits a buffer into such logical lines and
 * hands each to a callback with the line number it started on, so every
 * loader reports errors as FILE:LINE the same way.
 *
 * The text is untrusted for size: lines of any length, NUL bytes (refused
 * with FILE:LINE), no fixed buffers.
 * Memory: KEY and VALUE passed to the callback live until it returns.
 */
#ifndef OUTBOUND_TABLE_FILE_H
#define OUTBOUND_TABLE_FILE_H

#include <stddef.h>

struct diag;

/* table_line_fn - one logical line; VALUE is "" when the line has only a
 * key; return 0 to go on (errors go to ERRS), -1 to stop (out of memory) */
typedef int (*table_line_fn)(void *ctx, const char *file, unsigned long line, const char *key,
			     const char *value, struct diag *errs);

/* table_file_parse - feed TEXT[0..LEN) named FILE line by line to FN; 0, or
 * -1 when FN stopped or memory ran out */
int table_file_parse(const char *file, const char *text, size_t len, table_line_fn fn, void *ctx,
		     struct diag *errs);
/* table_file_read - PATH's whole content in a malloc'd buffer of *LEN bytes
 * (NUL-terminated too); NULL with "PATH:0: cannot read: why" in ERRS */
char *table_file_read(const char *path, size_t *len, struct diag *errs);
/* table_file_next_word - the next word of *P (words are separated by white
 * space and commas) copied into a malloc'd string, *P moved past it; NULL at
 * the end (or, with *OOM set, when memory ran out) */
char *table_file_next_word(const char **p, int *oom);

#endif
