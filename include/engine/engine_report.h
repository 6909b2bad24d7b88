/*
 * engine_report.h - a message's DMARC evaluation into the aggregate-report
 * recorder (report/report_recorder.h) at the message's end
 *
 * Called by engine.c whenever a message's final verdict is taken (every
 * eom path goes through engine_finish). Recorded: a message DMARC
 * evaluated to pass or fail under a published record, whatever the
 * verdict (accepted, quarantined, discarded or refused at eom), with the
 * disposition applied and, where that differs from what the domain asked,
 * RFC 9990's reason. Not recorded: no recorder configured, no record
 * found, temperror (no outcome to report), a tempfailed message (the
 * sender retries and it is evaluated again), and mail whose From: is
 * dmarc_report_email (no report about the report mail). Once per message.
 * It never fails the message: without memory or queue room the entry is
 * dropped and counted by the recorder.
 */
#ifndef ENGINE_REPORT_H
#define ENGINE_REPORT_H

struct session;

/* engine_report_eom - record S's current message, if it qualifies */
void engine_report_eom(struct session *s);

#endif
