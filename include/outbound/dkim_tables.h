/*
 * dkim_tables.h - OpenDKIM's KeyTable and SigningTable, read as they are
 *
 * So an OpenDKIM setup moves over by pointing gatehouse at the same files:
 *  - KeyTable: "KEYNAME  domain:selector:/path/to/key[:algorithm]" (the
 *    fourth field, "rsa-sha256" or "ed25519-sha256", is checked against the
 *    key; without it the key's type decides). A relative path is relative to
 *    the table's directory. Every key is loaded and checked at load time
 *    (dkim_key.h), so a bad key fails the reload, not the mail.
 *  - SigningTable: "PATTERN  KEYNAME[, KEYNAME...]". With "refile:" the
 *    patterns are globs ('*') matched against the address in file order;
 *    without, lookups go as OpenDKIM's do: "user@host.domain",
 *    "host.domain", then for each parent domain "user@.parent" and
 *    ".parent", then "user@*" and "*". The first line found decides; two key
 *    names on it (one RSA, one Ed25519) sign twice (dual signing).
 * Unlike OpenDKIM, the address looked up is the one the identity check
 * accepted for the login, never the header From on its own: see
 * engine_outbound.c.
 *
 * Threads: built once per configuration snapshot, then read-only.
 * Memory: the tables own keys and patterns; dkim_tables_free() frees them.
 */
#ifndef OUTBOUND_DKIM_TABLES_H
#define OUTBOUND_DKIM_TABLES_H

#include <stddef.h>

#include "outbound/dkim_key.h"

struct diag;

#define DKIM_TABLES_MAX_KEYS 4 /* signatures per message */

struct dkim_tables;

/* dkim_tables_load - KEYTABLE, then SIGNTABLE ("refile:PATH" or PATH); keys
 * of at least MIN_BITS; NULL with FILE:LINE errors in ERRS, warnings (key
 * file modes, small keys) in WARNS */
struct dkim_tables *dkim_tables_load(const char *keytable, const char *signtable, long min_bits,
				     struct diag *errs, struct diag *warns);
/* dkim_tables_parse - the same from text, keys not loaded from disk unless
 * LOAD_KEYS (unit tests, fuzzing); NULL on errors */
struct dkim_tables *dkim_tables_parse(const char *kt_name, const char *kt_text, size_t kt_len,
				      const char *st_name, const char *st_text, size_t st_len,
				      int refile, int load_keys, long min_bits, struct diag *errs,
				      struct diag *warns);
/* dkim_tables_free - accepts NULL */
void dkim_tables_free(struct dkim_tables *t);
/* dkim_tables_lookup - the keys that sign mail from ADDR ("local@domain"),
 * at most DKIM_TABLES_MAX_KEYS into OUT; returns how many (0: not signed) */
size_t dkim_tables_lookup(const struct dkim_tables *t, const char *addr,
			  const struct dkim_key **out);
/* dkim_tables_nkeys, dkim_tables_key - every key of the KeyTable, in order */
size_t dkim_tables_nkeys(const struct dkim_tables *t);
const struct dkim_key *dkim_tables_key(const struct dkim_tables *t, size_t i);

#endif
