/*
 * session.c - per-connection and per-message state (see session.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dkim.h"
#include "conf/config.h"
#include "engine/engine_metrics.h"
#include "engine/engine_outbound.h"
#include "engine/session.h"
#include "engine/summary.h"
#include "mail/mime.h"
#include "rules/rule.h"
#include "util/arena.h"
#include "util/gh.h"
#include "util/log.h"

struct session *session_new(const char *id, struct config_slot *slot, struct config *cfg,
			    const struct logger *log)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->conn_arena = arena_new();
	s->msg_arena = arena_new();
	if (s->conn_arena == NULL || s->msg_arena == NULL) {
		arena_free(s->conn_arena);
		arena_free(s->msg_arena);
		free(s);
		return NULL;
	}
	strncpy(s->id, id, sizeof(s->id) - 1);
	s->slot = slot;
	s->cfg = slot != NULL ? config_slot_get(slot) : cfg;
	s->log = log;
	s->client_ip = "unknown";
	s->client_host = "unknown";
	/* HELO-phase checks ask DNS before any message starts. */
	dns_budget_start(&s->dns_budget, s->cfg->dns_budget_ms);
	return s;
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->msg.active)
		session_message_end(s, "closed");
	config_unref(s->cfg);
	rule_scratch_free(s->rule_scratch);
	arena_free(s->msg_arena);
	arena_free(s->conn_arena);
	free(s);
}

int session_message_begin(struct session *s)
{
	if (s->msg.active)
		session_message_end(s, "new-mail");
	/* A message runs on the snapshot current when it starts. */
	if (s->slot != NULL) {
		struct config *fresh = config_slot_get(s->slot);

		config_unref(s->cfg);
		s->cfg = fresh;
	}
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.active = true;
	s->msg.seq = ++s->msg_count;
	snprintf(s->msg.id, sizeof(s->msg.id), "%s.%u", s->id, s->msg.seq);
	/* Rules decided for the connection belong to each of its messages. */
	if (s->nconn_hits > 0) {
		s->msg.results.rules = arena_alloc(s->msg_arena,
						   s->nconn_hits * sizeof(*s->conn_hits));
		if (s->msg.results.rules == NULL)
			return GH_ERR_NOMEM;
		memcpy(s->msg.results.rules, s->conn_hits, s->nconn_hits * sizeof(*s->conn_hits));
		s->msg.results.nrules = s->msg.results.rules_cap = s->nconn_hits;
	}
	dns_budget_start(&s->dns_budget, s->cfg->dns_budget_ms);
	clock_gettime(CLOCK_MONOTONIC, &s->msg.start);
	return GH_OK;
}

void session_message_end(struct session *s, const char *end_state)
{
	if (!s->msg.active)
		return;
	s->msg.end_state = end_state;
	if (!s->msg.logged) {
		engine_metrics_message(s->metrics, s); /* once per message: with its summary */
		summary_log(s->log, s);
	}
	dkim_msg_free(s->msg.dkim);
	engine_outbound_msg_free(s->msg.obm);
	mime_walk_free(s->msg.mime);
	strbuf_free(&s->msg.raw_body);
	memset(&s->msg, 0, sizeof(s->msg));
	memset(&s->reply, 0, sizeof(s->reply));
	arena_reset(s->msg_arena);
}

void session_message_end_log(struct session *s)
{
	if (!s->msg.active || s->msg.logged)
		return;
	engine_metrics_message(s->metrics, s);
	summary_log(s->log, s);
	s->msg.logged = true;
}

const char *session_log_id(const struct session *s)
{
	return s->msg.active ? s->msg.id : s->id;
}

const char *session_log_qid(const struct session *s)
{
	return s->msg.active ? s->msg.qid : NULL;
}

void session_log(const struct logger *log, const struct session *s, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vids(log, session_log_id(s), session_log_qid(s), prio, fmt, ap);
	va_end(ap);
}

long session_elapsed_ms(const struct session *s)
{
	struct timespec now;

	if (s->msg.start.tv_sec == 0 && s->msg.start.tv_nsec == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - s->msg.start.tv_sec) * 1000 +
	       (now.tv_nsec - s->msg.start.tv_nsec) / 1000000;
}

