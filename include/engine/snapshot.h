/*
 * snapshot.h - a whole configuration snapshot: directives, rules, and the
 * outbound tables that layers above conf/ read
 *
 * conf/ builds the snapshot from the directive table and compiles the rules
 * (rules/ sits below conf/), but the login maps, the DKIM key and signing
 * tables and the keys are read by outbound/, which sits above conf/ and
 * reads the directives itself. Rather than an upward edge conf -> outbound
 * (a cycle, since outbound reads struct config), the snapshot carries them
 * as an opaque pointer with its own free function, and this loader, in the
 * engine (which may include both), fills it. Every caller that loads a
 * configuration for mail (the daemon at start and on SIGHUP, test mode,
 * dkim-check) calls snapshot_load(), so a map or key that fails to load
 * fails the (re)load with FILE:LINE, and the running snapshot stays.
 *
 * Threads: as config_load(). Memory: as config_load(); the tables die with
 * the snapshot's last reference.
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

struct config;
struct diag;

/* snapshot_load - config_load(PATH) plus the outbound tables; NULL with every
 * error in ERRS; warnings (key file modes, small keys) in WARNS (may be NULL) */
struct config *snapshot_load(const char *path, struct diag *errs, struct diag *warns);

#endif
