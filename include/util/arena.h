/*
 * arena.h - region allocator for connection- and message-lifetime memory
 *
 * An arena hands out memory that lives until arena_reset() or arena_free().
 * A session owns one arena for its connection and one for the current
 * message, so ending or aborting a message releases everything that message
 * allocated in one call and nothing can leak from one message into the next.
 *
 * Every allocator returns NULL when memory runs out; callers turn that into
 * GH_ERR_NOMEM and the engine into a tempfail.
 * Threads: an arena belongs to one session and is never shared.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

struct arena;

/* arena_new - an empty arena; NULL when out of memory */
struct arena *arena_new(void);
/* arena_free - release the arena and all it handed out; accepts NULL */
void arena_free(struct arena *);
/* arena_reset - release all allocations but keep the first block for reuse */
void arena_reset(struct arena *);
/* arena_alloc - LEN bytes aligned for any type, zeroed */
void *arena_alloc(struct arena *, size_t len);
/* arena_strdup - copy of a NUL-terminated string (NULL in, NULL out) */
char *arena_strdup(struct arena *, const char *s);
/* arena_memdup - copy of LEN bytes plus a terminating NUL */
char *arena_memdup(struct arena *, const void *p, size_t len);
/* arena_printf - formatted string in the arena */
char *arena_printf(struct arena *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* arena_grow - resize an array of N elements of SIZE to N*2 (min 8); the old
 * memory stays in the arena until reset. Returns the new array or NULL. */
void *arena_grow(struct arena *, void *old, size_t *n, size_t size);
/* arena_bytes - bytes currently held (for memory accounting in logs/bench) */
size_t arena_bytes(const struct arena *);

#endif
