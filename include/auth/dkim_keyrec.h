/*
 * dkim_keyrec.h - a DKIM key record (RFC 6376 3.6.1, RFC 8463) read once,
 * for the verifier and for dkim-check alike
 *
 * dkim_keyrec_parse() reads the TXT record's tag-list with libopendkim's
 * grammar (so both verifiers read a sloppy record alike): v=, when
 * present, is DKIM1; k= is rsa (the
 * default) or ed25519; h=, when present, allows sha256; s=, when present,
 * allows email; t=s is remembered; p= must be there (empty: revoked).
 * Unknown tags are ignored, as the RFC says. Reasons are in libopendkim's
 * words where it has them, so a key reads the same whichever side looked.
 * dkim_keyrec_pkey() decodes p=: Ed25519 as the 32 raw bytes of RFC 8463,
 * RSA as SubjectPublicKeyInfo (what verifiers accept) and, only when asked,
 * as a bare RSAPublicKey (what dkim-check tolerates in a published key).
 *
 * Threads: no state. Memory: a struct dkim_keyrec holds a copy of the
 * tags (dkim_keyrec_free); the key is the caller's to free.
 */
#ifndef AUTH_DKIM_KEYREC_H
#define AUTH_DKIM_KEYREC_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

struct dkim_keyrec {
	const char *p; /* p=, white space dropped */
	size_t p_len;
	const char *g; /* g= (RFC 4871, ignored since RFC 6376), or NULL */
	char *copy;    /* what the strings point into: dkim_keyrec_free() */
	bool ed25519;  /* k=ed25519 */
	bool k_given;  /* k= was there */
	bool strict;   /* t=s: i= must be in d= itself */
};

/* dkim_keyrec_parse - TEXT (LEN bytes) into K, which dkim_keyrec_free()
 * releases whatever this returns; NULL, or why it cannot be used */
const char *dkim_keyrec_parse(const char *text, size_t len, struct dkim_keyrec *k);
/* dkim_keyrec_free - what K holds; accepts a zeroed K */
void dkim_keyrec_free(struct dkim_keyrec *k);
/* dkim_keyrec_revoked - p= is empty (or only white space) */
bool dkim_keyrec_revoked(const struct dkim_keyrec *k);
/* dkim_keyrec_pkey - p= as a key of K's type; NULL when it is none (or
 * memory ran out: *NOMEM); PKCS1 also accepts a bare RSAPublicKey */
EVP_PKEY *dkim_keyrec_pkey(const struct dkim_keyrec *k, bool pkcs1, bool *nomem);
/* dkim_b64_decode - base64 TEXT (LEN bytes; anything outside the base64
 * alphabet skipped, as libopendkim does) into a
 * malloc'd buffer of *OUT_LEN bytes; NULL when it is no base64 of a whole
 * number of quanta (or memory ran out: *NOMEM) */
unsigned char *dkim_b64_decode(const char *text, size_t len, size_t *out_len, bool *nomem);
/*
 * dkim_keyrec_scan_rsa - every RSA key (RSA or RSA-PSS, SubjectPublicKeyInfo
 * or bare) that any p= tag of TEXT (LEN bytes) could be read as, whatever
 * k= says, by any decoder's reading of its base64 (stopping at the first
 * '=' or not, a last partial quantum kept), to FN until it returns false.
 * For screening what another reader (libopendkim) might verify with: it
 * reads a record differently from dkim_keyrec_parse() (no limit on tags,
 * its own base64, the key's type from the signature, the record cut at a
 * NUL and after about 1 KB). Returns 1 when FN stopped it, 0, or -1 when
 * memory ran out.
 */
int dkim_keyrec_scan_rsa(const char *text, size_t len, bool (*fn)(void *ctx, const EVP_PKEY *pkey),
			 void *ctx);

#endif
