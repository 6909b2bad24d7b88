/*
 * writable.h - the files the daemon writes while it runs, checked at start
 *
 * dmarc_report_db (the SQLite file, and its directory for the WAL and the
 * journal) and metrics_textfile (a temporary file renamed over it in its
 * directory) are written by threads that only log a failure, at most once
 * a minute: mail never waits for them. A directory that is missing, not
 * writable by the daemon's user, or read-only in the systemd unit's
 * sandbox (ProtectSystem=strict) would then lose every record or every
 * metrics write, with nothing at start to say so. writable_check() says
 * so: `gatehouse -n` prints it (the unit's ExecStartPre runs it as the
 * unit's user, inside its sandbox) and the daemon logs it once its
 * privileges are dropped. A warning, not an error: a report store or a
 * metrics file is no reason to stop mail.
 *
 * Threads and memory: none kept; the warnings are appended to WARNS.
 */
#ifndef DAEMON_WRITABLE_H
#define DAEMON_WRITABLE_H

struct config;
struct diag;

/* writable_check - one line in WARNS per file of C this process could not
 * write ("DIRECTIVE = PATH: ..., why, and what is lost") */
void writable_check(const struct config *c, struct diag *warns);

#endif
