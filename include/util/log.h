/*
 * log.h - the one logging module: levels, sinks, session ids, summaries
 *
 * Lines go to syslog or to stderr (foreground and test mode), chosen once
 * when the logger is built. Every line about a connection carries its session
 * id and, once the MTA has sent it, the queue id (the engine passes them in:
 * see session_log() and summary_log(), which build on log_vids()). The module
 * knows nothing of sessions or messages.
 *
 * Values are escaped before they reach a log line: a value from the network
 * cannot inject a newline, a fake key or a control character.
 *
 * Threads: a struct logger is shared; only its level changes after log_init
 * (atomically, on reload); every call formats into its own memory.
 */
#ifndef LOG_H
#define LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

#include <stdarg.h>

struct strbuf;

enum log_sink { LOG_SINK_SYSLOG, LOG_SINK_STDERR, LOG_SINK_NONE };

struct logger {
	enum log_sink sink;
	atomic_int level; /* highest priority written; atomic: a reload changes it */
	int facility;
	FILE *fp;   /* for LOG_SINK_STDERR (tests may point it elsewhere) */
	FILE *echo; /* when set, warnings and errors go here too: a daemon that
		     * has not detached yet reports a failed start on stderr */
};

/* log_init - set up LOG; opens syslog for LOG_SINK_SYSLOG */
void log_init(struct logger *log, enum log_sink sink, int level, int facility);
/* log_set_level - change the level (on reload, before threads read it again) */
void log_set_level(struct logger *log, int level);
/* log_msg - a daemon-level line (no session) */
void log_msg(const struct logger *log, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* log_vids - a line "session=ID qid=QID <text>" (QID may be NULL) */
void log_vids(const struct logger *log, const char *id, const char *qid, int prio, const char *fmt,
	      va_list ap) __attribute__((format(printf, 5, 0)));
/* log_ids_prefix - append "session=ID" and, when QID is given, " qid=QID" to SB */
void log_ids_prefix(struct strbuf *sb, const char *id, const char *qid);
/* log_line - emit a finished LINE as it is (the caller escaped its values) */
void log_line(const struct logger *log, int prio, const char *line);
/* log_wants - whether a line of priority PRIO would be written */
bool log_wants(const struct logger *log, int prio);

/* log_kv - append " KEY=VALUE" to SB, quoting and escaping VALUE as needed */
void log_kv(struct strbuf *sb, const char *key, const char *value);

/* log_level_parse - "err", "warning", "notice", "info", "debug" -> LOG_*; -1 if unknown */
int log_level_parse(const char *name);
/* log_facility_parse - "mail", "daemon", "local0".."local7" -> LOG_*; -1 if unknown */
int log_facility_parse(const char *name);

#endif
