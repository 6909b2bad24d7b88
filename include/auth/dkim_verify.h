/*
 * dkim_verify.h - the header hash and signature of a DKIM-Signature,
 * checked by gatehouse with the public key decoded once and kept
 *
 * libopendkim decodes the signer's public key from its DNS record again for
 * every message (OpenSSL 3's decoder: about a quarter of a verified
 * message's CPU once the body hash was ours). For the signatures that
 * make up nearly all mail, dkim.c asks this module instead:
 * dkim_verify_handles() says which, conservatively (anything unusual stays
 * with libopendkim), and dkim_verify_sig() checks one against the key
 * record, whose decoded key a struct dkim_keys keeps, keyed by the record's
 * exact text, so a changed record is decoded afresh. With each RSA key it
 * keeps a verification context set up once, and it fetches SHA-256 once
 * for every hash (OpenSSL 3.0 otherwise looks both up by name, under its
 * locks, for every message).
 *
 * What it checks (RFC 6376 3.5, 3.6, 3.7, 6.1; RFC 8463): the key record's
 * tags (v=DKIM1 first if present; k= matching a=; h= and s= allowing
 * sha256 and email; t=s), an empty p= as a revoked key, the key's type and
 * size (RSA below MIN_KEY_BITS is "policy"; RSA over 8,192 bits or with a
 * public exponent of 2^31 or more, which would make a verification as
 * dear as signing, is permerror, on libopendkim's path too:
 * dkim_verify_key_screen), then the
 * relaxed header hash:
 * the fields h= names, each taken bottom-up, the signature's own field with
 * b= emptied, hashed with SHA-256 and verified (RSA PKCS#1 v1.5 over the
 * data; Ed25519 over its SHA-256 hash). The body hash is dkim.c's.
 * Results and reasons use libopendkim's words where it has them, so a
 * signature reads the same whichever path checked it; fuzz_dkim compares
 * the two paths on every input.
 *
 * Threads: a struct dkim_keys is shared by all threads (one lock around
 * its table, held only to look up, copy a context or store); everything
 * else is per call.
 * Memory: results live in the arena passed in.
 */
#ifndef AUTH_DKIM_VERIFY_H
#define AUTH_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#include "auth/dkim_hsel.h" /* struct dkim_field */

struct arena;
struct dkim_result;
struct dkim_sig_info;
struct dns_budget;
struct dns_resolver;

struct dkim_keys;

/* dkim_keys_new - an empty key table; NULL on OOM */
struct dkim_keys *dkim_keys_new(void);
/* dkim_keys_free - accepts NULL */
void dkim_keys_free(struct dkim_keys *k);
/* dkim_keys_sha256 - SHA-256, fetched once for K's users (body hashes too) */
const EVP_MD *dkim_keys_sha256(const struct dkim_keys *k);

/* dkim_verify_handles - F is a signature this module checks: all ASCII,
 * relaxed header canonicalization, SHA-256, no l=, x=, q= or i= outside
 * d=, a past or absent t=, h= naming From and no DKIM-Signature, b= of a
 * length base64 can have; NOW is the time to judge t= by */
bool dkim_verify_handles(const struct dkim_sig_info *f, long long now);

/*
 * dkim_verify_sig - check signature F (the field FIELDS[SIG] of the N
 * fields of the message) whose body hash matched when BODY_OK; fills
 * R->result, reason, key_bits (the caller fills domain, selector, b,
 * algorithm). Returns 0, or -1 when memory ran out.
 */
int dkim_verify_sig(struct dns_resolver *dns, struct dns_budget *b, struct dkim_keys *keys,
		    const struct dkim_field *fields, size_t n, size_t sig,
		    const struct dkim_sig_info *f, bool body_ok, unsigned min_key_bits,
		    struct arena *a, struct dkim_result *r);

/*
 * dkim_verify_key_screen - the key record TEXT (LEN bytes) fetched for a
 * signature libopendkim checks: NULL when libopendkim may verify with
 * whatever it reads from it, or the reason it must not (an RSA key too
 * large, or its public exponent). Every reading of the record that any
 * reader might make is screened (dkim_keyrec_scan_rsa), since libopendkim
 * reads records its own way; *NOMEM says memory ran out.
 */
const char *dkim_verify_key_screen(const char *text, size_t len, bool *nomem);

#endif
