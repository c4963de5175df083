/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Proves, over thousands of seeded runs, that the chain state machine keeps
 * invariants 1-7 of DESIGN.md under message loss, duplication, reordering
 * and delay, slow and failing disks, stale-epoch and garbage events, BUSY
 * backpressure and producer retries, for chains of 1, 2, 3 and 5 replicas
 * (sim.c says how). The regression seeds (bugs the simulator found) replay
 * first, then seeds 1..N, then N/4 seeds from TERN_SIM_WIDE_SEEDS whose
 * producers keep more than 5 batches in flight, then N/4 seeds from
 * TERN_SIM_RECONFIG_SEEDS in which replicas (head, middle or tail) die for
 * good and the survivors are reconfigured into a shorter chain under load.
 *
 *   TERN_SIM_SEED=n     replay exactly run n, verbosely, and nothing else
 *   TERN_SIM_SEEDS=n    how many seeds to run (else argv[1], else 3000;
 *                       meson passes 10000, or 2500 under sanitizers)
 *   TERN_SIM_FIRST=n    first seed of the range (default 1)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim.h"

/* Seeds that once failed, each with the bug it found (STYLE.md habit 12). */
static const uint64_t regression_seeds[] = {
	/* The head took a new producer's first sequence whatever it was:
	 * with sequence 0 reordered behind 1, 1 went in first and 0 was
	 * answered SEQUENCE_OLD, never written. Fix: an unknown producer
	 * starts at sequence 0 (else OUT_OF_ORDER). */
	1,
	/* A lost COMMIT was never resent: with no more traffic, the middle
	 * and tail never learned the final commit index (reads there stall).
	 * Fix: ACK reports the successor's commit; the timer resends COMMIT
	 * until it is reported; a COMMIT is answered with an ACK. */
	120,
	/* A tail restarted on its durable log (tern_chain_init) never
	 * announced its ack nor learned the commit without new traffic, and
	 * one lost ACK left it there. Fix: a replica whose commit is below its
	 * own ack repeats its ack every retransmit_ns. */
	10,
	/* A produce refused as TOO_LARGE from an unknown producer id took a
	 * slot of the full producer table, evicting a live producer, whose
	 * next batches were then refused (or, before the first fix, taken
	 * again as new). Fix: only an accepted produce takes a slot. */
	66,
};

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 10) : fallback;
}

static void add(struct tern_sim_stats *total, const struct tern_sim_stats *st)
{
	total->steps += st->steps;
	total->batches += st->batches;
	total->messages += st->messages;
	total->dropped += st->dropped;
	total->duplicated += st->duplicated;
	total->garbage += st->garbage;
	total->crashes += st->crashes;
	total->kills += st->kills;
	total->rejoins += st->rejoins;
	total->promotions += st->promotions;
	total->reads += st->reads;
	total->busy += st->busy;
	total->retransmitted += st->retransmitted;
}

static void print_stats(const struct tern_sim_stats *st)
{
	printf("%" PRIu64 " steps, %" PRIu64 " batches acknowledged, %" PRIu64
	       " messages (%" PRIu64 " dropped, %" PRIu64 " duplicated)\n",
	       st->steps, st->batches, st->messages, st->dropped,
	       st->duplicated);
	printf("%" PRIu64 " garbage events, %" PRIu64 " tail crashes, %" PRIu64
	       " replicas removed, %" PRIu64 " rejoined (%" PRIu64
	       " made tail), %" PRIu64 " reads, %" PRIu64 " busy, %" PRIu64
	       " retransmitted\n",
	       st->garbage, st->crashes, st->kills, st->rejoins, st->promotions,
	       st->reads, st->busy, st->retransmitted);
}

static int run(uint64_t seed, bool verbose, struct tern_sim_stats *total)
{
	struct tern_sim_stats st;
	char why[600];

	if (tern_sim_run(seed, verbose, &st, why, sizeof(why)) != 0) {
		printf("FAIL seed=%" PRIu64 ": %s\n", seed, why);
		printf("replay: TERN_SIM_SEED=%" PRIu64
		       " tests/replication/test_sim\n",
		       seed);
		return -1;
	}
	if (verbose) {
		printf("ok seed=%" PRIu64 ": ", seed);
		print_stats(&st);
	}
	add(total, &st);
	return 0;
}

/* Passing seeds prove nothing if the faults stopped being injected. */
static bool faults_happened(const struct tern_sim_stats *total)
{
	const struct {
		const char *name;
		uint64_t count;
	} faults[] = {
		{ "dropped", total->dropped },
		{ "duplicated", total->duplicated },
		{ "garbage", total->garbage },
		{ "crashes", total->crashes },
		{ "removals", total->kills },
		{ "rejoins", total->rejoins },
		{ "promotions", total->promotions },
		{ "busy", total->busy },
		{ "retransmitted", total->retransmitted },
	};
	bool all = true;

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		if (faults[i].count > 0)
			continue;
		printf("FAIL: no run had any %s: the fault injection is "
		       "broken\n",
		       faults[i].name);
		all = false;
	}
	return all;
}

int main(int argc, char **argv)
{
	uint64_t count = env_u64("TERN_SIM_SEEDS",
				 argc > 1 ? strtoull(argv[1], NULL, 10) : 3000);
	uint64_t first = env_u64("TERN_SIM_FIRST", 1);
	struct tern_sim_stats total = { 0 };
	const char *one = getenv("TERN_SIM_SEED");
	uint64_t failed = 0, runs = 0;
	clock_t start = clock();

	if (one != NULL && *one != '\0')
		return run(strtoull(one, NULL, 10), true, &total) == 0 ? 0 : 1;
	for (size_t i = 0;
	     i < sizeof(regression_seeds) / sizeof(regression_seeds[0]); i++) {
		runs++;
		failed += run(regression_seeds[i], false, &total) != 0;
	}
	for (uint64_t seed = first; seed < first + count; seed++) {
		runs++;
		failed += run(seed, false, &total) != 0;
	}
	/* A quarter as many again with producer windows wider than 5. */
	for (uint64_t i = 0; i < count / 4; i++) {
		runs++;
		failed += run(TERN_SIM_WIDE_SEEDS + first + i, false, &total) !=
			  0;
	}
	/* And as many with replicas dying and chains reconfigured. */
	for (uint64_t i = 0; i < count / 4; i++) {
		runs++;
		failed += run(TERN_SIM_RECONFIG_SEEDS + first + i, false,
			      &total) != 0;
	}
	printf("%" PRIu64 " runs (seeds %" PRIu64 "..%" PRIu64
	       ", a quarter as many wide-window seeds from %" PRIu64
	       " and reconfiguration seeds from %" PRIu64
	       ", after %zu regression seeds), %" PRIu64
	       " failed, %.1f s cpu\n",
	       runs, first, first + count - 1, TERN_SIM_WIDE_SEEDS + first,
	       TERN_SIM_RECONFIG_SEEDS + first,
	       sizeof(regression_seeds) / sizeof(regression_seeds[0]), failed,
	       (double)(clock() - start) / CLOCKS_PER_SEC);
	print_stats(&total);
	if (!faults_happened(&total))
		failed++;
	return failed == 0 ? 0 : 1;
}
