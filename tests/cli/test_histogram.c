/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that the latency histogram reports values 0..255 exactly and any
 * other value at most 1/128 above it, never below, across the whole uint64
 * range; that percentiles follow the documented rank convention (ceil of
 * pct/100 * N, at least 1, with no off-by-one from floating-point noise)
 * against exact quantiles of sorted data and of known distributions
 * (uniform, two-mode); that count, min, max and mean are exact, the mean
 * even when the sum passes 2^64; that merging equals recording both inputs
 * byte for byte; that reset empties; and that the summary line is formatted
 * in microseconds. Reference values come from a sorted array or from an
 * independent model of the bucket layout, never from the code under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "histogram.h"

/* splitmix64: a fixed seed makes every run check the same values. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A value whose magnitude is uniform over 1 .. 2^max_bits. */
static uint64_t log_uniform(uint64_t *state, unsigned int max_bits)
{
	unsigned int bits = 1u + (unsigned int)(next_random(state) % max_bits);
	uint64_t v = next_random(state) >> (64u - bits);

	return v == 0 ? 1 : v;
}

/*
 * The bucket layout as histogram.h describes it, written out by hand: values
 * below 256 alone, then 128 buckets per power of two.
 */
static uint64_t model_width(uint64_t v)
{
	unsigned int top = 0;

	if (v < 256)
		return 1;
	while ((v >> top) > 1)
		top++;
	return UINT64_C(1) << (top - 7u);
}

static uint64_t model_low(uint64_t v)
{
	return v - v % model_width(v);
}

static uint64_t model_high(uint64_t v)
{
	return model_low(v) + (model_width(v) - 1u);
}

/* ceil(p100 * n / 10000), at least 1, in integers: p100 is pct * 100. */
static uint64_t exact_rank(uint64_t p100, uint64_t n)
{
	uint64_t rank = (p100 * n + 9999u) / 10000u;

	return rank == 0 ? 1 : rank;
}

/* The reported value r for true value v: v <= r <= v + v / 128. */
static void assert_within_bound(uint64_t r, uint64_t v)
{
	assert_true(r >= v);
	assert_in_range(r - v, 0, v >> 7);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void test_empty(void **state)
{
	struct tern_histo h;
	char buf[TERN_HISTO_FORMAT_LEN];

	(void)state;
	tern_histo_init(&h);
	assert_int_equal(tern_histo_count(&h), 0);
	assert_int_equal(tern_histo_min(&h), 0);
	assert_int_equal(tern_histo_max(&h), 0);
	assert_true(tern_histo_mean(&h) == 0.0);
	assert_int_equal(tern_histo_percentile(&h, 0.0), 0);
	assert_int_equal(tern_histo_percentile(&h, 50.0), 0);
	assert_int_equal(tern_histo_percentile(&h, 100.0), 0);
	tern_histo_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "p50=0.0 p90=0.0 p99=0.0 p99.9=0.0 "
				 "p99.99=0.0 max=0.0");
}

/*
 * Every value below 256 is its own bucket: with a far larger value beside
 * it (so the clamp to max cannot help), p50 is still the value itself.
 */
static void test_exact_small_values(void **state)
{
	struct tern_histo h;
	uint64_t v;

	(void)state;
	for (v = 0; v < 256; v++) {
		tern_histo_init(&h);
		tern_histo_record(&h, v);
		tern_histo_record(&h, UINT64_C(1) << 40);
		assert_int_equal(tern_histo_percentile(&h, 50.0), v);
		assert_int_equal(tern_histo_min(&h), v);
	}
}

/*
 * N distinct small values 1..N: the answer at pct is exactly the value of
 * rank ceil(pct / 100 * N), for every pct in steps of 0.01 and every N < 128.
 */
