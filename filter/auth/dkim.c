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
 *
 * The body hash is ours (auth/dkim_canon.h): libopendkim canonicalizes the
 * body with a function call per byte, 42% of a verified message's CPU in
 * the benchmark, while its verdict on the header hash (the "passed" flag)
 * does not depend on the body at all. So when every signature that can be
 * checked is SHA-256 without l= (nearly all mail), the body goes to one
 * streaming hash per body canonicalization in use and libopendkim sees an
 * empty body; at the end each signature's bh= is compared with ours, the
 * same base64 comparison libopendkim makes. A signature with l= or rsa-sha1
 * sends the whole body through libopendkim as before (l= needs its
 * counting, rsa-sha1 is only ever "policy" anyway).
 *
 * With the body hash ours, most signatures are not libopendkim's at all:
 * libopendkim decodes the signer's public key again for every message
 * (OpenSSL 3's decoder, about a quarter of the CPU left), so the prescreen
 * hands every signature dkim_verify_handles() accepts to dkim_verify.c,
 * which keeps decoded keys, and tells libopendkim to ignore it. The rest
 * (simple header canonicalization, x=, q=, i= outside d=, odd b= lengths)
 * libopendkim checks as before.
 *
 * An RSA key too costly to verify with (dkim_verify.c says which) must not
 * reach libopendkim either, and any sender can send a signature that goes
 * to it. So the DNS hook reads the reply packet as libopendkim will
 * (dns_packet_txt_each), screens what libopendkim can read of each TXT
 * record, and gives it a failed lookup instead when a key is refused; the
 * field then reports why (dkim_one), not a DNS failure.
 */
#define _DEFAULT_SOURCE
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>

#include "auth/dkim.h"
#include "auth/dkim_canon.h"
#include "auth/dkim_hsel.h"
#include "auth/dkim_sig.h"
#include "auth/dkim_verify.h"
#include "dns/dns.h"
#include "mail/idn.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strbuf.h"

#define DKIM_B_PREFIX 8 /* characters of b= kept for header.b (RFC 6008 suggests 8) */

struct dkim_verifier {
	DKIM_LIB *lib;
	struct dns_resolver *dns;
	struct dkim_keys *keys; /* decoded keys for dkim_verify.c */
};

struct dkim_msg {
	struct dkim_verifier *v;
	struct dkim_options opt;
	DKIM *dkim;
	DKIM_STAT status;     /* first error from feeding, if any */
	DKIM_STAT eoh_status; /* what dkim_eoh() said */
	/* every DKIM-Signature field in header order, as we read it: the
	 * results follow this list, so no field goes unanswered */
	struct dkim_sig_info *fields;
	size_t nfields, fields_cap;
	DKIM_SIGINFO **orig; /* libopendkim's signatures in header order */
	int norig;
	char *author; /* the From domain (A-labels): aligned signatures go first */
	/* the canonical body length, counted only when some field has l=:
	 * it is a second pass over every body byte, ~5% of a message's CPU */
	bool count_bodylen;
	struct dkim_bodylen bodylen;
	/* our own body hashes (see the top of this file): [0] simple,
	 * [1] relaxed, each NULL when no signature uses it; own_body says
	 * they, not libopendkim, see the body */
	bool own_body;
	struct dkim_body *body[2];
	char bh_b64[2][48]; /* each hash in base64, after dkim_msg_eom() */
	/* every header field as fed (for dkim_verify.c, in HDR_ARENA), and
	 * per DKIM-Signature field: which header it is, and whether
	 * dkim_verify.c rather than libopendkim checks it */
	struct arena *hdr_arena;
	struct dkim_field *hdrs;
	size_t nhdrs, hdrs_cap;
	size_t *field_hdr;
	bool *field_ours;
	/* key records the DNS hook kept from libopendkim (the name it asked
	 * for, why: dkim_verify_key_screen); a field whose lookup this made
	 * fail reports that reason */
	struct dkim_screened {
		char *name;
		const char *why;
	} * screened;
	size_t nscreened;
	/* why libopendkim must not see this message's end of header (see
	 * dkim_hdrlist_overflows), or NULL */
	const char *kept_from_lib;
	bool lib_skipped; /* every field is dkim_verify.c's: libopendkim saw nothing */
};

/* The message's DNS budget while dkim_msg_eom() runs on this thread: the
 * hooks get only the library's service handle, no per-message pointer. */
static _Thread_local struct dns_budget *dkim_budget;
/* The message, for the same reason: its key records are screened as they
 * arrive (dkim_dns_screen). */
static _Thread_local struct dkim_msg *dkim_cur;

struct dkim_query {
	int status; /* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
	size_t bytes;
};

/* dkim_query_name - ask for NAME in A-labels: a d= in U-labels (RFC 8616)
 * is looked up under its A-label form; -1 when memory ran out */
static int dkim_query_name(struct dns_resolver *dns, const char *name, int type,
			   struct dns_result *res)
{
	struct arena *a;
	const char *al = name, *why;
	bool ascii = true;
	int rc;

	for (const char *p = name; *p && ascii; p++)
		ascii = (unsigned char)*p < 0x80;
	if (ascii) {
		dns_query(dns, name, type, dkim_budget, res);
		return 0;
	}
	if ((a = arena_new()) == NULL)
		return -1;
	rc = idn_domain(a, name, &al, &why);
	if (rc >= 0)
		dns_query(dns, rc == IDN_OK ? al : name, type, dkim_budget, res);
	arena_free(a);
	return rc < 0 ? -1 : 0;
}

/* libopendkim copies a key record's strings into a buffer of BUFRSZ bytes
 * (1,024 in 2.11) and reads it as a C string: the most of a record it can
 * act on, with a margin. Screening more would only cost more (a 64 KB record of tiny
 * p= tags took 282 ms to screen whole). */
#define DKIM_LIB_KEY_VIEW 1100

/* dkim_dns_screen_one - one TXT record as libopendkim may read it */
static bool dkim_dns_screen_one(void *ctx, const char *text, size_t len)
{
	const char **why = ctx;
	const char *nul = memchr(text, '\0', len);
	bool nomem = false;

	if (nul != NULL)
		len = (size_t)(nul - text);
	if (len > DKIM_LIB_KEY_VIEW)
		len = DKIM_LIB_KEY_VIEW;
	*why = dkim_verify_key_screen(text, len, &nomem);
	if (nomem)
		*why = "out of memory";
	return *why == NULL;
}

/* dkim_dns_screen - the reply PACKET (LEN bytes) to NAME (as libopendkim
 * asked), which libopendkim is about to read a key from: NULL, or why it
 * must not (dkim_verify_key_screen), then noted in M for dkim_one(); "out
 * of memory" when memory ran out (the lookup fails: temperror). The packet
 * is what libopendkim reads, not the resolver's records: it takes a TXT
 * record of any class, whatever the resolver made of the reply. */
static const char *dkim_dns_screen(struct dkim_msg *m, const char *name,
				   const unsigned char *packet, size_t len)
{
	struct dkim_screened *sc;
	const char *why = NULL;

	if (dns_packet_txt_each(packet, len, dkim_dns_screen_one, &why) < 0 && why == NULL)
		why = "key DNS reply corrupt"; /* libopendkim would read it some way */
	if (why == NULL || m == NULL)
		return why;
	sc = realloc(m->screened, (m->nscreened + 1) * sizeof(*sc));
	if (sc == NULL)
		return "out of memory";
	m->screened = sc;
	if ((sc[m->nscreened].name = strdup(name)) == NULL)
		return "out of memory";
	sc[m->nscreened++].why = why;
	return why;
}

/* dkim_screened_why - why the hook kept SIG's key from libopendkim, or NULL */
static const char *dkim_screened_why(const struct dkim_msg *m, DKIM_SIGINFO *sig)
{
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	size_t sl, dl;

	if (sel == NULL || dom == NULL)
		return NULL;
	sl = strlen(sel);
	dl = strlen(dom);
	/* the name libopendkim asks for: SELECTOR._domainkey.DOMAIN */
	for (size_t i = 0; i < m->nscreened; i++) {
		const char *n = m->screened[i].name;

		if (strlen(n) == sl + 12 + dl && strncasecmp(n, sel, sl) == 0 &&
		    strncasecmp(n + sl, "._domainkey.", 12) == 0 &&
		    strcasecmp(n + sl + 12, dom) == 0)
			return m->screened[i].why;
	}
	return NULL;
}

static int dkim_dns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
			  size_t buflen, void **qh)
{
	struct dkim_query *q = calloc(1, sizeof(*q));
	struct dns_result res;

	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (dkim_query_name(srv, (const char *)query, type, &res) != 0) {
		free(q);
		return DKIM_DNS_ERROR;
	}
	q->status = DKIM_DNS_ERROR;
	if (res.status == DNS_TEMPFAIL || res.packet == NULL || res.packet_len > buflen) {
		/* a failed lookup: libopendkim reads nothing */
	} else if (dkim_dns_screen(dkim_cur, (const char *)query, res.packet, res.packet_len) !=
		   NULL) {
		/* kept from libopendkim (dkim_one reports why) or out of
		 * memory: it gets a failed lookup and verifies nothing */
	} else {
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

/* dkim_maybe_aligned - D may align with the From domain A: the same name,
 * or one under the other. Only an order of work: DMARC decides alignment
 * with the organizational domains, which need DNS this early. */
static bool dkim_maybe_aligned(const char *d, const char *a)
{
	size_t dl, al;

	if (d == NULL || a == NULL)
		return false;
	dl = strlen(d);
	al = strlen(a);
	if (dl == al)
		return strcasecmp(d, a) == 0;
	if (dl > al)
		return d[dl - al - 1] == '.' && strcasecmp(d + dl - al, a) == 0;
	return a[al - dl - 1] == '.' && strcasecmp(a + al - dl, d) == 0;
}

/*
 * dkim_prescreen - remember libopendkim's signatures in header order (our
 * results follow it), then decide which max_signatures are checked: those
 * whose d= may align with the From domain first, then the rest in order,
 * so one valid aligned signature below dozens of junk ones is still found
 * while the work (one key lookup each) stays bounded. Fields our own
 * reading refused are never checked. The others are ignored, and reported
 * as not checked.
 */
static DKIM_CBSTAT dkim_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkim_msg *m = (struct dkim_msg *)dkim_get_user_context(dkim);
	DKIM_SIGINFO **order;
	int k = 0, checked = 0;
	long long now;

	free(m->orig);
	m->norig = 0;
	m->orig = malloc((size_t)nsigs * sizeof(*m->orig));
	order = malloc((size_t)nsigs * sizeof(*order));
	if (m->orig == NULL || order == NULL || (size_t)nsigs != m->nfields) {
		/* out of memory, or libopendkim saw other fields than we
		 * did: no mapping, so every field is reported unevaluated */
		free(order);
		free(m->orig);
		m->orig = NULL;
		for (int i = 0; i < nsigs; i++)
			dkim_sig_ignore(sigs[i]);
		return DKIM_CBSTAT_CONTINUE;
	}
	memcpy(m->orig, sigs, (size_t)nsigs * sizeof(*sigs));
	m->norig = nsigs;
	now = (long long)time(NULL);
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < nsigs; i++) {
			const struct dkim_sig_info *f = &m->fields[i];
			bool bad = f->error != NULL;
			bool al = !bad && dkim_maybe_aligned(f->domain, m->author);

			if ((pass == 0 && al) || (pass == 1 && !bad && !al) || (pass == 2 && bad))
				order[k++] = m->orig[i];
		}
	for (int i = 0; i < nsigs; i++) {
		int idx = 0;

		while (m->orig[idx] != order[i])
			idx++;
		sigs[i] = order[i];
		if (m->fields[idx].error != NULL || checked >= (int)m->opt.max_signatures) {
			dkim_sig_ignore(sigs[i]);
		} else {
			checked++;
			/* ours to check (the key decoded once, dkim_verify.h):
			 * libopendkim leaves it alone */
			if (m->own_body && dkim_verify_handles(&m->fields[idx], now)) {
				m->field_ours[idx] = true;
				dkim_sig_ignore(sigs[i]);
			}
		}
	}
	free(order);
	return DKIM_CBSTAT_CONTINUE;
}

static void dkim_error(struct diag *errs, const char *what)
{
	diag_pushf(errs, "dkim: %s", what);
}

struct dkim_verifier *dkim_verifier_new(struct dns_resolver *dns, struct diag *errs)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));
	/* BADSIGHANDLES: a signature libopendkim cannot parse stays in its
	 * list with its error, instead of vanishing. DELAYSIGPROC: keys are
	 * fetched in dkim_eom(), inside the message's DNS budget, not in
	 * dkim_eoh(), where no budget reached the DNS hooks */
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES |
			     DKIM_LIBFLAGS_DELAYSIGPROC;
	u_int bits = 1; /* the key size floor is ours (per message), not the library's */

	if (v == NULL)
		return NULL;
	v->dns = dns;
	if ((v->keys = dkim_keys_new()) == NULL) {
		dkim_error(errs, "out of memory");
		free(v);
		return NULL;
	}
	v->lib = dkim_init(NULL, NULL);
	if (v->lib == NULL) {
		dkim_error(errs, "cannot initialize libopendkim");
		dkim_keys_free(v->keys);
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
	dkim_keys_free(v->keys);
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
	if (m->dkim == NULL || (m->hdr_arena = arena_new()) == NULL) {
		if (m->dkim != NULL)
			dkim_free(m->dkim);
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
	dkim_body_free(m->body[0]);
	dkim_body_free(m->body[1]);
	arena_free(m->hdr_arena);
	free(m->hdrs);
	free(m->field_hdr);
	free(m->field_ours);
	for (size_t i = 0; i < m->nscreened; i++)
		free(m->screened[i].name);
	free(m->screened);
	for (size_t i = 0; i < m->nfields; i++)
		dkim_sig_info_free(&m->fields[i]);
	free(m->fields);
	free(m->orig);
	free(m->author);
	free(m);
}

int dkim_msg_set_author(struct dkim_msg *m, const char *domain)
{
	free(m->author);
	m->author = domain != NULL ? strdup(domain) : NULL;
	return domain != NULL && m->author == NULL ? -1 : 0;
}

/* dkim_msg_field - our own reading of one DKIM-Signature field */
static int dkim_msg_field(struct dkim_msg *m, const char *value, size_t len)
{
	if (m->nfields == m->fields_cap) {
		size_t cap = m->fields_cap ? m->fields_cap * 2 : 4;
		struct dkim_sig_info *f = realloc(m->fields, cap * sizeof(*f));
		size_t *fh;
		bool *fo;

		if (f == NULL)
			return -1;
		m->fields = f;
		if ((fh = realloc(m->field_hdr, cap * sizeof(*fh))) == NULL)
			return -1;
		m->field_hdr = fh;
		if ((fo = realloc(m->field_ours, cap * sizeof(*fo))) == NULL)
			return -1;
		m->field_ours = fo;
		m->fields_cap = cap;
	}
	m->field_hdr[m->nfields] = m->nhdrs; /* dkim_msg_header stores it next */
	m->field_ours[m->nfields] = false;
	if (dkim_sig_check(value, len, &m->fields[m->nfields]) != 0)
		return -1;
	m->nfields++;
	return 0;
}

/* dkim_msg_keep - a copy of the field NAME: VALUE for dkim_verify.c; -1 on OOM */
static int dkim_msg_keep(struct dkim_msg *m, const char *name, const char *value, size_t len,
			 bool space)
{
	struct dkim_field *h;

	if (m->nhdrs == m->hdrs_cap) {
		size_t cap = m->hdrs_cap ? m->hdrs_cap * 2 : 32;

		if ((h = realloc(m->hdrs, cap * sizeof(*h))) == NULL)
			return -1;
		m->hdrs = h;
		m->hdrs_cap = cap;
	}
	h = &m->hdrs[m->nhdrs];
	h->name = arena_strdup(m->hdr_arena, name);
	h->value = arena_memdup(m->hdr_arena, value, len);
	h->len = len;
	h->space = space;
	if (h->name == NULL || (len > 0 && h->value == NULL))
		return -1;
	if (h->value == NULL)
		h->value = "";
	m->nhdrs++;
	return 0;
}

/* dkim_feed_status - remember the first refusal: a message libopendkim
 * cannot take (syntax) gets no signature results, not a crash */
static int dkim_feed_status(struct dkim_msg *m, DKIM_STAT st)
{
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG && m->status == DKIM_STAT_OK)
		m->status = st;
	return st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG ? 0 : -1;
}

