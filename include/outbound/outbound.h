/*
 * outbound.h - the outbound policy's tables, built once per snapshot, and
 * the sender identity check
 *
 * outbound_tables_build() reads what the snapshot's directives name: the
 * login maps (both formats), the KeyTable and SigningTable with every key,
 * the signed and oversigned header lists (oversigned must be signed, From
 * always is), internal_allowed_from and outbound_daemon_names. The result
 * hangs off struct config (an opaque pointer with its own free function),
 * so SIGHUP swaps maps and keys together with everything else; a file that
 * fails to load fails the reload with FILE:LINE and the old snapshot stays.
 *
 * outbound_identity() decides whether LOGIN may use ADDR (or, without a
 * login, whether internal mail may) and says which line decided.
 *
 * Threads: read-only once built. Memory: outbound_tables_free() frees all.
 */
#ifndef OUTBOUND_OUTBOUND_H
#define OUTBOUND_OUTBOUND_H

#include <stdbool.h>

#include "outbound/login_map.h"

struct config;
struct diag;
struct dkim_tables;

struct outbound_tables {
	struct login_map *logins;   /* NULL: no map configured */
	struct login_map *internal; /* internal_allowed_from; NULL: unchecked */
	struct dkim_tables *dkim;   /* NULL: no signing */
	char **sign_headers;	    /* NULL-terminated */
	char **oversign_headers;
	char **daemon_names;
};

/* outbound_tables_build - from snapshot C; NULL with FILE:LINE errors in ERRS
 * (warnings, e.g. key file modes, in WARNS) */
struct outbound_tables *outbound_tables_build(const struct config *c, struct diag *errs,
					      struct diag *warns);
/* outbound_tables_free - accepts NULL */
void outbound_tables_free(struct outbound_tables *t);

enum outbound_identity_result {
	OUTBOUND_ID_PASS, /* the login (or internal mail) may use the address */
	OUTBOUND_ID_FAIL, /* it may not */
	OUTBOUND_ID_NONE  /* nothing to check against (no map, no list) */
};

/* outbound_identity - may LOGIN (NULL: internal mail) use ADDR? WHY names
 * the deciding line, or says "login is the address" */
enum outbound_identity_result outbound_identity(const struct outbound_tables *t,
						const struct config *c, const char *login,
						const char *addr, struct login_map_why *why);
/* outbound_daemon_is_outbound - NAME is one of outbound_daemon_names */
bool outbound_daemon_is_outbound(const struct outbound_tables *t, const char *name);

#endif
