/*
 * loadgen.c - drive one milter, or a chain of milters, with a corpus the
 * way Postfix does, and measure it.
 *
 *   loadgen [-m SPEC]... [-c CONN] [-n MSGS] [-p PER_CONN] [-i CLIENT_IP]
 *           [-H HELO] [-j MTA_NAME] [-t TIMEOUT_MS] [-l LABEL] [-d INDEX]
 *           MANIFEST
 *
 * SPEC is a milter socket as libmilter writes it (unix:/path,
 * inet:PORT@HOST); several -m form a chain that sees every step in order,
 * one connection to each per SMTP session, as Postfix's smtpd_milters
 * does. CONN threads each run sessions of PER_CONN messages (SMFIC_ABORT
 * between them) until MSGS messages in total went through; message k is
 * corpus entry k modulo its size.
 *
 * Output: one JSON line on stdout: messages/s, latency from MAIL to the
 * final end-of-message reply (p50, p90, p99, max in ms), how each message
 * ended (the first reject/tempfail/discard/replycode of any milter, else
 * the last milter's final reply), header modifications, errors, and the
 * generator's own CPU seconds. "dkim_signatures" counts the added or
 * inserted fields named DKIM-Signature and "signed" the messages that got
 * at least one: the signing runs check that every message was signed
 * rather than trust a milter's accept.
 *
 * -d INDEX (dump): one session with one message, corpus entry INDEX, and
 * every packet in both directions printed before the JSON line; used to
 * check the generator against what a milter does under Postfix.
 *
 * Exit status 0, or 1 if anything failed (connection, protocol, timeout).
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "corpus.h"
#include "mclient.h"

#define LOADGEN_MAX_MILTERS 4
#define LOADGEN_BODY_CHUNK 65535	/* MILTER_CHUNK_SIZE, what libmilter accepts */

enum outcome { O_ACCEPT, O_CONTINUE, O_REJECT, O_TEMPFAIL, O_DISCARD, O_REPLY4, O_REPLY5, O_ERROR, O_N };
static const char *const outcome_name[O_N] = {"accept", "continue", "reject", "tempfail",
					      "discard", "replycode_4xx", "replycode_5xx", "error"};

enum mod { M_ADDHEADER, M_INSHEADER, M_CHGHEADER, M_QUARANTINE, M_OTHER, M_N };
static const char *const mod_name[M_N] = {"addheader", "insheader", "chgheader", "quarantine", "other"};

struct options {
	const char *milters[LOADGEN_MAX_MILTERS];
	int nmilters;
	int conns;
	long messages;
	int per_conn;
	const char *client_ip, *helo, *mta_name, *label;
	int timeout_ms;
	long dump_index;	/* -1: no dump */
};

struct stats {
	long outcomes[O_N];
	long mods[M_N];
	long signatures;	/* DKIM-Signature fields added or inserted */
	long signed_msgs;	/* messages with at least one of them */
	uint32_t *lat_us;
	size_t nlat, caplat;
};

struct worker {
	pthread_t tid;
	int id;
	struct stats st;
};

static struct options opt;
static struct corpus corpus;
static atomic_long next_msg;
static atomic_long queue_ids;

struct session {
	struct mclient mc[LOADGEN_MAX_MILTERS];
	int done[LOADGEN_MAX_MILTERS];	/* accepted the connection or the message */
	int conn_done[LOADGEN_MAX_MILTERS];	/* accepted the connection: no more this session */
	int skip_body[LOADGEN_MAX_MILTERS];
	int open;
	int msgs;			/* messages sent on this session */
	int conn_outcome;		/* -1, or how the session was refused */
};

/*
 * The header as the next milter in a chain sees it: Postfix hands each
 * milter the whole content phase (header, body, end of message) in turn,
 * from its queue file, so a milter sees the fields the ones before it
 * added (OpenDMARC reads OpenDKIM's Authentication-Results this way).
 */
struct hfield {
	const char *name, *value;
	size_t lead;
	char *owned;	/* storage of a field a milter added; else NULL */
};

struct hview {
	struct hfield *f;
	size_t n, cap;
};