int dkim_msg_header(struct dkim_msg *m, const char *name, const char *value, size_t len, bool space)
{
	if (strcasecmp(name, "DKIM-Signature") == 0 && dkim_msg_field(m, value, len) != 0)
		return -1;
	/* libopendkim reads past its copy of a field with a NUL in it (found
	 * by fuzz_dkim). A milter never gets one: the protocol's strings end
	 * at the first NUL, so test mode's message files are cut the same way. */
	len = strnlen(value, len);
	/* kept, and handed to libopendkim at end of header only if it has a
	 * signature to check (dkim_msg_eoh) */
	return dkim_msg_keep(m, name, value, len, space);
}

/* dkim_lib_header - field H as libopendkim wants it, its exact bytes for
 * a "simple" signature: the space after the colon put back where there was
 * one (the MTA tells us with SMFIP_HDR_LEADSPC; without it one is assumed);
 * folded lines reach us joined by a bare LF, and the signature covers them
 * joined by CRLF */
static int dkim_lib_header(struct dkim_msg *m, const struct dkim_field *h)
{
	const char *name = h->name, *value = h->value;
	size_t len = h->len;
	struct strbuf sb;
	int rc;

	strbuf_init(&sb);
	strbuf_printf(&sb, "%s:%s", name, h->space ? " " : "");
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

/*
 * dkim_own_body_setup - at end of header, when all fields are known: hash
 * the body ourselves when every field that can be checked is SHA-256
 * without l= (else libopendkim gets the body, and the l= counting runs if
 * some field has l=); -1 on OOM
 */
static int dkim_own_body_setup(struct dkim_msg *m)
{
	bool own = m->nfields > 0 && !m->opt.library_body;

	for (size_t i = 0; i < m->nfields; i++) {
		const struct dkim_sig_info *f = &m->fields[i];

		if (f->length >= 0)
			m->count_bodylen = true;
		if (f->error == NULL && (f->length >= 0 || !f->sha256 || f->bh == NULL))
			own = false;
	}
	if (!own)
		return 0;
	for (size_t i = 0; i < m->nfields; i++) {
		const struct dkim_sig_info *f = &m->fields[i];
		int k = f->relaxed_body ? 1 : 0;

		if (f->error == NULL && m->body[k] == NULL &&
		    (m->body[k] = dkim_body_new(f->relaxed_body, dkim_keys_sha256(m->v->keys))) ==
			    NULL)
			return -1;
	}
	m->own_body = true;
	return 0;
}

/*
 * dkim_msg_all_ours - when gatehouse hashes the body and every field that
 * can be checked is one dkim_verify.c handles, libopendkim is not needed
 * for the message at all (its header parsing and canonicalization were
 * work done twice): the fields to check are chosen here as
 * dkim_prescreen() chooses them, into field_ours, and the rest are
 * reported not checked. No field, no work either.
 */
static bool dkim_msg_all_ours(struct dkim_msg *m)
{
	long long now = (long long)time(NULL);
	size_t checked = 0;

	if (!m->own_body || m->opt.library_body)
		return false;
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].error == NULL && !dkim_verify_handles(&m->fields[i], now))
			return false;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->nfields; i++) {
			const struct dkim_sig_info *f = &m->fields[i];
			bool al = dkim_maybe_aligned(f->domain, m->author);

			if (f->error == NULL && (pass == 0) == al &&
			    checked < m->opt.max_signatures) {
				m->field_ours[i] = true;
				checked++;
			}
		}
	m->lib_skipped = true;
	return true;
}

