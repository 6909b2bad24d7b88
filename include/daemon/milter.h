/*
 * milter.h - the libmilter glue; filter/daemon/milter.c is the only file that
 * includes libmilter
 *
 * Each callback copies what the MTA sent into the connection's session,
 * calls the engine, and turns the engine's answer into SMFIS_* codes,
 * smfi_setreply, header edits and smfi_quarantine. No decision is taken
 * here. A failure of libmilter itself while answering (a header edit that
 * does not go through) becomes a tempfail: mail is never passed without
 * the changes policy asked for.
 */
#ifndef MILTER_H
#define MILTER_H

struct daemon;

/* milter_open - register with libmilter and open the listening socket from
 * the configuration; unix sockets get socket_mode/owner/group. Returns 0 or
 * -1 with the reason logged. */
int milter_open(struct daemon *d);
/* milter_run - serve connections (smfi_main); returns only if libmilter fails */
int milter_run(void);

#endif
