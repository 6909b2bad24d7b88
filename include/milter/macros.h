/*
 * macros.h - the MTA's macros of one milter connection, per stage
 *
 * The MTA sends macros in a frame of their own before the command they
 * belong to, one list per stage (connect, HELO, MAIL, RCPT, DATA, end of
 * header, end of message). The semantics Postfix and Sendmail rely on, kept
 * from libmilter:
 *  - a new list for a stage replaces that stage's list;
 *  - CONNECT, HELO, MAIL and RCPT each clear the lists of every later stage
 *    (a second MAIL does not see the first message's RCPT or DATA macros);
 *    option negotiation and QUIT clear everything;
 *  - a lookup searches the stages from the last (end of header) back to
 *    connect, so the newest value wins, and "x" and "{x}" name the same
 *    one-letter macro.
 * Lists arrive already checked (wire.c: pairs, names bounded); the store
 * copies each list into one allocation of its own.
 *
 * Threads: one store per connection, used by one thread at a time.
 */
#ifndef MILTER_MACROS_H
#define MILTER_MACROS_H

#include <stdbool.h>
#include <stddef.h>

#include "milter/wire.h"

struct macro_list {
	char *mem;	    /* names and values, NUL-separated, owned */
	const char **pairs; /* into mem: name, value, name, value ... */
	size_t npairs;
};

struct macro_store {
	struct macro_list stage[WIRE_ST_COUNT];
};

/* macro_store_set - replace STAGE's list with the NPAIRS name/value PAIRS (copied); false on OOM */
bool macro_store_set(struct macro_store *ms, enum wire_stage stage, const char *const *pairs,
		     size_t npairs);
/* macro_store_clear_from - forget the lists of FIRST and every later stage */
void macro_store_clear_from(struct macro_store *ms, enum wire_stage first);
/* macro_store_get - the newest value of NAME ("i", "{i}", "{auth_authen}"), or NULL */
const char *macro_store_get(const struct macro_store *ms, const char *name);

#endif
