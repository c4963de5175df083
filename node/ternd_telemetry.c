/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-partition state and counters as a DPDK telemetry command,
 * /tern/partitions (read with dpdk-telemetry.py): flush latency
 * quantiles there are upper bounds of log2 buckets (at most 2x high). The
 * chains belong to the workers: every TERND_PUBLISH_NS each worker copies its
 * partitions' view into a buffer guarded by a sequence counter, and the
 * telemetry thread reads that copy, retrying while a copy is being written. No
 * lock, and nothing on the worker waits for a reader.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "tern_log.h"
#include "ternd.h"

#define READ_TRIES 1000

const char *const ternd_reject_names[TERND_REJECT_COUNT] = {
	"stale_epoch", "not_served", "bad_message",
	"bad_batch",   "unexpected", "unknown_peer",
};
const char *const ternd_tx_fail_names[TERND_TX_FAIL_COUNT] = {
	"no_route",
	"no_mac",
	"tx_full",
};

static _Atomic(struct ternd *) telemetry_node;
/* Callbacks inside the node's views: stop waits for them to leave. */
static atomic_uint telemetry_readers;

static void view_of(const struct ternd_replica *r,
		    struct ternd_partition_view *v)
{
	const struct tern_chain_counters *c = tern_chain_counters(r->chain);
	uint64_t rejected = 0;

	for (unsigned i = 0; i < TERN_CHAIN_REJECT_COUNT; i++)
		rejected += c->rejected[i];
	*v = (struct ternd_partition_view){
		.partition = r->partition,
		.role = (uint32_t)tern_chain_role(r->chain),
		.log_end = tern_chain_log_end(r->chain),
		.durable = tern_chain_durable_end(r->chain),
		.acked = tern_chain_acked(r->chain),
		.commit = tern_chain_commit(r->chain),
		.window_used = tern_chain_window_used(r->chain),
		.epoch = r->epoch,
		.learner_acked = tern_chain_learner_acked(r->chain),
		.learner_synced = tern_chain_learner_synced(r->chain),
		.produced = c->produced,
		.duplicates = c->produce_duplicates,
		.busy = c->busy,
		.appended = c->appended,
		.forwarded = c->forwarded,
		.retransmitted = c->retransmitted,
		.nacks_sent = c->nacks_sent,
		.nacks_received = c->nacks_received,
		.acks_sent = c->acks_sent,
		.rejected = rejected,
	};
	if (r->log != NULL) {
		v->appended_bytes = tern_log_stats(r->log)->append_bytes;
		v->flush_us = tern_log_stats(r->log)->flush_us;
		v->flush_records = tern_log_stats(r->log)->flush_records;
	}
}

void ternd_publish(struct ternd_worker *w)
{
	struct ternd_published *p = &w->published;
	uint32_t seq = atomic_load_explicit(&p->seq, memory_order_relaxed);

	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (unsigned i = 0; i < w->replica_count; i++)
		view_of(w->replicas[i], &p->views[i]);
	p->count = w->replica_count;
	memcpy(p->worker.rejected, w->rejected, sizeof(w->rejected));
	memcpy(p->worker.tx_failed, w->tx_failed, sizeof(w->tx_failed));
	p->worker.fetch_slots_full = w->fetch_slots_full;
	memcpy(p->worker.peers, w->peers_heard, sizeof(w->peers_heard));
	atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

bool ternd_published_read(struct ternd_worker *w,
			  struct ternd_partition_view *views,
			  struct ternd_worker_view *worker, unsigned *count)
{
	struct ternd_published *p = &w->published;

	for (int i = 0; i < READ_TRIES; i++) {
		uint32_t before =
			atomic_load_explicit(&p->seq, memory_order_acquire);
		unsigned n;

		if (before & 1)
			continue;
		n = p->count < TERND_PUBLISH_MAX ? p->count : TERND_PUBLISH_MAX;
		memcpy(views, p->views, n * sizeof(*views));
		*worker = p->worker;
		*count = n;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->seq, memory_order_relaxed) ==
		    before)
			return true;
	}
	return false;
}

static const char *const role_names[] = {
	[TERN_CHAIN_HEAD_AND_TAIL] = "head_and_tail",
	[TERN_CHAIN_HEAD] = "head",
	[TERN_CHAIN_MIDDLE] = "middle",
	[TERN_CHAIN_TAIL] = "tail",
	[TERN_CHAIN_NOT_MEMBER] = "not_member",
	[TERN_CHAIN_LEARNER] = "learner",
};

const char *ternd_role_name(uint32_t role)
{
	return role < RTE_DIM(role_names) ? role_names[role] : "unknown";
}

