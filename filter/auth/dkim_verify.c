/*
 * dkim_verify.c - header hash, key record and signature of one
 * DKIM-Signature, with decoded keys kept (see dkim_verify.h)
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/dkim_canon.h"
#include "auth/dkim_hsel.h"
#include "auth/dkim_keyrec.h"
#include "auth/dkim_sig.h"
#include "auth/dkim_verify.h"
#include "dns/dns.h"
#include "mail/results.h"
#include "util/arena.h"
#include "util/strbuf.h"

#define DKIM_KEYS_SLOTS 512 /* distinct key records kept; a collision replaces */
#define DKIM_TYPE_TXT 16

struct dkim_key_slot {
	char *text; /* the key record as published, NULL when empty */
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *verify; /* RSA: set up for PKCS#1 v1.5 over SHA-256, or NULL */
};

/* OpenSSL 3.0 looks an algorithm up by name, under its locks, whenever it
 * is given none fetched: setting up a SHA-256 context and a verification
 * context each time was 6-7% of a verified message's CPU behind Postfix.
 * So SHA-256 is fetched once here, and each kept RSA key keeps a
 * verification context that every check copies. */
struct dkim_keys {
	pthread_mutex_t lock;
	EVP_MD *sha256; /* fetched once; NULL: OpenSSL's implicit fetch */
	struct dkim_key_slot slot[DKIM_KEYS_SLOTS];
};

struct dkim_keys *dkim_keys_new(void)
{
	struct dkim_keys *k = calloc(1, sizeof(*k));

	if (k != NULL && pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	if (k != NULL) {
		k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		ERR_clear_error(); /* if it failed, each context fetches for itself */
	}
	return k;
}

const EVP_MD *dkim_keys_sha256(const struct dkim_keys *k)
{
	return k != NULL && k->sha256 != NULL ? k->sha256 : EVP_sha256();
}

/* dkim_verify_ctx - a context that checks PKCS#1 v1.5 RSA signatures over
 * SHA-256 digests with PKEY; NULL on OOM */
static EVP_PKEY_CTX *dkim_verify_ctx(const struct dkim_keys *k, EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (c != NULL && (EVP_PKEY_verify_init(c) != 1 ||
			  EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
			  EVP_PKEY_CTX_set_signature_md(c, dkim_keys_sha256(k)) != 1)) {
		EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	return c;
}

void dkim_keys_free(struct dkim_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < DKIM_KEYS_SLOTS; i++) {
		free(k->slot[i].text);
		EVP_PKEY_free(k->slot[i].pkey);
		EVP_PKEY_CTX_free(k->slot[i].verify);
	}
	EVP_MD_free(k->sha256);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static size_t dkim_keys_index(const char *text)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % DKIM_KEYS_SLOTS);
}

/* dkim_keys_get - the key decoded from record TEXT, with a reference the
 * caller frees, and for an RSA key a copy of its verification context in
 * *VERIFY (NULL when it could not be copied); NULL when it is not kept */
static EVP_PKEY *dkim_keys_get(struct dkim_keys *k, const char *text, EVP_PKEY_CTX **verify)
{
	struct dkim_key_slot *s = &k->slot[dkim_keys_index(text)];
	EVP_PKEY *pkey = NULL;

	*verify = NULL;
	pthread_mutex_lock(&k->lock);
	if (s->text != NULL && strcmp(s->text, text) == 0 && EVP_PKEY_up_ref(s->pkey) == 1) {
		pkey = s->pkey;
		/* the copy under the lock: the kept context is only ever read */
		if (s->verify != NULL)
			*verify = EVP_PKEY_CTX_dup(s->verify);
	}
	pthread_mutex_unlock(&k->lock);
	return pkey;
}

/* dkim_keys_put - keep PKEY (one more reference) and, for RSA, a
 * verification context for record TEXT; failing to keep them only costs a
 * decode next time */
static void dkim_keys_put(struct dkim_keys *k, const char *text, EVP_PKEY *pkey, bool rsa)
{
	struct dkim_key_slot *s = &k->slot[dkim_keys_index(text)];
	EVP_PKEY_CTX *verify = rsa ? dkim_verify_ctx(k, pkey) : NULL;
	char *copy = strdup(text);

	if (copy == NULL || (rsa && verify == NULL) || EVP_PKEY_up_ref(pkey) != 1) {
		free(copy);
		EVP_PKEY_CTX_free(verify);
		return;
	}
	pthread_mutex_lock(&k->lock);
	free(s->text);
	EVP_PKEY_free(s->pkey);
	EVP_PKEY_CTX_free(s->verify);
	s->text = copy;
	s->pkey = pkey;
	s->verify = verify;
	pthread_mutex_unlock(&k->lock);
}

