/*
 * engine_edits.h - the header edits the engine makes at end of message
 * (engine-internal)
 *
 * engine_eom() calls engine_edits_eom() once nothing has refused or
 * discarded the message, that is when it will be accepted or held for a
 * pending quarantine: it appends to S->msg.edits, which the milter applies
 * in list order and test mode prints (add-header rules append theirs
 * earlier, from engine_rules.c, when they fire).
 * Removals count fields by name from 1 and are listed from the highest index
 * down, so no removal renumbers the next one; insertions go on top (index 0).
 * A held message gets the same edits: it is delivered as is when released.
 *
 * This module writes no verdict slot (session.h); it only reads the results
 * engine_auth.c recorded.
 */
#ifndef ENGINE_EDITS_H
#define ENGINE_EDITS_H

struct session;

/*
 * engine_edits_eom - in this order:
 *  1. our Received-SPF (when SPF made one) on top (RFC 7208 9.1);
 *  2. the status header (status_header, when set): arriving copies removed,
 *     ours ("AUTHSERV-ID (gatehouse VERSION); session=ID") on top;
 *  3. arriving Authentication-Results and Received-SPF fields that claim our
 *     authserv-id removed (forgeries; RFC 8601 5), then, for inbound mail
 *     when the session has a resolver, our Authentication-Results on top.
 * GH_OK, or GH_ERR_NOMEM (some edits may already be in the list; the caller
 * answers with its internal error and the list is never applied).
 */
int engine_edits_eom(struct session *s);

#endif
