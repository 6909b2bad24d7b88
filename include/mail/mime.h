/*
 * mime.h - a streaming walk over a message's MIME structure
 *
 * The body is fed in chunks as the MTA sends it; the walk follows multipart
 * boundaries and message/rfc822 parts, reads each part's headers, and keeps
 * two things for rules: the text of the text/plain and text/html parts that
 * are not attachments (transfer encoding undone, converted to UTF-8, parts
 * separated by a newline), and each attachment's file name and declared
 * type. The decoders are GMime's (base64, quoted-printable, RFC 2047,
 * RFC 2231, charset conversion); this file only finds the parts.
 *
 * Bounded: at most text_limit bytes of text, max_depth nested multiparts or
 * message/rfc822 parts, max_parts parts, 64 KB of headers per part. What is
 * past a limit is not scanned and mime_walk_truncated() says which limit;
 * input is never buffered whole, so memory does not grow with the message.
 *
 * Broken MIME (no boundary parameter, unclosed parts, garbage headers) is
 * walked as far as it makes sense and never fails; the only error is out of
 * memory.
 */
#ifndef MIME_H
#define MIME_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct mime_limits {
	size_t text_limit;  /* bytes of decoded text kept */
	unsigned max_depth; /* nesting of multiparts and message/rfc822 */
	unsigned max_parts; /* parts walked */
};

struct mime_attachment {
	const char *filename; /* decoded to UTF-8; "" when it has none */
	const char *type;     /* "application/pdf", lower case */
};

struct mime_walk;

/*
 * mime_walk_new - a walk of a body whose message headers say CONTENT_TYPE,
 * CTE (Content-Transfer-Encoding) and DISPOSITION (each may be NULL).
 * Attachment strings live in ARENA. NULL when out of memory.
 */
struct mime_walk *mime_walk_new(struct arena *arena, const struct mime_limits *lim,
				const char *content_type, const char *cte, const char *disposition);
/* mime_walk_feed - the next N body bytes; 0, or -1 when out of memory */
int mime_walk_feed(struct mime_walk *w, const unsigned char *p, size_t n);
/* mime_walk_finish - the body is complete; flushes decoders */
int mime_walk_finish(struct mime_walk *w);
/* mime_walk_text - the decoded text so far (NUL-terminated); *LEN bytes */
const char *mime_walk_text(const struct mime_walk *w, size_t *len);
/* mime_walk_attachments - the attachments found; *N of them */
const struct mime_attachment *mime_walk_attachments(const struct mime_walk *w, size_t *n);
/* mime_walk_truncated - the limit that cut the walk short, or NULL */
const char *mime_walk_truncated(const struct mime_walk *w);
/* mime_walk_parts - parts walked (the message itself is part 1) */
unsigned mime_walk_parts(const struct mime_walk *w);
/* mime_walk_free - release decoders and buffers; accepts NULL */
void mime_walk_free(struct mime_walk *w);

#endif
