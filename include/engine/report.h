/*
 * report.h - one message's checks and verdict, for people and for programs
 *
 * Test mode prints this after running a message through the engine. The
 * JSON form has stable keys that scripts and later issues rely on: verdict,
 * spf, dkim, dmarc, rules, headers_added, headers_removed (plus envelope,
 * checks and headers_changed). Checks that did not run are null, never
 * "none". Strings are escaped by jansson, never by hand.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "mail/verdict.h"

struct session;

/* One RCPT as test mode sent it and how the engine answered it. */
struct report_rcpt {
	const char *address;
	struct verdict reply; /* CONTINUE: accepted */
};

/* report_json - the report as a new JSON object (caller json_decref's); NULL on OOM */
json_t *report_json(const struct session *s, const struct verdict *final,
		    const struct report_rcpt *rcpts, size_t nrcpts);
/* report_text - the same for a terminal */
void report_text(FILE *fp, const struct session *s, const struct verdict *final,
		 const struct report_rcpt *rcpts, size_t nrcpts);

#endif