bool dkim_verify_handles(const struct dkim_sig_info *f, long long now)
{
	const char *at;

	if (f->error != NULL || !f->ascii || !f->canon_known || !f->relaxed_head || !f->sha256 ||
	    f->length >= 0 || f->has_q || f->has_x || f->h == NULL || f->bh == NULL ||
	    f->b == NULL || f->selector == NULL || f->domain == NULL)
		return false;
	if (f->has_t && (f->t < 0 || f->t > now))
		return false; /* in the future, or no number we read as libopendkim does */
	/* b= of a length base64 cannot have: libopendkim's decoder has its
	 * own ideas about those, and they stay its business */
	if (strlen(f->b) % 4 != 0)
		return false;
	if (!dkim_list_has(f->h, strlen(f->h), "from") ||
	    dkim_list_has(f->h, strlen(f->h), "dkim-signature"))
		return false;
	for (const char *p = f->selector; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	if (f->i != NULL) {
		size_t dl = strlen(f->domain), il;

		if ((at = strchr(f->i, '@')) == NULL || strchr(f->i, '=') != NULL)
			return false; /* quoted-printable in i=: libopendkim decodes it */
		at++;
		il = strlen(at);
		if (!(strcasecmp(at, f->domain) == 0 || (il > dl && at[il - dl - 1] == '.' &&
							 strcasecmp(at + il - dl, f->domain) == 0)))
			return false;
	}
	return true;
}

/* dkim_fail - R says RESULT for REASON (static text); returns 0 */
static int dkim_fail(struct dkim_result *r, enum ar_result result, const char *reason)
{
	r->result = result;
	r->reason = reason;
	return 0;
}

/* An RSA key's size and public exponent are the signer's choice, and the
 * verifier pays for them. Measured with OpenSSL 3 here, per verification:
 * RSA-2048 with 65537 0.09 ms; RSA-3072 with a 3,071-bit exponent 5.5 ms
 * (a private key's work); RSA-8192 with a 64-bit one 2.8 ms; RSA-16384
 * 1.0 ms with 65537 and 3.7 with 64 bits. Eight signatures a message
 * (dkim_max_signatures) on such a key cost 20-45 ms of CPU for a few bytes
 * of DNS. Keys in use are 1,024 to 4,096 bits (RFC 8301 asks verifiers
 * for that range) with 65537 or 3. So gatehouse takes moduli up to 8,192
 * bits and exponents below 2^31, as Go's crypto/rsa does: at worst 0.66 ms
 * a verification (RSA-8192, e = 2^31-1). */
#define DKIM_RSA_MAX_BITS 8192
#define DKIM_RSA_MAX_E_BITS 31
static const char dkim_reason_big_key[] = "RSA key over 8192 bits";
static const char dkim_reason_big_e[] = "RSA public exponent of 2^31 or more";

/* dkim_key_refusal - why PKEY must not be verified with, or NULL */
static const char *dkim_key_refusal(const EVP_PKEY *pkey)
{
	BIGNUM *e = NULL;
	const char *why = NULL;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA_PSS)
		return NULL;
	if (EVP_PKEY_get_bits(pkey) > DKIM_RSA_MAX_BITS)
		return dkim_reason_big_key;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		ERR_clear_error();
		return dkim_reason_big_e; /* no exponent to read: no key to verify with */
	}
	if (BN_num_bits(e) > DKIM_RSA_MAX_E_BITS)
		why = dkim_reason_big_e;
	BN_free(e);
	return why;
}

/* dkim_key_fetch - the key of F from DNS (or the table), and for RSA its
 * verification context in *VERIFY (NULL: set one up); NULL with R filled
 * when there is none to use; *NOMEM when memory ran out */
