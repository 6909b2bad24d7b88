/*
 * dkim_hsel.c - the header fields h= selects (see dkim_hsel.h)
 *
 * The fields' indices are sorted by (name without case, index from the
 * bottom): each name's instances then sit together, bottom-up, and a
 * counter at the first of them says how many h= has taken.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim_hsel.h"

struct dkim_hsel_sort {
	const struct dkim_field *fields;
	size_t *len; /* each field name's length */
};

/* dkim_hsel_cmp - A (LA bytes) against B (LB bytes), without ASCII case */
static int dkim_hsel_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = strncasecmp(a, b, la < lb ? la : lb);

	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/* qsort_r's comparator: by name, then the lower field (larger index) first */
static int dkim_hsel_order(const void *pa, const void *pb, void *ctx)
{
	const struct dkim_hsel_sort *s = ctx;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = dkim_hsel_cmp(s->fields[a].name, s->len[a], s->fields[b].name, s->len[b]);

	if (c != 0)
		return c;
	return a < b ? 1 : a > b ? -1 : 0;
}

int dkim_hsel(const struct dkim_field *fields, size_t n, const char *h,
	      bool (*fn)(void *ctx, const char *name, size_t len, size_t idx), void *ctx)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	size_t *len = malloc((n ? n : 1) * sizeof(*len));
	size_t *taken = calloc(n ? n : 1, sizeof(*taken)); /* at each run's first entry */
	struct dkim_hsel_sort s = { fields, len };
	size_t hl = strlen(h), p = 0;

	if (order == NULL || len == NULL || taken == NULL) {
		free(order);
		free(len);
		free(taken);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		len[i] = strlen(fields[i].name);
	}
	qsort_r(order, n, sizeof(*order), dkim_hsel_order, &s);
	while (p < hl) {
		size_t st = p, e, lo = 0, hi = n, idx = DKIM_HSEL_NONE;

		while (p < hl && h[p] != ':')
			p++;
		e = p++;
		/* the first field of this name in the order, if any */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			size_t f = order[mid];

			if (dkim_hsel_cmp(fields[f].name, len[f], h + st, e - st) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (e > st && lo < n &&
		    dkim_hsel_cmp(fields[order[lo]].name, len[order[lo]], h + st, e - st) == 0) {
			size_t k = lo + taken[lo];

			if (k < n && dkim_hsel_cmp(fields[order[k]].name, len[order[k]], h + st,
						   e - st) == 0) {
				idx = order[k];
				taken[lo]++;
			}
		}
		if (!fn(ctx, h + st, e - st, idx))
			break;
	}
	free(order);
	free(len);
	free(taken);
	return 0;
}
