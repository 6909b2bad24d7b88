/*
 * gh.h - return codes and small definitions shared by every gatehouse module
 *
 * One small set of return codes is used everywhere (in the manner of nginx's
 * NGX_OK / NGX_ERROR): a function either succeeds (GH_OK) or says which kind
 * of failure happened, and the caller decides what that means for the mail.
 * Nothing here allocates or keeps state.
 */
#ifndef GH_H
#define GH_H

#define GH_VERSION "0.1.0"

enum gh_rc {
	GH_OK = 0,
	GH_ERR_NOMEM = -1,   /* allocation failed: the message is tempfailed */
	GH_ERR_INPUT = -2,   /* untrusted input was malformed or over a bound */
	GH_ERR_CONFIG = -3,  /* configuration is invalid */
	GH_ERR_IO = -4,	     /* a file or socket operation failed */
	GH_ERR_INTERNAL = -5 /* an invariant did not hold: tempfail, never accept */
};

/* gh_rc_name - short lower-case name of a return code, for logs */
const char *gh_rc_name(enum gh_rc rc);

#endif
