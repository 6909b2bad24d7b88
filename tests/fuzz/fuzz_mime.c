/*
 * fuzz_mime.c - libFuzzer target: the streaming MIME walk.
 * The first line of the input is the message's Content-Type value
 * (optionally followed by a TAB and a Content-Transfer-Encoding, and a
 * TAB and a Content-Disposition); the rest is the body. The body is walked
 * twice: fed whole, and fed in chunks whose sizes come from a generator
 * seeded by the input. Neither may crash, leak or fail, and both must find
 * the same text, attachments, truncation and part count, since where the
 * MTA cuts the body must not change what rules see.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "mail/author.h"
#include "mail/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits so the fuzzer reaches every one of them. */
static const struct mime_limits fz_lim = { 2048, 6, 40 };
static int initialized;

struct fz_result {
	struct arena *arena;
	struct mime_walk *w;
};

/* fz_field - the next TAB-separated field of the header line, or NULL */
static char *fz_field(char **cursor)
{
	char *s = *cursor, *tab;

	if (s == NULL)
		return NULL;
	tab = strchr(s, '\t');
	if (tab != NULL) {
		*tab = '\0';
		*cursor = tab + 1;
	} else {
		*cursor = NULL;
	}
	return s;
}

/* fz_walk - BODY through a walk fed in chunks (SEED 0: whole) */
static void fz_walk(struct fz_result *r, const char *ct, const char *cte, const char *disp,
		    const uint8_t *body, size_t len, uint32_t seed)
{
	size_t off = 0;

	r->arena = arena_new();
	if (r->arena == NULL)
		abort();
	r->w = mime_walk_new(r->arena, &fz_lim, ct, cte, disp);
	if (r->w == NULL)
		abort();
	while (off < len) {
		size_t n = len - off;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			/* mostly small chunks, sometimes a big one: both sides of
			 * the 1000-byte line limit */
			n = (seed >> 16) % 8 == 0 ? (seed >> 8) % 1500 + 1 : (seed >> 16) % 17 + 1;
			if (n > len - off)
				n = len - off;
		}
		if (mime_walk_feed(r->w, body + off, n) != 0)
			abort();
		off += n;
	}
	if (mime_walk_finish(r->w) != 0)
		abort();
}

/* fz_same - the two walks found the same things */
static void fz_same(const struct fz_result *x, const struct fz_result *y)
{
	size_t xl, yl, xn, yn;
	const char *xt = mime_walk_text(x->w, &xl), *yt = mime_walk_text(y->w, &yl);
	const struct mime_attachment *xa = mime_walk_attachments(x->w, &xn);
	const struct mime_attachment *ya = mime_walk_attachments(y->w, &yn);
	const char *xtr = mime_walk_truncated(x->w), *ytr = mime_walk_truncated(y->w);

	if (xt[xl] != '\0' || yt[yl] != '\0' || xl > fz_lim.text_limit)
		abort();
	if (xl != yl || memcmp(xt, yt, xl) != 0) {
		fprintf(stderr, "text differs with chunking: %zu vs %zu bytes\n", xl, yl);
		abort();
	}
	if (xn != yn || mime_walk_parts(x->w) != mime_walk_parts(y->w) ||
	    (xtr == NULL) != (ytr == NULL) || (xtr != NULL && strcmp(xtr, ytr) != 0))
		abort();
	for (size_t i = 0; i < xn; i++)
		if (strcmp(xa[i].filename, ya[i].filename) != 0 || strcmp(xa[i].type, ya[i].type) != 0)
			abort();
}

static void fz_free(struct fz_result *r)
{
	mime_walk_free(r->w);
	arena_free(r->arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *line, *cursor, *ct, *cte, *disp;
	struct fz_result whole, chunked;
	uint32_t seed = 2166136261u;

	if (!initialized) {
		author_lib_init();
		initialized = 1;
	}
	if ((line = malloc(hlen + 1)) == NULL)
		abort();
	memcpy(line, data, hlen);
	line[hlen] = '\0';
	if (strlen(line) != hlen) {	/* a header value holds no NUL */
		free(line);
		return 0;
	}
	for (size_t i = 0; i < size; i++)	/* FNV-1a: the chunking follows the input */
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	cursor = line;
	ct = fz_field(&cursor);
	cte = fz_field(&cursor);
	disp = fz_field(&cursor);
	data += nl ? hlen + 1 : hlen;
	size -= nl ? hlen + 1 : hlen;
	fz_walk(&whole, *ct ? ct : NULL, cte, disp, data, size, 0);
	fz_walk(&chunked, *ct ? ct : NULL, cte, disp, data, size, seed);
	fz_same(&whole, &chunked);
	fz_free(&whole);
	fz_free(&chunked);
	free(line);
	return 0;
}
