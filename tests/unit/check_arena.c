/*
 * check_arena.c - the region allocator: zeroed and aligned allocations,
 * oversized blocks, string copies, array growth, reset and byte accounting,
 * and refusal of sizes that would overflow.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "unit.h"

/* arena_test_all - every one of N bytes at P equals C (one assertion, not N:
 * Check records a mark per assertion, which is slow in fork mode) */
static bool arena_test_all(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

START_TEST(arena_alloc_zeroed_and_aligned)
{
	struct arena *a = arena_new();
	size_t sizes[] = { 1, 3, 7, 16, 17, 100, 1000, 2049, 5000, 8192, 20000, 1 };

	ck_assert(a != NULL);
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p = arena_alloc(a, sizes[i]);

			ck_assert(p != NULL);
			ck_assert_msg((uintptr_t)p % alignof(max_align_t) == 0,
				      "%zu bytes at %p: not aligned to %zu", sizes[i],
				      (void *)p, alignof(max_align_t));
			ck_assert(arena_test_all(p, sizes[i], 0));
			memset(p, 0xa5, sizes[i]);	/* ASan: every byte is ours */
		}
	}
	arena_free(a);
}
END_TEST

START_TEST(arena_alloc_distinct)
{
	struct arena *a = arena_new();
	char *p[200];

	/* Zero-byte requests still get distinct pointers, and nothing overlaps. */
	for (int i = 0; i < 200; i++) {
		p[i] = arena_alloc(a, (size_t)(i % 3 == 0 ? 0 : i * 37));
		ck_assert(p[i] != NULL);
		memset(p[i], i, (size_t)(i % 3 == 0 ? 1 : i * 37));
	}
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(i % 3 == 0 ? 1 : i * 37);

		ck_assert(arena_test_all((unsigned char *)p[i], n, (unsigned char)i));
		for (int k = i + 1; k < 200; k++)
			if (p[i] == p[k])
				ck_abort_msg("allocations %d and %d share %p", i, k, (void *)p[i]);
	}
	arena_free(a);
}
END_TEST

START_TEST(arena_oversized_then_small)
{
	struct arena *a = arena_new();
	size_t before = arena_bytes(a);
	char *big = arena_alloc(a, 100000);
	char *small1, *small2;

	ck_assert(big != NULL);
	ck_assert_uint_ge(arena_bytes(a), before + 100000);
	memset(big, 'b', 100000);
	/* Small allocations after an oversized one still work and do not
	 * land inside it. */
	small1 = arena_strdup(a, "one");
	small2 = arena_strdup(a, "two");
	ck_assert_str_eq(small1, "one");
	ck_assert_str_eq(small2, "two");
	ck_assert(small1 < big || small1 >= big + 100000);
	ck_assert(small2 < big || small2 >= big + 100000);
	ck_assert(arena_test_all((unsigned char *)big, 100000, 'b'));
	/* and a second oversized block after small ones */
	ck_assert(arena_alloc(a, 50000) != NULL);
	ck_assert_str_eq(small1, "one");
	arena_free(a);
}
END_TEST

START_TEST(arena_strings)
{
	struct arena *a = arena_new();
	const char bytes[] = { 'a', '\0', 'b', 'c' };
	char *m, *s, *f;

	ck_assert_ptr_null(arena_strdup(a, NULL));
	s = arena_strdup(a, "hello");
	ck_assert_str_eq(s, "hello");
	s = arena_strdup(a, "");
	ck_assert_str_eq(s, "");
	m = arena_memdup(a, bytes, sizeof(bytes));
	ck_assert(memcmp(m, bytes, sizeof(bytes)) == 0);
	ck_assert_int_eq(m[sizeof(bytes)], '\0');
	m = arena_memdup(a, "xyz", 0);
	ck_assert_str_eq(m, "");
	f = arena_printf(a, "%s-%d-%05.1f", "v", 42, 3.14159);
	ck_assert_str_eq(f, "v-42-003.1");
	/* longer than one block */
	f = arena_printf(a, "%9000s|", "x");
	ck_assert_uint_eq(strlen(f), 9001);
	ck_assert_int_eq(f[8999], 'x');
	ck_assert_int_eq(f[9000], '|');
	arena_free(a);
}
END_TEST

START_TEST(arena_grow_keeps_contents)
{
	struct arena *a = arena_new();
	size_t n = 0, used = 0;
	int *arr = NULL;

	for (int i = 0; i < 1000; i++) {
		if (used == n) {
			size_t old = n;

			arr = arena_grow(a, arr, &n, sizeof(*arr));
			ck_assert(arr != NULL);
			ck_assert_uint_eq(n, old == 0 ? 8 : old * 2);
		}
		arr[used++] = i;
	}
	for (int i = 0; i < 1000; i++)
		if (arr[i] != i)
			ck_abort_msg("arr[%d] = %d after growth", i, arr[i]);
	ck_assert_uint_eq(n, 1024);
	arena_free(a);
}
END_TEST

START_TEST(arena_refuses_overflow)
{
	struct arena *a = arena_new();
	size_t n = SIZE_MAX / 4;
	void *old = arena_alloc(a, 8);

	ck_assert_ptr_null(arena_alloc(a, SIZE_MAX));
	ck_assert_ptr_null(arena_alloc(a, SIZE_MAX - 10));
	ck_assert_ptr_null(arena_memdup(a, "x", SIZE_MAX));
	ck_assert_ptr_null(arena_grow(a, old, &n, 16));
	ck_assert_uint_eq(n, SIZE_MAX / 4);	/* unchanged on failure */
	/* the arena still works afterwards */
	ck_assert_str_eq(arena_strdup(a, "fine"), "fine");
	arena_free(a);
}
END_TEST

START_TEST(arena_reset_releases)
{
	struct arena *a = arena_new();
	size_t base = arena_bytes(a);

	ck_assert_uint_gt(base, 0);
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 100; i++)
			ck_assert(arena_alloc(a, 1000) != NULL);
		ck_assert(arena_alloc(a, 300000) != NULL);
		ck_assert_uint_gt(arena_bytes(a), base + 300000);
		arena_reset(a);
		/* only the first block is kept, and it is usable again */
		ck_assert_uint_eq(arena_bytes(a), base);
		ck_assert_str_eq(arena_strdup(a, "again"), "again");
	}
	arena_free(a);
}
END_TEST

START_TEST(arena_null_safe)
{
	arena_free(NULL);
	arena_reset(NULL);
	ck_assert_uint_eq(arena_bytes(NULL), 0);
}
END_TEST

static Suite *arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, arena_alloc_zeroed_and_aligned);
	tcase_add_test(tc, arena_alloc_distinct);
	tcase_add_test(tc, arena_oversized_then_small);
	tcase_add_test(tc, arena_strings);
	tcase_add_test(tc, arena_grow_keeps_contents);
	tcase_add_test(tc, arena_refuses_overflow);
	tcase_add_test(tc, arena_reset_releases);
	tcase_add_test(tc, arena_null_safe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(arena_suite());
}
