/*
 * header.h - one header field as the MTA handed it to the milter
 *
 * The name without the colon, the value as received (folding kept, the one
 * space after the colon stripped, as Postfix and Sendmail do for a milter
 * that does not ask for it), and whether that space was there: DKIM's
 * "simple" canonicalization signs the field's exact bytes. Modules that
 * read headers (author, DKIM, rules) take arrays of these and never the
 * session, so they sit below the engine.
 *
 * Memory: the strings belong to whoever built the array (the message arena).
 */
#ifndef MAIL_HEADER_H
#define MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct header_field {
	const char *name;
	const char *value; /* as received: folding kept, no leading space */
	size_t value_len;  /* may contain NUL bytes in test mode */
	bool space;	   /* one SP stood between the colon and VALUE */
};

#endif
