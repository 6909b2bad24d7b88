/*
 * conv.c - one milter conversation: state, engine calls, replies (see conv.h)
 *
 * The order of commands is checked against a small table: which states a
 * command may arrive in. libmilter silently drops a command out of order
 * (the MTA then waits for a reply that never comes, up to its timeout);
 * here it ends the connection at once, so the MTA applies its default
 * action without the wait. The sequences real MTAs send (HELO again, MAIL
 * after a finished or aborted message, ABORT outside a message, headers
 * without DATA when DATA is not negotiated) are all in the table.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "engine/engine.h"
#include "engine/engine_metrics.h"
#include "engine/services.h"
#include "engine/session.h"
#include "milter/conv.h"
#include "milter/macros.h"
#include "milter/wire.h"
#include "rules/rule.h"
#include "util/log.h"
#include "util/strbuf.h"

enum conv_state {
	CV_INIT,  /* waiting for option negotiation */
	CV_READY, /* negotiated (or after QUIT_NC): waiting for CONNECT */
	CV_CONN,
	CV_HELO,
	CV_IDLE, /* between messages: after end of message, abort or accept */
	CV_MAIL,
	CV_RCPT,
	CV_DATA,
	CV_HDRS,
	CV_EOH,
	CV_BODY,
	CV_QUIT
};

#define CV_BIT(s) (1u << (s))
#define CV_SESSION (CV_BIT(CV_CONN) | CV_BIT(CV_HELO) | CV_BIT(CV_IDLE) | CV_IN_MSG)
#define CV_IN_MSG                                                                                 \
	(CV_BIT(CV_MAIL) | CV_BIT(CV_RCPT) | CV_BIT(CV_DATA) | CV_BIT(CV_HDRS) | CV_BIT(CV_EOH) | \
	 CV_BIT(CV_BODY))
#define CV_CONTENT \
	(CV_BIT(CV_RCPT) | CV_BIT(CV_DATA) | CV_BIT(CV_HDRS) | CV_BIT(CV_EOH) | CV_BIT(CV_BODY))

/* The states each command may arrive in. */
static unsigned conv_allowed(char cmd)
{
	switch (cmd) {
	case WIRE_C_OPTNEG:
		return CV_BIT(CV_INIT);
	case WIRE_C_MACRO:
		return ~CV_BIT(CV_QUIT);
	case WIRE_C_CONNECT:
		return CV_BIT(CV_READY);
	case WIRE_C_HELO:
	case WIRE_C_MAIL:
		return CV_BIT(CV_CONN) | CV_BIT(CV_HELO) | CV_BIT(CV_IDLE);
	case WIRE_C_RCPT:
		return CV_BIT(CV_MAIL) | CV_BIT(CV_RCPT);
	case WIRE_C_DATA:
		return CV_BIT(CV_RCPT);
	case WIRE_C_HEADER:
	case WIRE_C_EOH:
		return CV_BIT(CV_RCPT) | CV_BIT(CV_DATA) | CV_BIT(CV_HDRS);
	case WIRE_C_BODY:
	case WIRE_C_EOM:
		return CV_CONTENT;
	case WIRE_C_UNKNOWN:
		return CV_BIT(CV_CONN) | CV_BIT(CV_HELO) | CV_BIT(CV_IDLE) | CV_BIT(CV_MAIL) |
		       CV_BIT(CV_RCPT);
	case WIRE_C_ABORT:
	case WIRE_C_QUIT_NC:
		return CV_BIT(CV_READY) | CV_SESSION;
	case WIRE_C_QUIT:
		return ~CV_BIT(CV_QUIT);
	default:
		return 0;
	}
}

static const char *conv_state_name(enum conv_state st)
{
	static const char *const names[] = {
		"before negotiation", "before connect",	  "after connect", "after HELO",
		"between messages",   "after MAIL",	  "after RCPT",	   "after DATA",
		"in the header",      "after the header", "in the body",   "after QUIT"
	};

	return names[st];
}