void session_set_qid(struct session *s, const char *qid)
{
	if (!s->msg.active || qid == NULL || *qid == '\0')
		return;
	if (s->msg.qid != NULL && strcmp(s->msg.qid, qid) == 0)
		return;
	s->msg.qid = arena_strdup(s->msg_arena, qid);
}

/* GROW - make room for one more element in a message array */
#define GROW(s, arr, n, cap) \
	((n) < (cap) || ((arr) = arena_grow((s)->msg_arena, (arr), &(cap), sizeof(*(arr)))) != NULL)

int session_add_rcpt(struct session *s, const struct address *a)
{
	struct message *m = &s->msg;

	if (!GROW(s, m->rcpts, m->nrcpts, m->rcpts_cap))
		return GH_ERR_NOMEM;
	m->rcpts[m->nrcpts++] = *a;
	return GH_OK;
}

int session_add_header(struct session *s, const char *name, const char *value, size_t value_len,
		       bool space)
{
	struct message *m = &s->msg;
	struct header_field *h;

	if (!GROW(s, m->headers, m->nheaders, m->headers_cap))
		return GH_ERR_NOMEM;
	h = &m->headers[m->nheaders];
	h->name = arena_strdup(s->msg_arena, name);
	h->value = arena_memdup(s->msg_arena, value, value_len);
	h->value_len = value_len;
	h->space = space;
	if (h->name == NULL || h->value == NULL)
		return GH_ERR_NOMEM;
	m->nheaders++;
	return GH_OK;
}

int session_add_edit(struct session *s, enum hdr_edit_op op, const char *name, const char *value,
		     unsigned index)
{
	struct message *m = &s->msg;
	struct hdr_edit e = { .op = op, .index = index };
	size_t at = m->nedits;

	e.name = arena_strdup(s->msg_arena, name);
	e.value = value ? arena_strdup(s->msg_arena, value) : NULL;
	if (e.name == NULL || (value != NULL && e.value == NULL) ||
	    !GROW(s, m->edits, m->nedits, m->edits_cap))
		return GH_ERR_NOMEM;
	/* A change or removal goes before every insertion: its index counts
	 * the fields as they arrived, and both MTAs count a field we inserted
	 * when they look one up by name and index. Our Received-SPF inserted
	 * first made "remove the forged Received-SPF #1" remove ours. */
	if (op == HDR_CHANGE || op == HDR_REMOVE) {
		while (at > 0 &&
		       (m->edits[at - 1].op == HDR_ADD || m->edits[at - 1].op == HDR_INSERT))
			at--;
		memmove(&m->edits[at + 1], &m->edits[at], (m->nedits - at) * sizeof(*m->edits));
	}
	m->edits[at] = e;
	m->nedits++;
	return GH_OK;
}

int session_author(struct session *s, struct author *out)
{
	struct message *m = &s->msg;
	int rc;

	if (m->author_known) {
		*out = m->author;
		return GH_OK;
	}
	/* GMime's parse of the From, three times per message, was 6% of
	 * gatehouse's CPU behind Postfix; before the header is complete a
	 * later From could still change the answer, so it is not kept */
	rc = author_find(m->headers, m->nheaders, s->msg_arena, out);
	if (rc == GH_OK && m->eoh_seen) {
		m->author = *out;
		m->author_known = true;
	}
	return rc;
}

int session_add_check(struct session *s, const char *name, const char *result, const char *detail)
{
	struct results *r = &s->msg.results;
	struct check_record *c;

	if (!GROW(s, r->checks, r->nchecks, r->checks_cap))
		return GH_ERR_NOMEM;
	c = &r->checks[r->nchecks];
	c->name = name;
	c->result = result;
	c->detail = detail ? arena_strdup(s->msg_arena, detail) : NULL;
	if (detail != NULL && c->detail == NULL)
		return GH_ERR_NOMEM;
	r->nchecks++;
	return GH_OK;
}
