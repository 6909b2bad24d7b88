/*
 * check_strindex.c - the table index: an empty index, keys added once and
 * many times (first entry kept, previous entry reported for chaining),
 * 200,000 keys through every growth with absent keys still absent, keys
 * that differ in one byte or only in length, and the entry limit.
 */
#include <stdint.h>

#include "util/strindex.h"
#include "unit.h"

START_TEST(strindex_empty)
{
	struct strindex x = { 0 };

	ck_assert_uint_eq(strindex_first(&x, "a"), STRINDEX_NONE);
	ck_assert_uint_eq(strindex_first(&x, ""), STRINDEX_NONE);
	strindex_clear(&x);
	strindex_clear(&x); /* twice is fine */
	ck_assert_uint_eq(strindex_first(&x, "a"), STRINDEX_NONE);
}
END_TEST

START_TEST(strindex_chains)
{
	struct strindex x = { 0 };
	size_t prev = 0;

	ck_assert_int_eq(strindex_add(&x, "example.org", 0, &prev), 0);
	ck_assert_uint_eq(prev, STRINDEX_NONE);
	ck_assert_int_eq(strindex_add(&x, "example.net", 1, &prev), 0);
	ck_assert_uint_eq(prev, STRINDEX_NONE);
	ck_assert_int_eq(strindex_add(&x, "example.org", 2, &prev), 0);
	ck_assert_uint_eq(prev, 0);
	ck_assert_int_eq(strindex_add(&x, "example.org", 5, &prev), 0);
	ck_assert_uint_eq(prev, 2); /* the last one, so a table appends in order */
	ck_assert_int_eq(strindex_add(&x, "", 6, NULL), 0);
	ck_assert_uint_eq(strindex_first(&x, "example.org"), 0); /* the first one wins */
	ck_assert_uint_eq(strindex_first(&x, "example.net"), 1);
	ck_assert_uint_eq(strindex_first(&x, ""), 6);
	ck_assert_uint_eq(strindex_first(&x, "example.or"), STRINDEX_NONE);
	ck_assert_uint_eq(strindex_first(&x, "example.orgg"), STRINDEX_NONE);
	ck_assert_uint_eq(strindex_first(&x, "Example.org"), STRINDEX_NONE); /* exact bytes */
	ck_assert_uint_eq(x.n, 3);
	strindex_clear(&x);
	ck_assert_uint_eq(strindex_first(&x, "example.org"), STRINDEX_NONE);
}
END_TEST

START_TEST(strindex_many)
{
	enum { N = 200000 };
	struct strindex x = { 0 };
	char(*keys)[24] = malloc(N * sizeof(*keys));
	char probe[32];
	size_t prev;

	ck_assert_ptr_nonnull(keys);
	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "user%zu@d%zu.example", i, i % 977);
		ck_assert_int_eq(strindex_add(&x, keys[i], i, &prev), 0);
		ck_assert_uint_eq(prev, STRINDEX_NONE);
	}
	ck_assert_uint_eq(x.n, N);
	ck_assert_uint_ge(x.cap * 3, x.n * 4); /* never more than 3/4 full */
	for (size_t i = 0; i < N; i++)
		ck_assert_uint_eq(strindex_first(&x, keys[i]), i);
	for (size_t i = 0; i < 1000; i++) {
		snprintf(probe, sizeof(probe), "user%zu@d%zu.example", i, i % 977 + 1);
		ck_assert_uint_eq(strindex_first(&x, probe), STRINDEX_NONE);
	}
	/* the same keys again: chained, the first entry kept */
	for (size_t i = 0; i < N; i += 1000) {
		ck_assert_int_eq(strindex_add(&x, keys[i], N + i, &prev), 0);
		ck_assert_uint_eq(prev, i);
		ck_assert_uint_eq(strindex_first(&x, keys[i]), i);
	}
	ck_assert_uint_eq(x.n, N);
	strindex_clear(&x);
	free(keys);
}
END_TEST

START_TEST(strindex_limit)
{
	struct strindex x = { 0 };
	size_t prev = 7;

	ck_assert_int_eq(strindex_add(&x, "a", (size_t)UINT32_MAX - 1, &prev), 0);
	ck_assert_uint_eq(strindex_first(&x, "a"), (size_t)UINT32_MAX - 1);
	ck_assert_int_eq(strindex_add(&x, "b", (size_t)UINT32_MAX, &prev), -1);
	ck_assert_int_eq(strindex_add(&x, "a", STRINDEX_NONE, &prev), -1);
	ck_assert_uint_eq(strindex_first(&x, "b"), STRINDEX_NONE);
	ck_assert_uint_eq(x.n, 1);
	strindex_clear(&x);
}
END_TEST

static Suite *strindex_suite(void)
{
	Suite *s = suite_create("strindex");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, strindex_empty);
	tcase_add_test(tc, strindex_chains);
	tcase_add_test(tc, strindex_many);
	tcase_add_test(tc, strindex_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(strindex_suite());
}
