/*
 * notify.c - sd_notify messages (see notify.h)
 */
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "daemon/notify.h"

void notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void notify_stopping(long timeout_ms)
{
	/* A little over the drain bound: the summary lines and the exit
	 * come after it. */
	sd_notifyf(0, "STOPPING=1\nEXTEND_TIMEOUT_USEC=%lld",
		   (long long)(timeout_ms + 5000) * 1000);
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

long notify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return (long)(usec / 2000); /* half the interval, in ms */
}

void notify_status(const char *text)
{
	sd_notifyf(0, "STATUS=%s", text);
}
