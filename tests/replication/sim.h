/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A deterministic simulator of one partition's chain (see sim.c).
 *
 * tern_sim_run plays one run whose every choice (chain length, window
 * sizes, fault rates, message order, producer timing) comes from seed, so
 * the same seed replays the same run exactly. It returns 0 when every
 * invariant held at every step and the history checker accepted the run,
 * or -1 with the first violation (and the step it happened at) in why.
 */
#ifndef TERN_TESTS_SIM_H
#define TERN_TESTS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tern_sim_stats {
	uint32_t length;	/* replicas in the chain */
	uint32_t producers;	/* concurrent producers */
	uint64_t steps;		/* simulated steps until quiesced */
	uint64_t batches;	/* batches acknowledged to producers */
	uint64_t messages;	/* messages sent, before faults */
	uint64_t dropped;	/* messages the network lost */
	uint64_t duplicated;	/* messages the network duplicated */
	uint64_t garbage;	/* stale or malformed events injected */
	uint64_t crashes;	/* tail crashes and restarts */
	uint64_t kills;		/* replicas removed for good */
	uint64_t rejoins;	/* dead replicas back, empty, as learners */
	uint64_t promotions;	/* learners made tail once in sync */
	uint64_t reads;		/* fetches served */
	uint64_t busy;		/* BUSY answers producers retried */
	uint64_t retransmitted; /* Sent-list resends over all replicas */
};

/* Seeds from here on give producers windows wider than 5 batches. */
#define TERN_SIM_WIDE_SEEDS ((uint64_t)1 << 40)
/* Seeds from here on also kill replicas and reconfigure their chains. */
#define TERN_SIM_RECONFIG_SEEDS ((uint64_t)2 << 40)

int tern_sim_run(uint64_t seed, bool verbose, struct tern_sim_stats *stats,
		 char *why, size_t why_len);

#endif /* TERN_TESTS_SIM_H */