struct milter_conv {
	const struct milter_env *env;
	char *peer;
	enum conv_state state;
	struct wire_reader in;
	struct macro_store macros;
	uint32_t actions;  /* negotiated: what we may do at end of message */
	uint32_t noreply;  /* negotiated WIRE_P_NR_* steps */
	uint32_t protocol; /* negotiated protocol flags */
	struct session *s; /* NULL outside an SMTP session, or when it was refused */
	bool counted;	   /* S was counted by conn_opened */
};

/* The steps that need no reply of their own under the current snapshot. A
 * decision taken at a silent step is answered at the next step that has a
 * reply (the engine repeats it), which the SMTP client cannot tell apart
 * except by when it hears it:
 *  - header fields, end of header, body chunks: always silent; the client
 *    hears nothing before its final dot anyway;
 *  - connect and HELO: silent unless a rule is decided there, or the daemon
 *    is draining (it answers 421 at connect); otherwise only our own errors
 *    happen there, answered at MAIL FROM, as Postfix's smtpd_delay_reject
 *    does with its restrictions;
 * MAIL FROM keeps its reply: a bad sender address must hear 501 5.1.7 at
 * MAIL, not at a recipient. DATA and unknown commands are not asked for:
 * nothing is decided there. */
static uint32_t conv_quiet_steps(const struct milter_env *env)
{
	uint32_t steps = WIRE_P_NR_HDR | WIRE_P_NR_EOH | WIRE_P_NR_BODY | WIRE_P_NODATA |
			 WIRE_P_NOUNKNOWN;
	struct config *c = config_slot_get(env->slot);
	size_t n_conn, n_helo;

	rules_at(c->rules, GH_PH_CONNECT, &n_conn);
	rules_at(c->rules, GH_PH_HELO, &n_helo);
	if (n_conn == 0 && n_helo == 0 && !env->draining(env->ctx))
		steps |= WIRE_P_NR_CONN | WIRE_P_NR_HELO;
	config_unref(c);
	return steps;
}

#define CONV_ACTIONS (WIRE_A_ADDHDRS | WIRE_A_CHGHDRS | WIRE_A_QUARANTINE)
#define CONV_NR_MASK                                                                          \
	(WIRE_P_NR_CONN | WIRE_P_NR_HELO | WIRE_P_NR_MAIL | WIRE_P_NR_RCPT | WIRE_P_NR_DATA | \
	 WIRE_P_NR_UNKN | WIRE_P_NR_EOH | WIRE_P_NR_BODY | WIRE_P_NR_HDR)

struct milter_conv *milter_conv_new(const struct milter_env *env, const char *peer)
{
	struct milter_conv *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->env = env;
	c->peer = strdup(peer ? peer : "?");
	if (c->peer == NULL) {
		free(c);
		return NULL;
	}
	c->state = CV_INIT;
	return c;
}

bool milter_conv_in_session(const struct milter_conv *c)
{
	return c->s != NULL;
}

bool milter_conv_mid_frame(const struct milter_conv *c)
{
	return wire_reader_pending(&c->in) > 0;
}

/* conv_end_session - the SMTP session is over (QUIT, QUIT_NC, close) */
static void conv_end_session(struct milter_conv *c)
{
	if (c->s != NULL) {
		session_log(c->s->log, c->s, LOG_DEBUG, "close");
		session_free(c->s);
		c->s = NULL;
	}
	if (c->counted) {
		c->env->conn_closed(c->env->ctx);
		c->counted = false;
	}
	macro_store_clear_from(&c->macros, WIRE_ST_CONNECT);
}

void milter_conv_free(struct milter_conv *c)
{
	if (c == NULL)
		return;
	conv_end_session(c);
	wire_reader_free(&c->in);
	free(c->peer);
	free(c);
}

