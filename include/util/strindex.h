/*
 * strindex.h - a string -> entry index for tables loaded once, looked up often
 *
 * Tables read from files (login maps, the DKIM KeyTable and SigningTable)
 * keep their entries in an array in file order, because the first line
 * found decides. A strindex finds a key's entries without a pass over that
 * array, so a lookup costs the same with ten lines or a million. Each
 * distinct key maps to the first and the last entry added under it; a table
 * with several entries per key chains them in file order through its own
 * entries (strindex_add tells it the previous one).
 *
 * Keys are borrowed: each must stay alive and unchanged as long as the index
 * (the tables own them beside their entries). Comparison is byte for byte;
 * tables fold case before they add or look up.
 *
 * Threads: built by one thread, then read-only and safe to share.
 * Memory: strindex_clear() frees the slots, never the keys. A zeroed struct
 * is an empty index.
 */
#ifndef UTIL_STRINDEX_H
#define UTIL_STRINDEX_H

#include <stddef.h>
#include <stdint.h>

#define STRINDEX_NONE SIZE_MAX

struct strindex_slot;

struct strindex {
	struct strindex_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;   /* distinct keys */
};

/* strindex_add - add entry IDX under KEY; *PREV (may be NULL) gets the
 * entry last added under KEY before, or STRINDEX_NONE when KEY is new.
 * 0, or -1 on OOM or an IDX of 2^32 - 1 or more (nothing added) */
int strindex_add(struct strindex *x, const char *key, size_t idx, size_t *prev);
/* strindex_first - the first entry added under KEY, or STRINDEX_NONE */
size_t strindex_first(const struct strindex *x, const char *key);
/* strindex_clear - free the slots; X is an empty index after */
void strindex_clear(struct strindex *x);

#endif
