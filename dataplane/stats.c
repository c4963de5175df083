/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counter reporting: DPDK telemetry commands and a visitor for dumps.
 *
 * DPDK 22.11's telemetry callbacks take no context argument, so the stats
 * array they read is kept here, registered once by the application.
 */
#include "stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "tern_log.h"

static struct tern_worker_stats *telemetry_stats;
/* Published after telemetry_stats with release, read with acquire by the
 * telemetry thread; set to 0 before the stats memory goes away. */
static atomic_uint telemetry_count;
static bool telemetry_registered;

uint64_t tern_stats_drops_total(struct tern_worker_stats *stats)
{
	uint64_t total = 0;

	for (unsigned r = TERN_DROP_NONE + 1; r < TERN_DROP_REASON_COUNT; r++)
		total += tern_counter_read(&stats->drops[r]);
	return total;
}

void tern_stats_visit(struct tern_worker_stats *stats, unsigned worker,
		      tern_stats_visit_fn visit, void *arg)
{
	char name[48];

	visit(arg, worker, "rx_frames", tern_counter_read(&stats->rx_frames));
	visit(arg, worker, "rx_bytes", tern_counter_read(&stats->rx_bytes));
	visit(arg, worker, "tx_frames", tern_counter_read(&stats->tx_frames));
	visit(arg, worker, "tx_bytes", tern_counter_read(&stats->tx_bytes));
	visit(arg, worker, "arp_replies",
	      tern_counter_read(&stats->arp_replies));
	visit(arg, worker, "idle_sleeps",
	      tern_counter_read(&stats->idle_sleeps));
	visit(arg, worker, "rx_interrupt_waits",
	      tern_counter_read(&stats->rx_interrupt_waits));
	visit(arg, worker, "relinks", tern_counter_read(&stats->relinks));
	visit(arg, worker, "drops_total", tern_stats_drops_total(stats));
	for (unsigned r = TERN_DROP_NONE + 1; r < TERN_DROP_REASON_COUNT; r++) {
		snprintf(name, sizeof(name), "drop_%s",
			 tern_drop_reason_name((enum tern_drop_reason)r));
		visit(arg, worker, name, tern_counter_read(&stats->drops[r]));
	}
}

static int telemetry_workers(const char *cmd __rte_unused,
			     const char *params __rte_unused,
			     struct rte_tel_data *data)
{
	unsigned count =
		atomic_load_explicit(&telemetry_count, memory_order_acquire);

	rte_tel_data_start_array(data, RTE_TEL_INT_VAL);
	for (unsigned i = 0; i < count; i++)
		rte_tel_data_add_array_int(data, (int)i);
	return 0;
}

static void add_to_dict(void *arg, unsigned worker __rte_unused,
			const char *name, uint64_t value)
{
	rte_tel_data_add_dict_u64(arg, name, value);
}

static int telemetry_worker_stats(const char *cmd __rte_unused,
				  const char *params, struct rte_tel_data *data)
{
	char *end;
	unsigned long worker;

	if (params == NULL || *params == '\0')
		return -EINVAL;
	worker = strtoul(params, &end, 10);
	if (*end != '\0' ||
	    worker >= atomic_load_explicit(&telemetry_count,
					   memory_order_acquire))
		return -EINVAL;
	rte_tel_data_start_dict(data);
	tern_stats_visit(&telemetry_stats[worker], (unsigned)worker,
			 add_to_dict, data);
	return 0;
}

int tern_stats_telemetry_register(struct tern_worker_stats *stats,
				  unsigned count)
{
	int ret = 0;

	atomic_store_explicit(&telemetry_count, 0, memory_order_release);
	telemetry_stats = stats;
	/* Pairs with the acquire loads in the command callbacks. */
	atomic_store_explicit(&telemetry_count, stats != NULL ? count : 0,
			      memory_order_release);
	if (telemetry_registered)
		return 0;
	ret = rte_telemetry_register_cmd("/tern/workers", telemetry_workers,
					 "List Tern worker indexes.");
	if (ret == 0)
		ret = rte_telemetry_register_cmd(
			"/tern/worker_stats", telemetry_worker_stats,
			"Counters of one worker. Parameters: int worker index");
	if (ret != 0)
		TERN_LOG(ERR, "cannot register telemetry commands: %d", ret);
	telemetry_registered = ret == 0;
	return ret;
}
