/*
 * sanity.h - is the message well-formed enough to be judged at all?
 *
 * Checks of one header field as it arrives (NUL bytes, field name, physical
 * line length, field count, total size) and of the header as a whole at its
 * end (exactly which From fields there are). They record a check result in
 * the message and report a fault; what the fault means is policy's call.
 */
#ifndef SANITY_H
#define SANITY_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/policy.h"

struct session;

/* SANITY_OK - no fault (a value outside enum policy_fault) */
#define SANITY_OK (-1)

/* sanity_header - check one field before it is stored (SPACE: one SP
 * stood after the colon, struct header_field); returns a fault or
 * SANITY_OK, with *DETAIL set to a short explanation in the message arena */
int sanity_header(struct session *, const char *name, const char *value, size_t len, bool space,
		  const char **detail);
/* sanity_eoh - check the header as a whole */
int sanity_eoh(struct session *, const char **detail);
/* sanity_is_header - NAME equals WANT, ignoring ASCII case (field names are case-insensitive) */
bool sanity_is_header(const char *name, const char *want);

#endif