/* conv_violation - log why this peer's connection ends */
static enum milter_conv_status conv_violation(struct milter_conv *c, const char *why)
{
	log_msg(c->env->log, LOG_WARNING,
		"milter: peer %s: protocol violation %s: %s; closing the connection", c->peer,
		conv_state_name(c->state), why);
	return MILTER_CONV_ABORT;
}

static const char *conv_macro(void *ctx, const char *name)
{
	const struct milter_conv *c = ctx;

	return macro_store_get(&c->macros, name);
}

/* conv_qid - remember the queue id once the MTA sends it ({i} from RCPT on in Postfix) */
static void conv_qid(struct milter_conv *c)
{
	const char *qid = macro_store_get(&c->macros, "i");

	if (qid != NULL && c->s != NULL)
		session_set_qid(c->s, qid);
}

/* conv_put_code - CMD ('r' or 't') with the session's SMTP reply when its
 * first digit fits the action, as libmilter did; else the bare command */
static void conv_put_code(struct strbuf *out, char cmd, const struct verdict *v)
{
	char want = cmd == WIRE_R_REJECT ? '5' : '4';

	if (v != NULL && v->smtp_code[0] == want)
		wire_put_replycode(out, v->smtp_code, v->enhanced_code, v->text);
	else
		wire_put(out, cmd, NULL, 0);
}

static void conv_put_tempfail(struct strbuf *out)
{
	wire_put_replycode(out, "451", "4.3.0", "Temporary local problem, please try again later");
}

/* conv_answer - the engine's action A as a reply */
static void conv_answer(struct milter_conv *c, enum gh_action a, struct strbuf *out)
{
	switch (a) {
	case GH_ACT_CONTINUE:
		wire_put(out, WIRE_R_CONTINUE, NULL, 0);
		return;
	case GH_ACT_ACCEPT:
		wire_put(out, WIRE_R_ACCEPT, NULL, 0);
		return;
	case GH_ACT_REJECT:
		conv_put_code(out, WIRE_R_REJECT, &c->s->reply);
		return;
	case GH_ACT_TEMPFAIL:
		conv_put_code(out, WIRE_R_TEMPFAIL, &c->s->reply);
		return;
	case GH_ACT_DISCARD:
		wire_put(out, WIRE_R_DISCARD, NULL, 0);
		return;
	case GH_ACT_QUARANTINE:
		/* Only possible at end of message (conv_eom). Anywhere else
		 * holding the mail is impossible, so it must not pass. */
		break;
	}
	conv_put_tempfail(out);
}

/* conv_reply - answer A to a step whose reply bit is NR (0: always answered);
 * returns the state after it: a final action ends the message */
static void conv_reply(struct milter_conv *c, uint32_t nr, enum gh_action a, struct strbuf *out)
{
	if (nr != 0 && (c->noreply & nr))
		return;
	conv_answer(c, a, out);
}

/* conv_settle - the state after answering A to a message step */
static void conv_settle(struct milter_conv *c, enum gh_action a, bool per_recipient)
{
	if (a == GH_ACT_ACCEPT || (!per_recipient && verdict_is_final(a)))
		c->state = CV_IDLE;
}

static void conv_optneg(struct milter_conv *c, const struct wire_cmd *w, struct strbuf *out)
{
	uint32_t actions = w->u.optneg.actions ? w->u.optneg.actions : 0x0fu; /* v1 defaults */
	uint32_t protocol = w->u.optneg.protocol ? w->u.optneg.protocol : 0x3fu;
	uint32_t version = w->u.optneg.version < WIRE_VERSION ? w->u.optneg.version : WIRE_VERSION;

	macro_store_clear_from(&c->macros, WIRE_ST_CONNECT);
	if ((actions & CONV_ACTIONS) != CONV_ACTIONS)
		log_msg(c->env->log, LOG_WARNING,
			"milter: peer %s does not offer every action gatehouse uses "
			"(offered 0x%x): edits it refuses tempfail the message",
			c->peer, (unsigned)actions);
	c->actions = actions & CONV_ACTIONS;
	/* Ask only for what the MTA offers: a step it cannot skip or leave
	 * unanswered is answered like any other. The leading space of header
	 * values too: without it "Subject:x" and "Subject: x" look the same,
	 * and a "simple" DKIM signature over the first failed. */
	c->protocol = protocol & (conv_quiet_steps(c->env) | WIRE_P_HDR_LEADSPC);
	c->noreply = c->protocol & CONV_NR_MASK;
	wire_put_optneg(out, version, c->actions, c->protocol, NULL);
	c->state = CV_READY;
}

