/*
 * outbound_spec.h - the words and value checks of the outbound directives
 *
 * The directive table (config_table.c) validates sender_*, internal_* and
 * dkim_* signing values with these at load, so a typo is a FILE:LINE error
 * of the configuration, not a surprise at the first message. The files the
 * directives name (maps, KeyTable, SigningTable, keys) are read by
 * filter/outbound/ when the snapshot is built (engine/snapshot.c).
 *
 * Threads and memory: pure functions and constant tables.
 */
#ifndef OUTBOUND_SPEC_H
#define OUTBOUND_SPEC_H

/* "reject", "tempfail", "unsigned" (accept, never sign) */
extern const char *const outbound_spec_action_words[];
/* outbound_spec_action_parse - enum gh_action (GH_ACT_CONTINUE for unsigned), -1 */
int outbound_spec_action_parse(const char *w);
/* "relaxed", "simple" */
extern const char *const outbound_spec_canon_words[];
/* outbound_spec_canon_parse - 1 relaxed, 0 simple, -1 unknown */
int outbound_spec_canon_parse(const char *w);
/* outbound_spec_check_path - "" or an absolute path */
const char *outbound_spec_check_path(const char *s);
/* outbound_spec_check_signing_table - "", "/PATH" or "refile:/PATH" */
const char *outbound_spec_check_signing_table(const char *s);
/* outbound_spec_check_headers - header field names separated by commas or spaces */
const char *outbound_spec_check_headers(const char *s);
/* outbound_spec_check_patterns - address patterns ("a@b", "@b", "*@b") or "" */
const char *outbound_spec_check_patterns(const char *s);

#endif
