/*
 * dkim_canon.h - RFC 6376 section 3.4 canonicalization, streaming
 *
 * The body is canonicalized chunk by chunk as the MTA sends it (CRLF line
 * ends, or bare LF as test files have; both end a line) straight into a
 * SHA-256 context, so a message of any size costs constant memory. Empty
 * lines are held back as a count until content follows, which is how
 * trailing empty lines disappear without buffering. The longest line seen is
 * kept, so the signer can refuse a line over 998 octets that the MTA might
 * rewrap after we signed.
 *
 * Both sides use the body hash: the signer (outbound/dkim_signer.c) and
 * the verifier (auth/dkim.c), which hashes the body itself instead of
 * feeding it to libopendkim, whose per-byte canonicalization was 42% of a
 * verified message's CPU (tests/bench/RESULTS.md). That is why it lives in
 * auth/, below both.
 *
 * Header fields are canonicalized "relaxed" only here; a "simple" header
 * goes to libopendkim (auth/dkim.c), rebuilt byte for byte from the value
 * and whether one space followed the colon, which the MTA tells a milter
 * that asks for SMFIP_HDR_LEADSPC (gatehouse does).
 *
 * Threads: one struct dkim_body per message. Memory: dkim_body_free().
 */
#ifndef AUTH_DKIM_CANON_H
#define AUTH_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

struct strbuf;
struct dkim_body;

/* dkim_body_new - a body hash, RELAXED or simple, with SHA256 (an
 * EVP_MD_fetch()ed SHA-256, which saves OpenSSL a lookup per message; NULL:
 * EVP_sha256()); NULL on OOM */
struct dkim_body *dkim_body_new(bool relaxed, const EVP_MD *sha256);
/* dkim_body_update - feed LEN bytes; -1 when OpenSSL fails */
int dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t len);
/* dkim_body_final - the hash into OUT[32]; the body is then finished */
int dkim_body_final(struct dkim_body *b, unsigned char out[32]);
/* dkim_body_longest_line - octets of the longest line seen, line end excluded */
size_t dkim_body_longest_line(const struct dkim_body *b);
/* dkim_body_free - accepts NULL */
void dkim_body_free(struct dkim_body *b);

/* dkim_canon_header_relaxed - append "name:value\r\n" relaxed to SB
 * (without the CRLF when CRLF is false: the signature's own field) */
void dkim_canon_header_relaxed(struct strbuf *sb, const char *name, const char *value, size_t len,
			       bool crlf);

#endif
