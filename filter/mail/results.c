/*
 * results.c - names of check results (RFC 8601 words)
 */
#include "mail/results.h"

const char *ar_result_name(enum ar_result r)
{
	switch (r) {
	case AR_UNSET:
		return NULL;
	case AR_PASS:
		return "pass";
	case AR_FAIL:
		return "fail";
	case AR_SOFTFAIL:
		return "softfail";
	case AR_NEUTRAL:
		return "neutral";
	case AR_NONE:
		return "none";
	case AR_TEMPERROR:
		return "temperror";
	case AR_PERMERROR:
		return "permerror";
	case AR_POLICY:
		return "policy";
	}
	return NULL;
}