/*
 * dkim_hdrlist_overflows - some field's h= would make libopendkim write
 * past its array (found by fuzz_dkim under valgrind): its header
 * selection (dkim_canon_selecthdrs) keeps one slot per header field of the
 * message and clears the next slot for every name in h=, so once the names
 * have used up every field, one more name writes a pointer after the end.
 * Mail as signed never names every field (the receiving MTA's Received
 * field, the signature's own field); a forger can. Counted the way
 * libopendkim selects, without its white-space quirks, which can only make
 * this say yes more often.
 */
struct dkim_overflow {
	size_t nhdrs, taken;
	bool over;
};

/* dkim_overflow_one - one name of h=: past the last field, or a field */
static bool dkim_overflow_one(void *ctx, const char *name, size_t len, size_t idx)
{
	struct dkim_overflow *o = ctx;

	(void)name;
	(void)len;
	if (o->taken == o->nhdrs) {
		o->over = true; /* a name with every field used up */
		return false;
	}
	if (idx != DKIM_HSEL_NONE)
		o->taken++;
	return true;
}

static bool dkim_hdrlist_overflows(const struct dkim_msg *m)
{
	for (size_t i = 0; i < m->nfields; i++) {
		struct dkim_overflow o = { m->nhdrs, 0, false };

		if (m->fields[i].h == NULL)
			continue;
		if (dkim_hsel(m->hdrs, m->nhdrs, m->fields[i].h, dkim_overflow_one, &o) != 0)
			return true; /* no memory: libopendkim would not get far either */
		if (o.over)
			return true;
	}
	return false;
}

