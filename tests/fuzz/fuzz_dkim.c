/*
 * fuzz_dkim.c - libFuzzer target: DKIM verification (dkim.c, dkim_sig.c,
 * dkim_verify.c, libopendkim) on hostile DKIM-Signature fields and key
 * records. The input's first line is the TXT record of
 * fz._domainkey.fuzz.test (every byte allowed); the rest is a message as
 * test mode reads it. Beside it, a DNS fixture holds fixed keys: good (RSA
 * 1024) and ed (Ed25519) under _domainkey.fuzz.test, whose private halves
 * signed the seed corpus, and a revoked key, a timeout and a SERVFAIL. The
 * message is verified three times.
 *
 * Invariants: one result per DKIM-Signature field, in header order, none
 * dropped; every result one of pass, fail, neutral, policy, temperror,
 * permerror, with a reason exactly when it is not a pass; a field
 * dkim_sig.c refuses is permerror with that reason; a pass has d=
 * fuzz.test, rsa-sha256 or ed25519-sha256, and one of the fixture keys
 * (selector good or ed, or an input key record carrying one of their
 * public keys): nothing else can verify; no more passes and fails than
 * max_signatures. The second verification repeats the first with the
 * keys it decoded now kept by the verifier and must say exactly the same
 * (the key table changes nothing but the cost). The third, by libopendkim
 * alone (dkim_options.library_body: it hashes the body and checks every
 * signature, where the first used gatehouse's body hash and dkim_verify.c),
 * gives every signature the same result, domain, selector and b=, and a
 * pass the same algorithm and key size (reasons may be worded
 * differently): the two verifiers agree, but for a key record's obsolete
 * g= (fz_granularity), messages libopendkim refuses as a whole over one
 * field it cannot parse (fz_lib_refused), and a t= of 1970's first five
 * minutes, which libopendkim's unsigned arithmetic puts in the future
 * (fz_lib_wraps).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim.h"
#include "auth/dkim_sig.h"
#include "dns/dns.h"
#include "fuzz_dnsfix.h"
#include "mail/eml.h"
#include "mail/results.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RSA                                                                                     \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6axjLD0FnSOqEC4A9su8jmQg4WB8rWPE3LNSC2L52xZ3Q9AwE" \
	"PAQtS88xG3leweAZUgmoRHfl2RLdQrm/AAU4Q6nbJ23BsqY1D8jbyHLx71bcal2aNiCJEq6Y+63kn0QMUxJhlG/"  \
	"qv82afgKt5oIWtfRrL92wPHUVi+DI190GAQIDAQAB"
#define FZ_ED "5UzKmyq94kSvHsyVKiepZH4SMhzaxTCYag5EfEnmaZw="
#define FZ_MAX_SIGS 3

static const char fz_fixed[] = "good._domainkey.fuzz.test. TXT \"v=DKIM1; k=rsa; p=" FZ_RSA "\"\n"
			       "ed._domainkey.fuzz.test. TXT \"v=DKIM1; k=ed25519; p=" FZ_ED "\"\n"
			       "revoked._domainkey.fuzz.test. TXT \"v=DKIM1; p=\"\n"
			       "slow._domainkey.fuzz.test. TIMEOUT\n"
			       "broken._domainkey.fuzz.test. SERVFAIL\n"
			       "fuzz.test. A 192.0.2.1\n";

static struct fz_dnsfix fz_fix = { .file = FZ_MEMFD_INIT };
static struct dkim_verifier *fz_dkim;

static void fz_cleanup(void) __attribute__((destructor));
static void fz_cleanup(void)
{
	dkim_verifier_free(fz_dkim);
	fz_dnsfix_free(&fz_fix);
}

/* fz_world - a resolver on the fixture with the input's key record, and
 * a verifier on it (fuzz_dnsfix.h), for this input */
static void fz_world(const uint8_t *key, size_t keylen)
{
	struct strbuf sb;
	struct diag errs = { 0 };
	struct dns_resolver *r;

	strbuf_init(&sb);
	strbuf_puts(&sb, fz_fixed);
	fz_txt_line(&sb, "fz._domainkey.fuzz.test.", key, keylen);
	if (sb.failed || (r = fz_dnsfix_load(&fz_fix, sb.data, sb.len, &errs)) == NULL)
		abort(); /* every byte string is a loadable TXT record */
	strbuf_free(&sb);
	if ((fz_dkim = dkim_verifier_new(r, &errs)) == NULL)
		abort();
	diag_clear(&errs);
}

