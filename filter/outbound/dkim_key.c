/*
 * dkim_key.c - load and check a DKIM signing key with OpenSSL (see dkim_key.h)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "outbound/dkim_key.h"
#include "util/diag.h"

const char *dkim_key_alg_name(enum dkim_key_alg alg)
{
	return alg == DKIM_KEY_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

const char *dkim_key_type_name(enum dkim_key_alg alg)
{
	return alg == DKIM_KEY_ED25519_SHA256 ? "ed25519" : "rsa";
}

int dkim_key_alg_parse(const char *s)
{
	if (strcmp(s, "rsa-sha256") == 0 || strcmp(s, "rsa") == 0)
		return DKIM_KEY_RSA_SHA256;
	if (strcmp(s, "ed25519-sha256") == 0 || strcmp(s, "ed25519") == 0)
		return DKIM_KEY_ED25519_SHA256;
	return -1;
}

/* dkim_b64 - base64 of DER[0..LEN) in a malloc'd string */
static char *dkim_b64(const unsigned char *der, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

/* dkim_key_public - K->pub_b64 from K->pkey; 0 or -1 */
static int dkim_key_public(struct dkim_key *k)
{
	unsigned char *der = NULL;
	int n;

	if (k->alg == DKIM_KEY_ED25519_SHA256) {
		unsigned char raw[32];
		size_t rl = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rl) != 1 || rl != sizeof(raw))
			return -1;
		k->pub_b64 = dkim_b64(raw, rl);
		return k->pub_b64 ? 0 : -1;
	}
	n = i2d_PUBKEY(k->pkey, &der);
	if (n <= 0)
		return -1;
	k->pub_b64 = dkim_b64(der, (size_t)n);
	OPENSSL_free(der);
	return k->pub_b64 ? 0 : -1;
}

int dkim_key_load(struct dkim_key *k, const char *path, enum dkim_key_alg alg, long min_bits,
		  const char *wf, unsigned long wl, struct diag *errs, struct diag *warns)
{
	struct stat st;
	BIO *bio;
	int type;

	if (stat(path, &st) != 0) {
		diag_at(errs, wf, wl, 0, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		diag_at(warns, wf, wl, 0,
			"key file %s can be read by its group or others (mode %03o): chmod 600 or "
			"640 "
			"with a group of its own",
			path, (unsigned)(st.st_mode & 0777));
	bio = BIO_new_file(path, "r");
	if (bio != NULL)
		k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error(); /* the thread's OpenSSL error queue stays clean */
	if (k->pkey == NULL) {
		diag_at(errs, wf, wl, 0, "key file %s: not a PEM private key (RSA or Ed25519)",
			path);
		return -1;
	}
	type = EVP_PKEY_get_base_id(k->pkey);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
		diag_at(errs, wf, wl, 0, "key file %s: neither an RSA nor an Ed25519 key", path);
		return -1;
	}
	k->alg = type == EVP_PKEY_RSA ? DKIM_KEY_RSA_SHA256 : DKIM_KEY_ED25519_SHA256;
	if (alg != DKIM_KEY_ANY && alg != k->alg) {
		diag_at(errs, wf, wl, 0, "key file %s holds an %s key, but the algorithm is %s",
			path, dkim_key_type_name(k->alg), dkim_key_alg_name(alg));
		return -1;
	}
	k->bits = EVP_PKEY_get_bits(k->pkey);
	if (k->alg == DKIM_KEY_RSA_SHA256 && k->bits < min_bits) {
		diag_at(errs, wf, wl, 0,
			"key file %s: a %d-bit RSA key; at least %ld bits (2048 recommended)", path,
			k->bits, min_bits);
		return -1;
	}
	if (k->alg == DKIM_KEY_RSA_SHA256 && k->bits < 2048)
		diag_at(warns, wf, wl, 0,
			"key file %s: a %d-bit RSA key; 2048 bits are recommended", path, k->bits);
	/* RFC 8301 asks verifiers for 1,024 to 4,096 bits; gatehouse's own
	 * check (auth/dkim_verify.c) refuses more than 8,192 */
	if (k->alg == DKIM_KEY_RSA_SHA256 && k->bits > 4096)
		diag_at(warns, wf, wl, 0,
			"key file %s: a %d-bit RSA key; receivers need only verify up to 4096 "
			"bits (RFC 8301), and some, gatehouse among them past 8192, refuse more",
			path, k->bits);
	if ((k->path = strdup(path)) == NULL || dkim_key_public(k) != 0) {
		diag_at(errs, wf, wl, 0, "key file %s: out of memory", path);
		return -1;
	}
	return 0;
}

void dkim_key_clear(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	free(k->pub_b64);
	memset(k, 0, sizeof(*k));
}
