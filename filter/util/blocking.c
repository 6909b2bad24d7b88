/*
 * blocking.c - the per-thread "about to wait" hook (see blocking.h)
 */
#include <stddef.h>

#include "util/blocking.h"

static _Thread_local blocking_fn blocking_hook;
static _Thread_local void *blocking_arg;

void blocking_set(blocking_fn fn, void *arg)
{
	blocking_hook = fn;
	blocking_arg = arg;
}

void blocking_begin(void)
{
	if (blocking_hook != NULL)
		blocking_hook(blocking_arg);
}
