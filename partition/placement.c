/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chain placement and partition -> worker assignment. placement.h states
 * the rule, chain(p)[k] = (p + floor(k * N / R)) mod N, and proves its
 * balance; this file only evaluates it. Every loop is bounded by P <= 4096
 * and N <= 64.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "placement.h"

_Static_assert(TERN_PLACEMENT_NODES_MAX <= INT8_MAX,
	       "chain positions must fit position_of[]");
_Static_assert(TERN_PLACEMENT_NODES_MAX <= UINT8_MAX + 1,
	       "chain offsets must fit offset[]");
_Static_assert(TERN_PLACEMENT_PARTITIONS_MAX <= INT32_MAX,
	       "served-partition counts are returned as int");
_Static_assert(TERN_PLACEMENT_WORKERS_MAX < TERN_PLACEMENT_NOT_SERVED,
	       "worker ids must not collide with NOT_SERVED");

int tern_placement_init(struct tern_placement *pl, uint32_t node_count,
			uint32_t partition_count, uint32_t replica_count)
{
	uint32_t k;

	if (pl == NULL || node_count == 0 ||
	    node_count > TERN_PLACEMENT_NODES_MAX || partition_count == 0 ||
	    partition_count > TERN_PLACEMENT_PARTITIONS_MAX ||
	    replica_count == 0 || replica_count > node_count)
		return -EINVAL;
	memset(pl, 0, sizeof(*pl));
	pl->node_count = node_count;
	pl->partition_count = partition_count;
	pl->replica_count = replica_count;
	memset(pl->position_of, -1, sizeof(pl->position_of));
	for (k = 0; k < replica_count; k++) {
		uint32_t c = k * node_count / replica_count;

		/* Strictly increasing because N / R >= 1: distinct nodes. */
		assert(c < node_count);
		assert(k == 0 || c > pl->offset[k - 1]);
		pl->offset[k] = (uint8_t)c;
		pl->position_of[c] = (int8_t)k;
	}
	return 0;
}

static int placement_valid(const struct tern_placement *pl)
{
	return pl != NULL && pl->node_count >= 1 &&
	       pl->node_count <= TERN_PLACEMENT_NODES_MAX &&
	       pl->partition_count >= 1 &&
	       pl->partition_count <= TERN_PLACEMENT_PARTITIONS_MAX &&
	       pl->replica_count >= 1 && pl->replica_count <= pl->node_count;
}

int tern_placement_get_chain(const struct tern_placement *pl,
			     uint32_t partition, uint16_t *chain,
			     size_t chain_len)
{
	uint32_t k;

	if (!placement_valid(pl) || partition >= pl->partition_count ||
	    chain == NULL)
		return -EINVAL;
	if (chain_len < pl->replica_count)
		return -ENOSPC;
	for (k = 0; k < pl->replica_count; k++)
		chain[k] = (uint16_t)((partition + pl->offset[k]) %
				      pl->node_count);
	return 0;
}

static bool in(uint64_t set, uint16_t node)
{
	return node < 64 && (set >> node & 1);
}

static bool rejoined(const struct tern_placement_map *m, uint16_t node)
{
	for (unsigned i = 0; i < m->rejoined_count; i++)
		if (m->rejoined[i] == node)
			return true;
	return false;
}

int tern_placement_map_chain(const struct tern_placement *pl,
			     uint32_t partition,
			     const struct tern_placement_map *map,
			     uint16_t *chain, size_t chain_len,
			     uint16_t *learner)
{
	uint16_t placed[TERN_PLACEMENT_NODES_MAX];
	uint64_t left_out = map->removed | map->learning;
	uint64_t here = 0;
	uint32_t live = 0;
	int err = tern_placement_get_chain(pl, partition, placed,
					   TERN_PLACEMENT_NODES_MAX);

	if (err == 0 && chain_len < pl->replica_count)
		err = -ENOSPC;
	if (err != 0)
		return err;
	if (learner != NULL)
		*learner = UINT16_MAX;
	for (uint32_t k = 0; k < pl->replica_count; k++) {
		here |= 1ull << placed[k];
		if (learner != NULL && *learner == UINT16_MAX &&
		    in(map->learning, placed[k]))
			*learner = placed[k];
		if (!in(left_out, placed[k]) && !rejoined(map, placed[k]))
			chain[live++] = placed[k];
	}
	for (unsigned i = 0; i < map->rejoined_count; i++)
		if (in(here, map->rejoined[i]) &&
		    !in(left_out, map->rejoined[i])) {
			here &= ~(1ull << map->rejoined[i]); /* once */
			chain[live++] = map->rejoined[i];
		}
	return live > 0 ? (int)live : -ENOENT;
}

int tern_placement_get_position(const struct tern_placement *pl,
				uint32_t partition, uint32_t node)
{
	uint32_t d;

	if (!placement_valid(pl) || partition >= pl->partition_count ||
	    node >= pl->node_count)
		return -EINVAL;
	/* node = (p + c_k) mod N  <=>  c_k = (node - p) mod N */
	d = (node + pl->node_count - partition % pl->node_count) %
	    pl->node_count;
	return pl->position_of[d] < 0 ? -ENOENT : pl->position_of[d];
}

int tern_placement_fill_report(const struct tern_placement *pl,
			       struct tern_placement_node_report *report,
			       size_t report_len)
{
	uint32_t p, k, last;

	if (!placement_valid(pl) || report == NULL)
		return -EINVAL;
	if (report_len < pl->node_count)
		return -ENOSPC;
	memset(report, 0, pl->node_count * sizeof(*report));
	last = pl->replica_count - 1;
	for (p = 0; p < pl->partition_count; p++) {
		for (k = 0; k < pl->replica_count; k++) {
			struct tern_placement_node_report *r =
				&report[(p + pl->offset[k]) % pl->node_count];

			r->replicas++;
			if (k == 0)
				r->heads++;
			if (k == last)
				r->tails++;
			if (k != 0 && k != last)
				r->middles++;
		}
	}
	return 0;
}

/* The dealing order of placement.h: 0 head, 1 middle, 2 tail. */
static int placement_role_rank(const struct tern_placement *pl, int position)
{
	if (position == 0)
		return 0;
	if ((uint32_t)position == pl->replica_count - 1)
		return 2;
	return 1;
}

int tern_placement_assign_workers(const struct tern_placement *pl,
				  uint32_t node, uint32_t worker_count,
				  uint16_t *worker_of, size_t worker_of_len)
{
	uint32_t p, next_worker = 0;
	int rank, served = 0;

	if (!placement_valid(pl) || node >= pl->node_count ||
	    worker_count == 0 || worker_count > TERN_PLACEMENT_WORKERS_MAX ||
	    worker_of == NULL)
		return -EINVAL;
	if (worker_of_len < pl->partition_count)
		return -ENOSPC;
	for (p = 0; p < pl->partition_count; p++)
		worker_of[p] = TERN_PLACEMENT_NOT_SERVED;
	/* Three passes over P (heads, middles, tails): bounded, no sort. */
	for (rank = 0; rank < 3; rank++) {
		for (p = 0; p < pl->partition_count; p++) {
			int pos = tern_placement_get_position(pl, p, node);

			if (pos < 0 || placement_role_rank(pl, pos) != rank)
				continue;
			worker_of[p] = (uint16_t)next_worker;
			next_worker = next_worker + 1 == worker_count
					      ? 0
					      : next_worker + 1;
			served++;
		}
	}
	return served;
}