int dkim_msg_eoh(struct dkim_msg *m)
{
	DKIM_STAT st;

	if (dkim_hdrlist_overflows(m)) {
		m->kept_from_lib = "h= names every header field of the message, and more: not "
				   "evaluated (it would overrun libopendkim's header selection)";
		return 0;
	}
	/* before dkim_eoh(): its prescreen hands some signatures to
	 * dkim_verify.c when gatehouse hashes the body */
	if (dkim_own_body_setup(m) != 0)
		return -1;
	if (dkim_msg_all_ours(m))
		return 0; /* libopendkim has nothing to check: it sees nothing */
	for (size_t i = 0; i < m->nhdrs; i++)
		if (dkim_lib_header(m, &m->hdrs[i]) != 0)
			return -1;
	st = dkim_eoh(m->dkim);
	m->eoh_status = st;
	if (st == DKIM_STAT_NOSIG)
		return 0;
	return dkim_feed_status(m, st);
}

int dkim_msg_body(struct dkim_msg *m, const unsigned char *chunk, size_t len)
{
	if (m->kept_from_lib != NULL)
		return 0;
	if (m->own_body) {
		for (int k = 0; k < 2; k++)
			if (m->body[k] != NULL && dkim_body_update(m->body[k], chunk, len) != 0)
				return -1;
		return 0;
	}
	if (m->count_bodylen)
		dkim_bodylen_feed(&m->bodylen, chunk, len);
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

/* dkim_own_bh_match - our body hash for F's canonicalization is its bh= */
static bool dkim_own_bh_match(const struct dkim_msg *m, const struct dkim_sig_info *f)
{
	const char *ours = m->bh_b64[f->relaxed_body ? 1 : 0];

	return f->bh != NULL && *ours != '\0' && strcmp(f->bh, ours) == 0;
}

/* dkim_own_body_final - each body hash into base64; -1 when OpenSSL failed */
static int dkim_own_body_final(struct dkim_msg *m)
{
	for (int k = 0; k < 2; k++) {
		unsigned char h[32];

		m->bh_b64[k][0] = '\0';
		if (m->body[k] == NULL)
			continue;
		if (dkim_body_final(m->body[k], h) != 0)
			return -1;
		EVP_EncodeBlock((unsigned char *)m->bh_b64[k], h, sizeof(h));
	}
	return 0;
}

/* dkim_one - the result of one signature libopendkim evaluated; F is our
 * reading of the same field */
static void dkim_one(struct dkim_msg *m, DKIM_SIGINFO *sig, const struct dkim_sig_info *f,
		     struct arena *a, struct dkim_result *r)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	u_int bits = 0;
	long long canon;

	r->algorithm = dkim_alg_name(sig);
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->key_bits = bits;
	if (flags & DKIM_SIGFLAG_IGNORE) {
		r->result = AR_NEUTRAL;
		r->reason = arena_printf(a, "not checked: more than %u signatures",
					 m->opt.max_signatures);
		return;
	}
	if ((flags & DKIM_SIGFLAG_PROCESSED) && err == DKIM_SIGERROR_KEYFAIL &&
	    (r->reason = dkim_screened_why(m, sig)) != NULL) {
		/* the lookup failed because the hook kept the key from it */
		r->result = AR_PERMERROR;
		return;
	}
	if (!(flags & DKIM_SIGFLAG_PROCESSED)) {
		r->result = AR_PERMERROR;
		r->reason = arena_strdup(a, err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN
						    ? dkim_sig_geterrorstr(err)
						    : "signature not evaluated");
		return;
	}
	/* libopendkim saw an empty body when we hash it: its body hash
	 * mismatch (which it reports as a bad signature) is not a verdict,
	 * ours is; its "passed" flag still says whether the header hash
	 * verified */
	if (m->own_body && (flags & DKIM_SIGFLAG_PASSED) && err == DKIM_SIGERROR_BADSIG &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
		err = dkim_own_bh_match(m, f) ? DKIM_SIGERROR_OK : DKIM_SIGERROR_BADSIG;
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
	if (m->own_body ? !dkim_own_bh_match(m, f) : dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
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
	/* l= against the body after this signature's canonicalization, not the
	 * raw body: trailing spaces and empty lines are not content */
	canon = dkim_bodylen_total(&m->bodylen, f->relaxed_body);
	if (f->length >= 0 && canon > f->length && !m->opt.allow_body_length) {
		r->result = AR_POLICY;
		r->reason = arena_printf(a,
					 "l= signs %lld of %lld body bytes; the rest is unsigned",
					 f->length, canon);
		return;
	}
	r->result = AR_PASS;
	r->reason = NULL;
}

/* dkim_msg_lib_eom - libopendkim's end of message: our body hashes
 * finished, every signature it was left processed; *REFUSED says why
 * when it refused the whole message (else stays NULL); -1 on OOM */
static int dkim_msg_lib_eom(struct dkim_msg *m, struct dns_budget *budget, struct arena *arena,
			    const char **refused)
{
	if (m->own_body && dkim_own_body_final(m) != 0)
		return -1;
	dkim_budget = budget;
	dkim_cur = m;
	(void)dkim_eom(m->dkim, NULL);
	/* libopendkim stops at the first signature that passes; the others
	 * chosen by dkim_prescreen() get their own answer too */
	for (int i = 0; m->orig != NULL && i < m->norig; i++) {
		unsigned int fl = dkim_sig_getflags(m->orig[i]);

		if (!(fl & (DKIM_SIGFLAG_PROCESSED | DKIM_SIGFLAG_IGNORE)))
			(void)dkim_sig_process(m->dkim, m->orig[i]);
	}
	dkim_budget = NULL;
	dkim_cur = NULL;
	if (m->orig == NULL) {
		/* libopendkim refused the message before it looked at any
		 * signature (at end of header, say): each one is permerror */
		const char *e = dkim_geterror(m->dkim);

		*refused = arena_printf(arena, "libopendkim cannot evaluate the message%s%s",
					e != NULL && *e ? ": " : "", e != NULL ? e : "");
		if (*refused == NULL)
			return -1;
	}
	return 0;
}

int dkim_msg_eom(struct dkim_msg *m, struct dns_budget *budget, struct arena *arena,
		 struct dkim_result **out, size_t *n)
{
	const char *refused = NULL;

	*out = NULL;
	*n = 0;
	if (m->nfields == 0)
		return 0; /* unsigned */
	if (m->kept_from_lib != NULL)
		refused = m->kept_from_lib; /* libopendkim never saw it */
	else if (m->lib_skipped ? (m->own_body && dkim_own_body_final(m) != 0)
				: dkim_msg_lib_eom(m, budget, arena, &refused) != 0)
		return -1;
	*out = arena_alloc(arena, m->nfields * sizeof(**out));
	if (*out == NULL)
		return -1;
	memset(*out, 0, m->nfields * sizeof(**out));
	for (size_t i = 0; i < m->nfields; i++) {
		const struct dkim_sig_info *f = &m->fields[i];
		struct dkim_result *r = &(*out)[i];

		r->domain = f->domain ? arena_strdup(arena, f->domain) : NULL;
		r->selector = f->selector ? arena_strdup(arena, f->selector) : NULL;
		r->b = f->b ? arena_memdup(arena, f->b, strnlen(f->b, DKIM_B_PREFIX)) : NULL;
		if (f->error != NULL) {
			r->result = AR_PERMERROR; /* RFC 6376 6.1.1 */
			r->reason = f->error;
		} else if (refused != NULL) {
			r->result = AR_PERMERROR;
			r->reason = refused;
		} else if (m->lib_skipped && !m->field_ours[i]) {
			r->algorithm = f->ed25519 ? "ed25519-sha256" : "rsa-sha256";
			r->result = AR_NEUTRAL;
			r->reason = arena_printf(arena, "not checked: more than %u signatures",
						 m->opt.max_signatures);
			if (r->reason == NULL)
				return -1;
		} else if (m->field_ours[i]) {
			r->algorithm = f->ed25519 ? "ed25519-sha256" : "rsa-sha256";
			if (dkim_verify_sig(m->v->dns, budget, m->v->keys, m->hdrs, m->nhdrs,
					    m->field_hdr[i], f, dkim_own_bh_match(m, f),
					    m->opt.min_key_bits, arena, r) != 0)
				return -1;
		} else {
			dkim_one(m, m->orig[i], f, arena, r);
		}
	}
	*n = m->nfields;
	return 0;
}
