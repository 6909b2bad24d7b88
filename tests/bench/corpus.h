/*
 * corpus.h - the benchmark corpus in memory, cut the way an MTA hands a
 * message to a milter.
 *
 * A manifest names the messages, one a line, tab-separated:
 *   FILE  MAIL_FROM  RCPT  AUTH_USER_OR_-  [anything else, ignored]
 * FILE is relative to the manifest's directory. Lines starting with # are
 * comments. Each message is read once at start and split into header
 * fields (name, value with the folding kept as LF + whitespace, as Postfix
 * sends it) and a body with CRLF line ends, so replaying costs no parsing.
 *
 * Memory: corpus_load allocates everything; corpus_free releases it. The
 * corpus is read-only afterwards and shared by all threads.
 */
#ifndef BENCH_CORPUS_H
#define BENCH_CORPUS_H

#include <stddef.h>

struct corpus_header {
	char *name;
	char *value;	/* after the colon, leading whitespace included */
	size_t lead;	/* bytes of leading whitespace in value */
};

struct corpus_msg {
	char *file;
	char *mail_from;
	char *rcpt;
	char *auth;		/* NULL: not an authenticated client */
	struct corpus_header *headers;
	size_t nheaders;
	char *body;		/* CRLF line ends */
	size_t body_len;
	size_t size;		/* bytes of the file */
};

struct corpus {
	struct corpus_msg *msgs;
	size_t n;
};

/* corpus_load - read MANIFEST and every message in it; 0 or -1 (message on
 * stderr) */
int corpus_load(struct corpus *, const char *manifest);

void corpus_free(struct corpus *);

#endif