/* conv_ip_text - the client address in canonical text into BUF; NULL when
 * the MTA gave none (a local submission, a unix socket) */
static const char *conv_ip_text(const struct wire_cmd *w, char *buf, size_t len)
{
	unsigned char a[sizeof(struct in6_addr)];
	int af;

	if (w->u.connect.family == WIRE_FAM_INET)
		af = AF_INET;
	else if (w->u.connect.family == WIRE_FAM_INET6)
		af = AF_INET6;
	else
		return NULL;
	if (inet_pton(af, w->u.connect.addr, a) != 1)
		return NULL; /* wire_decode checked it; never here */
	return inet_ntop(af, a, buf, (socklen_t)len);
}

/* conv_phase - the SMTP phase command CMD feeds, for the phase timings */
static enum gh_phase conv_phase(int cmd)
{
	switch (cmd) {
	case WIRE_C_HELO:
		return GH_PH_HELO;
	case WIRE_C_MAIL:
		return GH_PH_MAIL;
	case WIRE_C_RCPT:
		return GH_PH_RCPT;
	case WIRE_C_DATA:
		return GH_PH_DATA;
	case WIRE_C_UNKNOWN:
		return GH_PH_UNKNOWN;
	case WIRE_C_HEADER:
		return GH_PH_HEADER;
	case WIRE_C_EOH:
		return GH_PH_EOH;
	case WIRE_C_BODY:
		return GH_PH_BODY;
	default:
		return GH_PH_NONE;
	}
}

/* conv_clock - now, when S counts metrics (a clock read saved otherwise) */
static void conv_clock(const struct session *s, struct timespec *t)
{
	if (s->metrics != NULL)
		clock_gettime(CLOCK_MONOTONIC, t);
}

static enum milter_conv_status conv_connect(struct milter_conv *c, const struct wire_cmd *w,
					    struct strbuf *out)
{
	char id[SESSION_ID_MAX], ip[INET6_ADDRSTRLEN];
	struct timespec t0;
	enum gh_action a;

	macro_store_clear_from(&c->macros, WIRE_ST_HELO);
	c->state = CV_CONN;
	if (!c->env->conn_opened(c->env->ctx)) {
		/* Draining after SIGTERM: sessions in flight finish, new ones
		 * are told to come back (at MAIL FROM, with 451 4.3.0, when
		 * this connection was negotiated before the drain began). */
		if (!(c->noreply & WIRE_P_NR_CONN))
			wire_put_replycode(out, "421", "4.3.2",
					   "gatehouse is shutting down, try again later");
		return MILTER_CONV_OK;
	}
	c->counted = true;
	c->env->session_id(c->env->ctx, id, sizeof(id));
	c->s = session_new(id, c->env->slot, NULL, c->env->log);
	if (c->s == NULL) {
		log_msg(c->env->log, LOG_ERR, "session=%s out of memory at connect", id);
		if (!(c->noreply & WIRE_P_NR_CONN))
			conv_put_tempfail(out);
		return MILTER_CONV_OK;
	}
	services_attach(c->env->svc, c->s);
	c->s->macro = conv_macro;
	c->s->macro_ctx = c;
	conv_clock(c->s, &t0);
	a = engine_connect(c->s, w->u.connect.host, conv_ip_text(w, ip, sizeof(ip)));
	engine_metrics_phase(c->s->metrics, GH_PH_CONNECT, &t0);
	conv_reply(c, WIRE_P_NR_CONN, a, out);
	return MILTER_CONV_OK;
}

