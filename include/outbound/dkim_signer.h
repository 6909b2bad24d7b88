/*
 * dkim_signer.h - DKIM signatures (RFC 6376, RSA; RFC 8463, Ed25519) on
 * OpenSSL's EVP API
 *
 * Why not libopendkim, which gatehouse verifies with: its Ed25519 signing
 * leaks about 0.55 KB per message (measured: 6.9 MB after 1,000 messages,
 * 17.0 MB after 20,000; RSA stays flat), signs "successfully" with an RSA
 * key given the Ed25519 algorithm, and keeps the signed and oversigned
 * header lists library-wide, not per configuration snapshot. Signing is
 * small next to verifying: canonicalize (dkim_canon.h), hash, sign, fold.
 *
 * The signed headers: every instance of each name in SIGN (bottom-up, as
 * RFC 6376 5.4.2 says) plus, for names in OVERSIGN, one more entry that no
 * header answers, so nobody can add that field later without breaking the
 * signature. OVERSIGN must be a subset of SIGN (checked at load: a name
 * oversigned but not signed makes an invalid signature in libopendkim).
 * Never l=; t= always, x= when EXPIRE_S > 0.
 *
 * The result is the value of one DKIM-Signature field, folded with LF and a
 * TAB (a milter adds fields with bare LF; the MTA writes CRLF).
 *
 * Threads: dkim_sign_header() is reentrant; keys are shared read-only.
 * Memory: the returned value is malloc'd; the caller frees it.
 */
#ifndef OUTBOUND_DKIM_SIGNER_H
#define OUTBOUND_DKIM_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct dkim_key;
struct header_field;

struct dkim_sign_request {
	const struct dkim_key *key;
	const struct header_field *headers; /* the message's fields, top to bottom */
	size_t nheaders;
	const char *const *sign;	/* header names to sign, NULL-terminated */
	const char *const *oversign;	/* names signed once more than they occur */
	const unsigned char *body_hash; /* 32 bytes, from dkim_canon.h */
	bool body_relaxed;		/* c=relaxed/relaxed, else relaxed/simple */
	time_t now;
	long expire_s; /* x= now + this; 0: no x= */
};

/* dkim_sign_header - the DKIM-Signature field value for R; NULL on failure */
char *dkim_sign_header(const struct dkim_sign_request *r);

#endif
