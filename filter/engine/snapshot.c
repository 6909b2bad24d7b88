/*
 * snapshot.c - configuration plus outbound tables in one load (see snapshot.h)
 */
#include <stddef.h>

#include "conf/config.h"
#include "engine/snapshot.h"
#include "outbound/outbound.h"
#include "util/diag.h"

struct config *snapshot_load(const char *path, struct diag *errs, struct diag *warns)
{
	struct config *c = config_load(path, errs);
	struct outbound_tables *t;

	if (c == NULL)
		return NULL;
	t = outbound_tables_build(c, errs, warns);
	if (t == NULL) {
		config_unref(c);
		return NULL;
	}
	c->outbound = t;
	c->outbound_free = outbound_tables_free;
	return c;
}
