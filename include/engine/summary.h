/*
 * summary.h - the one key=value line per message that admins grep for
 *
 * summary_log() writes "session=ID qid=QID ip=... helo=... from=... rcpts=...
 * nrcpt=N spf=... dkim=... dmarc=... rules=... checks=... action=... ms=N"
 * for the session's current message, at priority info. Keys are stable:
 * scripts and the integration suite read them.
 *
 * Threads: called on the connection's thread; formats into its own memory.
 */
#ifndef SUMMARY_H
#define SUMMARY_H

struct logger;
struct session;

/* summary_log - the summary line of S's current message */
void summary_log(const struct logger *log, const struct session *s);

#endif
