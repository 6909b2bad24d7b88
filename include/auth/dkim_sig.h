/*
 * dkim_sig.h - what gatehouse itself reads of a DKIM signature before
 * libopendkim does (RFC 6376 3.2, 3.4.3, 3.4.4, 3.5, 6.1.1)
 *
 * dkim_sig_check() reads one DKIM-Signature field's tag-list and says
 * whether it can be evaluated at all: every required tag (v a b bh d h s)
 * present once, v=1, d= and s= valid names, b= and bh= nothing but base64
 * and folding white space. A field that fails is permerror with that
 * reason (RFC 6376 6.1.1) and is never a pass: libopendkim's base64
 * decoder skips characters it does not know, so "b=" with junk in it
 * could otherwise still verify, and libopendkim drops some broken fields
 * from its list without a word.
 *
 * struct dkim_bodylen counts the body's length after each body
 * canonicalization (simple and relaxed), streaming and in constant memory,
 * so that l= can be compared with what the signature really covers:
 * libopendkim stops counting at l=, and the raw body length differs from
 * the canonical one by every trailing space and empty line.
 *
 * Threads: no state. Memory: strings in struct dkim_sig_info are malloc'd
 * and freed by dkim_sig_info_free().
 */
#ifndef DKIM_SIG_H
#define DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>

struct dkim_sig_info {
	char *domain;	   /* d= in A-labels, lower case (NULL if missing or invalid) */
	char *selector;	   /* s= as written (NULL if missing) */
	char *b;	   /* b= without white space (NULL if missing) */
	const char *error; /* why it cannot be evaluated (static text), or NULL */
	char *bh;	   /* bh= without white space (NULL if missing) */
	char *h;	   /* h= without white space (NULL if missing) */
	char *i;	   /* i= without white space (NULL if missing) */
	bool relaxed_body; /* c= .../relaxed */
	bool relaxed_head; /* c= relaxed/... */
	bool canon_known;  /* c= absent, or simple|relaxed[/simple|relaxed] */
	bool ascii;	   /* the whole field is ASCII */
	bool sha256;	   /* a= is rsa-sha256 or ed25519-sha256 */
	bool ed25519;	   /* a= is ed25519-sha256 */
	bool has_q, has_x; /* q= or x= present */
	bool has_t;	   /* t= present */
	long long t;	   /* t=, or -1 when absent or not a number */
	long long length;  /* l=, or -1 */
	/* b='s value in the field as given, from just after '=' up to the
	 * next ';' (or the end): what verification empties (RFC 6376 3.7) */
	size_t b_from, b_to;
};

/* One tag of a tag-list (RFC 6376 3.2): name and value, value without the
 * white space around it (white space inside is kept) */
struct dkim_tag {
	const char *name, *val;
	size_t name_len, val_len;
};

/* dkim_tags - split VALUE (LEN bytes) into at most MAX tags; NULL, or why
 * it is no tag-list (a tag twice, an empty one, a bad name, too many) */
const char *dkim_tags(const char *value, size_t len, struct dkim_tag *tags, size_t max, size_t *n);
/* dkim_list_has - the colon-separated LIST (LEN bytes, white space
 * allowed around the words) names WORD, case aside */
bool dkim_list_has(const char *list, size_t len, const char *word);

/* dkim_sig_check - read VALUE (LEN bytes, folded lines joined by LF or
 * CRLF) into OUT; 0, or -1 when memory ran out */
int dkim_sig_check(const char *value, size_t len, struct dkim_sig_info *out);
/* dkim_sig_info_free - the strings of INFO; accepts a zeroed one */
void dkim_sig_info_free(struct dkim_sig_info *info);

struct dkim_bodylen {
	long long simple, simple_pending;    /* bytes; trailing empty lines held back */
	long long relaxed, relaxed_pending;  /* same for relaxed */
	long long line_simple, line_relaxed; /* the current line so far */
	bool wsp, cr, any;		     /* a WSP run, a CR held back, any byte seen */
};

/* dkim_bodylen_feed - count CHUNK (the body as the MTA hands it, CRLF lines) */
void dkim_bodylen_feed(struct dkim_bodylen *b, const unsigned char *chunk, size_t len);
/* dkim_bodylen_total - the canonical length: RELAXED or simple */
long long dkim_bodylen_total(const struct dkim_bodylen *b, bool relaxed);

#endif
