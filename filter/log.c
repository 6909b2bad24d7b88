/*
 * log.c - logging with levels, session ids and one summary per message
 * (see log.h)
 *
 * Lines are assembled in a strbuf, never a fixed buffer: a header value or
 * an address from the network can be long, and a truncated log line hides
 * exactly the evidence an admin needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "results.h"
#include "session.h"
#include "strbuf.h"

void log_init(struct logger *log, enum log_sink sink, int level, int facility)
{
	log->sink = sink;
	atomic_init(&log->level, level);
	log->facility = facility;
	log->fp = stderr;
	if (sink == LOG_SINK_SYSLOG)
		openlog("gatehouse", LOG_PID | LOG_NDELAY, facility);
}

void log_set_level(struct logger *log, int level)
{
	atomic_store_explicit(&log->level, level, memory_order_relaxed);
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

/* log_emit - write one finished line to the sink */
static void log_emit(const struct logger *log, int prio, const char *line)
{
	switch (log->sink) {
	case LOG_SINK_SYSLOG:
		syslog(prio, "%s", line);
		break;
	case LOG_SINK_STDERR: {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		/* One fprintf per line: stdio locks the stream, so lines from
		 * different connections do not interleave. */
		fprintf(log->fp, "%s.%03ld gatehouse %s: %s\n", stamp,
			ts.tv_nsec / 1000000, prio_name(prio), line);
		fflush(log->fp);
		break;
	}
	case LOG_SINK_NONE:
		break;
	}
}

static bool log_enabled(const struct logger *log, int prio)
{
	return log != NULL && log->sink != LOG_SINK_NONE && prio <= atomic_load_explicit(&log->level, memory_order_relaxed);
}

/* log_prefix - "session=ID" and, once known, " qid=QID" */
static void log_prefix(struct strbuf *sb, const struct session *s)
{
	strbuf_puts(sb, "session=");
	strbuf_puts(sb, s->msg.active ? s->msg.id : s->id);
	if (s->msg.active && s->msg.qid != NULL)
		log_kv(sb, "qid", s->msg.qid);
}

/* log_vline - format FMT, escape control characters (a value from the
 * network stays on one line), prefix S's ids when S is given, and emit */
static void log_vline(const struct logger *log, const struct session *s, int prio,
		      const char *fmt, va_list ap)
{
	struct strbuf sb;
	char *text;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	strbuf_init(&sb);
	if (s != NULL) {
		log_prefix(&sb, s);
		strbuf_putc(&sb, ' ');
	}
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			strbuf_printf(&sb, "\\x%02x", c);
		else
			strbuf_putc(&sb, (char)c);
	}
	log_emit(log, prio, strbuf_cstr(&sb));
	strbuf_free(&sb);
	free(text);
}

void log_msg(const struct logger *log, int prio, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(log, prio))
		return;
	va_start(ap, fmt);
	log_vline(log, NULL, prio, fmt, ap);
	va_end(ap);
}

/* needs_quotes - a value with spaces, quotes, '=' or nothing at all is quoted */
static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '=' || *v == '\\' ||
		    (unsigned char)*v < 0x20 || *v == 0x7f)
			return true;
	return false;
}

void log_kv(struct strbuf *sb, const char *key, const char *value)
{
	if (value == NULL)
		value = "-";
	strbuf_printf(sb, " %s=", key);
	if (!needs_quotes(value)) {
		strbuf_puts(sb, value);
		return;
	}
	strbuf_putc(sb, '"');
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			strbuf_putc(sb, '\\');
			strbuf_putc(sb, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			strbuf_printf(sb, "\\x%02x", c);
		} else {
			strbuf_putc(sb, (char)c);
		}
	}
	strbuf_putc(sb, '"');
}


void log_sess(const struct logger *log, const struct session *s, int prio,
	      const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(log, prio))
		return;
	va_start(ap, fmt);
	log_vline(log, s, prio, fmt, ap);
	va_end(ap);
}

