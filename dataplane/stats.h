/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker counters: frames, bytes and drops by reason. Each block has one
 * writer (its worker lcore); readers (telemetry on the control thread, the
 * exit dump) load with relaxed atomics, so a counter is never torn and the
 * hot path pays a plain add, not a locked instruction.
 */
#ifndef TERN_DATAPLANE_STATS_H
#define TERN_DATAPLANE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_common.h>

#include "frame.h"

#define TERN_WORKERS_MAX 16u

struct tern_worker_stats {
	_Atomic uint64_t rx_frames;
	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t tx_frames;
	_Atomic uint64_t tx_bytes;
	_Atomic uint64_t arp_replies;
	_Atomic uint64_t idle_sleeps;
	_Atomic uint64_t rx_interrupt_waits;
	_Atomic uint64_t
		relinks; /* ports restarted after their link stayed down */
	_Atomic uint64_t drops[TERN_DROP_REASON_COUNT];
} __rte_cache_aligned;

/* Add to a counter that only the calling lcore writes. */
static inline void tern_counter_add(_Atomic uint64_t *counter, uint64_t n)
{
	/* Single writer: a relaxed load+store is enough and avoids a locked
	 * add; pairs with the relaxed loads in tern_counter_read. */
	atomic_store_explicit(
		counter,
		atomic_load_explicit(counter, memory_order_relaxed) + n,
		memory_order_relaxed);
}

static inline uint64_t tern_counter_read(_Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static inline void tern_stats_drop(struct tern_worker_stats *stats,
				   enum tern_drop_reason reason, uint64_t n)
{
	tern_counter_add(&stats->drops[reason], n);
}

/* Sum of all drop counters of one block. */
uint64_t tern_stats_drops_total(struct tern_worker_stats *stats);

/*
 * Serve the telemetry commands /tern/workers and /tern/worker_stats,<i>
 * from an array of `count` stats blocks owned by the caller; call again
 * with NULL before freeing them (the commands then list no worker).
 * 0 or a negative errno.
 */
int tern_stats_telemetry_register(struct tern_worker_stats *stats,
				  unsigned count);

typedef void (*tern_stats_visit_fn)(void *arg, unsigned worker,
				    const char *name, uint64_t value);

/* Call visit for every counter of one block (drops as "drop_<reason>"). */
void tern_stats_visit(struct tern_worker_stats *stats, unsigned worker,
		      tern_stats_visit_fn visit, void *arg);

#endif /* TERN_DATAPLANE_STATS_H */
