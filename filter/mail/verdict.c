/*
 * verdict.c - names and validation of verdicts (see verdict.h)
 */
#include <ctype.h>
#include <string.h>

#include "mail/verdict.h"
#include "util/arena.h"

const char *verdict_action_name(enum gh_action a)
{
	switch (a) {
	case GH_ACT_CONTINUE:
		return "continue";
	case GH_ACT_ACCEPT:
		return "accept";
	case GH_ACT_REJECT:
		return "reject";
	case GH_ACT_TEMPFAIL:
		return "tempfail";
	case GH_ACT_DISCARD:
		return "discard";
	case GH_ACT_QUARANTINE:
		return "quarantine";
	}
	return "unknown";
}

const char *verdict_phase_name(enum gh_phase p)
{
	static const char *const names[] = { "none",	"connect", "helo", "mail", "rcpt", "data",
					     "unknown", "header",  "eoh",  "body", "eom" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "none";
}

bool verdict_is_final(enum gh_action a)
{
	return a != GH_ACT_CONTINUE;
}

/* reply_class - the first digit a reply for ACTION must have, or 0 if none */
static char reply_class(enum gh_action a)
{
	return a == GH_ACT_REJECT ? '5' : a == GH_ACT_TEMPFAIL ? '4' : 0;
}

bool verdict_smtp_code_ok(enum gh_action a, const char *code)
{
	char cls = reply_class(a);

	if (cls == 0 || code == NULL || strlen(code) != 3)
		return false;
	return code[0] == cls && code[1] >= '0' && code[1] <= '5' &&
	       isdigit((unsigned char)code[2]);
}

/* digits - N in 1..MAX digits at *P; advances *P */
static bool digits(const char **p, int max)
{
	int n = 0;

	while (isdigit((unsigned char)**p) && n < max) {
		(*p)++;
		n++;
	}
	return n > 0 && !isdigit((unsigned char)**p);
}

/* RFC 3463: class "." subject "." detail; subject 1-3 digits, detail 1-3 */
bool verdict_enhanced_code_ok(enum gh_action a, const char *ecode)
{
	char cls = reply_class(a);
	const char *p = ecode;

	if (cls == 0 || p == NULL || p[0] != cls || p[1] != '.')
		return false;
	p += 2;
	if (!digits(&p, 3) || *p++ != '.')
		return false;
	return digits(&p, 3) && *p == '\0';
}

int verdict_set(struct verdict *v, struct arena *arena, enum gh_action action, enum gh_phase phase,
		const char *code, const char *ecode, const char *text, const char *source)
{
	char *t = NULL;

	if (reply_class(action) != 0 &&
	    (!verdict_smtp_code_ok(action, code) || !verdict_enhanced_code_ok(action, ecode)))
		return -1;
	if (text != NULL) {
		/* A reply line may not hold CR, LF or NUL: one would end the
		 * SMTP reply early and let text from a message into the
		 * protocol stream. */
		t = arena_strdup(arena, text);
		if (t == NULL)
			return -1;
		for (char *c = t; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
	}
	memset(v, 0, sizeof(*v));
	v->action = action;
	v->phase = phase;
	if (reply_class(action) != 0) {
		memcpy(v->smtp_code, code, 3);
		strncpy(v->enhanced_code, ecode, sizeof(v->enhanced_code) - 1);
	}
	v->text = t;
	v->reason = t;
	v->source = source;
	return 0;
}
