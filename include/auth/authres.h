/*
 * authres.h - Authentication-Results (RFC 8601): build ours, spot forged ones
 *
 * authres_build() writes the results of SPF (smtp.mailfrom, smtp.helo),
 * DKIM (header.d, header.s, header.a, header.b per signature) and DMARC
 * (header.from, policy.dmarc) under our authserv-id (a token, or a
 * quoted-string when it needs one, RFC 8601 2.2), one result per line
 * folded with LF+TAB (libmilter's convention). When the header would pass
 * AUTHRES_MAX_HEADER characters it is split into several headers, each
 * with the authserv-id (RFC 8601 allows several); no line passes 998.
 *
 * authres_authserv_id() reads the authserv-id of an incoming header, and
 * authres_received_spf_receiver() the receiver= of an incoming
 * Received-SPF, so the engine can delete those that claim to be ours:
 * nothing downstream may trust a result it did not get from us.
 *
 * Memory: strings live in ARENA.
 */
#ifndef AUTHRES_H
#define AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/results.h"

struct arena;

#define AUTHRES_MAX_HEADER 1000	  /* characters of one header field, name included */
#define AUTHRES_FIELD_NAME_LEN 24 /* "Authentication-Results: " */
#define AUTHRES_MAX_LINE 998

struct authres_input {
	const char *authserv_id;
	const struct results *r;
	const char *mailfrom; /* MAIL FROM address, or NULL for <> */
	const char *helo;
};

/* authres_build - the header values (*N of them, at least 1) in ARENA; -1 on OOM */
int authres_build(struct arena *arena, const struct authres_input *in, const char ***out,
		  size_t *n);

/* authres_authserv_id - the authserv-id of header VALUE (LEN bytes) in
 * ARENA, without comments and version; NULL if it has none */
const char *authres_authserv_id(struct arena *arena, const char *value, size_t len);

/* authres_claims - does header VALUE (LEN bytes) claim to come from ID, in
 * any form a reader could take for it: token, quoted-string, or a bare run
 * that is no valid token ("id/1", which a lax parser reads whole)? */
bool authres_claims(struct arena *arena, const char *value, size_t len, const char *id);
/* authres_received_spf_claims - does a Received-SPF value name ID as its
 * receiver=, bare or quoted? */
bool authres_received_spf_claims(struct arena *arena, const char *value, size_t len,
				 const char *id);

/* authres_received_spf_receiver - the receiver= of a Received-SPF value
 * (RFC 7208 9.1) in ARENA, or NULL when it names none */
const char *authres_received_spf_receiver(struct arena *arena, const char *value, size_t len);

#endif
