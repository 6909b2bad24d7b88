/*
 * check_strbuf.c - the growable string: empty state, appends of every kind,
 * growth far past the first allocation, embedded NUL bytes, reset keeping
 * capacity, and sticky failure (set by an impossible size or by hand).
 */
#include <stdint.h>

#include "util/strbuf.h"
#include "unit.h"

START_TEST(strbuf_empty)
{
	struct strbuf sb;

	strbuf_init(&sb);
	ck_assert_str_eq(strbuf_cstr(&sb), "");
	ck_assert_uint_eq(sb.len, 0);
	ck_assert(!sb.failed);
	strbuf_free(&sb);
	ck_assert_ptr_null(sb.data);
	strbuf_free(&sb);	/* twice is fine */
}
END_TEST

START_TEST(strbuf_appends)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, "key");
	strbuf_putc(&sb, '=');
	strbuf_printf(&sb, "%d/%s", 42, "x");
	strbuf_append(&sb, "yz!", 2);
	strbuf_puts(&sb, "");
	strbuf_append(&sb, NULL, 0);
	ck_assert_str_eq(strbuf_cstr(&sb), "key=42/xyz");
	ck_assert_uint_eq(sb.len, 10);
	ck_assert_int_eq(sb.data[sb.len], '\0');
	strbuf_free(&sb);
}
END_TEST

START_TEST(strbuf_growth)
{
	struct strbuf sb;
	char expect[16];

	strbuf_init(&sb);
	for (int i = 0; i < 100000; i++)
		strbuf_printf(&sb, "%05d", i % 100000);
	ck_assert(!sb.failed);
	ck_assert_uint_eq(sb.len, 500000);
	ck_assert_uint_ge(sb.cap, sb.len + 1);
	ck_assert_uint_eq(strlen(strbuf_cstr(&sb)), 500000);
	for (int i = 0; i < 100000; i += 997) {
		snprintf(expect, sizeof(expect), "%05d", i);
		ck_assert(memcmp(sb.data + 5 * i, expect, 5) == 0);
	}
	/* one append much larger than the buffer */
	{
		size_t big = 3 * 1024 * 1024;
		char *blob = malloc(big);

		ck_assert(blob != NULL);
		memset(blob, 'q', big);
		strbuf_append(&sb, blob, big);
		free(blob);
		ck_assert_uint_eq(sb.len, 500000 + big);
		ck_assert_int_eq(sb.data[sb.len - 1], 'q');
		ck_assert_int_eq(sb.data[sb.len], '\0');
	}
	strbuf_free(&sb);
}
END_TEST

START_TEST(strbuf_embedded_nul)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_append(&sb, "a\0b", 3);
	strbuf_putc(&sb, '\0');
	strbuf_putc(&sb, 'c');
	ck_assert_uint_eq(sb.len, 5);
	ck_assert(memcmp(sb.data, "a\0b\0c", 5) == 0);
	ck_assert_int_eq(sb.data[5], '\0');
	strbuf_free(&sb);
}
END_TEST

START_TEST(strbuf_reset_keeps_capacity)
{
	struct strbuf sb;
	size_t cap;
	char *data;

	strbuf_init(&sb);
	strbuf_printf(&sb, "%1000s", "x");
	cap = sb.cap;
	data = sb.data;
	strbuf_reset(&sb);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_str_eq(strbuf_cstr(&sb), "");
	ck_assert_uint_eq(sb.cap, cap);
	strbuf_puts(&sb, "short");
	ck_assert_ptr_eq(sb.data, data);	/* no reallocation */
	ck_assert_str_eq(strbuf_cstr(&sb), "short");
	strbuf_free(&sb);
}
END_TEST

START_TEST(strbuf_sticky_failure)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, "before");
	/* A length no allocation can hold: refused without touching P. */
	strbuf_append(&sb, "", SIZE_MAX);
	ck_assert(sb.failed);
	ck_assert_uint_eq(sb.len, 6);
	strbuf_puts(&sb, "after");
	strbuf_putc(&sb, 'x');
	strbuf_printf(&sb, "%d", 1);
	ck_assert_uint_eq(sb.len, 6);
	ck_assert_str_eq(strbuf_cstr(&sb), "");
	/* reset clears the failure */
	strbuf_reset(&sb);
	ck_assert(!sb.failed);
	strbuf_puts(&sb, "again");
	ck_assert_str_eq(strbuf_cstr(&sb), "again");
	/* failure set by hand behaves the same */
	sb.failed = true;
	strbuf_puts(&sb, "more");
	ck_assert_uint_eq(sb.len, 5);
	ck_assert_str_eq(strbuf_cstr(&sb), "");
	strbuf_free(&sb);
	ck_assert(!sb.failed);
}
END_TEST

static Suite *strbuf_suite(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, strbuf_empty);
	tcase_add_test(tc, strbuf_appends);
	tcase_add_test(tc, strbuf_growth);
	tcase_add_test(tc, strbuf_embedded_nul);
	tcase_add_test(tc, strbuf_reset_keeps_capacity);
	tcase_add_test(tc, strbuf_sticky_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(strbuf_suite());
}
