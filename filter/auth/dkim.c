/*
 * dkim.c - DKIM verification on libopendkim over the shared resolver
 * (see dkim.h)
 *
 * libopendkim asks DNS through four hooks. gatehouse's query_start does the
 * whole lookup at once through dns_query() (inside the message's budget)
 * and copies libunbound's reply packet into libopendkim's buffer, which
 * parses it itself; query_waitreply then reports what happened and
 * query_cancel frees the handle (libopendkim always calls it after
 * waitreply). dkim_dns_set_init/close are set to NULL, or dkim_close()
 * would free our resolver.
 */
#define _DEFAULT_SOURCE
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <opendkim/dkim.h>

#include "auth/dkim.h"
#include "dns/dns.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

#define DKIM_B_PREFIX 8 /* characters of b= kept for header.b (RFC 6008 suggests 8) */

struct dkim_verifier {
	DKIM_LIB *lib;
	struct dns_resolver *dns;
};

struct dkim_msg {
	struct dkim_verifier *v;
	struct dkim_options opt;
	DKIM *dkim;
	DKIM_STAT status; /* first error from feeding, if any */
	bool broken;	  /* libopendkim refused the message: no results */
};

/* The message's DNS budget while dkim_msg_eom() runs on this thread: the
 * hooks get only the library's service handle, no per-message pointer. */
static _Thread_local struct dns_budget *dkim_budget;

struct dkim_query {
	int status; /* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
	size_t bytes;
};

static int dkim_dns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
			  size_t buflen, void **qh)
{
	struct dkim_query *q = calloc(1, sizeof(*q));
	struct dns_result res;

	if (q == NULL)
		return DKIM_DNS_ERROR;
	dns_query(srv, (const char *)query, type, dkim_budget, &res);
	q->status = DKIM_DNS_ERROR;
	if (res.status != DNS_TEMPFAIL && res.packet != NULL && res.packet_len <= buflen) {
		/* answer, NXDOMAIN, no data: the reply says which */
		memcpy(buf, res.packet, res.packet_len);
		q->bytes = res.packet_len;
		q->status = DKIM_DNS_SUCCESS;
	}
	dns_result_free(&res);
	*qh = q;
	return 0;
}

static int dkim_dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error,
			      int *dnssec)
{
	struct dkim_query *q = qh;

	(void)srv;
	(void)to;
	if (bytes != NULL)
		*bytes = q->bytes;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

static int dkim_dns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return 0;
}

/* dkim_prescreen - check the first max_signatures signatures; the rest are
 * ignored (and reported as not checked) */
static DKIM_CBSTAT dkim_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkim_msg *m = (struct dkim_msg *)dkim_get_user_context(dkim);

	for (int i = (int)m->opt.max_signatures; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static void dkim_error(struct diag *errs, const char *what)
{
	diag_pushf(errs, "dkim: %s", what);
}

struct dkim_verifier *dkim_verifier_new(struct dns_resolver *dns, struct diag *errs)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	u_int bits = 1; /* the key size floor is ours (per message), not the library's */

	if (v == NULL)
		return NULL;
	v->dns = dns;
	v->lib = dkim_init(NULL, NULL);
	if (v->lib == NULL) {
		dkim_error(errs, "cannot initialize libopendkim");
		free(v);
		return NULL;
	}
	if (dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) !=
		    DKIM_STAT_OK ||
	    dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof(bits)) !=
		    DKIM_STAT_OK ||
	    dkim_set_prescreen(v->lib, dkim_prescreen) != DKIM_STAT_OK) {
		dkim_error(errs, "libopendkim refused its options");
		dkim_verifier_free(v);
		return NULL;
	}
	dkim_dns_set_init(v->lib, NULL);
	dkim_dns_set_close(v->lib, NULL);
	dkim_dns_set_query_service(v->lib, dns);
	dkim_dns_set_query_start(v->lib, dkim_dns_start);
	dkim_dns_set_query_waitreply(v->lib, dkim_dns_waitreply);
	dkim_dns_set_query_cancel(v->lib, dkim_dns_cancel);
	return v;
}

void dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	if (v->lib != NULL)
		dkim_close(v->lib);
	free(v);
}

struct dkim_msg *dkim_msg_new(struct dkim_verifier *v, const struct dkim_options *o, const char *id)
{
	struct dkim_msg *m = calloc(1, sizeof(*m));
	DKIM_STAT st;

	if (m == NULL)
		return NULL;
	m->v = v;
	m->opt = *o;
	if (m->opt.max_signatures == 0)
		m->opt.max_signatures = 1;
	m->dkim = dkim_verify(v->lib, (const unsigned char *)id, NULL, &st);
	if (m->dkim == NULL) {
		free(m);
		return NULL;
	}
	dkim_set_user_context(m->dkim, m);
	return m;
}

void dkim_msg_free(struct dkim_msg *m)
{
	if (m == NULL)
		return;
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	free(m);
}

/* dkim_feed_status - remember the first refusal: a message libopendkim
 * cannot take (syntax) gets no signature results, not a crash */
static int dkim_feed_status(struct dkim_msg *m, DKIM_STAT st)
{
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG && m->status == DKIM_STAT_OK)
		m->status = st;
	return st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG ? 0 : -1;
}