static void test_rank_convention(void **state)
{
	struct tern_histo h;
	uint64_t n, v, p100;

	(void)state;
	for (n = 1; n < 128; n++) {
		tern_histo_init(&h);
		for (v = 1; v <= n; v++)
			tern_histo_record(&h, v);
		for (p100 = 0; p100 <= 10000; p100++)
			assert_int_equal(
				tern_histo_percentile(&h, (double)p100 / 100.0),
				exact_rank(p100, n));
	}
}

/*
 * Large N where pct / 100 * N is often an integer: floating-point noise must
 * not push the rank one past it (99.9% of 1000 values is rank 999). Values
 * 1..250 each recorded N / 250 times, so rank k is value ceil(k / copies).
 */
static void test_rank_without_float_noise(void **state)
{
	static const uint64_t totals[] = { 1000, 10000, 100000, 1000000 };
	struct tern_histo h;
	size_t t;
	uint64_t v, p100;

	(void)state;
	for (t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
		uint64_t copies = totals[t] / 250;

		tern_histo_init(&h);
		for (v = 1; v <= 250; v++)
			tern_histo_record_n(&h, v, copies);
		for (p100 = 0; p100 <= 10000; p100++) {
			uint64_t rank = exact_rank(p100, totals[t]);

			assert_int_equal(
				tern_histo_percentile(&h, (double)p100 / 100.0),
				(rank + copies - 1) / copies);
		}
	}
	/* The literal a user writes, not only p100 / 100.0. */
	tern_histo_init(&h);
	tern_histo_record_n(&h, 10, 999);
	tern_histo_record(&h, 20);
	assert_int_equal(tern_histo_percentile(&h, 99.9), 10);
	assert_int_equal(tern_histo_percentile(&h, 99.91), 20);
}

static void check_single_and_paired(struct tern_histo *h, uint64_t v)
{
	uint64_t r;

	/* Alone, min = max = v and the clamp to max makes every answer v. */
	tern_histo_init(h);
	tern_histo_record(h, v);
	assert_int_equal(tern_histo_count(h), 1);
	assert_int_equal(tern_histo_min(h), v);
	assert_int_equal(tern_histo_max(h), v);
	assert_int_equal(tern_histo_percentile(h, 100.0), v);
	assert_int_equal(tern_histo_percentile(h, 50.0), v);

	/* Beside UINT64_MAX, p50 is v's bucket's highest value, unclamped. */
	tern_histo_record(h, UINT64_MAX);
	r = tern_histo_percentile(h, 50.0);
	assert_within_bound(r, v);
	assert_int_equal(r, model_high(v));
	assert_true(r >= model_low(v));
	assert_int_equal(model_low(r), model_low(v));
	assert_int_equal(tern_histo_percentile(h, 100.0), UINT64_MAX);
}

/* Bucket edges at every power of two, and random values of every size. */
static void test_relative_error_sweep(void **state)
{
	struct tern_histo h;
	uint64_t rng = 1, e, i;

	(void)state;
	for (e = 0; e < 64; e++) {
		uint64_t p = UINT64_C(1) << e;

		check_single_and_paired(&h, p - 1);
		check_single_and_paired(&h, p);
		check_single_and_paired(&h, p + 1);
		check_single_and_paired(&h, p + (p >> 1) + 1);
		if (e > 0) /* a random value with top bit e */
			check_single_and_paired(
				&h, p | (next_random(&rng) >> (64 - e)));
	}
	check_single_and_paired(&h, UINT64_MAX - 1);
	for (i = 0; i < 4000; i++)
		check_single_and_paired(&h, log_uniform(&rng, 64));
}