/* log_results - spf, dkim, dmarc, rules and sanity checks as key=value */
static void log_results(struct strbuf *sb, const struct results *r)
{
	struct strbuf v;

	log_kv(sb, "spf_helo", ar_result_name(r->spf_helo.result));
	log_kv(sb, "spf", ar_result_name(r->spf_mailfrom.result));
	strbuf_init(&v);
	for (size_t i = 0; i < r->ndkim; i++)
		strbuf_printf(&v, "%s%s:%s", i ? "," : "",
			      r->dkim[i].domain ? r->dkim[i].domain : "?",
			      ar_result_name(r->dkim[i].result) ? ar_result_name(r->dkim[i].result) : "-");
	log_kv(sb, "dkim", r->ndkim ? strbuf_cstr(&v) : NULL);
	log_kv(sb, "dmarc", ar_result_name(r->dmarc.result));
	strbuf_reset(&v);
	for (size_t i = 0; i < r->nrules; i++)
		strbuf_printf(&v, "%s%s", i ? "," : "", r->rules[i].name);
	log_kv(sb, "rules", r->nrules ? strbuf_cstr(&v) : NULL);
	strbuf_reset(&v);
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].result, "pass") != 0)
			strbuf_printf(&v, "%s%s:%s", v.len ? "," : "", r->checks[i].name,
				      r->checks[i].result);
	log_kv(sb, "checks", v.len ? strbuf_cstr(&v) : NULL);
	strbuf_free(&v);
}

void log_summary(const struct logger *log, const struct session *s)
{
	const struct message *m = &s->msg;
	const struct verdict *v = &m->verdict;
	struct strbuf sb, rc;

	if (!log_enabled(log, LOG_INFO))
		return;
	strbuf_init(&sb);
	strbuf_init(&rc);
	log_prefix(&sb, s);
	log_kv(&sb, "ip", s->client_ip);
	log_kv(&sb, "helo", s->helo);
	if (m->auth_login != NULL)
		log_kv(&sb, "auth", m->auth_login);
	log_kv(&sb, "from", m->from_parsed ? (m->from.is_null ? "<>" : m->from.addr) : NULL);
	for (size_t i = 0; i < m->nrcpts; i++)
		strbuf_printf(&rc, "%s%s", i ? "," : "", m->rcpts[i].addr);
	log_kv(&sb, "rcpts", m->nrcpts ? strbuf_cstr(&rc) : NULL);
	strbuf_printf(&sb, " nrcpt=%zu", m->nrcpts);
	if (m->rcpts_rejected)
		strbuf_printf(&sb, " rcpt_refused=%u", m->rcpts_rejected);
	strbuf_printf(&sb, " size=%zu+%llu", m->header_bytes,
		      (unsigned long long)m->body_bytes);
	log_results(&sb, &m->results);
	log_kv(&sb, "action", v->action == GH_ACT_CONTINUE ? (m->end_state &&
	       strcmp(m->end_state, "eom") == 0 ? "accept" : m->end_state) :
	       verdict_action_name(v->action));
	if (v->action != GH_ACT_CONTINUE) {
		log_kv(&sb, "phase", verdict_phase_name(v->phase));
		if (v->smtp_code[0])
			strbuf_printf(&sb, " code=%s ecode=%s", v->smtp_code, v->enhanced_code);
		if (v->source)
			log_kv(&sb, "by", v->source);
		if (v->reason)
			log_kv(&sb, "reason", v->reason);
	}
	strbuf_printf(&sb, " ms=%ld", session_elapsed_ms(s));
	log_emit(log, LOG_INFO, sb.failed ? "summary line lost: out of memory" : strbuf_cstr(&sb));
	strbuf_free(&rc);
	strbuf_free(&sb);
}

int log_level_parse(const char *name)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(levels[i].name, name) == 0)
			return levels[i].level;
	return -1;
}

int log_facility_parse(const char *name)
{
	static const struct { const char *name; int fac; } facs[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(facs) / sizeof(facs[0]); i++)
		if (strcasecmp(facs[i].name, name) == 0)
			return facs[i].fac;
	return -1;
}
