/*
 * fuzz_address.c - libFuzzer target: RFC 5321 path parsing. Any byte string
 * is parsed as MAIL FROM and as RCPT TO; on success the parts must be
 * consistent (addr is local@domain, domain has no upper-case ASCII).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct address out;
	const char *why;

	if (a == NULL)
		abort();
	for (int allow_null = 0; allow_null < 2; allow_null++) {
		if (address_parse_path(a, (const char *)data, size, allow_null, &out, &why) != 0) {
			if (why == NULL || *why == '\0')
				abort();
			continue;
		}
		if (out.is_null) {
			if (!allow_null || *out.addr != '\0')
				abort();
			continue;
		}
		for (const char *p = out.domain; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
		if (*out.domain != '\0' &&
		    (strncmp(out.addr, out.local, strlen(out.local)) != 0 ||
		     strcmp(out.addr + strlen(out.local) + 1, out.domain) != 0))
			abort();
	}
	arena_free(a);
	return 0;
}
