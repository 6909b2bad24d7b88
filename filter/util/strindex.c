/*
 * strindex.c - open addressing with linear probing (see strindex.h)
 *
 * A slot holds the key's pointer, 32 bits of its hash (compared before the
 * string, and kept so growing never hashes a key again) and the first and
 * last entry: 24 bytes per slot, 1 1/3 to 2 2/3 slots per key (about 50 MB
 * for a million keys).
 * The table doubles before it is three quarters full, so a probe sequence
 * stays short; nothing is ever removed, so no tombstones are needed.
 */
#include <stdlib.h>
#include <string.h>

#include "util/strindex.h"

#define STRINDEX_EMPTY UINT32_MAX /* also the largest entry refused */

struct strindex_slot {
	const char *key; /* NULL: empty */
	uint32_t hash;
	uint32_t first, last;
};

/* strindex_hash - FNV-1a, folded to 32 bits so the low bits see every byte */
static uint32_t strindex_hash(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211u;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* strindex_find - KEY's slot, or the empty slot where it would go */
static struct strindex_slot *strindex_find(struct strindex_slot *slots, size_t cap, const char *key,
					   uint32_t h)
{
	size_t i = h & (cap - 1);

	while (slots[i].key != NULL && (slots[i].hash != h || strcmp(slots[i].key, key) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int strindex_grow(struct strindex *x)
{
	size_t cap = x->cap ? x->cap * 2 : 16;
	struct strindex_slot *slots;

	if (cap > SIZE_MAX / sizeof(*slots) || (slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (size_t i = 0; i < x->cap; i++)
		if (x->slots[i].key != NULL)
			*strindex_find(slots, cap, x->slots[i].key, x->slots[i].hash) = x->slots[i];
	free(x->slots);
	x->slots = slots;
	x->cap = cap;
	return 0;
}

int strindex_add(struct strindex *x, const char *key, size_t idx, size_t *prev)
{
	uint32_t h = strindex_hash(key);
	struct strindex_slot *s;

	if (idx >= STRINDEX_EMPTY)
		return -1;
	s = x->cap ? strindex_find(x->slots, x->cap, key, h) : NULL;
	if (s == NULL || s->key == NULL) {
		/* a new key: grow first if it would fill the table past 3/4 */
		if ((x->n + 1) * 4 > x->cap * 3) {
			if (strindex_grow(x) != 0)
				return -1;
			s = strindex_find(x->slots, x->cap, key, h);
		}
		*s = (struct strindex_slot){ key, h, (uint32_t)idx, (uint32_t)idx };
		x->n++;
		if (prev != NULL)
			*prev = STRINDEX_NONE;
		return 0;
	}
	if (prev != NULL)
		*prev = s->last;
	s->last = (uint32_t)idx;
	return 0;
}

size_t strindex_first(const struct strindex *x, const char *key)
{
	const struct strindex_slot *s;

	if (x->cap == 0)
		return STRINDEX_NONE;
	s = strindex_find(x->slots, x->cap, key, strindex_hash(key));
	return s->key != NULL ? s->first : STRINDEX_NONE;
}

void strindex_clear(struct strindex *x)
{
	free(x->slots);
	*x = (struct strindex){ 0 };
}
