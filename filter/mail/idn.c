/*
 * idn.c - domain names to A-labels with libidn2 (see idn.h)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "mail/idn.h"
#include "util/arena.h"

/* plain_ascii - ASCII and no label starting "xn--": nothing to convert */
static bool plain_ascii(const char *d)
{
	for (const char *p = d; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			return false;
		if ((p == d || p[-1] == '.') && strncasecmp(p, "xn--", 4) == 0)
			return false;
	}
	return true;
}

int idn_domain(struct arena *arena, const char *domain, const char **out, const char **why)
{
	char *copy, *alabel = NULL;
	size_t len;
	int rc;

	*out = NULL;
	*why = NULL;
	if (plain_ascii(domain)) {
		copy = arena_strdup(arena, domain);
		if (copy == NULL)
			return -1;
		for (char *p = copy; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	} else {
		/* U-labels are mapped (UTS #46, NFC) and encoded; A-labels are
		 * decoded and checked, so a bogus "xn--" is refused too */
		rc = idn2_lookup_u8((const uint8_t *)domain, (uint8_t **)&alabel,
				    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc == IDN2_MALLOC)
			return -1;
		if (rc != IDN2_OK) {
			*why = idn2_strerror(rc);
			return IDN_INVALID;
		}
		copy = arena_strdup(arena, alabel);
		idn2_free(alabel);
		if (copy == NULL)
			return -1;
	}
	len = strlen(copy);
	while (len > 0 && copy[len - 1] == '.')
		copy[--len] = '\0';
	*out = copy;
	return IDN_OK;
}