/* 1..1,000,000 ns once each: the value of rank k is k. */
static void test_uniform(void **state)
{
	static const uint64_t p100s[] = { 5000, 9000, 9900, 9990, 9999 };
	struct tern_histo h;
	uint64_t v;
	size_t i;

	(void)state;
	tern_histo_init(&h);
	for (v = 1; v <= 1000000; v++)
		tern_histo_record(&h, v);
	assert_int_equal(tern_histo_count(&h), 1000000);
	assert_int_equal(tern_histo_min(&h), 1);
	assert_int_equal(tern_histo_max(&h), 1000000);
	assert_true(tern_histo_mean(&h) == 500000.5);
	for (i = 0; i < sizeof(p100s) / sizeof(p100s[0]); i++) {
		uint64_t exact = exact_rank(p100s[i], 1000000);
		uint64_t r =
			tern_histo_percentile(&h, (double)p100s[i] / 100.0);

		assert_within_bound(r, exact);
		assert_in_range(r, exact, exact + exact / 100); /* 1% */
	}
	assert_int_equal(tern_histo_percentile(&h, 100.0), 1000000);
}

/* Random values over 40 bits against the sorted array's exact quantiles. */
static void test_against_sorted(void **state)
{
	enum { N = 20000 };
	static uint64_t values[N];
	struct tern_histo h;
	uint64_t rng = 42, sum = 0, p100;
	size_t i;

	(void)state;
	tern_histo_init(&h);
	for (i = 0; i < N; i++) {
		values[i] = log_uniform(&rng, 40);
		sum += values[i];
		tern_histo_record(&h, values[i]);
	}
	qsort(values, N, sizeof(values[0]), compare_u64);
	assert_int_equal(tern_histo_min(&h), values[0]);
	assert_int_equal(tern_histo_max(&h), values[N - 1]);
	/* sum < 2^64: the mean is sum and N as doubles, divided once. */
	assert_true(tern_histo_mean(&h) == (double)sum / (double)N);
	for (p100 = 0; p100 <= 10000; p100++) {
		uint64_t v = values[exact_rank(p100, N) - 1];

		assert_within_bound(
			tern_histo_percentile(&h, (double)p100 / 100.0), v);
	}
}

/* 99% at 10 us and 1% at 5 ms: the tail appears between p99 and p99.9. */
static void test_two_mode(void **state)
{
	struct tern_histo h;
	char buf[TERN_HISTO_FORMAT_LEN];

	(void)state;
	tern_histo_init(&h);
	tern_histo_record_n(&h, 10000, 990000);
	tern_histo_record_n(&h, 5000000, 10000);
	assert_within_bound(tern_histo_percentile(&h, 50.0), 10000);
	assert_within_bound(tern_histo_percentile(&h, 99.0), 10000);
	assert_int_equal(tern_histo_percentile(&h, 99.9), 5000000);
	/* Rank 990000 is the last 10 us value, 990001 the first 5 ms one. */
	assert_within_bound(tern_histo_percentile(&h, 98.9999), 10000);
	assert_int_equal(tern_histo_percentile(&h, 99.0001), 5000000);
	assert_true(tern_histo_mean(&h) == 59900.0);
	tern_histo_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "p50=10.0 p90=10.0 p99=10.0 p99.9=5000.0 "
				 "p99.99=5000.0 max=5000.0");
}

static void test_merge(void **state)
{
	struct tern_histo a, b, both, empty, copy;
	uint64_t rng = 7, i;

	(void)state;
	tern_histo_init(&a);
	tern_histo_init(&b);
	tern_histo_init(&both);
	tern_histo_init(&empty);
	for (i = 0; i < 5000; i++) {
		uint64_t v = log_uniform(&rng, 30);

		tern_histo_record(&a, v);
		tern_histo_record(&both, v);
	}
	for (i = 0; i < 3000; i++) {
		uint64_t v = 1000 + log_uniform(&rng, 50);

		tern_histo_record_n(&b, v, i % 3 + 1);
		tern_histo_record_n(&both, v, i % 3 + 1);
	}
	assert_true(memcmp(&a, &both, sizeof(a)) != 0);

	/* An empty source changes nothing, min included. */
	copy = a;
	tern_histo_merge(&a, &empty);
	assert_memory_equal(&a, &copy, sizeof(a));

	tern_histo_merge(&a, &b);
	assert_memory_equal(&a, &both, sizeof(a));
	assert_int_equal(tern_histo_count(&a), 5000 + 1000 * (1 + 2 + 3));
	assert_int_equal(tern_histo_percentile(&a, 99.0),
			 tern_histo_percentile(&both, 99.0));

	/* Into an empty destination, the source's min replaces the sentinel. */
	tern_histo_merge(&empty, &b);
	assert_memory_equal(&empty, &b, sizeof(b));
	assert_int_equal(tern_histo_min(&empty), tern_histo_min(&b));
}

