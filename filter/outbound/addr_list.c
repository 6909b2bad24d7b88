/*
 * addr_list.c - mailbox addresses of an address-list field, by GMime
 * (see addr_list.h)
 */
#include <string.h>

#include <gmime/gmime.h>

#include "outbound/addr_list.h"
#include "util/arena.h"

struct addr_acc {
	struct arena *arena;
	const char **v;
	size_t n, cap;
	int bad;
};

static void addr_walk(InternetAddressList *list, struct addr_acc *acc)
{
	int len = internet_address_list_length(list);

	for (int i = 0; i < len && !acc->bad; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *a;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			addr_walk(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
				  acc);
			continue;
		}
		a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (a == NULL || strchr(a, '@') == NULL || strrchr(a, '@')[1] == '\0') {
			acc->bad = 1;
			return;
		}
		if (acc->n == acc->cap) {
			const char **v = arena_grow(acc->arena, acc->v, &acc->cap, sizeof(*v));

			if (v == NULL) {
				acc->bad = 1;
				return;
			}
			acc->v = v;
		}
		if ((acc->v[acc->n++] = arena_strdup(acc->arena, a)) == NULL)
			acc->bad = 1;
	}
}

int addr_list_parse(struct arena *arena, const char *value, const char ***out, size_t *n)
{
	InternetAddressList *list = internet_address_list_parse(NULL, value);
	struct addr_acc acc = { arena, NULL, 0, 0, 0 };

	if (list != NULL) {
		addr_walk(list, &acc);
		g_object_unref(list);
	}
	if (list == NULL || acc.bad || acc.n == 0)
		return -1;
	*out = acc.v;
	*n = acc.n;
	return 0;
}
