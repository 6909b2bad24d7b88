/*
 * dkim_keycheck.c - the published key against the private key (see dkim_keycheck.h)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/dkim_keyrec.h"
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

enum dkim_keycheck_result dkim_keycheck_record(const struct dkim_key *k, const char *text,
					       const char **why)
{
	struct dkim_keyrec rec;
	bool nomem = false;
	EVP_PKEY *pub;
	enum dkim_keycheck_result res;

	/* the same reading of the record the verifier makes (dkim_keyrec.h) */
	if ((*why = dkim_keyrec_parse(text, strlen(text), &rec)) != NULL) {
		res = DKIM_KEYCHECK_BAD_RECORD;
	} else if (rec.ed25519 != (k->alg == DKIM_KEY_ED25519_SHA256)) {
		*why = rec.k_given ? "k= names another key type"
				   : "no k=ed25519: verifiers read the key as RSA";
		res = DKIM_KEYCHECK_BAD_RECORD;
	} else if (dkim_keyrec_revoked(&rec)) {
		res = DKIM_KEYCHECK_REVOKED;
	} else if ((pub = dkim_keyrec_pkey(&rec, true, &nomem)) == NULL) {
		*why = nomem ? "out of memory" : "p= is not a public key of this type";
		res = DKIM_KEYCHECK_BAD_RECORD;
	} else {
		res = EVP_PKEY_eq(pub, k->pkey) == 1 ? DKIM_KEYCHECK_MATCH : DKIM_KEYCHECK_MISMATCH;
		if (res == DKIM_KEYCHECK_MISMATCH)
			*why = "the published key is not this private key's";
		EVP_PKEY_free(pub);
		ERR_clear_error();
	}
	dkim_keyrec_free(&rec);
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
