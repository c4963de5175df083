/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placement: which nodes replicate each partition, in which chain order,
 * and which worker lcore of a node serves each of its partitions. Pure
 * arithmetic on (N nodes, P partitions, R replicas): every node computes
 * the same map without talking to the others, and nothing is allocated.
 *
 * The chain rule. Let c_k = floor(k * N / R) for k = 0 .. R-1 (R points
 * spread as evenly as integers allow around a ring of N nodes, c_0 = 0).
 * The chain of partition p is
 *
 *	chain(p)[k] = (p + c_k) mod N,	k = 0 (head) .. R-1 (tail).
 *
 * It is the "p + k * stride" rule with the fractional stride N / R rounded
 * down step by step, and it depends on p, N and R only, not on P: adding
 * partitions to a topic never moves the existing ones.
 *
 * Why it balances (write P = q * N + r, 0 <= r < N):
 * - Distinct nodes. N / R >= 1, so c_0 < c_1 < ... < c_{R-1} < N: the R
 *   offsets are distinct residues and so are the chain's nodes.
 * - Every chain position, head and tail included. For a fixed k, p -> (p
 *   + c_k) mod N is a rotation of p mod N. Among p = 0 .. P-1 each
 *   residue occurs q or q + 1 times, so each node holds position k (is
 *   head, is tail, ...) q or q + 1 times: max - min <= 1 for every
 *   (N, P, R), which is the best possible.
 * - Total replicas. Node n holds position k of partition p iff p = (n -
 *   c_k) mod N + j * N. Summed over k it holds R * q + E(n) replicas, E(n)
 *   being the number of k with (n - c_k) mod N < r, i.e. the number of
 *   offsets c_k in the window of r consecutive residues (n - r, n]. Extend
 *   c_k to all integers k (c_{k+R} = c_k + N; the formula still holds).
 *   For integer a, a <= floor(x) iff a <= x, so a window [a, a + r)
 *   contains c_k iff a * R / N <= k < (a + r) * R / N: the integers of a
 *   real interval of length r * R / N, of which there are floor or ceil
 *   of r * R / N. So totals differ by at most one between nodes, too.
 * - Middles (positions 1 .. R-2) are total - heads - tails per node, so
 *   their max - min is at most 3 (reached: N = 6, P = 3, R = 5); it is 0
 *   whenever N divides P. Each single middle position is within one.
 *   With R = 1 the single replica is both head and tail.
 *
 * Workers. A node lists the partitions it serves, heads first, then
 * middles, then tails, each group by ascending partition, and deals that
 * list to workers 0, 1, ..., W-1, 0, 1, ... If the node serves S
 * partitions, each worker serves floor or ceil of S / W (max - min <= 1),
 * and, the dealing being continuous, each worker also gets an even share
 * of the heads (which sequence writes and work hardest) and of each role.
 *
 * Functions return 0, a count, or a negative errno: -EINVAL for
 * arguments out of range, -ENOSPC for a caller's array that is too short,
 * -ENOENT for a node that is not in a chain.
 */
#ifndef TERN_PARTITION_PLACEMENT_H
#define TERN_PARTITION_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#define TERN_PLACEMENT_NODES_MAX 64
#define TERN_PLACEMENT_PARTITIONS_MAX 4096
#define TERN_PLACEMENT_WORKERS_MAX 128
/* worker_of[] entry of a partition the node does not serve. */
#define TERN_PLACEMENT_NOT_SERVED UINT16_MAX

/* A validated (N, P, R) with the chain offsets computed once. */
struct tern_placement {
	uint32_t node_count;	  /* N, 1 .. TERN_PLACEMENT_NODES_MAX */
	uint32_t partition_count; /* P, 1 .. TERN_PLACEMENT_PARTITIONS_MAX */
	uint32_t replica_count;	  /* R, 1 .. N */
	/* offset[k] = c_k = floor(k * N / R), for k < R */
	uint8_t offset[TERN_PLACEMENT_NODES_MAX];
	/* position_of[d] = k with c_k == d, or -1: d = (node - p) mod N */
	int8_t position_of[TERN_PLACEMENT_NODES_MAX];
};

/* Per-node role counts; the CLI prints them as the placement report. */
struct tern_placement_node_report {
	uint32_t heads;	   /* chain position 0 */
	uint32_t middles;  /* positions 1 .. R-2 */
	uint32_t tails;	   /* position R-1 (the head itself when R = 1) */
	uint32_t replicas; /* partitions the node holds, in any role */
};

/* Validates 1 <= R <= N <= 64 and 1 <= P <= 4096 and fills pl. */
int tern_placement_init(struct tern_placement *pl, uint32_t node_count,
			uint32_t partition_count, uint32_t replica_count);

/*
 * Writes the chain of partition into chain[0 .. R-1], head first, tail
 * last. chain_len is the capacity of chain, at least R.
 */
int tern_placement_get_chain(const struct tern_placement *pl,
			     uint32_t partition, uint16_t *chain,
			     size_t chain_len);

/*
 * What reconfigurations changed in a topic's chains (bit n: node n).
 * removed: out of every chain. learning: removed nodes joining back, as
 * the tail's learner of the chains they are placed in (not members yet).
 * rejoined: nodes that joined back, in the order they did; in a chain
 * they come last, in that order (a node joins at the tail), after the
 * placement rule's others.
 */
struct tern_placement_map {
	uint64_t removed;
	uint64_t learning;
	uint8_t rejoined_count;
	uint8_t rejoined[TERN_PLACEMENT_NODES_MAX];
};

/*
 * The chain of partition under map: its members' count, -ENOENT when it
 * has none, -EINVAL or -ENOSPC as above; *learner (may be NULL) the node
 * learning it, or UINT16_MAX.
 */
int tern_placement_map_chain(const struct tern_placement *pl,
			     uint32_t partition,
			     const struct tern_placement_map *map,
			     uint16_t *chain, size_t chain_len,
			     uint16_t *learner);

/* The chain position of node in partition (0 = head), or -ENOENT. */
int tern_placement_get_position(const struct tern_placement *pl,
				uint32_t partition, uint32_t node);

/* Fills report[0 .. N-1]; report_len is its capacity, at least N. */
int tern_placement_fill_report(const struct tern_placement *pl,
			       struct tern_placement_node_report *report,
			       size_t report_len);

/*
 * Assigns the partitions node serves to worker_count workers (the rule
 * above): worker_of[p] is the worker of partition p, or
 * TERN_PLACEMENT_NOT_SERVED. worker_of_len is its capacity, at least P.
 * Returns the number of partitions the node serves.
 */
int tern_placement_assign_workers(const struct tern_placement *pl,
				  uint32_t node, uint32_t worker_count,
				  uint16_t *worker_of, size_t worker_of_len);

#endif /* TERN_PARTITION_PLACEMENT_H */
