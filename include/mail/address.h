/*
 * address.h - SMTP envelope paths (RFC 5321 section 4.1.2), parsed strictly
 *
 * address_parse_path() takes the path exactly as the MTA hands it to a milter
 * ("<user@example.org>", "<>", with or without the angle brackets, with an
 * obsolete source route) and splits it into local part and domain. It checks
 * the grammar of RFC 5321 (dot-string or quoted-string local part; domain of
 * letter-digit-hyphen labels or an address literal) and accepts UTF-8 in
 * both for SMTPUTF8 (RFC 6531). It never reads past LEN and never trusts it
 * to be NUL-free.
 *
 * Bounds: a domain over 255 octets or a label over 63 is malformed; a whole
 * path over ADDRESS_MAX_PATH octets is refused, because RFC 5321 limits paths
 * to 256 and no real sender needs twice that. Local parts up to 256 octets
 * are accepted although RFC 5321 says 64: VERP and SRS senders exceed 64,
 * and refusing them would bounce real mail for no gain in safety.
 * Memory: the strings in struct address live in the arena passed in.
 */
#ifndef ADDRESS_H
#define ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_MAX_PATH 512

struct arena;

struct address {
	const char *addr;   /* "local@domain" without brackets; "" for the null path */
	const char *local;  /* local part as written (quoted form kept) */
	const char *domain; /* domain, lower-cased for ASCII; "" for the null path */
	bool is_null;	    /* "<>": bounces and other null-sender mail */
};

/*
 * address_parse_path - parse LEN bytes of PATH into OUT. ALLOW_NULL permits
 * "<>" (MAIL FROM) and refuses it when false (RCPT TO; except that
 * "<postmaster>" without a domain is accepted there, RFC 5321 4.1.1.3).
 * Returns 0, or -1 with *WHY set to a short static reason.
 */
int address_parse_path(struct arena *arena, const char *path, size_t len, bool allow_null,
		       struct address *out, const char **why);

#endif
