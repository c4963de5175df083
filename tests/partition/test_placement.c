/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves the chain placement and worker assignment (partition/placement.c)
 * for every N in 1..12, R in 1..min(N, 5), P in 1..64, plus large P and
 * N = 64: each chain has R distinct nodes below N; every chain position
 * (head and tail among them) and the total replica count differ by at most
 * one between nodes; the report matches counts recomputed from the chains;
 * the same inputs give the same map and adding partitions never moves old
 * ones; each node's partitions spread over W workers with max - min <= 1,
 * per role as well. A few chains are pinned by hand, and bad arguments
 * give -EINVAL or -ENOSPC.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

#define NODES_MAX TERN_PLACEMENT_NODES_MAX
#define PARTS_MAX TERN_PLACEMENT_PARTITIONS_MAX

static uint16_t chains[PARTS_MAX][NODES_MAX];
static uint16_t worker_of[PARTS_MAX];

static void assert_spread(const uint32_t *v, uint32_t n, uint32_t spread)
{
	uint32_t i, lo = UINT32_MAX, hi = 0;

	for (i = 0; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	assert_true(hi - lo <= spread);
}

/* Worker balance of one node: total and per role, max - min <= 1. */
static void check_workers(const struct tern_placement *pl, uint32_t node,
			  uint32_t workers, uint32_t served_expected)
{
	uint32_t total[8] = { 0 }, role[3][8] = { { 0 } };
	uint32_t p, last = pl->replica_count - 1;
	int served;

	served = tern_placement_assign_workers(pl, node, workers, worker_of,
					       PARTS_MAX);
	assert_int_equal(served, (int)served_expected);
	for (p = 0; p < pl->partition_count; p++) {
		int pos = tern_placement_get_position(pl, p, node);
		uint32_t w = worker_of[p];

		if (pos < 0) {
			assert_int_equal(pos, -ENOENT);
			assert_int_equal(w, TERN_PLACEMENT_NOT_SERVED);
			continue;
		}
		assert_true(w < workers);
		total[w]++;
		role[pos == 0 ? 0 : (uint32_t)pos == last ? 2 : 1][w]++;
	}
	assert_spread(total, workers, 1);
	assert_spread(role[0], workers, 1);
	assert_spread(role[1], workers, 1);
	assert_spread(role[2], workers, 1);
}

static void check_one(uint32_t n, uint32_t parts, uint32_t r)
{
	struct tern_placement pl, again;
	struct tern_placement_node_report rep[NODES_MAX];
	uint32_t pos_count[NODES_MAX][NODES_MAX];
	uint32_t heads[NODES_MAX] = { 0 }, tails[NODES_MAX] = { 0 };
	uint32_t middles[NODES_MAX] = { 0 }, total[NODES_MAX] = { 0 };
	uint32_t p, k, j, node, w;
	uint16_t chain[NODES_MAX];

	memset(pos_count, 0, sizeof(pos_count));
	assert_int_equal(tern_placement_init(&pl, n, parts, r), 0);
	assert_int_equal(tern_placement_init(&again, n, parts, r), 0);
	assert_memory_equal(&pl, &again, sizeof(pl));
	for (p = 0; p < parts; p++) {
		assert_int_equal(tern_placement_get_chain(&pl, p, chains[p], r),
				 0);
		assert_int_equal(
			tern_placement_get_chain(&again, p, chain, NODES_MAX),
			0);
		assert_memory_equal(chain, chains[p], r * sizeof(chain[0]));
		for (k = 0; k < r; k++) {
			node = chains[p][k];
			assert_true(node < n);
			for (j = 0; j < k; j++)
				assert_int_not_equal(chains[p][j], node);
			assert_int_equal(
				tern_placement_get_position(&pl, p, node),
				(int)k);
			pos_count[k][node]++;
			total[node]++;
			if (k == 0)
				heads[node]++;
			if (k == r - 1)
				tails[node]++;
			if (k != 0 && k != r - 1)
				middles[node]++;
		}
	}
	/* Nodes outside a chain are reported as such. */
	for (p = 0; p < parts && p < 70; p++) {
		uint32_t in = 0;

		for (node = 0; node < n; node++)
			in += tern_placement_get_position(&pl, p, node) >= 0;
		assert_int_equal(in, r);
	}
	for (k = 0; k < r; k++)
		assert_spread(pos_count[k], n, 1);
	assert_spread(heads, n, 1);
	assert_spread(tails, n, 1);
	assert_spread(total, n, 1);
	/* Middles are total - heads - tails: bounded by the three. */
	assert_spread(middles, n, 3);

	assert_int_equal(tern_placement_fill_report(&pl, rep, n), 0);
	for (node = 0; node < n; node++) {
		assert_int_equal(rep[node].heads, heads[node]);
		assert_int_equal(rep[node].tails, tails[node]);
		assert_int_equal(rep[node].middles, middles[node]);
		assert_int_equal(rep[node].replicas, total[node]);
	}
	/* Growing P by one keeps every existing chain. */
	if (parts < PARTS_MAX) {
		assert_int_equal(tern_placement_init(&again, n, parts + 1, r),
				 0);
		for (p = 0; p < parts; p++) {
			assert_int_equal(
				tern_placement_get_chain(&again, p, chain, r),
				0);
			assert_memory_equal(chain, chains[p],
					    r * sizeof(chain[0]));
		}
	}
	for (node = 0; node < n; node++)
		for (w = 1; w <= 5; w++)
			check_workers(&pl, node, w, total[node]);
}

static void test_balance_small(void **state)
{
	uint32_t n, r, parts;

	(void)state;
	for (n = 1; n <= 12; n++)
		for (r = 1; r <= n && r <= 5; r++)
			for (parts = 1; parts <= 64; parts++)
				check_one(n, parts, r);
}

static void test_balance_large(void **state)
{
	static const uint32_t large[] = { 100, 1000, 4095, 4096 };
	static const uint32_t wide[][3] = {
		{ 64, 4096, 3 }, { 64, 4095, 64 }, { 64, 1000, 5 },
		{ 63, 4096, 7 }, { 17, 3001, 17 }, { 48, 97, 10 },
	};
	uint32_t i, n, r;

	(void)state;
	for (i = 0; i < sizeof(large) / sizeof(large[0]); i++)
		for (n = 1; n <= 12; n += 1)
			for (r = 1; r <= n && r <= 5; r++)
				check_one(n, large[i], r);
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		check_one(wide[i][0], wide[i][1], wide[i][2]);
}

/* A few chains worked out by hand from chain(p)[k] = p + floor(kN/R). */
static void test_pinned_chains(void **state)
{
	static const struct {
		uint32_t n, parts, r, p;
		uint16_t chain[4];
	} pinned[] = {
		{ 3, 12, 3, 0, { 0, 1, 2 } },	{ 3, 12, 3, 11, { 2, 0, 1 } },
		{ 5, 10, 2, 4, { 4, 1 } },	{ 4, 8, 3, 3, { 3, 0, 1 } },
		{ 6, 6, 4, 5, { 5, 0, 2, 3 } }, { 1, 4, 1, 3, { 0 } },
		{ 7, 20, 3, 9, { 2, 4, 6 } },
	};
	uint16_t chain[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		struct tern_placement pl;

		assert_int_equal(tern_placement_init(&pl, pinned[i].n,
						     pinned[i].parts,
						     pinned[i].r),
				 0);
		assert_int_equal(
			tern_placement_get_chain(&pl, pinned[i].p, chain, 4),
			0);
		assert_memory_equal(chain, pinned[i].chain,
				    pinned[i].r * sizeof(chain[0]));
	}
}

static void test_invalid(void **state)
{
	struct tern_placement pl, bad;
	struct tern_placement_node_report rep[NODES_MAX];
	uint16_t chain[NODES_MAX];

	(void)state;
	assert_int_equal(tern_placement_init(NULL, 3, 12, 3), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 0, 12, 1), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 65, 12, 3), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 3, 0, 3), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 3, 4097, 3), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 3, 12, 0), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 3, 12, 4), -EINVAL);
	assert_int_equal(tern_placement_init(&pl, 64, 4096, 64), 0);
	assert_int_equal(tern_placement_init(&pl, 3, 12, 3), 0);

	assert_int_equal(tern_placement_get_chain(&pl, 12, chain, 3), -EINVAL);
	assert_int_equal(tern_placement_get_chain(&pl, 0, NULL, 3), -EINVAL);
	assert_int_equal(tern_placement_get_chain(&pl, 0, chain, 2), -ENOSPC);
	assert_int_equal(tern_placement_get_chain(NULL, 0, chain, 3), -EINVAL);
	assert_int_equal(tern_placement_get_position(&pl, 12, 0), -EINVAL);
	assert_int_equal(tern_placement_get_position(&pl, 0, 3), -EINVAL);
	assert_int_equal(tern_placement_fill_report(&pl, NULL, 3), -EINVAL);
	assert_int_equal(tern_placement_fill_report(&pl, rep, 2), -ENOSPC);
	assert_int_equal(
		tern_placement_assign_workers(&pl, 3, 2, worker_of, PARTS_MAX),
		-EINVAL);
	assert_int_equal(
		tern_placement_assign_workers(&pl, 0, 0, worker_of, PARTS_MAX),
		-EINVAL);
	assert_int_equal(tern_placement_assign_workers(
				 &pl, 0, TERN_PLACEMENT_WORKERS_MAX + 1,
				 worker_of, PARTS_MAX),
			 -EINVAL);
	assert_int_equal(
		tern_placement_assign_workers(&pl, 0, 2, NULL, PARTS_MAX),
		-EINVAL);
	assert_int_equal(
		tern_placement_assign_workers(&pl, 0, 2, worker_of, 11),
		-ENOSPC);
	/* A placement that never went through init is refused. */
	memset(&bad, 0, sizeof(bad));
	assert_int_equal(tern_placement_get_chain(&bad, 0, chain, 3), -EINVAL);
	assert_int_equal(tern_placement_fill_report(&bad, rep, NODES_MAX),
			 -EINVAL);
}