static void test_reset(void **state)
{
	struct tern_histo h, fresh;

	(void)state;
	tern_histo_init(&fresh);
	tern_histo_init(&h);
	tern_histo_record(&h, 3);
	tern_histo_record(&h, UINT64_C(1) << 45);
	tern_histo_reset(&h);
	assert_memory_equal(&h, &fresh, sizeof(h));
	assert_int_equal(tern_histo_count(&h), 0);
	assert_int_equal(tern_histo_percentile(&h, 50.0), 0);
	/* Nothing stale: min and max are the new values' alone. */
	tern_histo_record(&h, 500);
	assert_int_equal(tern_histo_min(&h), 500);
	assert_int_equal(tern_histo_max(&h), 500);
	assert_int_equal(tern_histo_percentile(&h, 0.0), 500);
}

static void test_zero_and_huge(void **state)
{
	struct tern_histo h;
	const uint64_t huge = UINT64_C(1) << 40;

	(void)state;
	tern_histo_init(&h);
	tern_histo_record(&h, 0);
	assert_int_equal(tern_histo_count(&h), 1);
	assert_int_equal(tern_histo_min(&h), 0);
	assert_int_equal(tern_histo_max(&h), 0);
	assert_int_equal(tern_histo_percentile(&h, 50.0), 0);
	assert_int_equal(tern_histo_percentile(&h, 100.0), 0);

	tern_histo_record(&h, huge);
	assert_int_equal(tern_histo_percentile(&h, 0.0), 0);
	assert_int_equal(tern_histo_percentile(&h, 50.0), 0);
	assert_int_equal(tern_histo_percentile(&h, 50.1), huge);
	assert_int_equal(tern_histo_max(&h), huge);
	assert_true(tern_histo_mean(&h) == (double)huge / 2.0);

	tern_histo_record(&h, UINT64_MAX);
	assert_int_equal(tern_histo_percentile(&h, 100.0), UINT64_MAX);
	assert_within_bound(tern_histo_percentile(&h, 66.0), huge);

	/* A lone 2^40 + 1 stays exact through the clamp; beside more, bounded
	 */
	tern_histo_init(&h);
	tern_histo_record(&h, huge + 1);
	assert_int_equal(tern_histo_percentile(&h, 99.0), huge + 1);
	tern_histo_record(&h, huge * 4);
	assert_within_bound(tern_histo_percentile(&h, 50.0), huge + 1);
}

/* Sums that pass 2^64, in one record_n and across a merge. */
static void test_mean_wide_sum(void **state)
{
	struct tern_histo a, b;

	(void)state;
	tern_histo_init(&a);
	tern_histo_record_n(&a, UINT64_C(1) << 63, 4);
	tern_histo_record(&a, 0);
	assert_true(tern_histo_mean(&a) == 0x1p65 / 5.0);

	tern_histo_init(&a);
	tern_histo_record_n(&a, UINT64_MAX, UINT64_MAX);
	assert_true(tern_histo_mean(&a) == (double)UINT64_MAX);

	tern_histo_init(&a);
	tern_histo_init(&b);
	tern_histo_record_n(&a, UINT64_MAX, 3);
	tern_histo_record_n(&b, UINT64_MAX - 1, 3);
	tern_histo_merge(&a, &b);
	/* (3 * (2^64 - 1) + 3 * (2^64 - 2)) / 6, rounded to a double: 2^64. */
	assert_true(tern_histo_mean(&a) == 0x1p64);
	assert_int_equal(tern_histo_count(&a), 6);
	assert_int_equal(tern_histo_min(&a), UINT64_MAX - 1);
}

