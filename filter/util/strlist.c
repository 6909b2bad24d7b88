/*
 * strlist.c - items of a comma- and space-separated list (see strlist.h)
 */
#include <string.h>

#include "util/strlist.h"

#define STRLIST_SEP ", \t"

bool strlist_next(const char **cur, const char **item, size_t *len)
{
	const char *p = *cur;

	if (p == NULL)
		return false;
	p += strspn(p, STRLIST_SEP);
	if (*p == '\0') {
		*cur = p;
		return false;
	}
	*item = p;
	*len = strcspn(p, STRLIST_SEP);
	*cur = p + *len;
	return true;
}