/* One verification: the message's fields as dkim_sig.c reads them. */
struct fz_msg {
	struct dkim_msg *m;
	size_t nsig;
	const char *error[64]; /* dkim_sig_check's verdict on the first 64 */
	char *selector[64];
	long long t[64]; /* each field's t=, or -1 */
};

static int fz_header(void *ctx, const char *n, const char *v, size_t len)
{
	struct fz_msg *f = ctx;
	/* eml_feed gives all that followed the colon; the engine's split */
	bool space = len > 0 && v[0] == ' ';

	v += space;
	len -= space;
	if (strcasecmp(n, "DKIM-Signature") == 0) {
		if (f->nsig < 64) {
			struct dkim_sig_info info = { 0 };

			if (dkim_sig_check(v, len, &info) != 0)
				abort();
			f->error[f->nsig] = info.error;
			f->selector[f->nsig] = info.selector ? strdup(info.selector) : NULL;
			f->t[f->nsig] = info.has_t ? info.t : -1;
			dkim_sig_info_free(&info);
		}
		f->nsig++;
	}
	(void)dkim_msg_header(f->m, n, v, len, space);
	return 0;
}

static int fz_eoh(void *ctx)
{
	struct fz_msg *f = ctx;

	(void)dkim_msg_set_author(f->m, "fuzz.test");
	(void)dkim_msg_eoh(f->m);
	return 0;
}

static int fz_body(void *ctx, const unsigned char *c, size_t len)
{
	(void)dkim_msg_body(((struct fz_msg *)ctx)->m, c, len);
	return 0;
}

/* fz_key_is_fixture - the input's key record carries a fixture public key */
static bool fz_key_is_fixture(const uint8_t *key, size_t keylen)
{
	char *flat = malloc(keylen + 1);
	size_t n = 0;
	bool yes;

	if (flat == NULL)
		abort();
	/* base64 decoders (libopendkim's, and dkim_keyrec.c like it) skip
	 * whatever is not base64, so a key with junk inside is still the key */
	for (size_t i = 0; i < keylen; i++)
		if (isalnum(key[i]) || key[i] == '+' || key[i] == '/' || key[i] == '=')
			flat[n++] = (char)key[i];
	flat[n] = '\0';
	yes = memmem(flat, n, FZ_RSA, strlen(FZ_RSA)) != NULL ||
	      memmem(flat, n, FZ_ED, strlen(FZ_ED)) != NULL;
	free(flat);
	return yes;
}

/* fz_granularity - the one known difference: a key record with g= (RFC
 * 4871's granularity, dropped by RFC 6376) other than "*" is permerror in
 * dkim_verify.c, while libopendkim still matches it against the From local
 * part and may pass */
static bool fz_granularity(const struct dkim_result *ours)
{
	return ours->result == AR_PERMERROR && ours->reason != NULL &&
	       strcmp(ours->reason, "key granularity mismatch") == 0;
}

/* fz_lib_wraps - libopendkim's "in the future" for a t= below its clock
 * drift (300 s): it compares now < t - drift in unsigned arithmetic, which
 * wraps; dkim_verify.c reads such a t= as the past it is */
static bool fz_lib_wraps(const struct dkim_result *lib, long long t)
{
	return t >= 0 && t < 300 && lib->result == AR_PERMERROR && lib->reason != NULL &&
	       strcmp(lib->reason, "signature timestamp in the future") == 0;
}

/* fz_lib_refused - libopendkim refused the whole message over one field
 * it cannot parse (dkim.c then reports every field permerror); gatehouse's
 * own path still answers each field for itself, as it must */