/*
 * The 128-bit sum itself (fields of the public struct), against products
 * computed outside C: a lost carry would leave the mean tests above passing.
 */
static void test_sum_is_exact(void **state)
{
	static const struct {
		uint64_t value, count, hi, lo;
	} cases[] = {
		{ UINT64_MAX, UINT64_MAX, UINT64_C(0xfffffffffffffffe), 1 },
		{ UINT64_C(0x123456789abcdef0), UINT64_C(0xfedcba9876543210),
		  UINT64_C(0x121fa00ad77d7422), UINT64_C(0x236d88fe5618cf00) },
		{ (UINT64_C(1) << 32) + 1, (UINT64_C(1) << 32) - 1, 0,
		  UINT64_MAX },
	};
	struct tern_histo h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tern_histo_init(&h);
		tern_histo_record_n(&h, cases[i].value, cases[i].count);
		assert_int_equal(h.sum_hi, cases[i].hi);
		assert_int_equal(h.sum_lo, cases[i].lo);
	}
	/* Carry out of the low word when adding: 2^64 - 1, then 1. */
	tern_histo_record(&h, 1);
	assert_int_equal(h.sum_hi, 1);
	assert_int_equal(h.sum_lo, 0);
}

static void test_record_n_zero_and_bad_pct(void **state)
{
	struct tern_histo h, fresh;

	(void)state;
	tern_histo_init(&fresh);
	tern_histo_init(&h);
	tern_histo_record_n(&h, 77, 0);
	assert_memory_equal(&h, &fresh, sizeof(h));

	tern_histo_record(&h, 5);
	tern_histo_record(&h, 9);
	assert_int_equal(tern_histo_percentile(&h, -3.0), 5);
	assert_int_equal(tern_histo_percentile(&h, NAN), 5);
	assert_int_equal(tern_histo_percentile(&h, 250.0), 9);
}

static void test_format(void **state)
{
	struct tern_histo h;
	char buf[TERN_HISTO_FORMAT_LEN];
	char small[10];
	const char *want = "p50=1.5 p90=1.5 p99=1.5 p99.9=1.5 p99.99=1.5 "
			   "max=1.5";
	int n;

	(void)state;
	tern_histo_init(&h);
	tern_histo_record(&h, 1500);
	n = tern_histo_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));

	/* Truncated like snprintf: NUL-terminated, full length returned. */
	memset(small, 'x', sizeof(small));
	n = tern_histo_format(&h, small, sizeof(small));
	assert_int_equal(n, strlen(want));
	assert_string_equal(small, "p50=1.5 p");
	assert_int_equal(tern_histo_format(&h, NULL, 0), strlen(want));

	/* The widest possible line fits TERN_HISTO_FORMAT_LEN. */
	tern_histo_record(&h, UINT64_MAX);
	tern_histo_record_n(&h, UINT64_MAX - 1, 1000000);
	n = tern_histo_format(&h, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_string_equal(buf + strlen(buf) -
				    strlen("max=18446744073709552.0"),
			    "max=18446744073709552.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_exact_small_values),
		cmocka_unit_test(test_rank_convention),
		cmocka_unit_test(test_rank_without_float_noise),
		cmocka_unit_test(test_relative_error_sweep),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_against_sorted),
		cmocka_unit_test(test_two_mode),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_zero_and_huge),
		cmocka_unit_test(test_mean_wide_sum),
		cmocka_unit_test(test_sum_is_exact),
		cmocka_unit_test(test_record_n_zero_and_bad_pct),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
