/*
 * arena.c - region allocator (see arena.h)
 *
 * Blocks are chained; a request larger than the usual block gets a block of
 * its own so big header values do not waste a whole standard block. Reset
 * keeps only the first block: a connection that sends many small messages
 * reuses it instead of going back to malloc for each.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define ARENA_BLOCK 8192
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	/* Aligned like every offset handed out: the header before it is 24 bytes
	 * on LP64, which would leave each allocation 8 bytes off. */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
	struct arena_block *head; /* current block, newest first */
	size_t bytes;
};

static struct arena_block *arena_block_new(size_t size)
{
	struct arena_block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

/* arena_new - an empty arena; NULL when out of memory */
struct arena *arena_new(void)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->head = arena_block_new(ARENA_BLOCK);
	if (a->head == NULL) {
		free(a);
		return NULL;
	}
	a->bytes = ARENA_BLOCK;
	return a;
}

static void arena_free_chain(struct arena_block *b)
{
	while (b != NULL) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
}

/* arena_free - release the arena and all it handed out; accepts NULL */
void arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_free_chain(a->head);
	free(a);
}

/* arena_reset - release all allocations but keep the oldest block for reuse */
void arena_reset(struct arena *a)
{
	struct arena_block *b, *keep;

	if (a == NULL || a->head == NULL)
		return;
	/* The oldest block is the last in the chain and has the standard size. */
	for (b = a->head; b->next != NULL; b = b->next)
		;
	keep = b;
	for (b = a->head; b != keep;) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
	keep->used = 0;
	a->head = keep;
	a->bytes = keep->size;
}

/* arena_alloc - LEN bytes aligned for any type, zeroed */
void *arena_alloc(struct arena *a, size_t len)
{
	struct arena_block *b = a->head;
	size_t off = (b->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (len == 0)
		len = 1;
	if (len > SIZE_MAX - ARENA_BLOCK)
		return NULL;
	if (off > b->size || b->size - off < len) {
		size_t size = len > ARENA_BLOCK / 4 ? len : ARENA_BLOCK;
		struct arena_block *nb = arena_block_new(size);

		if (nb == NULL)
			return NULL;
		if (size == ARENA_BLOCK || a->head->next == NULL) {
			nb->next = a->head;
			a->head = nb;
		} else {
			/* An oversized block is full at once: keep it behind
			 * the current block so small allocations go on there. */
			nb->next = a->head->next;
			a->head->next = nb;
		}
		a->bytes += size;
		b = nb;
		off = 0;
	}
	p = b->data + off;
	b->used = off + len;
	memset(p, 0, len);
	return p;
}

/* arena_memdup - copy of LEN bytes plus a terminating NUL */
char *arena_memdup(struct arena *a, const void *p, size_t len)
{
	char *s;

	if (len == SIZE_MAX)
		return NULL;
	s = arena_alloc(a, len + 1);
	if (s == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* arena_strdup - copy of a NUL-terminated string (NULL in, NULL out) */
char *arena_strdup(struct arena *a, const char *s)
{
	return s == NULL ? NULL : arena_memdup(a, s, strlen(s));
}

/* arena_printf - formatted string in the arena */
char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = arena_alloc(a, (size_t)n + 1);
	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* arena_grow - double an array kept in the arena (see arena.h) */
void *arena_grow(struct arena *a, void *old, size_t *n, size_t size)
{
	size_t nn = *n < 8 ? 8 : *n * 2;
	void *p;

	if (nn > SIZE_MAX / size / 2)
		return NULL;
	p = arena_alloc(a, nn * size);
	if (p == NULL)
		return NULL;
	if (old != NULL && *n > 0)
		memcpy(p, old, *n * size);
	*n = nn;
	return p;
}

/* arena_bytes - bytes currently held */
size_t arena_bytes(const struct arena *a)
{
	return a == NULL ? 0 : a->bytes;
}