static struct rte_tel_data *view_dict(const struct ternd_partition_view *v,
				      unsigned worker)
{
	struct rte_tel_data *d = rte_tel_data_alloc();

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "role", ternd_role_name(v->role));
	rte_tel_data_add_dict_u64(d, "worker", worker);
	rte_tel_data_add_dict_u64(d, "log_end", v->log_end);
	rte_tel_data_add_dict_u64(d, "durable", v->durable);
	rte_tel_data_add_dict_u64(d, "acked", v->acked);
	rte_tel_data_add_dict_u64(d, "commit", v->commit);
	rte_tel_data_add_dict_u64(d, "commit_lag", v->log_end - v->commit);
	rte_tel_data_add_dict_u64(d, "window_used", v->window_used);
	rte_tel_data_add_dict_u64(d, "produced", v->produced);
	rte_tel_data_add_dict_u64(d, "duplicates", v->duplicates);
	rte_tel_data_add_dict_u64(d, "busy", v->busy);
	rte_tel_data_add_dict_u64(d, "appended", v->appended);
	rte_tel_data_add_dict_u64(d, "forwarded", v->forwarded);
	rte_tel_data_add_dict_u64(d, "retransmitted", v->retransmitted);
	rte_tel_data_add_dict_u64(d, "nacks_sent", v->nacks_sent);
	rte_tel_data_add_dict_u64(d, "nacks_received", v->nacks_received);
	rte_tel_data_add_dict_u64(d, "acks_sent", v->acks_sent);
	rte_tel_data_add_dict_u64(d, "rejected", v->rejected);
	rte_tel_data_add_dict_u64(d, "appended_bytes", v->appended_bytes);
	rte_tel_data_add_dict_u64(d, "flushes", v->flush_us.count);
	rte_tel_data_add_dict_u64(d, "flush_us_p50",
				  tern_log_hist_quantile(&v->flush_us, 0.5));
	rte_tel_data_add_dict_u64(d, "flush_us_p99",
				  tern_log_hist_quantile(&v->flush_us, 0.99));
	rte_tel_data_add_dict_u64(d, "flush_records", v->flush_records.sum);
	return d;
}

static int partitions_of(struct ternd *t, struct rte_tel_data *data,
			 struct ternd_partition_view *views)
{
	struct ternd_worker_view worker;

	rte_tel_data_start_dict(data);
	for (unsigned w = 0; w < t->worker_count; w++) {
		unsigned count;

		if (!ternd_published_read(&t->workers[w], views, &worker,
					  &count))
			return -EBUSY;
		for (unsigned i = 0; i < count; i++) {
			struct rte_tel_data *d = view_dict(&views[i], w);
			char name[16];

			if (d == NULL)
				return -ENOMEM;
			snprintf(name, sizeof(name), "%u", views[i].partition);
			rte_tel_data_add_dict_container(data, name, d, 0);
		}
	}
	return 0;
}

static int telemetry_partitions(const char *cmd, const char *params,
				struct rte_tel_data *data)
{
	struct ternd *t;
	int ret = -ENODEV;

	(void)cmd;
	(void)params;
	atomic_fetch_add(&telemetry_readers, 1);
	t = atomic_load(&telemetry_node);
	if (t != NULL) {
		/* Each telemetry client has its own thread: no static copy. */
		struct ternd_partition_view *views =
			malloc(TERND_PUBLISH_MAX * sizeof(*views));

		ret = views != NULL ? partitions_of(t, data, views) : -ENOMEM;
		free(views);
	}
	atomic_fetch_sub(&telemetry_readers, 1);
	return ret;
}

int ternd_telemetry_start(struct ternd *t)
{
	static bool registered;

	for (unsigned w = 0; w < t->worker_count; w++) {
		struct ternd_worker *wk = &t->workers[w];

		/* Room for as many as a worker may serve: topics come. */
		wk->published.views =
			calloc(TERND_PUBLISH_MAX, sizeof(*wk->published.views));
		if (wk->published.views == NULL)
			return -ENOMEM;
		ternd_publish(wk);
	}
	atomic_store_explicit(&telemetry_node, t, memory_order_release);
	if (!registered &&
	    rte_telemetry_register_cmd(
		    "/tern/partitions", telemetry_partitions,
		    "This node's partitions: role, offsets, commit lag and "
		    "chain counters, as of the last 100 ms.") != 0)
		TERN_LOG(ERR, "cannot register /tern/partitions");
	registered = true;
	return 0;
}

void ternd_telemetry_stop(struct ternd *t)
{
	const struct timespec nap = { 0, 1000000 };

	atomic_store(&telemetry_node, NULL);
	while (atomic_load(&telemetry_readers) != 0)
		nanosleep(&nap, NULL);
	for (unsigned w = 0; t->workers != NULL && w < t->worker_count; w++) {
		free(t->workers[w].published.views);
		t->workers[w].published.views = NULL;
	}
}
