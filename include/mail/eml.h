/*
 * eml.h - hand a message file to the engine the way an MTA hands it to a milter
 *
 * Test mode, the engine tests, fuzzers and benchmarks read .eml files; the
 * milter sees what Postfix sends. eml_feed() bridges the two by doing what
 * Postfix's cleanup and milter client do: an mbox "From " line is dropped;
 * a header field ends at the next line that does not start with white space,
 * and its folded lines reach the engine joined by "\n" with all that followed
 * the colon, the space too (as Postfix and Sendmail send it to a milter
 * that asked for SMFIP_HDR_LEADSPC, as gatehouse does: engine_header_raw);
 * white space
 * between the name and its colon (RFC 5322's obsolete "Name WSP* :") is
 * stripped, as Postfix does before a milter sees the name; the first line
 * that is neither a field nor a continuation (no colon, or a space inside
 * the name) ends the header section
 * and starts the body, as Postfix does; the body arrives with CRLF line ends
 * in chunks of at most EML_CHUNK bytes. NUL bytes are passed through.
 *
 * Lines are read with getline(): no fixed buffer, no truncation. A callback
 * returning non-zero stops the feed (the engine has decided).
 */
#ifndef EML_H
#define EML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define EML_CHUNK 65535 /* libmilter's MILTER_CHUNK_SIZE */

struct eml_callbacks {
	int (*header)(void *ctx, const char *name, const char *value, size_t len);
	int (*eoh)(void *ctx);
	int (*body)(void *ctx, const unsigned char *chunk, size_t len);
};

struct eml_stats {
	size_t headers;	   /* fields handed over */
	size_t body_bytes; /* bytes handed over, CRLF included */
	bool no_separator; /* header section ended by a non-header line */
	bool stopped;	   /* a callback stopped the feed */
};

/* eml_feed - read FP to the end (or until stopped); returns 0, or -1 on a read
 * or memory error (errno set) */
int eml_feed(FILE *fp, const struct eml_callbacks *cb, void *ctx, struct eml_stats *st);

#endif
