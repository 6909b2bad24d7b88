/*
 * dkim_keycheck.h - does the key published in DNS match our private key?
 *
 * For `gatehouse dkim-check` (what opendkim-testkey does): ask for
 * SELECTOR._domainkey.DOMAIN TXT through the shared resolver, read the key
 * record's tags (RFC 6376 3.6.1), decode p= into a public key with OpenSSL
 * and compare it with the private key's public half (EVP_PKEY_eq), so an RSA
 * record written as SubjectPublicKeyInfo or as a bare RSAPublicKey both
 * match, and an Ed25519 record is the bare 32 bytes of RFC 8463.
 *
 * Threads: as the resolver. Memory: WHY is static text or lives in ARENA.
 */
#ifndef OUTBOUND_DKIM_KEYCHECK_H
#define OUTBOUND_DKIM_KEYCHECK_H

#include <stddef.h>

struct dkim_key;
struct dns_budget;
struct dns_resolver;

enum dkim_keycheck_result {
	DKIM_KEYCHECK_MATCH,
	DKIM_KEYCHECK_MISMATCH,	   /* a key is published, but not ours */
	DKIM_KEYCHECK_MISSING,	   /* no record, or none that is a DKIM key */
	DKIM_KEYCHECK_REVOKED,	   /* p= is empty */
	DKIM_KEYCHECK_BAD_RECORD,  /* unreadable tags, k= of another type, bad p= */
	DKIM_KEYCHECK_DNS_TEMPFAIL /* DNS did not answer */
};

/* dkim_keycheck_record - compare the key record TEXT with K; WHY says more */
enum dkim_keycheck_result dkim_keycheck_record(const struct dkim_key *k, const char *text,
					       const char **why);
/* dkim_keycheck - look up K's record through R within BUDGET (NULL: the
 * query timeout only) and compare it */
enum dkim_keycheck_result dkim_keycheck(struct dns_resolver *r, struct dns_budget *budget,
					const struct dkim_key *k, const char **why);
/* dkim_keycheck_name - "match", "MISMATCH", "missing", ... for the report */
const char *dkim_keycheck_name(enum dkim_keycheck_result res);

#endif
