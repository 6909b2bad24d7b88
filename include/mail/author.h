/*
 * author.h - the message's author (RFC 5322 From) and its domain (RFC 9989)
 *
 * DMARC protects the domain in the From header, so the exact From matters:
 * a message with no From, with two From fields, or with a From naming
 * several addresses (or a group) has no single author, and a verifier that
 * picks one of them is the bug behind CVE-2019-16378 and its kin. author_find()
 * says which of those cases the message is, and otherwise returns the one
 * address and its domain in A-label form, lower case (mail/idn.h): the
 * U-label and A-label forms of a domain are one author domain (RFC 8616).
 * The address list is parsed by GMime (RFC 5322 display names, comments,
 * quoted strings, encoded words). A single mailbox whose address is empty
 * ("MAILER-DAEMON <>", which bounces carry) is told apart from garbage, so
 * the engine can treat it as the bounce it claims to be.
 *
 * Threads: author_lib_init() once before threads start (GMime's global
 * init); author_find() is then safe from any thread.
 * Memory: strings in the result live in ARENA.
 */
#ifndef AUTHOR_H
#define AUTHOR_H

#include <stddef.h>

struct arena;
struct header_field;

enum author_status {
	AUTHOR_OK,		   /* exactly one From with exactly one mailbox */
	AUTHOR_NO_FROM,		   /* no From field */
	AUTHOR_MULTIPLE_FIELDS,	   /* two or more From fields */
	AUTHOR_MULTIPLE_ADDRESSES, /* a From with several mailboxes, or a group */
	AUTHOR_UNPARSEABLE,	   /* a From without a usable address (no domain, garbage) */
	AUTHOR_EMPTY,		   /* one mailbox with an empty address: "MAILER-DAEMON <>" */
	AUTHOR_BAD_DOMAIN	   /* a domain that is no valid IDNA 2008 name */
};

struct author {
	enum author_status status;
	const char *address; /* local@domain as written (OK only) */
	const char *domain;  /* A-labels, lower case, no trailing dot (OK only) */
	const char *display; /* display name, decoded to UTF-8, or NULL */
};

/* author_lib_init - initialize GMime; call once, before any thread uses author_find */
void author_lib_init(void);
/* author_find - the author of the message whose header fields are H[0..N) */
int author_find(const struct header_field *h, size_t n, struct arena *arena, struct author *out);
/* author_status_text - one line for logs and replies */
const char *author_status_text(enum author_status s);

#endif
