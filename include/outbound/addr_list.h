/*
 * addr_list.h - every mailbox address of a From or Sender field
 *
 * The identity check needs all of them (a From naming two mailboxes, or a
 * group, must not slip a foreign address past the check), where
 * mail/author.h wants exactly one. GMime parses the field (display names,
 * comments, quoted strings, encoded words, groups).
 *
 * Threads: after author_lib_init(). Memory: strings in ARENA.
 */
#ifndef OUTBOUND_ADDR_LIST_H
#define OUTBOUND_ADDR_LIST_H

#include <stddef.h>

struct arena;

/* addr_list_parse - the addresses in VALUE into *OUT (arena array) and *N;
 * 0, or -1 when VALUE holds no address or one without a domain, or on OOM */
int addr_list_parse(struct arena *arena, const char *value, const char ***out, size_t *n);

#endif
