/*
 * dkim_key.h - a DKIM private key, loaded and checked once per snapshot
 *
 * dkim_key_load() reads a PEM key (PKCS#8 or PKCS#1, as openssl genpkey and
 * opendkim-genkey write them) with OpenSSL and refuses what would sign
 * badly: a key whose type is not the algorithm asked for (libopendkim signs
 * "successfully" with an RSA key and the Ed25519 algorithm, making mail no
 * verifier accepts), an RSA key below MIN_BITS. A key file that group or
 * others can read is a warning, not an error. The public half is kept in the
 * form a DKIM key record publishes (RSA: SubjectPublicKeyInfo; Ed25519, RFC
 * 8463: the bare 32 bytes), base64, for `gatehouse dkim-check`.
 *
 * Threads: read-only once loaded; an EVP_PKEY may sign from many threads.
 * Memory: the key owns its strings and EVP_PKEY; dkim_key_clear() frees them.
 */
#ifndef OUTBOUND_DKIM_KEY_H
#define OUTBOUND_DKIM_KEY_H

#include <openssl/evp.h>

struct diag;

enum dkim_key_alg { DKIM_KEY_RSA_SHA256, DKIM_KEY_ED25519_SHA256, DKIM_KEY_ANY };

struct dkim_key {
	char *name;	/* the KeyTable's key name */
	char *domain;	/* d= */
	char *selector; /* s= */
	char *path;
	enum dkim_key_alg alg;
	int bits;      /* RSA modulus; 256 for Ed25519 */
	char *pub_b64; /* p= as it must be published */
	EVP_PKEY *pkey;
};

/* dkim_key_load - load PATH into K->pkey for ALG (DKIM_KEY_ANY: the key's
 * own type decides); errors and warnings as "FILE:LINE: ..." naming WHERE
 * (the table line that named the key); 0 or -1 */
int dkim_key_load(struct dkim_key *k, const char *path, enum dkim_key_alg alg, long min_bits,
		  const char *where_file, unsigned long where_line, struct diag *errs,
		  struct diag *warns);
/* dkim_key_clear - free what K holds; accepts a zeroed key */
void dkim_key_clear(struct dkim_key *k);
/* dkim_key_alg_name - "rsa-sha256" / "ed25519-sha256" (the a= value) */
const char *dkim_key_alg_name(enum dkim_key_alg alg);
/* dkim_key_alg_parse - the a= name, or "rsa" / "ed25519"; -1 when unknown */
int dkim_key_alg_parse(const char *s);
/* dkim_key_type_name - "rsa" / "ed25519" (the k= value) */
const char *dkim_key_type_name(enum dkim_key_alg alg);

#endif