static EVP_PKEY *dkim_key_fetch(struct dns_resolver *dns, struct dns_budget *b,
				struct dkim_keys *keys, const struct dkim_sig_info *f,
				struct arena *a, struct dkim_result *r, bool *strict, bool *nomem,
				EVP_PKEY_CTX **verify)
{
	struct dns_result res;
	struct dkim_keyrec k;
	struct strbuf txt;
	const char *name, *why;
	EVP_PKEY *pkey;

	*nomem = false;
	*verify = NULL;
	name = arena_printf(a, "%s._domainkey.%s", f->selector, f->domain);
	if (name == NULL || dns_query(dns, name, DKIM_TYPE_TXT, b, &res) != 0) {
		*nomem = true;
		if (name != NULL)
			dns_result_free(&res);
		return NULL;
	}
	if (res.status == DNS_TEMPFAIL) {
		dns_result_free(&res);
		dkim_fail(r, AR_TEMPERROR, "key DNS query failed");
		return NULL;
	}
	if (res.status != DNS_ANSWER || res.n == 0) {
		dns_result_free(&res);
		dkim_fail(r, AR_PERMERROR, "key not found in DNS");
		return NULL;
	}
	if (res.n > 1) {
		dns_result_free(&res);
		dkim_fail(r, AR_PERMERROR, "multiple keys found");
		return NULL;
	}
	strbuf_init(&txt);
	if (dns_rdata_txt(&res.rr[0], &txt) != 0 || txt.failed) {
		*nomem = txt.failed;
		dns_result_free(&res);
		strbuf_free(&txt);
		if (!*nomem)
			dkim_fail(r, AR_PERMERROR, "key DNS reply corrupt");
		return NULL;
	}
	dns_result_free(&res);
	memset(&k, 0, sizeof(k));
	why = txt.len == 0 || memchr(txt.data, '\0', txt.len) != NULL
		      ? "key DNS reply corrupt"
		      : dkim_keyrec_parse(txt.data, txt.len, &k);
	if (why == NULL && k.ed25519 != f->ed25519)
		why = "key type does not match the signature's algorithm";
	/* g= went with RFC 6376; libopendkim still matches it against the
	 * From local part, which this module does not have: anything but
	 * "*" is refused rather than ignored, never a pass libopendkim would
	 * not give */
	if (why == NULL && k.g != NULL && strcmp(k.g, "*") != 0)
		why = "key granularity mismatch";
	if (why == NULL && dkim_keyrec_revoked(&k))
		why = "key revoked";
	*strict = k.strict;
	if (why != NULL) {
		dkim_fail(r, AR_PERMERROR, why);
		pkey = NULL;
	} else if ((pkey = dkim_keys_get(keys, txt.data, verify)) == NULL) {
		pkey = dkim_keyrec_pkey(&k, false, nomem);
		if (pkey != NULL && (why = dkim_key_refusal(pkey)) != NULL) {
			/* not kept: such keys are not worth a slot */
			EVP_PKEY_free(pkey);
			pkey = NULL;
			dkim_fail(r, AR_PERMERROR, why);
		} else if (pkey != NULL) {
			dkim_keys_put(keys, txt.data, pkey, !k.ed25519);
		} else if (!*nomem) {
			dkim_fail(r, AR_PERMERROR, "unable to apply public key");
		}
	}
	dkim_keyrec_free(&k);
	strbuf_free(&txt);
	return pkey;
}

struct dkim_hdata {
	const struct dkim_field *fields;
	struct strbuf *sb;
};

/* dkim_hdata_one - the field one name of h= selects, canonicalized */
static bool dkim_hdata_one(void *ctx, const char *name, size_t len, size_t idx)
{
	const struct dkim_hdata *d = ctx;

	(void)name;
	(void)len;
	if (idx != DKIM_HSEL_NONE)
		dkim_canon_header_relaxed(d->sb, d->fields[idx].name, d->fields[idx].value,
					  d->fields[idx].len, true);
	return true;
}

/* dkim_header_data - the relaxed canonical header fields F signs, then its
 * own field with b= emptied and no CRLF, into SB */
static void dkim_header_data(const struct dkim_field *fields, size_t n, size_t sig,
			     const struct dkim_sig_info *f, struct strbuf *sb)
{
	struct dkim_hdata d = { fields, sb };
	struct strbuf own;

	if (dkim_hsel(fields, n, f->h, dkim_hdata_one, &d) != 0) {
		sb->failed = true;
		return;
	}
	strbuf_init(&own);
	strbuf_append(&own, fields[sig].value, f->b_from);
	strbuf_append(&own, fields[sig].value + f->b_to, fields[sig].len - f->b_to);
	if (own.failed)
		sb->failed = true;
	else
		dkim_canon_header_relaxed(sb, fields[sig].name, own.data, own.len, false);
	strbuf_free(&own);
}

