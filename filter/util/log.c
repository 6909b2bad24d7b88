/*
 * log.c - logging with levels and session ids
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

#include "util/log.h"
#include "util/strbuf.h"

void log_init(struct logger *log, enum log_sink sink, int level, int facility)
{
	log->sink = sink;
	atomic_init(&log->level, level);
	log->facility = facility;
	log->fp = stderr;
	log->echo = NULL;
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
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* log_emit - write one finished line to the sink */
static void log_emit(const struct logger *log, int prio, const char *line)
{
	if (log->echo != NULL && prio <= LOG_WARNING && log->sink != LOG_SINK_STDERR)
		fprintf(log->echo, "gatehouse: %s: %s\n", prio_name(prio), line);
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
		fprintf(log->fp, "%s.%03ld gatehouse %s: %s\n", stamp, ts.tv_nsec / 1000000,
			prio_name(prio), line);
		fflush(log->fp);
		break;
	}
	case LOG_SINK_NONE:
		break;
	}
}

static bool log_enabled(const struct logger *log, int prio)
{
	return log != NULL && log->sink != LOG_SINK_NONE &&
	       prio <= atomic_load_explicit(&log->level, memory_order_relaxed);
}

void log_ids_prefix(struct strbuf *sb, const char *id, const char *qid)
{
	strbuf_puts(sb, "session=");
	strbuf_puts(sb, id ? id : "-");
	if (qid != NULL)
		log_kv(sb, "qid", qid);
}

/* log_vline - format FMT, escape control characters (a value from the
 * network stays on one line), prefix the session and queue ids when ID is
 * given, and emit */
static void log_vline(const struct logger *log, const char *id, const char *qid, int prio,
		      const char *fmt, va_list ap)
{
	struct strbuf sb;
	char *text;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	strbuf_init(&sb);
	if (id != NULL) {
		log_ids_prefix(&sb, id, qid);
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
	log_vline(log, NULL, NULL, prio, fmt, ap);
	va_end(ap);
}

/* needs_quotes - a value with spaces, quotes, '=' or nothing at all is quoted */
static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '=' || *v == '\\' || (unsigned char)*v < 0x20 ||
		    *v == 0x7f)
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

void log_vids(const struct logger *log, const char *id, const char *qid, int prio, const char *fmt,
	      va_list ap)
{
	if (log_enabled(log, prio))
		log_vline(log, id, qid, prio, fmt, ap);
}

void log_line(const struct logger *log, int prio, const char *line)
{
	if (log_enabled(log, prio))
		log_emit(log, prio, line);
}

bool log_wants(const struct logger *log, int prio)
{
	return log_enabled(log, prio);
}

int log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "err", LOG_ERR },	  { "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(levels[i].name, name) == 0)
			return levels[i].level;
	return -1;
}

int log_facility_parse(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} facs[] = {
		{ "mail", LOG_MAIL },	  { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(facs) / sizeof(facs[0]); i++)
		if (strcasecmp(facs[i].name, name) == 0)
			return facs[i].fac;
	return -1;
}
