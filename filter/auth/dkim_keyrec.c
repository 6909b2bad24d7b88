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
	/* what is not base64 is skipped, as libopendkim's decoder skips it:
	 * both verifiers must read the same key from a sloppy record */
	for (size_t i = 0; i < len; i++)
		if (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '/' ||
		    text[i] == '=')
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

/*
 * dkim_keyrec_tags - TEXT's tags in COPY (LEN + 1 bytes, written here)
 * the way libopendkim reads a key record (dkim_process_set), so that both
 * verifiers see the same record: a tag name starts with a letter or digit
 * and may not contain white space, '=' or ';'; every tag needs '='; an
 * empty tag (";;") is an error; white space inside names and values is
 * dropped; a later tag of the same name replaces an earlier one. Returns
 * the number of tags (at most MAX), or -1 on a syntax error.
 */
static int dkim_keyrec_tags(const char *text, size_t len, char *copy, struct dkim_tag *tag,
			    size_t max)
{
	size_t n = 0, o = 0;
	int state = 0; /* 0 before a name, 1 in it, 2 before a value, 3 in it */
	bool spaced = false;
	char *name = NULL, *val = NULL;

	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)text[i] : ';';
		bool end = i == len;

		if (!end && (c >= 0x80 || (!isprint(c) && !isspace(c))))
			return -1;
		if (state == 0) {
			if (end || isspace(c))
				continue;
			if (!isalnum(c))
				return -1;
			name = copy + o;
			copy[o++] = (char)c;
			state = 1;
			spaced = false;
		} else if (state == 1) {
			if (end)
				return -1; /* a name without '=' */
			if (isspace(c)) {
				spaced = true;
			} else if (c == '=') {
				copy[o++] = '\0';
				val = copy + o;
				state = 2;
			} else if (c == ';' || spaced) {
				return -1;
			} else {
				copy[o++] = (char)c;
			}
		} else if (c == ';') {
			size_t k;

			copy[o++] = '\0';
			for (k = 0; k < n && strcmp(tag[k].name, name) != 0; k++)
				;
			if (k == n && n == max)
				return -1;
			tag[k].name = name;
			tag[k].name_len = strlen(name);
			tag[k].val = val;
			tag[k].val_len = strlen(val);
			if (k == n)
				n++;
			state = 0;
		} else if (!isspace(c)) {
			copy[o++] = (char)c;
			state = 3;
		}
	}
	return (int)n;
}

#define DKIM_TAG_IS(t, s) \
	((t)->name_len == sizeof(s) - 1 && memcmp((t)->name, s, sizeof(s) - 1) == 0)

const char *dkim_keyrec_parse(const char *text, size_t len, struct dkim_keyrec *k)
{
	struct dkim_tag tag[DKIM_KEY_MAX_TAGS];
	char *copy = malloc(len + 2);
	int n;
	bool have_p = false;
	const char *why = NULL;

	memset(k, 0, sizeof(*k));
	if (copy == NULL)
		return "out of memory";
	k->copy = copy;
	if ((n = dkim_keyrec_tags(text, len, copy, tag, DKIM_KEY_MAX_TAGS)) < 0)
		return "key DNS reply corrupt";
	for (int i = 0; i < n && why == NULL; i++) {
		const struct dkim_tag *t = &tag[i];

		if (DKIM_TAG_IS(t, "v")) {
			if (strcmp(t->val, "DKIM1") != 0)
				why = "unknown key version";
		} else if (DKIM_TAG_IS(t, "k")) {
			k->k_given = true;
			if (strcasecmp(t->val, "rsa") == 0)
				k->ed25519 = false;
			else if (strcasecmp(t->val, "ed25519") == 0)
				k->ed25519 = true;
			else
				why = "unknown key type";
		} else if (DKIM_TAG_IS(t, "h")) {
			if (!dkim_list_has(t->val, t->val_len, "sha256"))
				why = "signature-key hash mismatch";
		} else if (DKIM_TAG_IS(t, "s")) {
			if (!dkim_list_has(t->val, t->val_len, "*") &&
			    !dkim_list_has(t->val, t->val_len, "email"))
				why = "not an e-mail key";
		} else if (DKIM_TAG_IS(t, "t")) {
			k->strict = dkim_list_has(t->val, t->val_len, "s");
		} else if (DKIM_TAG_IS(t, "g")) {
			k->g = t->val; /* RFC 4871's granularity, gone since RFC 6376 */
		} else if (DKIM_TAG_IS(t, "p")) {
			k->p = t->val;
			k->p_len = t->val_len;
			have_p = true;
		}
	}
	if (why == NULL && !have_p)
		why = "key DNS reply corrupt";
	return why;
}