static int hview_insert(struct hview *v, size_t at, const char *name, const char *value,
			size_t lead, char *owned)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		struct hfield *p = realloc(v->f, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		v->f = p;
		v->cap = cap;
	}
	if (at > v->n)
		at = v->n;
	memmove(v->f + at + 1, v->f + at, (v->n - at) * sizeof(*v->f));
	v->f[at] = (struct hfield){name, value, lead, owned};
	v->n++;
	return 0;
}

static void hview_clear(struct hview *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->f[i].owned);
	v->n = 0;
}

/* hview_edit - apply one addheader/insheader/chgheader reply, as the MTA
 * applies it to its queue file before the next milter reads it */
static void hview_edit(struct hview *v, const struct mclient_reply *r)
{
	const char *d = r->data, *name, *value;
	uint32_t idx = 0;
	size_t len = r->len;
	char *own;

	if (r->cmd != SMFIR_ADDHEADER) {
		if (len < 4)
			return;
		memcpy(&idx, d, 4);
		idx = ntohl(idx);
		d += 4;
		len -= 4;
	}
	if (len < 2 || d[len - 1] != '\0' || memchr(d, '\0', len - 1) == NULL)
		return;
	name = d;
	value = d + strlen(d) + 1;
	if (r->cmd == SMFIR_CHGHEADER) {
		/* the IDX-th field of that name (1-based); an empty value deletes */
		for (size_t i = 0; i < v->n; i++) {
			if (strcasecmp(v->f[i].name, name) != 0 || --idx > 0)
				continue;
			if (*value == '\0') {
				free(v->f[i].owned);
				memmove(v->f + i, v->f + i + 1, (v->n - i - 1) * sizeof(*v->f));
				v->n--;
				return;
			}
			if ((own = malloc(strlen(name) + strlen(value) + 3)) == NULL)
				return;
			free(v->f[i].owned);
			strcpy(own, name);
			own[strlen(name) + 1] = ' ';
			strcpy(own + strlen(name) + 2, value);
			v->f[i] = (struct hfield){own, own + strlen(name) + 1, 1, own};
			return;
		}
		return;
	}
	/* stored as "name\0 value": a space after the colon, as Postfix writes it */
	if ((own = malloc(strlen(name) + strlen(value) + 3)) == NULL)
		return;
	strcpy(own, name);
	own[strlen(name) + 1] = ' ';
	strcpy(own + strlen(name) + 2, value);
	if (hview_insert(v, r->cmd == SMFIR_ADDHEADER ? v->n : idx, own, own + strlen(name) + 1, 1,
			 own) < 0)
		free(own);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* final_outcome - what a final (non-modification) reply means, or -1 for
 * "go on with this milter" (continue, or a skip of the rest of the body) */
static int final_outcome(const struct mclient_reply *r)
{
	switch (r->cmd) {
	case SMFIR_CONTINUE:
	case SMFIR_SKIP:
		return -1;
	case SMFIR_ACCEPT:
		return O_ACCEPT;
	case SMFIR_REJECT:
		return O_REJECT;
	case SMFIR_TEMPFAIL:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		return O_TEMPFAIL;
	case SMFIR_DISCARD:
		return O_DISCARD;
	case SMFIR_REPLYCODE:
		return r->len > 0 && r->data[0] == '4' ? O_REPLY4 : O_REPLY5;
	default:
		return O_ERROR;
	}
}

static int is_modification(char cmd, enum mod *m)
{
	switch (cmd) {
	case SMFIR_ADDHEADER: *m = M_ADDHEADER; return 1;
	case SMFIR_INSHEADER: *m = M_INSHEADER; return 1;
	case SMFIR_CHGHEADER: *m = M_CHGHEADER; return 1;
	case SMFIR_QUARANTINE: *m = M_QUARANTINE; return 1;
	case SMFIR_ADDRCPT: case SMFIR_DELRCPT: case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM: case SMFIR_REPLBODY: case SMFIR_SETSYMLIST:
		*m = M_OTHER; return 1;
	default:
		return 0;
	}
}

/* is_signature - an addheader/insheader reply that adds a DKIM-Signature */
static int is_signature(const struct mclient_reply *r)
{
	const char *name = r->data;
	size_t len = r->len;

	if (r->cmd == SMFIR_INSHEADER) {
		if (len < 4)
			return 0;
		name += 4;	/* the index */
		len -= 4;
	} else if (r->cmd != SMFIR_ADDHEADER) {
		return 0;
	}
	return len > 14 && strncasecmp(name, "DKIM-Signature", 15) == 0;
}

/*
 * step - send one command to milter I (with its macros first) and read its
 * reply. Returns -1 to go on, an outcome when the milter decided (accept
 * ends this milter's part, anything else ends the message), O_ERROR on a
 * broken connection. Modifications are only legal at end of message.
 */
static int step(struct session *s, int i, char stage, const char *const *macros, const void *data,
		size_t len, uint32_t no_flag, uint32_t nr_flag, struct stats *st, struct hview *edits)
{
	struct mclient *c = &s->mc[i];
	struct mclient_reply r;
	enum mod m;

	if (no_flag != 0 && !mclient_wants(c, no_flag))
		return -1;
	if (macros != NULL && mclient_macros(c, stage, macros) < 0)
		return O_ERROR;
	if (mclient_send(c, stage, data, len) < 0)
		return O_ERROR;
	if (nr_flag != 0 && !mclient_replies(c, nr_flag))
		return -1;
	for (;;) {
		if (mclient_read(c, &r) < 0)
			return O_ERROR;
		if (r.cmd == SMFIR_PROGRESS)
			continue;
		if (stage == SMFIC_BODYEOB && is_modification(r.cmd, &m)) {
			st->mods[m]++;
			if (is_signature(&r))
				st->signatures++;
			if (edits != NULL && m <= M_CHGHEADER)
				hview_edit(edits, &r);
			continue;
		}
		if (stage == SMFIC_BODY && r.cmd == SMFIR_SKIP)
			s->skip_body[i] = 1;
		return final_outcome(&r);
	}
}

/*
 * all_step - one SMTP event for the whole chain, in order. A milter that
 * accepted is not asked again; the first one to reject (or tempfail...)
 * ends the event for the ones after it, as in Postfix.
 */
static int all_step(struct session *s, char stage, const char *const *macros, const void *data,
		    size_t len, uint32_t no_flag, uint32_t nr_flag, struct stats *st)
{
	int last = -1;

	for (int i = 0; i < opt.nmilters; i++) {
		int o;

		if (s->done[i])
			continue;
		if (stage == SMFIC_BODY && s->skip_body[i])
			continue;
		o = step(s, i, stage, macros, data, len, no_flag, nr_flag, st, NULL);
		if (o == O_ACCEPT) {
			s->done[i] = 1;
			last = O_ACCEPT;
		} else if (o >= 0) {
			return o;
		}
	}
	return last;
}

static void session_close(struct session *s)
{
	for (int i = 0; i < opt.nmilters; i++)
		mclient_close(&s->mc[i]);
	s->open = 0;
}

/* session_open - connect to every milter, negotiate, send connect and HELO */
static int session_open(struct session *s, int trace, struct stats *st)
{
	char conn[512], unknown[128];
	const char *cmacros[] = {"j", opt.mta_name, "{daemon_name}", "smtpd", "{daemon_addr}",
				 "127.0.0.1", "v", "Postfix 3.7.11", "_", unknown, NULL};
	uint16_t port = htons(40000);
	size_t n;
	int o;

	memset(s, 0, sizeof(*s));
	s->conn_outcome = -1;
	for (int i = 0; i < opt.nmilters; i++) {
		s->mc[i].fd = -1;
		s->mc[i].trace = trace;
		s->mc[i].name = opt.nmilters > 1 ? (i == 0 ? "[1]" : i == 1 ? "[2]" : i == 2 ? "[3]" : "[4]") : "";
	}
	for (int i = 0; i < opt.nmilters; i++)
		if (mclient_open(&s->mc[i], opt.milters[i], opt.timeout_ms) < 0) {
			session_close(s);
			return -1;
		}
	s->open = 1;
	snprintf(unknown, sizeof(unknown), "unknown [%s]", opt.client_ip);
	/* SMFIC_CONNECT: hostname, family '4', port, address */
	n = (size_t)snprintf(conn, sizeof(conn), "unknown") + 1;
	conn[n++] = SMFIA_INET;
	memcpy(conn + n, &port, 2);
	n += 2;
	n += (size_t)snprintf(conn + n, sizeof(conn) - n, "%s", opt.client_ip) + 1;
	o = all_step(s, SMFIC_CONNECT, cmacros, conn, n, SMFIP_NOCONNECT, SMFIP_NR_CONN, st);
	if (o == -1 || o == O_ACCEPT)
		o = all_step(s, SMFIC_HELO, NULL, opt.helo, strlen(opt.helo) + 1, SMFIP_NOHELO,
			     SMFIP_NR_HELO, st);
	if (o == O_ERROR) {
		session_close(s);
		return -1;
	}
	if (o >= 0 && o != O_ACCEPT)
		s->conn_outcome = o;
	/* a milter that accepted the connection sees nothing more of it */
	memcpy(s->conn_done, s->done, sizeof(s->done));
	return 0;
}

/*
 * content - header, end of header, body and end of message for milter I,
 * with the header as the milters before it left it. Returns -1 (go on),
 * or the outcome the milter decided.
 */
static int content(struct session *s, int i, const struct corpus_msg *m, struct hview *hv,
		   const char *const *im, struct stats *st)
{
	struct mclient *c = &s->mc[i];
	char buf[70000];
	int o;

	for (size_t h = 0; h < hv->n; h++) {
		/* without SMFIP_HDR_LEADSPC the MTA strips the white space after
		 * the colon; each milter negotiated its own */
		const struct hfield *f = &hv->f[h];
		const char *v = (c->protocol & SMFIP_HDR_LEADSPC) ? f->value : f->value + f->lead;
		size_t nl = strlen(f->name) + 1, vl = strlen(v) + 1;

		if (nl + vl > sizeof(buf))
			continue;
		memcpy(buf, f->name, nl);
		memcpy(buf + nl, v, vl);
		o = step(s, i, SMFIC_HEADER, NULL, buf, nl + vl, SMFIP_NOHDRS, SMFIP_NR_HDR, st, NULL);
		if (o >= 0)
			return o;
	}
	o = step(s, i, SMFIC_EOH, im, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH, st, NULL);
	if (o >= 0)
		return o;
	/* the body in chunks; after SMFIR_SKIP the milter gets no more */
	for (size_t off = 0; off < m->body_len && !s->skip_body[i]; off += LOADGEN_BODY_CHUNK) {
		size_t n = m->body_len - off < LOADGEN_BODY_CHUNK ? m->body_len - off : LOADGEN_BODY_CHUNK;

		o = step(s, i, SMFIC_BODY, NULL, m->body + off, n, SMFIP_NOBODY, SMFIP_NR_BODY, st, NULL);
		if (o >= 0)
			return o;
	}
	o = step(s, i, SMFIC_BODYEOB, im, NULL, 0, 0, 0, st, hv);
	return o == -1 ? O_CONTINUE : o;
}

/* run_message - one transaction; returns its outcome */
static int run_message(struct session *s, const struct corpus_msg *m, struct hview *hv,
		       struct stats *st)
{
	char qid[32], arg[1100], mailhost[256], rcvd[1024];
	const char *at;
	int o, last = O_ACCEPT;

	snprintf(qid, sizeof(qid), "4B%08lX", atomic_fetch_add(&queue_ids, 1));
	at = strrchr(m->mail_from, '@');
	snprintf(mailhost, sizeof(mailhost), "%s", at ? at + 1 : "");
	{
		const char *mm[] = {"{mail_addr}", m->mail_from, "{mail_host}", mailhost,
				    "{mail_mailer}", "smtp", m->auth ? "{auth_type}" : NULL, "PLAIN",
				    "{auth_authen}", m->auth, NULL};
		snprintf(arg, sizeof(arg), "<%s>", m->mail_from);
		o = all_step(s, SMFIC_MAIL, mm, arg, strlen(arg) + 1, SMFIP_NOMAIL, SMFIP_NR_MAIL, st);
		if (o >= 0 && o != O_ACCEPT)
			return o;
	}
	{
		const char *rm[] = {"i", qid, "{rcpt_addr}", m->rcpt, "{rcpt_mailer}", "relay", NULL};
		snprintf(arg, sizeof(arg), "<%s>", m->rcpt);
		o = all_step(s, SMFIC_RCPT, rm, arg, strlen(arg) + 1, SMFIP_NORCPT, SMFIP_NR_RCPT, st);
		if (o >= 0 && o != O_ACCEPT)
			return o;
	}
	const char *im[] = {"i", qid, NULL};

	o = all_step(s, SMFIC_DATA, im, NULL, 0, SMFIP_NODATA, SMFIP_NR_DATA, st);
	if (o >= 0 && o != O_ACCEPT)
		return o;
	/* the header Postfix passes on: its own Received field on top */
	hview_clear(hv);
	snprintf(rcvd, sizeof(rcvd),
		 " from %s (unknown [%s])\n\tby %s (Postfix) with ESMTP id %s\n\tfor <%s>;"
		 " Mon, 23 Nov 2026 08:00:00 +0000 (UTC)",
		 opt.helo, opt.client_ip, opt.mta_name, qid, m->rcpt);
	hview_insert(hv, 0, "Received", rcvd, 1, NULL);
	for (size_t h = 0; h < m->nheaders; h++)
		hview_insert(hv, hv->n, m->headers[h].name, m->headers[h].value, m->headers[h].lead,
			     NULL);
	for (int i = 0; i < opt.nmilters; i++) {
		if (s->done[i])
			continue;
		o = content(s, i, m, hv, im, st);
		if (o == O_ACCEPT || o == O_CONTINUE)
			last = o;
		else if (o >= 0)
			break;
	}
	hview_clear(hv);	/* rcvd lives on this stack frame */
	return o >= 0 && o != O_ACCEPT && o != O_CONTINUE ? o : last;
}

static void stats_add_latency(struct stats *st, double seconds)
{
	if (st->nlat == st->caplat) {
		size_t cap = st->caplat ? st->caplat * 2 : 4096;
		uint32_t *p = realloc(st->lat_us, cap * sizeof(*p));

		if (p == NULL)
			return;
		st->lat_us = p;
		st->caplat = cap;
	}
	st->lat_us[st->nlat++] = (uint32_t)(seconds * 1e6);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct session s = {.open = 0};
	struct hview hv = {0};
	int trace = opt.dump_index >= 0;
	long k, sigs;

	while ((k = atomic_fetch_add(&next_msg, 1)) < opt.messages) {
		const struct corpus_msg *m =
			&corpus.msgs[trace ? (size_t)opt.dump_index : (size_t)k % corpus.n];
		double t0;
		int o;

		if (s.open && s.msgs >= opt.per_conn)
			session_close(&s);
		if (!s.open && session_open(&s, trace, &w->st) < 0) {
			w->st.outcomes[O_ERROR]++;
			continue;
		}
		if (s.msgs > 0) {
			/* between messages, as the brief's MTA does: the milters
			 * drop the previous message's state (no reply to abort) */
			for (int i = 0; i < opt.nmilters; i++)
				if (mclient_send(&s.mc[i], SMFIC_ABORT, NULL, 0) < 0)
					s.open = 0;
		}
		s.msgs++;
		for (int i = 0; i < opt.nmilters; i++) {
			s.skip_body[i] = 0;
			s.done[i] = s.conn_done[i];
		}
		if (s.conn_outcome >= 0) {
			w->st.outcomes[s.conn_outcome]++;
			continue;
		}
		t0 = now_s();
		sigs = w->st.signatures;
		o = run_message(&s, m, &hv, &w->st);
		if (w->st.signatures > sigs)
			w->st.signed_msgs++;
		if (o == -1)
			o = O_CONTINUE;
		w->st.outcomes[o]++;
		if (o == O_ERROR) {
			session_close(&s);
			continue;
		}
		stats_add_latency(&w->st, now_s() - t0);
	}
	if (s.open)
		session_close(&s);
	free(hv.f);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen [-m SPEC]... [-c CONN] [-n MSGS] [-p PER_CONN] [-i IP] [-H HELO]\n"
			"               [-j MTA_NAME] [-t TIMEOUT_MS] [-l LABEL] [-d INDEX] MANIFEST\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct worker *w;
	struct stats all = {0};
	struct rusage ru;
	double t0, secs;
	int ch;

	opt.conns = 4;
	opt.messages = 1000;
	opt.per_conn = 10;
	opt.client_ip = "192.0.2.25";
	opt.helo = "mx.sender.example";
	opt.mta_name = "mx.bench.example";
	opt.label = "";
	opt.timeout_ms = 30000;
	opt.dump_index = -1;
	while ((ch = getopt(argc, argv, "m:c:n:p:i:H:j:t:l:d:")) != -1) {
		switch (ch) {
		case 'm':
			if (opt.nmilters == LOADGEN_MAX_MILTERS)
				usage();
			opt.milters[opt.nmilters++] = optarg;
			break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'n': opt.messages = atol(optarg); break;
		case 'p': opt.per_conn = atoi(optarg); break;
		case 'i': opt.client_ip = optarg; break;
		case 'H': opt.helo = optarg; break;
		case 'j': opt.mta_name = optarg; break;
		case 't': opt.timeout_ms = atoi(optarg); break;
		case 'l': opt.label = optarg; break;
		case 'd': opt.dump_index = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || opt.nmilters == 0 || opt.conns < 1 || opt.messages < 1 ||
	    opt.per_conn < 1)
		usage();
	if (corpus_load(&corpus, argv[optind]) < 0)
		return 1;
	if (opt.dump_index >= 0) {
		if ((size_t)opt.dump_index >= corpus.n)
			usage();
		opt.conns = 1;
		opt.messages = 1;
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
	w = calloc((size_t)opt.conns, sizeof(*w));
	if (w == NULL)
		return 1;
	t0 = now_s();
	for (int i = 0; i < opt.conns; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < opt.conns; i++) {
		pthread_join(w[i].tid, NULL);
		for (int o = 0; o < O_N; o++)
			all.outcomes[o] += w[i].st.outcomes[o];
		for (int m = 0; m < M_N; m++)
			all.mods[m] += w[i].st.mods[m];
		all.signatures += w[i].st.signatures;
		all.signed_msgs += w[i].st.signed_msgs;
		for (size_t j = 0; j < w[i].st.nlat; j++)
			stats_add_latency(&all, w[i].st.lat_us[j] / 1e6);
		free(w[i].st.lat_us);
	}
	secs = now_s() - t0;
	/* the generator's own CPU: it shares the machine with the milters */
	getrusage(RUSAGE_SELF, &ru);
	qsort(all.lat_us, all.nlat, sizeof(*all.lat_us), cmp_u32);

	printf("{\"label\":\"%s\",\"milters\":%d,\"concurrency\":%d,\"per_conn\":%d,\"messages\":%ld,"
	       "\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
	       "\"p99\":%.3f,\"max\":%.3f},\"replies\":{",
	       opt.label, opt.nmilters, opt.conns, opt.per_conn, opt.messages, secs,
	       (double)opt.messages / secs, pct_ms(all.lat_us, all.nlat, 0.50),
	       pct_ms(all.lat_us, all.nlat, 0.90), pct_ms(all.lat_us, all.nlat, 0.99),
	       all.nlat ? all.lat_us[all.nlat - 1] / 1000.0 : 0.0);
	for (int o = 0; o < O_N; o++)
		printf("%s\"%s\":%ld", o ? "," : "", outcome_name[o], all.outcomes[o]);
	printf("},\"mods\":{");
	for (int m = 0; m < M_N; m++)
		printf("%s\"%s\":%ld", m ? "," : "", mod_name[m], all.mods[m]);
	printf("},\"dkim_signatures\":%ld,\"signed\":%ld,\"loadgen_cpu_s\":%.3f}\n",
	       all.signatures, all.signed_msgs, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	free(all.lat_us);
	free(w);
	corpus_free(&corpus);
	return all.outcomes[O_ERROR] ? 1 : 0;
}
