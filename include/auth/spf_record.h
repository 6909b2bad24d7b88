/*
 * spf_record.h - SPF record syntax (RFC 7208 section 12) and normalization
 *
 * libspf2 evaluates SPF records well but parses them leniently: it accepts
 * records the RFC calls syntax errors (a:foo-bar, a:abc.123, exp=-all,
 * redirect:x, %{r} outside explanations, a second redirect=, ...), refuses a
 * valid /0 prefix length, and evaluates redirect= where it stands instead of
 * after all mechanisms. spf_record_normalize() checks a published record
 * strictly against the RFC grammar and, when it is valid, rewrites it into
 * an equivalent record libspf2 evaluates correctly:
 *  - unknown modifiers are dropped (RFC 6: they are ignored);
 *  - redirect= moves to the end, or is dropped when the record has "all"
 *    (RFC 6.1);
 *  - exp= is dropped: libspf2's explanation fetch counts as a lookup and
 *    turns DNS trouble into temperror (RFC 6.2 says ignore), and libspf2
 *    1.2.10 mangles the text anyway;
 *  - a /0 prefix length, for the client's address family, becomes terms
 *    libspf2 can take: ip4:X/0 -> ip4:0.0.0.0/1 ip4:128.0.0.0/1, a:D/0 ->
 *    exists:D, and a//0, mx/0, mx//0 -> exists on a name under
 *    SPF_SYNTH_* that spf_layer.c answers itself (same query, same
 *    counts).
 * It parses; it never evaluates and never asks DNS.
 */
#ifndef SPF_RECORD_H
#define SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

/* Names spf_layer.c answers itself: "<domain>.gh-aaaa.invalid" means "does
 * <domain> have an AAAA record", gh-mx4 / gh-mx6 "does one of <domain>'s MX
 * hosts have an A / AAAA record". .invalid can never exist (RFC 6761). */
#define SPF_SYNTH_AAAA ".gh-aaaa.invalid"
#define SPF_SYNTH_MX4 ".gh-mx4.invalid"
#define SPF_SYNTH_MX6 ".gh-mx6.invalid"

/* spf_record_is_spf - TEXT (LEN bytes) is an SPF record: "v=spf1" alone or
 * followed by a space, in any case (RFC 7208 4.5) */
bool spf_record_is_spf(const char *text, size_t len);

/*
 * spf_record_normalize - check the SPF record TEXT (LEN bytes) and return
 * the record libspf2 should evaluate for a client of address family V6
 * (malloc'd), or NULL with *WHY set to a static reason: a syntax error,
 * which is a permerror, or "out of memory". *EXP gets the record's exp=
 * domain-spec (malloc'd) or NULL; *REDIRECT tells whether the record has a
 * redirect= that applies (no "all").
 */
char *spf_record_normalize(const char *text, size_t len, bool v6, char **exp, bool *redirect,
			   const char **why);

#endif
