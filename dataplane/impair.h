/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test-only link impairment, per port, applied to received bursts: drop,
 * duplicate, reorder and delay a configured fraction of frames, from a
 * seeded generator so that a run replays. Off unless configured.
 */
#ifndef TERN_DATAPLANE_IMPAIR_H
#define TERN_DATAPLANE_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#define TERN_IMPAIR_HELD_MAX 1024u /* frames held back for delay at once */

struct tern_impair_config {
	double drop;	  /* fraction of frames dropped */
	double duplicate; /* fraction delivered twice */
	double reorder;	  /* fraction held back behind the next frame */
	double delay;	  /* fraction held back for delay_us */
	uint32_t delay_us;
	uint64_t seed;
};

enum tern_impair_action {
	TERN_IMPAIR_PASS,
	TERN_IMPAIR_DROP,
	TERN_IMPAIR_DUPLICATE,
	TERN_IMPAIR_REORDER,
	TERN_IMPAIR_DELAY,
};

struct tern_impair_held {
	struct rte_mbuf *mbuf;
	uint64_t release_tsc;
};

struct tern_impair {
	bool enabled;
	uint64_t rng;
	/* Thresholds on a 32-bit draw, cumulative in action order. */
	uint64_t limit_drop, limit_duplicate, limit_reorder, limit_delay;
	uint64_t delay_tsc;
	uint64_t reorder_wait_tsc;
	struct rte_mempool *copy_pool;
	struct rte_mbuf *reordered; /* waits for the next frame to overtake */
	uint64_t reordered_deadline_tsc;
	struct tern_impair_held held[TERN_IMPAIR_HELD_MAX]; /* FIFO */
	unsigned held_head, held_count;
	uint64_t dropped;
};

/*
 * Parse "drop=0.05,dup=0.01,reorder=0.02,delay=0.01,delay-us=200,seed=7".
 * Unknown keys, values outside [0, 1] or fractions summing above 1 are
 * rejected with a message in err. 0 or -EINVAL.
 */
int tern_impair_parse(const char *spec, struct tern_impair_config *cfg,
		      char *err, size_t err_len);

void tern_impair_init(struct tern_impair *im,
		      const struct tern_impair_config *cfg, uint64_t tsc_hz,
		      struct rte_mempool *copy_pool);

/* The next action of the seeded generator (exposed for tests). */
enum tern_impair_action tern_impair_decide(struct tern_impair *im);

/*
 * Apply impairment to a received burst in[0..n_in) and write what is
 * delivered now to out (capacity out_cap, at least 3 * n_in + 2). Dropped
 * frames are freed and counted in im->dropped. Returns the count written.
 */
uint16_t tern_impair_apply(struct tern_impair *im, struct rte_mbuf **in,
			   uint16_t n_in, struct rte_mbuf **out,
			   uint16_t out_cap, uint64_t now_tsc);

/* Free every frame still held back (at shutdown). */
void tern_impair_release_all(struct tern_impair *im);

#endif /* TERN_DATAPLANE_IMPAIR_H */
