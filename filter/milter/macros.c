/*
 * macros.c - per-stage macro lists (see macros.h)
 */
#include <stdlib.h>
#include <string.h>

#include "milter/macros.h"

static void macro_list_free(struct macro_list *l)
{
	free(l->mem);
	free(l->pairs);
	l->mem = NULL;
	l->pairs = NULL;
	l->npairs = 0;
}

bool macro_store_set(struct macro_store *ms, enum wire_stage stage, const char *const *pairs,
		     size_t npairs)
{
	struct macro_list fresh = { 0 };
	size_t total = 0, off = 0;

	macro_list_free(&ms->stage[stage]);
	if (npairs == 0)
		return true;
	for (size_t i = 0; i < npairs * 2; i++)
		total += strlen(pairs[i]) + 1;
	fresh.mem = malloc(total);
	fresh.pairs = calloc(npairs * 2, sizeof(*fresh.pairs));
	if (fresh.mem == NULL || fresh.pairs == NULL) {
		macro_list_free(&fresh);
		return false;
	}
	for (size_t i = 0; i < npairs * 2; i++) {
		size_t n = strlen(pairs[i]) + 1;

		memcpy(fresh.mem + off, pairs[i], n);
		fresh.pairs[i] = fresh.mem + off;
		off += n;
	}
	fresh.npairs = npairs;
	ms->stage[stage] = fresh;
	return true;
}

void macro_store_clear_from(struct macro_store *ms, enum wire_stage first)
{
	for (int i = (int)first; i < WIRE_ST_COUNT; i++)
		macro_list_free(&ms->stage[i]);
}

/* macro_same - NAME as asked and KEY as sent name the same macro: equal, or
 * one is "x" and the other "{x}" */
static bool macro_same(const char *name, const char *key)
{
	size_t nl, kl;

	if (strcmp(name, key) == 0)
		return true;
	nl = strlen(name);
	kl = strlen(key);
	if (nl == 1 && kl == 3 && key[0] == '{' && key[2] == '}')
		return key[1] == name[0];
	if (nl == 3 && kl == 1 && name[0] == '{' && name[2] == '}')
		return name[1] == key[0];
	return false;
}

const char *macro_store_get(const struct macro_store *ms, const char *name)
{
	if (name == NULL || *name == '\0')
		return NULL;
	for (int st = WIRE_ST_COUNT - 1; st >= 0; st--) {
		const struct macro_list *l = &ms->stage[st];

		for (size_t i = 0; i < l->npairs; i++)
			if (macro_same(name, l->pairs[2 * i]))
				return l->pairs[2 * i + 1];
	}
	return NULL;
}
