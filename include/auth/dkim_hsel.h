/*
 * dkim_hsel.h - the header fields a DKIM signature's h= selects
 *
 * RFC 6376 5.4.2: each name in h= takes the next instance of that field
 * from the bottom of the header; a name with none left selects nothing
 * (oversigning). Both verifiers' header hashes (dkim_verify.c) and the
 * guard against libopendkim's header selection (dkim.c) walk h= this
 * way. h= is the signer's, and the header holds up to max_header_bytes:
 * a name-by-name search of h= and of the header was quadratic, 9 s of
 * CPU for one signature whose h= named 64,000 fields in 245 KB. Here the
 * fields are sorted by name once and each name found by binary search:
 * O((N + names) log N).
 *
 * Threads: no state. Memory: nothing kept; a work array for the call.
 */
#ifndef AUTH_DKIM_HSEL_H
#define AUTH_DKIM_HSEL_H

#include <stdbool.h>
#include <stddef.h>

/* One header field as the MTA gave it: no space after the colon, folded
 * lines joined by LF or CRLF */
struct dkim_field {
	const char *name, *value;
	size_t len;
	bool space; /* one SP stood between the colon and VALUE */
};

#define DKIM_HSEL_NONE ((size_t)-1)

/*
 * dkim_hsel - walk H (h= without white space: names separated by ':') in
 * order and call FN(CTX, NAME, LEN, IDX) for each name (an empty one
 * between two colons too; nothing after a last colon),
 * IDX the index in FIELDS[0..N) of the field it selects, or DKIM_HSEL_NONE
 * when no instance is left; FN returns false to stop the walk. Names
 * match without ASCII case. Returns 0, or -1 when memory ran out (no
 * call made).
 */
int dkim_hsel(const struct dkim_field *fields, size_t n, const char *h,
	      bool (*fn)(void *ctx, const char *name, size_t len, size_t idx), void *ctx);

#endif
