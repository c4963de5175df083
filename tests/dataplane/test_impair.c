/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves that impairment specs are parsed and validated (unknown keys, bad
 * values, fractions summing over 1 are refused with a message), that the
 * seeded generator gives each action its configured share within 0.3
 * percentage points over a million draws, that a seed replays the same
 * sequence, and that a spec with nothing in it leaves impairment off.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "impair.h"

#define DRAWS 1000000
#define TSC_HZ 2000000000ull

static void test_parse_valid(void **state)
{
	struct tern_impair_config cfg;
	char err[128];

	(void)state;
	assert_int_equal(tern_impair_parse("drop=0.05,dup=0.01,reorder=0.02,"
					   "delay=0.03,delay-us=250,seed=9",
					   &cfg, err, sizeof(err)),
			 0);
	assert_true(cfg.drop == 0.05 && cfg.duplicate == 0.01);
	assert_true(cfg.reorder == 0.02 && cfg.delay == 0.03);
	assert_int_equal(cfg.delay_us, 250);
	assert_int_equal(cfg.seed, 9);
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"drop",
		"drop=",
		"drop=1.5",
		"drop=-0.1",
		"loss=0.1",
		"drop=0.1x",
		"seed=-1",
		"delay-us=2000000",
		"drop=0.6,dup=0.6",
	};
	struct tern_impair_config cfg;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			tern_impair_parse(bad[i], &cfg, err, sizeof(err)),
			-EINVAL);
		assert_true(strlen(err) > 0);
	}
}

static void test_shares_match_config(void **state)
{
	struct tern_impair_config cfg;
	struct tern_impair im;
	char err[128];
	unsigned counts[TERN_IMPAIR_DELAY + 1] = { 0 };

	(void)state;
	assert_int_equal(tern_impair_parse("drop=0.05,dup=0.01,reorder=0.02,"
					   "delay=0.10,seed=42",
					   &cfg, err, sizeof(err)),
			 0);
	tern_impair_init(&im, &cfg, TSC_HZ, NULL);
	assert_true(im.enabled);
	for (int i = 0; i < DRAWS; i++)
		counts[tern_impair_decide(&im)]++;
	assert_in_range(counts[TERN_IMPAIR_DROP], 47000, 53000);
	assert_in_range(counts[TERN_IMPAIR_DUPLICATE], 7000, 13000);
	assert_in_range(counts[TERN_IMPAIR_REORDER], 17000, 23000);
	assert_in_range(counts[TERN_IMPAIR_DELAY], 97000, 103000);
}

static void test_seed_replays(void **state)
{
	struct tern_impair_config cfg;
	struct tern_impair a, b, c;
	char err[128];
	int differ = 0;

	(void)state;
	assert_int_equal(tern_impair_parse("drop=0.3,dup=0.3,seed=7", &cfg, err,
					   sizeof(err)),
			 0);
	tern_impair_init(&a, &cfg, TSC_HZ, NULL);
	tern_impair_init(&b, &cfg, TSC_HZ, NULL);
	cfg.seed = 8;
	tern_impair_init(&c, &cfg, TSC_HZ, NULL);
	for (int i = 0; i < 10000; i++) {
		enum tern_impair_action x = tern_impair_decide(&a);

		assert_int_equal(x, tern_impair_decide(&b));
		differ += x != tern_impair_decide(&c);
	}
	assert_true(differ > 1000);
}

static void test_empty_spec_is_off(void **state)
{
	struct tern_impair_config cfg;
	struct tern_impair im;
	char err[128];

	(void)state;
	assert_int_equal(tern_impair_parse("seed=3", &cfg, err, sizeof(err)),
			 0);
	tern_impair_init(&im, &cfg, TSC_HZ, NULL);
	assert_false(im.enabled);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tern_impair_decide(&im), TERN_IMPAIR_PASS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_shares_match_config),
		cmocka_unit_test(test_seed_replays),
		cmocka_unit_test(test_empty_spec_is_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
