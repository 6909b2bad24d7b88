/*
 * detach.h - become a daemon only once the start has succeeded
 *
 * detach_start() forks before any thread exists. The parent waits: when the
 * child says it is ready (its socket open, configuration, rules and DNS
 * loaded, privileges dropped) the parent exits 0; when the child exits
 * first, the parent exits with the child's status, so `gatehouse` without
 * -f reports a failed start to whoever ran it (the child's errors went to
 * standard error, which it keeps until it is ready).
 */
#ifndef DAEMON_DETACH_H
#define DAEMON_DETACH_H

/* detach_start - fork; returns in the child only (the pipe to the parent),
 * or -1 when fork failed (still in the one process) */
int detach_start(void);
/* detach_done - the child is ready: new session, standard streams to
 * /dev/null, the parent told (and exits 0) */
void detach_done(int fd);

#endif
