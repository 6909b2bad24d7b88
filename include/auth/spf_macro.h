/*
 * spf_macro.h - RFC 7208 section 7 macro expansion, for explanations
 *
 * libspf2 1.2.10 expands explanation strings wrongly (spaces become '%',
 * macros after the first space stay unexpanded, %_ and %- and upper-case
 * macros fail), so the exp= target and the explanation text it names are
 * expanded here. Evaluation of records still happens in libspf2.
 *
 * Input is hostile (it comes from the sender's DNS): the output is bounded
 * (SPF_MACRO_MAX bytes) and any syntax error refuses the whole string,
 * which RFC 7208 6.2 says means "no explanation".
 */
#ifndef SPF_MACRO_H
#define SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

#define SPF_MACRO_MAX 2048

struct spf_macro_env {
	const char *sender;	   /* s: local@domain */
	const char *local;	   /* l */
	const char *sender_domain; /* o */
	const char *domain;	   /* d: the domain being evaluated */
	const char *client_ip;	   /* i and c; IPv4 or IPv6 text */
	const char *helo;	   /* h */
	const char *receiver;	   /* r: our own name */
	long long now;		   /* t: seconds since the epoch */
};

/* spf_macro_expand - expand IN (LEN bytes) into OUT. EXPLAIN: an
 * explain-string (c, r, t allowed, spaces literal); otherwise a domain-spec
 * (then truncated from the left to 253 octets, RFC 4.8). Returns 0 or -1
 * (syntax error, or over SPF_MACRO_MAX). */
int spf_macro_expand(const struct spf_macro_env *env, const char *in, size_t len, bool explain,
		     struct strbuf *out);

#endif
