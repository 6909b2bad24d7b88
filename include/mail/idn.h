/*
 * idn.h - domain names in the form DNS and comparisons need (IDNA 2008)
 *
 * A domain can reach gatehouse as U-labels (UTF-8, RFC 6531/6532 mail, RFC
 * 8616) or as A-labels ("xn--..."); both name the same domain and must get
 * the same SPF, DKIM and DMARC answer. idn_domain() gives the one form every
 * lookup and comparison uses: A-labels, lower case, no trailing dot. The
 * conversion is libidn2's (IDNA 2008 with the UTS #46 mapping browsers
 * use), never ours. A name that is ASCII without an "xn--" label is only
 * lower-cased, so names that were fine before stay as they were.
 *
 * Threads: no state. Memory: *OUT lives in ARENA.
 */
#ifndef IDN_H
#define IDN_H

struct arena;

enum { IDN_OK = 0, IDN_INVALID = 1 };

/* idn_domain - DOMAIN in A-label form, lower case, without a trailing dot:
 * IDN_OK with *OUT; IDN_INVALID when it is no valid IDNA 2008 name (*OUT
 * NULL, *WHY libidn2's reason); -1 when memory ran out */
int idn_domain(struct arena *arena, const char *domain, const char **out, const char **why);

#endif