/* conv_edit - one header edit as a frame; false when the MTA did not allow it */
static bool conv_edit(struct milter_conv *c, const struct hdr_edit *e, struct strbuf *out)
{
	/* with SMFIP_HDR_LEADSPC the MTA writes "Name:" and the value as sent */
	const char *lead = (c->protocol & WIRE_P_HDR_LEADSPC) ? " " : "";

	switch (e->op) {
	case HDR_ADD:
		if (!(c->actions & WIRE_A_ADDHDRS))
			return false;
		wire_put_header(out, WIRE_R_ADDHEADER, -1, e->name, lead, e->value);
		return true;
	case HDR_INSERT:
		if (!(c->actions & WIRE_A_ADDHDRS))
			return false;
		wire_put_header(out, WIRE_R_INSHEADER, (long)e->index, e->name, lead, e->value);
		return true;
	case HDR_CHANGE:
	case HDR_REMOVE:
		if (!(c->actions & WIRE_A_CHGHDRS))
			return false;
		/* An empty value deletes the field (the protocol's way): no lead. */
		if (e->op == HDR_REMOVE || e->value == NULL)
			wire_put_header(out, WIRE_R_CHGHEADER, (long)e->index, e->name, "", "");
		else
			wire_put_header(out, WIRE_R_CHGHEADER, (long)e->index, e->name, lead,
					e->value);
		return true;
	}
	return false;
}

static void conv_eom(struct milter_conv *c, const struct wire_cmd *w, struct strbuf *out)
{
	struct session *s = c->s;
	size_t mark = out->len;
	struct timespec t0;
	enum gh_action a;

	conv_qid(c);
	conv_clock(s, &t0);
	if (w->u.body.len > 0) /* the last chunk: its answer is repeated by eom */
		(void)engine_body(s, w->u.body.data, w->u.body.len);
	a = engine_eom(s);
	engine_metrics_phase(s->metrics, GH_PH_EOM, &t0);
	c->state = CV_IDLE;
	if (a != GH_ACT_ACCEPT && a != GH_ACT_CONTINUE && a != GH_ACT_QUARANTINE) {
		conv_answer(c, a, out);
		return;
	}
	for (size_t i = 0; i < s->msg.nedits; i++) {
		if (!conv_edit(c, &s->msg.edits[i], out)) {
			/* Passing mail without the edits policy asked for (a
			 * forged status header not removed, say) could mislead
			 * what comes after us: tempfail. */
			session_log(s->log, s, LOG_ERR,
				    "header edit on %s not allowed by the MTA: tempfail",
				    s->msg.edits[i].name);
			out->len = mark;
			conv_put_tempfail(out);
			return;
		}
	}
	if (a == GH_ACT_QUARANTINE) {
		if (!(c->actions & WIRE_A_QUARANTINE)) {
			session_log(s->log, s, LOG_ERR,
				    "quarantine not allowed by the MTA: tempfail instead");
			out->len = mark;
			conv_put_tempfail(out);
			return;
		}
		wire_put_strings(
			out, WIRE_R_QUARANTINE,
			s->reply.reason && *s->reply.reason ? s->reply.reason : "gatehouse", NULL);
	}
	wire_put(out, WIRE_R_ACCEPT, NULL, 0);
}

/* conv_no_session - a step after a refused or failed CONNECT: no session to
 * ask, so the message is tempfailed where a reply is due */
static void conv_no_session(struct milter_conv *c, uint32_t nr, struct strbuf *out)
{
	if (nr != 0 && (c->noreply & nr))
		return;
	conv_put_tempfail(out);
}

