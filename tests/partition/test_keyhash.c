/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the key -> partition mapping (partition/keyhash.c) never changes
 * silently: 25 (key, P) -> partition golden values, computed once from the
 * specification in keyhash.h and cross-checked with an independent
 * implementation (three also by hand from the hash's last hex digit), plus the
 * published FNV-1a 64 test vectors. Also proves the spread over partitions is
 * even, that round-robin and sticky key-less picking behave as documented, and
 * that bad arguments give -EINVAL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keyhash.h"

struct golden {
	const char *key;
	uint32_t partition_count;
	uint32_t partition;
};

/* Do not edit: a change here means producers' keys move partitions. */
static const struct golden golden[] = {
	{ "", 1, 0 },
	{ "", 4, 1 },
	{ "a", 8, 4 },
	{ "b", 1000, 629 },
	{ "foobar", 4, 0 },
	{ "user-1", 64, 20 },
	{ "user-2", 2, 1 },
	{ "user-42", 12, 3 },
	{ "user-42", 3, 0 },
	{ "user-42", 64, 11 },
	{ "user-42", 4096, 2763 },
	{ "order:1000", 4096, 3254 },
	{ "order:1000", 12, 6 },
	{ "order:1001", 7, 0 },
	{ "tern", 100, 22 },
	{ "\xff", 3, 1 },
	{ "key with spaces", 16, 11 },
	{ "0", 1, 0 },
	{ "1", 8, 4 },
	{ "2", 1000, 501 },
	{ "a-very-long-key-that-is-longer-than-thirty-two-bytes", 4, 1 },
	{ "customer/eu/7", 64, 46 },
	{ "customer/us/7", 2, 0 },
	{ "sensor-17", 12, 6 },
	{ "x", 4096, 1799 },
};

static void test_golden_partitions(void **state)
{
	size_t i;

	(void)state;
	_Static_assert(sizeof(golden) / sizeof(golden[0]) >= 20,
		       "at least 20 golden values");
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		uint32_t p = UINT32_MAX;

		assert_int_equal(tern_keyhash_partition(
					 golden[i].key, strlen(golden[i].key),
					 golden[i].partition_count, &p),
				 0);
		assert_int_equal(p, golden[i].partition);
	}
}

/* Vectors from the FNV reference test suite (draft-eastlake-fnv). */
static void test_fnv1a64_vectors(void **state)
{
	(void)state;
	assert_true(tern_keyhash_fnv1a64(NULL, 0) == 0xcbf29ce484222325ull);
	assert_true(tern_keyhash_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(tern_keyhash_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
}

/* 120000 keys over 12 partitions: each within 3% of the mean. */
static void test_spread(void **state)
{
	uint32_t count[12] = { 0 };
	uint32_t i, p;
	char key[32];

	(void)state;
	for (i = 0; i < 120000; i++) {
		int len = 0;
		uint32_t v = i;

		memcpy(key, "user-", 5);
		len = 5;
		do {
			key[len++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		assert_int_equal(
			tern_keyhash_partition(key, (size_t)len, 12, &p), 0);
		assert_true(p < 12);
		count[p]++;
	}
	for (p = 0; p < 12; p++) {
		assert_true(count[p] > 9700);
		assert_true(count[p] < 10300);
	}
}

static void test_round_robin(void **state)
{
	struct tern_keyhash_keyless k;
	uint32_t i, p;

	(void)state;
	assert_int_equal(
		tern_keyhash_keyless_init(&k, TERN_KEYHASH_ROUND_ROBIN, 7), 0);
	/* Seed 7 over 5 partitions starts at 2, then cycles. */
	for (i = 0; i < 12; i++) {
		assert_int_equal(tern_keyhash_keyless_next(&k, 5, &p), 0);
		assert_int_equal(p, (2 + i) % 5);
		if (i % 3 == 0)
			tern_keyhash_keyless_end_batch(&k); /* no effect */
	}
	/* P shrinks: answers stay below it and keep cycling. */
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p), 0);
	assert_true(p < 3);
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p), 0);
	assert_int_equal(p, 2);
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p), 0);
	assert_int_equal(p, 0);
}

static void test_sticky(void **state)
{
	struct tern_keyhash_keyless k;
	uint32_t batch, i, p;

	(void)state;
	assert_int_equal(tern_keyhash_keyless_init(&k, TERN_KEYHASH_STICKY, 0),
			 0);
	for (batch = 0; batch < 8; batch++) {
		for (i = 0; i < 5; i++) {
			assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p),
					 0);
			assert_int_equal(p, batch % 3);
		}
		tern_keyhash_keyless_end_batch(&k);
	}
	/* P shrinks mid-batch: the batch's partition is reduced below it. */
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p), 0);
	assert_int_equal(p, 2);
	assert_int_equal(tern_keyhash_keyless_next(&k, 2, &p), 0);
	assert_int_equal(p, 0);
}

static void test_pick(void **state)
{
	struct tern_keyhash_keyless k;
	uint32_t p;

	(void)state;
	assert_int_equal(
		tern_keyhash_keyless_init(&k, TERN_KEYHASH_ROUND_ROBIN, 0), 0);
	/* A key is hashed and leaves the key-less cursor alone. */
	assert_int_equal(tern_keyhash_pick(&k, "user-42", 7, 12, &p), 0);
	assert_int_equal(p, 3);
	assert_int_equal(tern_keyhash_pick(&k, NULL, 0, 12, &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(tern_keyhash_pick(&k, "", 0, 12, &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(tern_keyhash_pick(&k, "user-42", 7, 4096, &p), 0);
	assert_int_equal(p, 2763);
}

static void test_invalid(void **state)
{
	struct tern_keyhash_keyless k;
	uint32_t p;

	(void)state;
	assert_int_equal(tern_keyhash_partition("a", 1, 0, &p), -EINVAL);
	assert_int_equal(tern_keyhash_partition("a", 1, 4, NULL), -EINVAL);
	assert_int_equal(tern_keyhash_partition(NULL, 1, 4, &p), -EINVAL);
	assert_int_equal(tern_keyhash_partition(NULL, 0, 4, &p), 0);
	assert_int_equal(p, 1); /* the empty key: 0xcbf29ce484222325 mod 4 */
	assert_int_equal(
		tern_keyhash_keyless_init(NULL, TERN_KEYHASH_STICKY, 0),
		-EINVAL);
	assert_int_equal(tern_keyhash_keyless_init(
				 &k, (enum tern_keyhash_keyless_mode)9, 0),
			 -EINVAL);
	assert_int_equal(tern_keyhash_keyless_init(&k, TERN_KEYHASH_STICKY, 0),
			 0);
	assert_int_equal(tern_keyhash_keyless_next(&k, 0, &p), -EINVAL);
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, NULL), -EINVAL);
	assert_int_equal(tern_keyhash_keyless_next(NULL, 3, &p), -EINVAL);
	assert_int_equal(tern_keyhash_pick(&k, NULL, 0, 0, &p), -EINVAL);
	assert_int_equal(tern_keyhash_pick(&k, "a", 1, 0, &p), -EINVAL);
	k.mode = (enum tern_keyhash_keyless_mode)9;
	assert_int_equal(tern_keyhash_keyless_next(&k, 3, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_partitions),
		cmocka_unit_test(test_fnv1a64_vectors),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
