/*
 * strlist.h - the items of a list written "a, b c" in a configuration
 * value: separated by commas, spaces or tabs, empty items skipped
 *
 * Walked in place, without copying or changing the list:
 *   const char *cur = list, *item; size_t len;
 *   while (strlist_next(&cur, &item, &len)) ...
 *
 * Threads: no state. Memory: items point into the list.
 */
#ifndef UTIL_STRLIST_H
#define UTIL_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* strlist_next - the next item after *CUR into ITEM/LEN, advancing *CUR;
 * false at the end (a NULL list is empty) */
bool strlist_next(const char **cur, const char **item, size_t *len);

#endif