void dkim_keyrec_free(struct dkim_keyrec *k)
{
	free(k->copy);
	k->copy = NULL;
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

/* dkim_keyrec_lenient - base64 TEXT (LEN bytes) read as loosely as any
 * decoder might: characters outside the alphabet skipped, up to the
 * first '=' when STOP_AT_PAD (else '=' skipped too), a last partial
 * quantum kept; decoded by OpenSSL into a malloc'd buffer (*OUT_LEN), or
 * NULL (nothing there, or memory ran out: *NOMEM) */
static unsigned char *dkim_keyrec_lenient(const char *text, size_t len, bool stop_at_pad,
					  size_t *out_len, bool *nomem)
{
	char *flat = malloc(len + 4);
	unsigned char *out = NULL;
	size_t n = 0, pad = 0;
	int got;

	*nomem = flat == NULL;
	if (flat == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '=' && stop_at_pad)
			break;
		if (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '/')
			flat[n++] = text[i];
	}
	if (n % 4 == 1)
		n--; /* six bits are no byte */
	while (n % 4 != 0) {
		flat[n++] = '=';
		pad++;
	}
	if (n > 0 && (out = malloc(n / 4 * 3)) == NULL)
		*nomem = true;
	if (out != NULL) {
		got = EVP_DecodeBlock(out, (const unsigned char *)flat, (int)n);
		if (got < 0 || (size_t)got < pad) {
			free(out);
			out = NULL;
		} else {
			*out_len = (size_t)got - pad;
		}
	}
	free(flat);
	return out;
}

int dkim_keyrec_scan_rsa(const char *text, size_t len, bool (*fn)(void *ctx, const EVP_PKEY *pkey),
			 void *ctx)
{
	for (size_t i = 0; i < len; i++) {
		size_t b = i, v, e;

		if (text[i] != 'p' && text[i] != 'P')
			continue;
		/* a tag starts here: after the record's start or a ';' */
		while (b > 0 && isspace((unsigned char)text[b - 1]))
			b--;
		if (b > 0 && text[b - 1] != ';')
			continue;
		for (v = i + 1; v < len && isspace((unsigned char)text[v]); v++)
			;
		if (v == len || text[v] != '=')
			continue;
		for (e = ++v; e < len && text[e] != ';'; e++)
			;
		/* libopendkim's decoder stops at the first '=' (and keeps a
		 * partial last quantum); the second reading, skipping '=', is
		 * cheap insurance for a record cut short anyway */
		for (int way = 0; way < 2; way++) {
			size_t dl = 0;
			bool nomem;
			unsigned char *der = dkim_keyrec_lenient(text + v, e - v, way == 0, &dl,
								 &nomem);

			if (nomem)
				return -1;
			for (int form = 0; der != NULL && form < 2; form++) {
				const unsigned char *q = der;
				EVP_PKEY *pkey = form == 0 ? d2i_PUBKEY(NULL, &q, (long)dl)
							   : d2i_PublicKey(EVP_PKEY_RSA, NULL, &q,
									   (long)dl);
				int type = pkey != NULL ? EVP_PKEY_get_base_id(pkey) : 0;
				bool more = true;

				if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS)
					more = fn(ctx, pkey);
				EVP_PKEY_free(pkey);
				if (!more) {
					free(der);
					ERR_clear_error();
					return 1;
				}
			}
			free(der);
		}
	}
	ERR_clear_error();
	return 0;
}