/* dkim_check - PKEY's signature SIG (SIG_LEN bytes) over DATA, RSA through
 * VERIFY (NULL: a context is set up here); 1 good, 0 bad, -1 OOM */
static int dkim_check(const struct dkim_keys *keys, EVP_PKEY *pkey, EVP_PKEY_CTX *verify,
		      bool ed25519, const unsigned char *sig, size_t sig_len,
		      const struct strbuf *data)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	EVP_MD_CTX *ctx;
	int ok;

	/* RSA signs, and RFC 8463's Ed25519 signs, the SHA-256 of the data */
	if (EVP_Digest(data->data, data->len, hash, &hl, dkim_keys_sha256(keys), NULL) != 1)
		return -1;
	if (!ed25519) {
		EVP_PKEY_CTX *own = verify != NULL ? NULL : dkim_verify_ctx(keys, pkey);

		if (verify == NULL && own == NULL)
			return -1;
		ok = EVP_PKEY_verify(verify != NULL ? verify : own, sig, sig_len, hash, hl) == 1;
		EVP_PKEY_CTX_free(own);
		return ok;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, hash, hl) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int dkim_verify_sig(struct dns_resolver *dns, struct dns_budget *b, struct dkim_keys *keys,
		    const struct dkim_field *fields, size_t n, size_t sig,
		    const struct dkim_sig_info *f, bool body_ok, unsigned min_key_bits,
		    struct arena *a, struct dkim_result *r)
{
	struct strbuf data;
	unsigned char *raw;
	size_t raw_len = 0;
	bool strict = false, nomem = false;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *verify = NULL;
	int good;

	r->key_bits = 0;
	pkey = dkim_key_fetch(dns, b, keys, f, a, r, &strict, &nomem, &verify);
	if (pkey == NULL)
		return nomem ? -1 : 0;
	if (!f->ed25519)
		r->key_bits = (unsigned)EVP_PKEY_get_bits(pkey);
	if ((raw = dkim_b64_decode(f->b, strlen(f->b), &raw_len, &nomem)) == NULL) {
		EVP_PKEY_free(pkey);
		EVP_PKEY_CTX_free(verify);
		/* libopendkim's decoder skips what it cannot read, and
		 * what is left does not verify */
		return nomem ? -1 : dkim_fail(r, AR_FAIL, "signature verification failed");
	}
	strbuf_init(&data);
	dkim_header_data(fields, n, sig, f, &data);
	good = data.failed ? -1 : dkim_check(keys, pkey, verify, f->ed25519, raw, raw_len, &data);
	strbuf_free(&data);
	free(raw);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(verify);
	if (good < 0)
		return -1;
	if (!good)
		return dkim_fail(r, AR_FAIL, "signature verification failed");
	if (!body_ok)
		return dkim_fail(r, AR_FAIL, "body hash did not verify: the body was changed");
	if (strict && f->i != NULL && strcasecmp(strchr(f->i, '@') + 1, f->domain) != 0)
		return dkim_fail(r, AR_PERMERROR, "unauthorized subdomain");
	if (!f->ed25519 && r->key_bits < min_key_bits) {
		r->result = AR_POLICY;
		r->reason = arena_printf(a, "%u-bit key is below the %u-bit minimum (RFC 8301)",
					 r->key_bits, min_key_bits);
		return r->reason == NULL ? -1 : 0;
	}
	return dkim_fail(r, AR_PASS, NULL);
}

struct dkim_screen {
	const char *why;
};

static bool dkim_screen_one(void *ctx, const EVP_PKEY *pkey)
{
	struct dkim_screen *sc = ctx;

	sc->why = dkim_key_refusal(pkey);
	return sc->why == NULL;
}

const char *dkim_verify_key_screen(const char *text, size_t len, bool *nomem)
{
	struct dkim_screen sc = { NULL };

	/* every reading of every p=, not ours alone: what libopendkim would
	 * take from the record is decided by its reader, not by ours */
	*nomem = dkim_keyrec_scan_rsa(text, len, dkim_screen_one, &sc) < 0;
	return sc.why;
}
