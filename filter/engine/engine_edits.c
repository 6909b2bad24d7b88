/*
 * engine_edits.c - header edits at end of message (see engine_edits.h)
 *
 * Contract: appends to S->msg.edits only, through session_add_edit(); reads
 * the arriving header and the recorded results; writes no verdict slot.
 */
#include <string.h>
#include <strings.h>

#include "auth/authres.h"
#include "conf/config.h"
#include "engine/engine_edits.h"
#include "engine/sanity.h"
#include "engine/session.h"
#include "util/arena.h"
#include "util/gh.h"
#include "util/log.h"

/* engine_status_edits - remove arriving copies of our status header (from
 * the highest index down, so removing one does not renumber the next), then
 * put ours on top: on inbound mail, and on outbound mail only when
 * status_header_outbound asks (it names this host and a session id, which
 * need not leave the site) */
static int engine_status_edits(struct session *s)
{
	const char *name = s->cfg->status_header;
	unsigned count = 0;
	const char *value;

	if (name == NULL || *name == '\0')
		return GH_OK;
	for (size_t i = 0; i < s->msg.nheaders; i++)
		if (sanity_is_header(s->msg.headers[i].name, name))
			count++;
	for (unsigned idx = count; idx >= 1; idx--)
		if (session_add_edit(s, HDR_REMOVE, name, NULL, idx) != GH_OK)
			return GH_ERR_NOMEM;
	if (s->msg.outbound && !s->cfg->status_header_outbound)
		return GH_OK;
	value = arena_printf(s->msg_arena, "%s (gatehouse %s); session=%s", s->cfg->authserv_id,
			     GH_VERSION, s->msg.id);
	if (value == NULL)
		return GH_ERR_NOMEM;
	return session_add_edit(s, HDR_INSERT, name, value, 0);
}

/* engine_remove_claims - delete the incoming NAME fields that CLAIMS says
 * claim our authserv-id, in any form; from the highest index down, so no
 * deletion renumbers the next (the bug class of CVE-2022-48521) */
static int engine_remove_claims(struct session *s, const char *name,
				bool (*claims)(struct arena *, const char *, size_t, const char *))
{
	struct message *m = &s->msg;
	const char *id = s->cfg->authserv_id;
	unsigned idx = 0, *forged = NULL;
	size_t nforged = 0, cap = 0;

	for (size_t i = 0; i < m->nheaders; i++) {
		if (!sanity_is_header(m->headers[i].name, name))
			continue;
		idx++;
		if (!claims(s->msg_arena, m->headers[i].value, m->headers[i].value_len, id))
			continue; /* someone else's: kept */
		if (nforged == cap &&
		    (forged = arena_grow(s->msg_arena, forged, &cap, sizeof(*forged))) == NULL)
			return GH_ERR_NOMEM;
		forged[nforged++] = idx;
	}
	for (size_t k = nforged; k > 0; k--)
		if (session_add_edit(s, HDR_REMOVE, name, NULL, forged[k - 1]) != GH_OK)
			return GH_ERR_NOMEM;
	if (nforged > 0)
		session_log(s->log, s, LOG_NOTICE, "removed %zu %s field(s) claiming to be from %s",
			    nforged, name, id);
	return GH_OK;
}

/* engine_authres_edits - forged Authentication-Results and Received-SPF
 * out, ours in (inbound only) */
static int engine_authres_edits(struct session *s)
{
	struct message *m = &s->msg;
	struct authres_input in;
	const char **vals;
	size_t nvals;

	if (engine_remove_claims(s, "Authentication-Results", authres_claims) != GH_OK ||
	    engine_remove_claims(s, "Received-SPF", authres_received_spf_claims) != GH_OK)
		return GH_ERR_NOMEM;
	/* Ours only for inbound mail, and only where checks could run at
	 * all (a resolver): the daemon and test mode always have one. */
	if (m->outbound || s->dns == NULL)
		return GH_OK;
	in = (struct authres_input){
		.authserv_id = s->cfg->authserv_id,
		.r = &m->results,
		.mailfrom = m->from_parsed && !m->from.is_null ? m->from.addr : NULL,
		.helo = s->helo,
	};
	if (authres_build(s->msg_arena, &in, &vals, &nvals) != 0)
		return GH_ERR_NOMEM;
	for (size_t k = nvals; k > 0; k--)
		if (session_add_edit(s, HDR_INSERT, "Authentication-Results", vals[k - 1], 0) !=
		    GH_OK)
			return GH_ERR_NOMEM;
	return GH_OK;
}

/* engine_spf_edits - our Received-SPF on top (RFC 7208 9.1: prepended) */
static int engine_spf_edits(struct session *s)
{
	if (s->msg.received_spf == NULL)
		return GH_OK;
	return session_add_edit(s, HDR_INSERT, "Received-SPF", s->msg.received_spf, 0);
}

int engine_edits_eom(struct session *s)
{
	if (engine_spf_edits(s) != GH_OK || engine_status_edits(s) != GH_OK ||
	    engine_authres_edits(s) != GH_OK)
		return GH_ERR_NOMEM;
	return GH_OK;
}
