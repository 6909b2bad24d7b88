/*
 * dkim_signer.c - one DKIM-Signature from a body hash and the headers
 * (see dkim_signer.h)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "auth/dkim_canon.h"
#include "mail/header.h"
#include "outbound/dkim_key.h"
#include "outbound/dkim_signer.h"
#include "util/strbuf.h"

#define DKIM_FOLD_AT 76 /* fold before a line would pass this many octets */

/* dkim_fold_put - append WORD to SB, folding (LF TAB) first when the line
 * would grow past DKIM_FOLD_AT; SEP (" " or "") goes before WORD if no fold */
static void dkim_fold_put(struct strbuf *sb, size_t *col, const char *sep, const char *word)
{
	size_t wl = strlen(word);

	if (*col + strlen(sep) + wl > DKIM_FOLD_AT && *col > 1) {
		strbuf_puts(sb, "\n\t");
		*col = 1;
	} else {
		strbuf_puts(sb, sep);
		*col += strlen(sep);
	}
	strbuf_puts(sb, word);
	*col += wl;
}

/* dkim_b64 - base64 of P[0..N) in a malloc'd string */
static char *dkim_b64(const unsigned char *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* dkim_hlist - h= and the canonical headers it covers into CANON */
static void dkim_hlist(const struct dkim_sign_request *r, struct strbuf *hnames,
		       struct strbuf *canon)
{
	for (const char *const *n = r->sign; *n; n++) {
		size_t count = 0;
		bool over = false;

		for (size_t i = 0; i < r->nheaders; i++)
			if (strcasecmp(r->headers[i].name, *n) == 0)
				count++;
		for (const char *const *o = r->oversign; o && *o; o++)
			if (strcasecmp(*o, *n) == 0)
				over = true;
		/* bottom-up: the last instance is signed first */
		for (size_t i = r->nheaders; i-- > 0;) {
			const struct header_field *h = &r->headers[i];

			if (strcasecmp(h->name, *n) != 0)
				continue;
			strbuf_printf(hnames, "%s%s", hnames->len ? ":" : "", *n);
			dkim_canon_header_relaxed(canon, h->name, h->value, h->value_len, true);
		}
		if (over)
			strbuf_printf(hnames, "%s%s", hnames->len ? ":" : "", *n);
	}
}

/* dkim_sign_digest - sign the SHA-256 digest of DATA with KEY: RSA signs
 * the digest (PKCS#1 v1.5), Ed25519 signs the 32 digest bytes themselves
 * (RFC 8463 section 3: PureEdDSA over the SHA-256 hash) */
static char *dkim_sign_digest(const struct dkim_key *key, const struct strbuf *data)
{
	unsigned char digest[32], *sig = NULL;
	unsigned int dl = 0;
	size_t sl = 0;
	char *out = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;

	if (md == NULL || EVP_Digest(data->data, data->len, digest, &dl, EVP_sha256(), NULL) != 1)
		goto done;
	if (key->alg == DKIM_KEY_ED25519_SHA256) {
		if (EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) != 1 ||
		    EVP_DigestSign(md, NULL, &sl, digest, dl) != 1 || (sig = malloc(sl)) == NULL ||
		    EVP_DigestSign(md, sig, &sl, digest, dl) != 1)
			goto done;
	} else {
		pc = EVP_PKEY_CTX_new(key->pkey, NULL);
		if (pc == NULL || EVP_PKEY_sign_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
		    EVP_PKEY_sign(pc, NULL, &sl, digest, dl) != 1 || (sig = malloc(sl)) == NULL ||
		    EVP_PKEY_sign(pc, sig, &sl, digest, dl) != 1)
			goto done;
	}
	out = dkim_b64(sig, sl);
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(md);
	free(sig);
	return out;
}

char *dkim_sign_header(const struct dkim_sign_request *r)
{
	struct strbuf v, hn, canon;
	char *bh = dkim_b64(r->body_hash, 32), *b = NULL, *out = NULL;
	size_t col = sizeof("DKIM-Signature: ") - 1;
	char tag[64];

	strbuf_init(&v);
	strbuf_init(&hn);
	strbuf_init(&canon);
	if (bh == NULL)
		goto done;
	dkim_hlist(r, &hn, &canon);
	dkim_fold_put(&v, &col, "", "v=1;");
	snprintf(tag, sizeof(tag), "a=%s;", dkim_key_alg_name(r->key->alg));
	dkim_fold_put(&v, &col, " ", tag);
	dkim_fold_put(&v, &col, " ", r->body_relaxed ? "c=relaxed/relaxed;" : "c=relaxed/simple;");
	{
		struct strbuf t;

		strbuf_init(&t);
		strbuf_printf(&t, "d=%s;", r->key->domain);
		dkim_fold_put(&v, &col, " ", strbuf_cstr(&t));
		strbuf_reset(&t);
		strbuf_printf(&t, "s=%s;", r->key->selector);
		dkim_fold_put(&v, &col, " ", strbuf_cstr(&t));
		if (t.failed)
			v.failed = true;
		strbuf_free(&t);
	}
	snprintf(tag, sizeof(tag), "t=%lld;", (long long)r->now);
	dkim_fold_put(&v, &col, " ", tag);
	if (r->expire_s > 0) {
		snprintf(tag, sizeof(tag), "x=%lld;", (long long)r->now + r->expire_s);
		dkim_fold_put(&v, &col, " ", tag);
	}
	/* h=: one name at a time, so long lists fold between names */
	{
		const char *p = strbuf_cstr(&hn);
		bool first = true;

		while (*p) {
			const char *e = strchr(p, ':');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			char *w = malloc(n + 4);

			if (w == NULL) {
				v.failed = true;
				break;
			}
			snprintf(w, n + 4, "%s%.*s%s", first ? "h=" : "", (int)n, p, e ? ":" : ";");
			dkim_fold_put(&v, &col, first ? " " : "", w);
			free(w);
			first = false;
			p += n + (e != NULL);
		}
	}
	snprintf(tag, sizeof(tag), "bh=%s;", bh);
	dkim_fold_put(&v, &col, " ", tag);
	dkim_fold_put(&v, &col, " ", "b=");
	/* The signature covers this field with b= empty, canonicalized like
	 * any other (RFC 6376 3.7), without its CRLF. */
	dkim_canon_header_relaxed(&canon, "DKIM-Signature", v.data, v.len, false);
	if (v.failed || hn.failed || canon.failed)
		goto done;
	if ((b = dkim_sign_digest(r->key, &canon)) == NULL)
		goto done;
	/* b= in lines of at most DKIM_FOLD_AT: its white space is ignored */
	for (size_t i = 0, n = strlen(b); i < n;) {
		size_t room = col < DKIM_FOLD_AT ? DKIM_FOLD_AT - col : 0;

		if (room < 8) {
			strbuf_puts(&v, "\n\t");
			col = 1;
			continue;
		}
		if (room > n - i)
			room = n - i;
		strbuf_append(&v, b + i, room);
		col += room;
		i += room;
	}
	if (!v.failed)
		out = strdup(strbuf_cstr(&v));
done:
	free(bh);
	free(b);
	strbuf_free(&v);
	strbuf_free(&hn);
	strbuf_free(&canon);
	return out;
}