int dkim_msg_header(struct dkim_msg *m, const char *name, const char *value, size_t len)
{
	struct strbuf sb;
	int rc;

	if (m->broken)
		return -1;
	/* The MTA took the space after the colon away; the field is signed
	 * with it. Folded lines reach us joined by a bare LF; the signature
	 * covers them joined by CRLF. */
	strbuf_init(&sb);
	strbuf_printf(&sb, "%s: ", name);
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			strbuf_putc(&sb, '\r');
		strbuf_putc(&sb, value[i]);
	}
	if (sb.failed) {
		strbuf_free(&sb);
		return -1;
	}
	rc = dkim_feed_status(m, dkim_header(m->dkim, (u_char *)sb.data, sb.len));
	strbuf_free(&sb);
	return rc;
}

int dkim_msg_eoh(struct dkim_msg *m)
{
	DKIM_STAT st = dkim_eoh(m->dkim);

	if (st == DKIM_STAT_NOSIG)
		return 0;
	return dkim_feed_status(m, st);
}

int dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len)
{
	return dkim_feed_status(m, dkim_body(m->dkim, (u_char *)chunk, len));
}

static const char *dkim_alg_name(DKIM_SIGINFO *sig)
{
	dkim_alg_t alg;

	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		return NULL;
	switch (alg) {
	case DKIM_SIGN_RSASHA1:
		return "rsa-sha1";
	case DKIM_SIGN_RSASHA256:
		return "rsa-sha256";
	case DKIM_SIGN_ED25519SHA256:
		return "ed25519-sha256";
	default:
		return NULL;
	}
}

/* dkim_error_result - what a signature error means, in RFC 8601 words */
static enum ar_result dkim_error_result(int err)
{
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL:
		return AR_TEMPERROR; /* DNS trouble: try again */
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_TIMESTAMPS:
		return AR_FAIL;
	case DKIM_SIGERROR_KEYTOOSMALL:
		return AR_POLICY;
	default:
		return AR_PERMERROR; /* no key, revoked key, malformed signature or key */
	}
}

/* dkim_one - the result of one signature */
static void dkim_one(struct dkim_msg *m, DKIM_SIGINFO *sig, struct arena *a, struct dkim_result *r)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	const u_char *b = dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	u_int bits = 0;
	ssize_t msglen = -1, canonlen = -1, signlen = -1;

	r->domain = arena_strdup(a, (const char *)dkim_sig_getdomain(sig));
	r->selector = arena_strdup(a, (const char *)dkim_sig_getselector(sig));
	r->algorithm = dkim_alg_name(sig);
	r->b = b ? arena_memdup(a, b, strnlen((const char *)b, DKIM_B_PREFIX)) : NULL;
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->key_bits = bits;
	if (flags & DKIM_SIGFLAG_IGNORE) {
		r->result = AR_NEUTRAL;
		r->reason = arena_printf(a, "not checked: more than %u signatures",
					 m->opt.max_signatures);
		return;
	}
	if (!(flags & DKIM_SIGFLAG_PROCESSED)) {
		r->result = AR_PERMERROR;
		r->reason = arena_strdup(a, err != DKIM_SIGERROR_OK ? dkim_sig_geterrorstr(err)
								    : "signature not processed");
		return;
	}
	if (err == DKIM_SIGERROR_BADSIG && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		r->result = AR_FAIL;
		r->reason = "body hash did not verify: the body was changed";
		return;
	}
	if (err != DKIM_SIGERROR_OK) {
		r->result = dkim_error_result(err);
		r->reason = arena_strdup(a, dkim_sig_geterrorstr(err));
		return;
	}
	if (!(flags & DKIM_SIGFLAG_PASSED)) {
		r->result = AR_FAIL;
		r->reason = "signature did not verify";
		return;
	}
	/* libopendkim's "passed" covers the header hash only */
	if (dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
		r->result = AR_FAIL;
		r->reason = "body hash did not verify";
		return;
	}
	if (r->algorithm != NULL && strcmp(r->algorithm, "rsa-sha1") == 0) {
		r->result = AR_POLICY;
		r->reason = "rsa-sha1 is not accepted (RFC 8301)";
		return;
	}
	if (r->algorithm != NULL && strncmp(r->algorithm, "rsa", 3) == 0 && bits > 0 &&
	    bits < m->opt.min_key_bits) {
		r->result = AR_POLICY;
		r->reason = arena_printf(a, "%u-bit key is below the %u-bit minimum (RFC 8301)",
					 bits, m->opt.min_key_bits);
		return;
	}
	if (dkim_sig_getcanonlen(m->dkim, sig, &msglen, &canonlen, &signlen) == DKIM_STAT_OK &&
	    signlen >= 0 && msglen > canonlen && !m->opt.allow_body_length) {
		r->result = AR_POLICY;
		r->reason = arena_printf(a, "l= signs %zd of %zd body bytes; the rest is unsigned",
					 canonlen, msglen);
		return;
	}
	r->result = AR_PASS;
	r->reason = NULL;
}

int dkim_msg_eom(struct dkim_msg *m, struct dns_budget *budget, struct arena *arena,
		 struct dkim_result **out, size_t *n)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	DKIM_STAT st;

	*out = NULL;
	*n = 0;
	dkim_budget = budget;
	st = dkim_eom(m->dkim, NULL);
	dkim_budget = NULL;
	if (st == DKIM_STAT_NOSIG)
		return 0;
	if (dkim_getsiglist(m->dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
		return 0;
	*out = arena_alloc(arena, (size_t)nsigs * sizeof(**out));
	if (*out == NULL)
		return -1;
	for (int i = 0; i < nsigs; i++)
		dkim_one(m, sigs[i], arena, &(*out)[i]);
	*n = (size_t)nsigs;
	return 0;
}
