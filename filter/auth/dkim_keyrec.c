/*
 * dkim_keyrec.c - a DKIM key record's tags and its public key (see
 * dkim_keyrec.h)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/dkim_keyrec.h"
#include "auth/dkim_sig.h"

#define DKIM_KEY_MAX_TAGS 32

unsigned char *dkim_b64_decode(const char *text, size_t len, size_t *out_len, bool *nomem)
{
	char *flat = malloc(len + 1);
	unsigned char *out;
	size_t n = 0, pad = 0;
	int got;

	*nomem = flat == NULL;
	if (flat == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)text[i]))
			flat[n++] = text[i];
	flat[n] = '\0';
	while (pad < n && pad < 2 && flat[n - 1 - pad] == '=')
		pad++;
	if (n == 0 || n % 4 != 0) {
		free(flat);
		return NULL;
	}
	if ((out = malloc(n / 4 * 3 + 1)) == NULL) {
		*nomem = true;
		free(flat);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	got = EVP_DecodeBlock(out, (const unsigned char *)flat, (int)n);
	free(flat);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return NULL;
	}
	*out_len = (size_t)got - pad;
	return out;
}

/* dkim_keyrec_tags - split TEXT into name=value tags the way libopendkim
 * reads key records: a segment without '=' or with an empty name is
 * skipped, not fatal (published records are often sloppy, and the key
 * must read the same on both paths); at most MAX */
static size_t dkim_keyrec_tags(const char *text, size_t len, struct dkim_tag *tag, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		size_t s = i, e, eq;

		while (i < len && text[i] != ';')
			i++;
		e = i++;
		for (eq = s; eq < e && text[eq] != '='; eq++)
			;
		if (eq == e)
			continue;
		tag[n].name = text + s;
		tag[n].name_len = eq - s;
		while (tag[n].name_len > 0 && isspace((unsigned char)*tag[n].name)) {
			tag[n].name++;
			tag[n].name_len--;
		}
		while (tag[n].name_len > 0 &&
		       isspace((unsigned char)tag[n].name[tag[n].name_len - 1]))
			tag[n].name_len--;
		tag[n].val = text + eq + 1;
		tag[n].val_len = e - eq - 1;
		while (tag[n].val_len > 0 && isspace((unsigned char)*tag[n].val)) {
			tag[n].val++;
			tag[n].val_len--;
		}
		while (tag[n].val_len > 0 && isspace((unsigned char)tag[n].val[tag[n].val_len - 1]))
			tag[n].val_len--;
		if (tag[n].name_len > 0)
			n++;
	}
	return n;
}

#define DKIM_TAG_IS(t, s) \
	((t)->name_len == sizeof(s) - 1 && memcmp((t)->name, s, sizeof(s) - 1) == 0)

const char *dkim_keyrec_parse(const char *text, size_t len, struct dkim_keyrec *k)
{
	struct dkim_tag tag[DKIM_KEY_MAX_TAGS];
	size_t n = dkim_keyrec_tags(text, len, tag, DKIM_KEY_MAX_TAGS);
	bool have_p = false;

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < n; i++) {
		const struct dkim_tag *t = &tag[i];

		if (DKIM_TAG_IS(t, "v")) {
			if (i != 0 || t->val_len != 5 || memcmp(t->val, "DKIM1", 5) != 0)
				return "unknown key version";
		} else if (DKIM_TAG_IS(t, "k")) {
			k->k_given = true;
			if (t->val_len == 3 && strncasecmp(t->val, "rsa", 3) == 0)
				k->ed25519 = false;
			else if (t->val_len == 7 && strncasecmp(t->val, "ed25519", 7) == 0)
				k->ed25519 = true;
			else
				return "unknown key type";
		} else if (DKIM_TAG_IS(t, "h")) {
			if (!dkim_list_has(t->val, t->val_len, "sha256"))
				return "signature-key hash mismatch";
		} else if (DKIM_TAG_IS(t, "s")) {
			if (!dkim_list_has(t->val, t->val_len, "*") &&
			    !dkim_list_has(t->val, t->val_len, "email"))
				return "not an e-mail key";
		} else if (DKIM_TAG_IS(t, "t")) {
			k->strict = dkim_list_has(t->val, t->val_len, "s");
		} else if (DKIM_TAG_IS(t, "p") && !have_p) {
			k->p = t->val;
			k->p_len = t->val_len;
			have_p = true;
		}
	}
	return have_p ? NULL : "key DNS reply corrupt";
}

bool dkim_keyrec_revoked(const struct dkim_keyrec *k)
{
	for (size_t i = 0; i < k->p_len; i++)
		if (!isspace((unsigned char)k->p[i]))
			return false;
	return true;
}

EVP_PKEY *dkim_keyrec_pkey(const struct dkim_keyrec *k, bool pkcs1, bool *nomem)
{
	size_t len = 0;
	unsigned char *der = dkim_b64_decode(k->p, k->p_len, &len, nomem);
	const unsigned char *q = der;
	EVP_PKEY *pkey = NULL;

	if (der == NULL)
		return NULL;
	if (k->ed25519) {
		if (len == 32)
			pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, len);
	} else {
		pkey = d2i_PUBKEY(NULL, &q, (long)len);
		if (pkey == NULL && pkcs1) {
			q = der;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len);
		}
		if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	ERR_clear_error(); /* a record that is no key leaves no error for others to find */
	free(der);
	return pkey;
}
