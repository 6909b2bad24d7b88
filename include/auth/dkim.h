/*
 * dkim.h - DKIM signature verification (RFC 6376, 8301, 8463): gatehouse's
 * own body hash and, for the common signatures, its own header check with
 * keys decoded once (dkim_verify.h); libopendkim for the rest
 *
 * A struct dkim_verifier wires one libopendkim library handle to
 * gatehouse's resolver (its DNS hooks answer from dns_query(), never from
 * the system resolver), holds the table of decoded keys, and is shared by
 * all threads. A struct dkim_msg
 * follows one message: header fields and body chunks are fed as they
 * arrive, and dkim_msg_eom() returns one result per DKIM-Signature field,
 * in header order: none is dropped. A field that cannot be evaluated (a
 * required tag missing, d= or s= invalid, b= or bh= with characters
 * outside base64, an unknown v=; dkim_sig.h reads these itself) or a
 * message libopendkim refuses is permerror with the reason (RFC 6376
 * 6.1.1), never a pass. So is every field of a message where some h=
 * names all its header fields and then more: libopendkim would write past
 * an array on it (a forger's message; signed mail never does that), so
 * such a message never reaches libopendkim's end of header. When every
 * field that can be checked is one dkim_verify.h handles, libopendkim sees
 * nothing of the message at all (headers are kept and handed to it at end
 * of header only when it has work), so a field libopendkim could not parse
 * no longer makes the others permerror.
 *
 * What counts as a pass: the header hash verifies AND the body hash matches
 * (libopendkim sets its "passed" flag on the header alone), the algorithm
 * is rsa-sha256 or ed25519-sha256 (rsa-sha1 is "policy", RFC 8301), the key
 * has at least min_key_bits ("policy" below), and, unless allow_body_length
 * is set, no content follows the length an l= tag signed ("policy":
 * appended content is a known spoofing trick; l= is compared with the body
 * after the signature's own body canonicalization). Key lookups: NXDOMAIN,
 * no record or a revoked key are permerror; DNS trouble is temperror; a
 * d= in U-labels is looked up in A-labels. At most max_signatures
 * signatures are checked, those whose d= may align with the From domain
 * (dkim_msg_set_author) first, then the rest in header order; the others
 * are reported with result neutral and reason "not checked", never
 * dropped silently. Every signature checked gets its own result (not only
 * up to the first pass). Result domains are in A-labels, lower case.
 *
 * Threads: dkim_msg_* calls for one message come from one thread at a time
 * (libmilter's guarantee), which is what lets the message's DNS budget
 * reach libopendkim's hooks through a thread-local during dkim_msg_eom().
 * Memory: result strings live in the arena passed to dkim_msg_eom().
 */
#ifndef GH_DKIM_H
#define GH_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/results.h"

struct arena;
struct diag;
struct dns_budget;
struct dns_resolver;

struct dkim_options {
	unsigned max_signatures; /* check at most this many */
	unsigned min_key_bits;	 /* RSA keys shorter are not a pass */
	bool allow_body_length;	 /* l= with content after it may pass */
	/* the body through libopendkim even where gatehouse hashes it itself
	 * (see dkim.c): the fuzzer's second opinion, never set in production */
	bool library_body;
};

struct dkim_verifier;
struct dkim_msg;

/* dkim_verifier_new - libopendkim on DNS; NULL with the reason in ERRS */
struct dkim_verifier *dkim_verifier_new(struct dns_resolver *dns, struct diag *errs);
/* dkim_verifier_free - accepts NULL */
void dkim_verifier_free(struct dkim_verifier *);

/* dkim_msg_new - start verifying one message with options O (from the
 * message's configuration snapshot); ID names it in libopendkim's logs */
struct dkim_msg *dkim_msg_new(struct dkim_verifier *v, const struct dkim_options *o,
			      const char *id);
/* dkim_msg_header - one field as the MTA gave it: VALUE without the SP
 * after the colon, SPACE whether there was one (a "simple" signature
 * covers the field's exact bytes) */
int dkim_msg_header(struct dkim_msg *m, const char *name, const char *value, size_t len,
		    bool space);
/* dkim_msg_set_author - the From domain (A-labels), before dkim_msg_eoh(),
 * so that signatures that may align with it are checked first; -1 on OOM */
int dkim_msg_set_author(struct dkim_msg *m, const char *domain);
int dkim_msg_eoh(struct dkim_msg *m);
int dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len);
/* dkim_msg_eom - verify; *OUT gets an arena array of *N results (N is 0 without signatures).
 * Returns 0, or -1 when out of memory. */
int dkim_msg_eom(struct dkim_msg *m, struct dns_budget *budget, struct arena *arena,
		 struct dkim_result **out, size_t *n);
/* dkim_msg_free - accepts NULL */
void dkim_msg_free(struct dkim_msg *m);

#endif
