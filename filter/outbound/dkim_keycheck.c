/*
 * dkim_keycheck.c - the published key against the private key (see dkim_keycheck.h)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dns/dns.h"
#include "outbound/dkim_key.h"
#include "outbound/dkim_keycheck.h"
#include "util/strbuf.h"

const char *dkim_keycheck_name(enum dkim_keycheck_result res)
{
	switch (res) {
	case DKIM_KEYCHECK_MATCH:
		return "match";
	case DKIM_KEYCHECK_MISMATCH:
		return "MISMATCH";
	case DKIM_KEYCHECK_MISSING:
		return "not published";
	case DKIM_KEYCHECK_REVOKED:
		return "revoked (empty p=)";
	case DKIM_KEYCHECK_BAD_RECORD:
		return "bad record";
	case DKIM_KEYCHECK_DNS_TEMPFAIL:
		return "DNS failure";
	}
	return "?";
}

/* dkim_tag - the value of TAG in the tag list TEXT, white space removed,
 * malloc'd; NULL when absent (*OOM set when memory ran out) */
static char *dkim_tag(const char *text, const char *tag, int *oom)
{
	size_t tl = strlen(tag);

	*oom = 0;
	for (const char *p = text; p != NULL && *p;) {
		const char *end = strchr(p, ';'), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		eq = memchr(p, '=', n);
		if (eq != NULL) {
			size_t kl = (size_t)(eq - p);

			while (kl > 0 && isspace((unsigned char)p[kl - 1]))
				kl--;
			if (kl == tl && strncmp(p, tag, tl) == 0) {
				char *v = malloc(n + 1), *w = v;

				if (v == NULL) {
					*oom = 1;
					return NULL;
				}
				for (const char *q = eq + 1; q < p + n; q++)
					if (!isspace((unsigned char)*q))
						*w++ = *q;
				*w = '\0';
				return v;
			}
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* dkim_pub_from_b64 - the public key P= encodes for key type ALG, or NULL */
static EVP_PKEY *dkim_pub_from_b64(const char *p, enum dkim_key_alg alg)
{
	size_t len = strlen(p), pad = 0;
	unsigned char *der;
	const unsigned char *q;
	EVP_PKEY *pub = NULL;
	int n;

	if (len == 0 || len % 4 != 0)
		return NULL;
	der = malloc(len / 4 * 3 + 1);
	if (der == NULL)
		return NULL;
	n = EVP_DecodeBlock(der, (const unsigned char *)p, (int)len);
	pad = (p[len - 1] == '=') + (len > 1 && p[len - 2] == '=');
	if (n < 0 || (size_t)n < pad) {
		free(der);
		return NULL;
	}
	n -= (int)pad;
	q = der;
	if (alg == DKIM_KEY_ED25519_SHA256) {
		if (n == 32)
			pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else {
		pub = d2i_PUBKEY(NULL, &q, n);
		if (pub == NULL) {
			q = der;
			pub = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, n);
		}
		if (pub != NULL && EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pub);
			pub = NULL;
		}
	}
	ERR_clear_error();
	free(der);
	return pub;
}

enum dkim_keycheck_result dkim_keycheck_record(const struct dkim_key *k, const char *text,
					       const char **why)
{
	int oom;
	char *v = dkim_tag(text, "v", &oom), *kt = NULL, *p = NULL;
	enum dkim_keycheck_result res = DKIM_KEYCHECK_BAD_RECORD;
	EVP_PKEY *pub;

	*why = NULL;
	if (v != NULL && strcmp(v, "DKIM1") != 0) {
		*why = "v= is not DKIM1";
		goto out;
	}
	kt = dkim_tag(text, "k", &oom);
	if (kt != NULL && strcmp(kt, dkim_key_type_name(k->alg)) != 0) {
		*why = "k= names another key type";
		goto out;
	}
	p = dkim_tag(text, "p", &oom);
	if (p == NULL) {
		*why = oom ? "out of memory" : "no p= tag";
		goto out;
	}
	if (*p == '\0') {
		res = DKIM_KEYCHECK_REVOKED;
		goto out;
	}
	pub = dkim_pub_from_b64(p, k->alg);
	if (pub == NULL) {
		*why = "p= is not a public key of this type";
		goto out;
	}
	res = EVP_PKEY_eq(pub, k->pkey) == 1 ? DKIM_KEYCHECK_MATCH : DKIM_KEYCHECK_MISMATCH;
	if (res == DKIM_KEYCHECK_MISMATCH)
		*why = "the published key is not this private key's";
	EVP_PKEY_free(pub);
	ERR_clear_error();
out:
	free(v);
	free(kt);
	free(p);
	return res;
}

enum dkim_keycheck_result dkim_keycheck(struct dns_resolver *r, struct dns_budget *budget,
					const struct dkim_key *k, const char **why)
{
	struct strbuf name, txt;
	struct dns_result res;
	enum dkim_keycheck_result out = DKIM_KEYCHECK_MISSING;

	*why = NULL;
	strbuf_init(&name);
	strbuf_printf(&name, "%s._domainkey.%s", k->selector, k->domain);
	if (name.failed) {
		strbuf_free(&name);
		*why = "out of memory";
		return DKIM_KEYCHECK_DNS_TEMPFAIL;
	}
	dns_query(r, strbuf_cstr(&name), DNS_T_TXT, budget, &res);
	strbuf_free(&name);
	if (res.status == DNS_TEMPFAIL || res.status == DNS_PERMFAIL) {
		*why = res.why;
		dns_result_free(&res);
		return DKIM_KEYCHECK_DNS_TEMPFAIL;
	}
	*why = "no TXT record";
	for (size_t i = 0; i < res.n && out != DKIM_KEYCHECK_MATCH; i++) {
		enum dkim_keycheck_result one;
		const char *w;

		strbuf_init(&txt);
		if (dns_rdata_txt(&res.rr[i], &txt) == 0 && !txt.failed) {
			one = dkim_keycheck_record(k, strbuf_cstr(&txt), &w);
			/* several records: the best answer counts */
			if (out == DKIM_KEYCHECK_MISSING || one == DKIM_KEYCHECK_MATCH ||
			    one == DKIM_KEYCHECK_MISMATCH) {
				out = one;
				*why = w;
			}
		}
		strbuf_free(&txt);
	}
	dns_result_free(&res);
	return out;
}