/* conv_step_nr - the reply bit of a message step */
static uint32_t conv_step_nr(char cmd)
{
	switch (cmd) {
	case WIRE_C_HELO:
		return WIRE_P_NR_HELO;
	case WIRE_C_HEADER:
		return WIRE_P_NR_HDR;
	case WIRE_C_EOH:
		return WIRE_P_NR_EOH;
	case WIRE_C_BODY:
		return WIRE_P_NR_BODY;
	case WIRE_C_DATA:
		return WIRE_P_NR_DATA;
	case WIRE_C_UNKNOWN:
		return WIRE_P_NR_UNKN;
	default:
		return 0; /* MAIL, RCPT, end of message: always answered */
	}
}

static enum conv_state conv_next_state(char cmd)
{
	switch (cmd) {
	case WIRE_C_HELO:
		return CV_HELO;
	case WIRE_C_MAIL:
		return CV_MAIL;
	case WIRE_C_RCPT:
		return CV_RCPT;
	case WIRE_C_DATA:
		return CV_DATA;
	case WIRE_C_HEADER:
		return CV_HDRS;
	case WIRE_C_EOH:
		return CV_EOH;
	case WIRE_C_BODY:
		return CV_BODY;
	default:
		return CV_IDLE;
	}
}

/* conv_message_step - HELO, MAIL, RCPT, DATA, header, end of header, body,
 * unknown: the engine's answer, or silence where none is due */
static void conv_message_step(struct milter_conv *c, const struct wire_cmd *w, struct strbuf *out)
{
	uint32_t nr = conv_step_nr(w->cmd);
	struct session *s = c->s;
	enum gh_action a = GH_ACT_CONTINUE;
	struct timespec t0;

	if (w->cmd != WIRE_C_UNKNOWN)
		c->state = conv_next_state(w->cmd);
	switch (w->cmd) {
	case WIRE_C_HELO:
		macro_store_clear_from(&c->macros, WIRE_ST_MAIL);
		break;
	case WIRE_C_MAIL:
		macro_store_clear_from(&c->macros, WIRE_ST_RCPT);
		break;
	case WIRE_C_RCPT:
		macro_store_clear_from(&c->macros, WIRE_ST_DATA);
		break;
	default:
		break;
	}
	if (s == NULL) {
		conv_no_session(c, nr, out);
		return;
	}
	conv_clock(s, &t0);
	switch (w->cmd) {
	case WIRE_C_HELO:
		a = engine_helo(s, w->u.str.text);
		break;
	case WIRE_C_MAIL:
		a = engine_mail(s, w->u.args.argv, macro_store_get(&c->macros, "{auth_authen}"));
		conv_qid(c);
		break;
	case WIRE_C_RCPT:
		conv_qid(c);
		a = engine_rcpt(s, w->u.args.argv);
		break;
	case WIRE_C_DATA:
		conv_qid(c);
		a = engine_data(s);
		break;
	case WIRE_C_UNKNOWN:
		a = engine_unknown(s, w->u.str.text);
		break;
	case WIRE_C_HEADER:
		a = (c->protocol & WIRE_P_HDR_LEADSPC)
			    ? engine_header_raw(s, w->u.header.name, w->u.header.value,
						w->u.header.value_len)
			    : engine_header(s, w->u.header.name, w->u.header.value,
					    w->u.header.value_len);
		break;
	case WIRE_C_EOH:
		conv_qid(c);
		a = engine_eoh(s);
		break;
	case WIRE_C_BODY:
		a = engine_body(s, w->u.body.data, w->u.body.len);
		break;
	default:
		break;
	}
	engine_metrics_phase(s->metrics, conv_phase(w->cmd), &t0);
	conv_reply(c, nr, a, out);
	if (w->cmd != WIRE_C_HELO && w->cmd != WIRE_C_UNKNOWN && !(nr && (c->noreply & nr)))
		conv_settle(c, a, w->cmd == WIRE_C_RCPT);
}