static bool fz_lib_refused(const struct dkim_result *lib)
{
	static const char prefix[] = "libopendkim cannot evaluate the message";

	return lib->result == AR_PERMERROR && lib->reason != NULL &&
	       strncmp(lib->reason, prefix, sizeof(prefix) - 1) == 0;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* fz_verify - one verification of the message at DATA; checks the
 * invariants that hold for one run and returns the results (and, with TS,
 * the first 64 fields' t=) */
static size_t fz_verify(const uint8_t *data, size_t size, bool fixture_key, bool library_body,
			struct arena *a, struct dkim_result **out, long long *ts)
{
	const struct eml_callbacks cb = { fz_header, fz_eoh, fz_body };
	const struct dkim_options o = { .max_signatures = FZ_MAX_SIGS,
					.min_key_bits = 1024,
					.library_body = library_body };
	struct fz_msg f = { 0 };
	struct dns_budget b = { 0 }; /* no SMTP command bound */
	struct eml_stats st;
	size_t n = 0, decided = 0;
	FILE *fp;

	if ((f.m = dkim_msg_new(fz_dkim, &o, "fuzz")) == NULL)
		abort();
	fp = fmemopen((void *)data, size, "rb");
	if (fp == NULL)
		abort();
	if (eml_feed(fp, &cb, &f, &st) != 0)
		abort();
	fclose(fp);
	dns_budget_start(&b, FZ_DNSFIX_BUDGET_MS);
	if (dkim_msg_eom(f.m, &b, a, out, &n) != 0)
		abort(); /* only when out of memory */
	if (n != f.nsig || (n > 0) != (*out != NULL))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct dkim_result *r = &(*out)[i];
		const char *sel = i < 64 ? f.selector[i] : NULL;

		switch (r->result) {
		case AR_PASS:
			if (r->reason != NULL || r->domain == NULL ||
			    strcasecmp(r->domain, "fuzz.test") != 0 || r->algorithm == NULL ||
			    (strcmp(r->algorithm, "rsa-sha256") != 0 &&
			     strcmp(r->algorithm, "ed25519-sha256") != 0))
				abort();
			if (sel == NULL ||
			    !(strcasecmp(sel, "good") == 0 || strcasecmp(sel, "ed") == 0 ||
			      (strcasecmp(sel, "fz") == 0 && fixture_key)))
				abort();
			decided++;
			break;
		case AR_FAIL:
		case AR_POLICY:
		case AR_TEMPERROR:
			decided++;
			/* fall through */
		case AR_NEUTRAL:
		case AR_PERMERROR:
			if (r->reason == NULL || *r->reason == '\0')
				abort();
			break;
		default:
			abort();
		}
		if (i < 64 && f.error[i] != NULL &&
		    (r->result != AR_PERMERROR || r->reason != f.error[i]))
			abort();
	}
	/* permerror and neutral are the ones not checked (or refused before) */
	if (decided > FZ_MAX_SIGS)
		abort();
	for (size_t i = 0; i < f.nsig && i < 64; i++) {
		free(f.selector[i]);
		if (ts != NULL)
			ts[i] = f.t[i];
	}
	dkim_msg_free(f.m);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t keylen = nl ? (size_t)(nl - data) : size, off = nl ? keylen + 1 : size;
	struct dkim_result *r1, *r2;
	long long ts[64];
	struct arena *a;
	size_t n1, n2;
	bool fixture_key;

	if (size > 65536)
		return 0;
	fz_world(data, keylen);
	fixture_key = fz_key_is_fixture(data, keylen);
	if ((a = arena_new()) == NULL)
		abort();
	n1 = fz_verify(data + off, size - off, fixture_key, false, a, &r1, ts);
	/* again: the keys now come from the verifier's table, same answers */
	n2 = fz_verify(data + off, size - off, fixture_key, false, a, &r2, NULL);
	if (n1 != n2)
		abort();
	for (size_t i = 0; i < n1; i++)
		if (r1[i].result != r2[i].result || r1[i].key_bits != r2[i].key_bits ||
		    !same_str(r1[i].reason, r2[i].reason))
			abort();
	n2 = fz_verify(data + off, size - off, fixture_key, true, a, &r2, NULL);
	if (n1 != n2)
		abort();
	for (size_t i = 0; i < n1; i++)
		if (fz_granularity(&r1[i]) || fz_lib_refused(&r2[i]) ||
		    (i < 64 && fz_lib_wraps(&r2[i], ts[i])))
			continue;
		else if (r1[i].result != r2[i].result || !same_str(r1[i].domain, r2[i].domain) ||
			 !same_str(r1[i].selector, r2[i].selector) || !same_str(r1[i].b, r2[i].b) ||
			 (r1[i].result == AR_PASS &&
			  (r1[i].key_bits != r2[i].key_bits ||
			   !same_str(r1[i].algorithm, r2[i].algorithm)))) {
			fprintf(stderr,
				"fuzz_dkim: signature %zu: gatehouse says %s (%s), "
				"libopendkim %s (%s)\n",
				i, ar_result_name(r1[i].result), r1[i].reason ? r1[i].reason : "-",
				ar_result_name(r2[i].result), r2[i].reason ? r2[i].reason : "-");
			abort();
		}
	arena_free(a);
	dkim_verifier_free(fz_dkim);
	fz_dkim = NULL;
	fz_dnsfix_release(&fz_fix);
	return 0;
}
