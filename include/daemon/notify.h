/*
 * notify.h - tell systemd (Type=notify) what the daemon is doing
 *
 * READY=1 once the socket listens and the configuration, rules and DNS are
 * loaded; RELOADING=1 then READY=1 around a SIGHUP reload; STOPPING=1 and
 * EXTEND_TIMEOUT_USEC while draining; WATCHDOG=1 at half the unit's
 * WatchdogSec, only while the event loop, the workers and the DNS pump
 * answer (the caller checks). Outside systemd (no NOTIFY_SOCKET) every call
 * does nothing.
 */
#ifndef DAEMON_NOTIFY_H
#define DAEMON_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
/* notify_stopping - draining for up to TIMEOUT_MS: systemd waits that long */
void notify_stopping(long timeout_ms);
void notify_watchdog(void);
/* notify_watchdog_interval_ms - how often to send WATCHDOG=1; 0 when the
 * unit has no watchdog */
long notify_watchdog_interval_ms(void);
/* notify_status - a one-line STATUS= for systemctl status */
void notify_status(const char *text);

#endif