/* Reconfigured chains: removed and learning nodes left out, rejoined ones
 * last in their order, each once even if a map names it twice. */
static void test_map_chain(void **state)
{
	struct tern_placement pl;
	struct tern_placement_map map = { 0 };
	uint16_t chain[8], learner;

	(void)state;
	assert_int_equal(tern_placement_init(&pl, 4, 8, 3), 0);
	/* partition 3: 3 > 0 > 1 */
	assert_int_equal(
		tern_placement_map_chain(&pl, 3, &map, chain, 8, &learner), 3);
	assert_int_equal(learner, UINT16_MAX);
	map.removed = 1u << 0;
	map.learning = 1u << 0;
	assert_int_equal(
		tern_placement_map_chain(&pl, 3, &map, chain, 8, &learner), 2);
	assert_int_equal(chain[0], 3);
	assert_int_equal(chain[1], 1);
	assert_int_equal(learner, 0);
	map = (struct tern_placement_map){ .rejoined_count = 3,
					   .rejoined = { 3, 2, 3 } };
	assert_int_equal(
		tern_placement_map_chain(&pl, 3, &map, chain, 8, &learner), 3);
	assert_int_equal(chain[0], 0); /* 3 joined back: at the tail */
	assert_int_equal(chain[1], 1);
	assert_int_equal(chain[2], 3);
	map.removed = (1u << 0) | (1u << 1) | (1u << 3);
	assert_int_equal(tern_placement_map_chain(&pl, 3, &map, chain, 8, NULL),
			 -ENOENT);
	assert_int_equal(tern_placement_map_chain(&pl, 3, &map, chain, 2, NULL),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_chains),
		cmocka_unit_test(test_balance_small),
		cmocka_unit_test(test_balance_large),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_map_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
