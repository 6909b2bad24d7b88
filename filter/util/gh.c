/*
 * gh.c - names of the shared return codes
 */
#include "util/gh.h"

/* gh_rc_name - short lower-case name of a return code, for logs */
const char *gh_rc_name(enum gh_rc rc)
{
	switch (rc) {
	case GH_OK:
		return "ok";
	case GH_ERR_NOMEM:
		return "out-of-memory";
	case GH_ERR_INPUT:
		return "bad-input";
	case GH_ERR_CONFIG:
		return "bad-config";
	case GH_ERR_IO:
		return "io-error";
	case GH_ERR_INTERNAL:
		return "internal-error";
	}
	return "unknown";
}
