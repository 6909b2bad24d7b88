/*
 * sanity.c - well-formedness checks of header fields (see sanity.h)
 *
 * Physical lines are counted the way they arrive: the MTA hands over a
 * folded field with its line breaks (CRLF or bare LF) inside the value, and
 * the first line also carries "Name: ". Every check is a single pass over
 * bytes already bounded by the MTA's own limits.
 */
#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "engine/sanity.h"
#include "engine/session.h"
#include "util/arena.h"

bool sanity_is_header(const char *name, const char *want)
{
	return strcasecmp(name, want) == 0;
}

/* longest_line - the longest physical line of "NAME:" VALUE, with the one
 * space after the colon where SPACE says there was one */
static size_t longest_line(size_t name_len, bool space, const char *value, size_t len)
{
	size_t longest = 0, cur = name_len + 1 + space;

	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\n') {
			if (cur > longest)
				longest = cur;
			cur = 0;
		} else if (value[i] == '\r' && i + 1 < len && value[i + 1] == '\n') {
			continue; /* CR of a CRLF does not count */
		} else {
			cur++;
		}
	}
	return cur > longest ? cur : longest;
}

int sanity_header(struct session *s, const char *name, const char *value, size_t len, bool space,
		  const char **detail)
{
	const struct config *c = s->cfg;
	struct message *m = &s->msg;
	size_t name_len = strlen(name), line;

	*detail = NULL;
	if (memchr(value, '\0', len) != NULL) {
		*detail = arena_printf(s->msg_arena, "in field %.64s", name);
		return FAULT_HEADER_NUL;
	}
	if (name_len == 0) {
		*detail = "empty field name";
		return FAULT_HEADER_NAME;
	}
	for (size_t i = 0; i < name_len; i++)
		if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126 || name[i] == ':') {
			*detail = "field name holds a space, colon or non-ASCII byte";
			return FAULT_HEADER_NAME;
		}
	line = longest_line(name_len, space, value, len);
	if (line > (size_t)c->max_header_line_octets) {
		*detail = arena_printf(s->msg_arena, "field %.64s has a %zu-octet line, limit %ld",
				       name, line, c->max_header_line_octets);
		return FAULT_HEADER_LINE_LONG;
	}
	if (m->nheaders + 1 > (size_t)c->max_headers) {
		*detail = arena_printf(s->msg_arena, "more than %ld fields", c->max_headers);
		return FAULT_TOO_MANY_HEADERS;
	}
	if (m->header_bytes > (size_t)c->max_header_bytes) {
		*detail = arena_printf(s->msg_arena, "more than %ld bytes", c->max_header_bytes);
		return FAULT_HEADERS_TOO_BIG;
	}
	return SANITY_OK;
}

int sanity_eoh(struct session *s, const char **detail)
{
	size_t from = 0;

	*detail = NULL;
	for (size_t i = 0; i < s->msg.nheaders; i++)
		if (sanity_is_header(s->msg.headers[i].name, "From"))
			from++;
	if (from == 0) {
		*detail = NULL;
		return FAULT_NO_FROM;
	}
	return SANITY_OK;
}