/* conv_command - one decoded command W in the current state */
static enum milter_conv_status conv_command(struct milter_conv *c, const struct wire_cmd *w,
					    struct strbuf *out)
{
	/* HELO or MAIL inside a message ends it, as an ABORT would. Postfix
	 * sends the HELO of an EHLO in mid-transaction before its ABORT, and
	 * the MAIL after one it refused itself (SMTPUTF8) with no ABORT at
	 * all; libmilter aborted and went on, and so do we. */
	if ((w->cmd == WIRE_C_HELO || w->cmd == WIRE_C_MAIL) && (CV_BIT(c->state) & CV_IN_MSG)) {
		if (c->s != NULL)
			engine_abort(c->s);
		c->state = CV_IDLE;
	}
	if (!(conv_allowed(w->cmd) & CV_BIT(c->state))) {
		char why[64];

		snprintf(why, sizeof(why), "command '%c' out of order",
			 w->cmd >= 0x20 && w->cmd < 0x7f ? w->cmd : '?');
		return conv_violation(c, why);
	}
	switch (w->cmd) {
	case WIRE_C_OPTNEG:
		conv_optneg(c, w, out);
		return MILTER_CONV_OK;
	case WIRE_C_MACRO:
		if (w->u.macro.known_stage &&
		    !macro_store_set(&c->macros, w->u.macro.stage, w->u.macro.pairs,
				     w->u.macro.npairs)) {
			log_msg(c->env->log, LOG_ERR, "milter: peer %s: out of memory", c->peer);
			return MILTER_CONV_ABORT;
		}
		return MILTER_CONV_OK;
	case WIRE_C_CONNECT:
		return conv_connect(c, w, out);
	case WIRE_C_EOM:
		if (c->s == NULL) {
			c->state = CV_IDLE;
			conv_no_session(c, 0, out);
		} else {
			conv_eom(c, w, out);
		}
		return MILTER_CONV_OK;
	case WIRE_C_ABORT:
		/* No reply. Outside a message there is nothing to abort. */
		if (CV_BIT(c->state) & CV_IN_MSG) {
			if (c->s != NULL)
				engine_abort(c->s);
			c->state = CV_IDLE;
		}
		return MILTER_CONV_OK;
	case WIRE_C_QUIT_NC:
		if ((CV_BIT(c->state) & CV_IN_MSG) && c->s != NULL)
			engine_abort(c->s);
		conv_end_session(c);
		c->state = CV_READY;
		return MILTER_CONV_OK;
	case WIRE_C_QUIT:
		if ((CV_BIT(c->state) & CV_IN_MSG) && c->s != NULL)
			engine_abort(c->s);
		conv_end_session(c);
		c->state = CV_QUIT;
		return MILTER_CONV_CLOSE;
	default:
		conv_message_step(c, w, out);
		return MILTER_CONV_OK;
	}
}

enum milter_conv_status milter_conv_feed(struct milter_conv *c, const void *data, size_t n,
					 struct strbuf *out)
{
	struct wire_frame f;
	struct wire_cmd w;
	const char *why = NULL;
	int rc;

	if (c->state == CV_QUIT)
		return conv_violation(c, "bytes after QUIT");
	if (!wire_reader_feed(&c->in, data, n)) {
		log_msg(c->env->log, LOG_ERR, "milter: peer %s: out of memory", c->peer);
		return MILTER_CONV_ABORT;
	}
	while ((rc = wire_reader_next(&c->in, &f, &why)) == 1) {
		enum milter_conv_status st;

		if (!wire_decode(&f, &w, &why))
			return conv_violation(c, why);
		st = conv_command(c, &w, out);
		if (out->failed) {
			log_msg(c->env->log, LOG_ERR, "milter: peer %s: out of memory", c->peer);
			return MILTER_CONV_ABORT;
		}
		if (st != MILTER_CONV_OK)
			return st;
	}
	if (rc < 0)
		return conv_violation(c, why);
	return MILTER_CONV_OK;
}
