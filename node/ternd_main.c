/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd: command line, cluster file, EAL and dataplane bring-up, the
 * partitions this node serves, and an orderly stop on SIGINT/SIGTERM (the
 * workers close their logs, each on its own thread once its I/O is done;
 * then the counters are printed). docs/operations.md documents the
 * options.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include "args.h"
#include "eal.h"
#include "stats.h"
#include "ternd.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
};

struct cli {
	struct ternd_options opts;
	struct tern_eal_config eal;
	struct tern_idle_config idle;
	struct tern_impair_config impair;
	char file_prefix[64];
	char lcores[32];
	const char *node_arg;
};

static struct tern_dp *running_dp;

static void usage(FILE *out)
{
	fputs("usage: ternd --cluster FILE --node ID --data-dir DIR [options]\n"
	      "\n"
	      "Serve this node's replicas of the cluster's partitions.\n"
	      "\n"
	      "  --cluster FILE        the cluster file (docs/operations.md)\n"
	      "  --node ID             this node's id in it\n"
	      "  --data-dir DIR        partition logs live under DIR\n"
	      "  --lcores LIST         EAL lcores: one worker per lcore "
	      "besides\n"
	      "                        the main one, or the main one alone;\n"
	      "                        must match 'workers' (default 0@(0-N):\n"
	      "                        one lcore free to run on any CPU)\n"
	      "  --main-lcore N        EAL main lcore\n"
	      "  --file-prefix NAME    EAL file prefix (default ternd-ID-PID)\n"
	      "  --in-memory           EAL --in-memory instead of a prefix\n"
	      "  --hugepages           use hugepages (default --no-huge)\n"
	      "  --huge-dir DIR        hugetlbfs mount\n"
	      "  --single-file-segments  (virtio-user needs it)\n"
	      "  --mem-mb N            EAL memory without hugepages "
	      "(default 1024)\n"
	      "  --idle busy|adaptive  idle policy (default adaptive)\n"
	      "  --sleep-us-max N      adaptive: longest sleep (default 50)\n"
	      "  --deep-sleep-us N     adaptive: longest sleep after 100 ms "
	      "without\n"
	      "                        work (default 1000; 0: never)\n"
	      "  --spin-polls N        adaptive: empty polls before yielding "
	      "(default 256)\n"
	      "  --yield-polls N       adaptive: empty polls yielding the "
	      "core\n"
	      "                        before sleeping (default 1000)\n"
	      "  --window-batches N    Sent list batches per partition "
	      "(default 512)\n"
	      "  --window-bytes N      Sent list bytes per partition "
	      "(default 4 MiB)\n"
	      "  --producers-max N     producers remembered per partition "
	      "(default 64)\n"
	      "  --producer-window N   batches remembered per producer "
	      "(default 256)\n"
	      "  --retransmit-us N     resend unacknowledged batches after "
	      "(default 20000)\n"
	      "  --commit-idle-us N    send COMMIT when idle after "
	      "(default 1000)\n"
	      "  --segment-bytes N     log segment size (default 64 MiB)\n"
	      "  --log-level LEVEL     EAL log level, e.g. tern:debug\n"
	      "  --impair SPEC         tests only: impair received frames on "
	      "every\n"
	      "                        port: drop=F,dup=F,reorder=F,delay=F,\n"
	      "                        delay-us=N,seed=N (seed + node id)\n"
	      "  --help\n"
	      "\n"
	      "Exit: 0 stopped cleanly, 2 usage, 3 setup failed.\n",
	      out);
}

enum opt_id {
	OPT_HELP = 256,
	OPT_CLUSTER,
	OPT_NODE,
	OPT_DATA_DIR,
	OPT_LCORES,
	OPT_MAIN_LCORE,
	OPT_FILE_PREFIX,
	OPT_IN_MEMORY,
	OPT_HUGEPAGES,
	OPT_HUGE_DIR,
	OPT_SINGLE_FILE,
	OPT_MEM_MB,
	OPT_IDLE,
	OPT_SLEEP_US_MAX,
	OPT_SPIN_POLLS,
	OPT_DEEP_SLEEP_US,
	OPT_YIELD_POLLS,
	OPT_WINDOW_BATCHES,
	OPT_WINDOW_BYTES,
	OPT_PRODUCERS_MAX,
	OPT_PRODUCER_WINDOW,
	OPT_RETRANSMIT_US,
	OPT_COMMIT_IDLE_US,
	OPT_SEGMENT_BYTES,
	OPT_LOG_LEVEL,
	OPT_IMPAIR,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "lcores", required_argument, NULL, OPT_LCORES },
	{ "main-lcore", required_argument, NULL, OPT_MAIN_LCORE },
	{ "file-prefix", required_argument, NULL, OPT_FILE_PREFIX },
	{ "in-memory", no_argument, NULL, OPT_IN_MEMORY },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "huge-dir", required_argument, NULL, OPT_HUGE_DIR },
	{ "single-file-segments", no_argument, NULL, OPT_SINGLE_FILE },
	{ "mem-mb", required_argument, NULL, OPT_MEM_MB },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "sleep-us-max", required_argument, NULL, OPT_SLEEP_US_MAX },
	{ "spin-polls", required_argument, NULL, OPT_SPIN_POLLS },
	{ "deep-sleep-us", required_argument, NULL, OPT_DEEP_SLEEP_US },
	{ "yield-polls", required_argument, NULL, OPT_YIELD_POLLS },
	{ "window-batches", required_argument, NULL, OPT_WINDOW_BATCHES },
	{ "window-bytes", required_argument, NULL, OPT_WINDOW_BYTES },
	{ "producers-max", required_argument, NULL, OPT_PRODUCERS_MAX },
	{ "producer-window", required_argument, NULL, OPT_PRODUCER_WINDOW },
	{ "retransmit-us", required_argument, NULL, OPT_RETRANSMIT_US },
	{ "commit-idle-us", required_argument, NULL, OPT_COMMIT_IDLE_US },
	{ "segment-bytes", required_argument, NULL, OPT_SEGMENT_BYTES },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "impair", required_argument, NULL, OPT_IMPAIR },
	{ NULL, 0, NULL, 0 },
};

static void set_defaults(struct cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->opts = (struct ternd_options){
		.window_batches = 512,
		.window_bytes = 4u << 20,
		.producers_max = 64,
		.producer_window = 256,
		.retransmit_ns = 20000000,
		.commit_idle_ns = 1000000,
		.segment_bytes = 64ull << 20,
	};
	cli->eal = (struct tern_eal_config){ .lcores = tern_eal_lcores_floating(
						     cli->lcores,
						     sizeof(cli->lcores)),
					     .main_lcore = -1,
					     .mem_mb = 1024 };
	cli->idle = (struct tern_idle_config){ .mode = TERN_IDLE_ADAPTIVE,
					       .spin_polls = 256,
					       .yield_polls = 1000,
					       .sleep_us_max = 50,
					       .deep_after_ms = 100,
					       .deep_sleep_us = 1000,
					       .rx_interrupts = true };
}

static int parse_number(struct cli *cli, int id, const char *name,
			const char *arg)
{
	struct ternd_options *o = &cli->opts;
	uint64_t v;
	int err = -ENOENT;

#define NUMBER(opt, min, max, dst, scale)                             \
	case opt:                                                     \
		err = tern_arg_u64("ternd", name, arg, min, max, &v); \
		if (err == 0)                                         \
			dst = (__typeof__(dst))(v * (scale));         \
		break
	switch (id) {
		NUMBER(OPT_NODE, 0, TERN_CLUSTER_NODES_MAX - 1, o->node, 1);
		NUMBER(OPT_MAIN_LCORE, 0, RTE_MAX_LCORE - 1,
		       cli->eal.main_lcore, 1);
		NUMBER(OPT_MEM_MB, 64, 1u << 20, cli->eal.mem_mb, 1);
		NUMBER(OPT_SLEEP_US_MAX, 1, 100000, cli->idle.sleep_us_max, 1);
		NUMBER(OPT_SPIN_POLLS, 0, 1u << 30, cli->idle.spin_polls, 1);
		NUMBER(OPT_DEEP_SLEEP_US, 0, 100000, cli->idle.deep_sleep_us,
		       1);
		NUMBER(OPT_YIELD_POLLS, 0, 1u << 30, cli->idle.yield_polls, 1);
		NUMBER(OPT_WINDOW_BATCHES, 1, 1u << 20, o->window_batches, 1);
		NUMBER(OPT_WINDOW_BYTES, 65536, 1u << 30, o->window_bytes, 1);
		NUMBER(OPT_PRODUCERS_MAX, 1, 1u << 20, o->producers_max, 1);
		NUMBER(OPT_PRODUCER_WINDOW, 1, 1u << 20, o->producer_window, 1);
		NUMBER(OPT_RETRANSMIT_US, 100, 60000000, o->retransmit_ns,
		       1000);
		NUMBER(OPT_COMMIT_IDLE_US, 10, 60000000, o->commit_idle_ns,
		       1000);
		NUMBER(OPT_SEGMENT_BYTES, 1u << 20, 1ull << 32,
		       o->segment_bytes, 1);
	default:
		break;
	}
#undef NUMBER
	if (id == OPT_NODE && err == 0)
		cli->node_arg = arg;
	return err;
}

static int parse_other(struct cli *cli, int id, const char *arg)
{
	switch (id) {
	case OPT_CLUSTER:
		cli->opts.cluster_path = arg;
		return 0;
	case OPT_DATA_DIR:
		cli->opts.data_dir = arg;
		return 0;
	case OPT_LCORES:
		cli->eal.lcores = arg;
		return 0;
	case OPT_FILE_PREFIX:
		cli->eal.file_prefix = arg;
		return 0;
	case OPT_IN_MEMORY:
		cli->eal.in_memory = true;
		return 0;
	case OPT_HUGEPAGES:
		cli->eal.hugepages = true;
		return 0;
	case OPT_HUGE_DIR:
		cli->eal.huge_dir = arg;
		return 0;
	case OPT_SINGLE_FILE:
		cli->eal.single_file_segments = true;
		return 0;
	case OPT_LOG_LEVEL:
		cli->eal.log_level = arg;
		return 0;
	case OPT_IMPAIR: {
		char err[256];

		if (tern_impair_parse(arg, &cli->impair, err, sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "ternd: --impair '%s': %s\n", arg, err);
		return -EINVAL;
	}
	case OPT_IDLE:
		if (strcmp(arg, "busy") == 0 || strcmp(arg, "adaptive") == 0) {
			cli->idle.mode = arg[0] == 'b' ? TERN_IDLE_BUSY
						       : TERN_IDLE_ADAPTIVE;
			return 0;
		}
		fprintf(stderr, "ternd: --idle '%s': use busy or adaptive\n",
			arg);
		return -EINVAL;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	int id;

	set_defaults(cli);
	while ((id = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		int err;

		if (id == OPT_HELP) {
			usage(stdout);
			exit(EXIT_OK);
		}
		if (id < OPT_HELP) {
			usage(stderr);
			return -EINVAL;
		}
		err = parse_number(cli, id, long_options[id - OPT_HELP].name,
				   optarg);
		if (err == -ENOENT)
			err = parse_other(cli, id, optarg);
		if (err != 0)
			return err;
	}
	if (optind < argc || cli->opts.cluster_path == NULL ||
	    cli->node_arg == NULL || cli->opts.data_dir == NULL) {
		fputs("ternd: --cluster, --node and --data-dir are required "
		      "(see --help)\n",
		      stderr);
		return -EINVAL;
	}
	if (!cli->eal.in_memory && cli->eal.file_prefix == NULL) {
		snprintf(cli->file_prefix, sizeof(cli->file_prefix),
			 "ternd-%u-%d", cli->opts.node, (int)getpid());
		cli->eal.file_prefix = cli->file_prefix;
	}
	if (cli->eal.hugepages)
		cli->eal.mem_mb = 0;
	return 0;
}

/* ---- bring-up ----------------------------------------------------------- */

static int load_cluster(struct ternd *t, const struct cli *cli)
{
	char err[512];
	int ret = tern_cluster_load(cli->opts.cluster_path, &t->cluster, err,
				    sizeof(err));

	if (ret != 0) {
		fprintf(stderr, "ternd: %s\n", err);
		return ret;
	}
	if (cli->opts.node >= t->cluster.node_count) {
		fprintf(stderr,
			"ternd: %s: --node %u is not in the cluster (nodes 0 "
			"to %u)\n",
			cli->opts.cluster_path, cli->opts.node,
			t->cluster.node_count - 1);
		return -EINVAL;
	}
	t->opts = cli->opts;
	t->self = cli->opts.node;
	return tern_placement_init(&t->placement, t->cluster.node_count,
				   t->cluster.partitions,
				   t->cluster.replication);
}

static void set_limits(struct ternd *t)
{
	struct tern_log_conf conf;

	t->limits.max_batch_bytes = tern_cluster_batch_max(&t->cluster);
	t->limits.max_record_bytes =
		t->limits.max_batch_bytes - TERN_BATCH_HEADER_BYTES;
	/* A read returns whole batches from an index point: up to one index
	 * interval of batches before the one asked for (tern_log_read). */
	tern_log_conf_defaults(&conf);
	t->fetch_buf_bytes =
		conf.index_interval_bytes + 2u * t->limits.max_batch_bytes;
}

static int worker_of_init(struct ternd *t)
{
	uint32_t parts = t->cluster.partitions;

	t->worker_of = calloc((size_t)t->cluster.node_count * parts,
			      sizeof(*t->worker_of));
	if (t->worker_of == NULL)
		return -ENOMEM;
	for (uint32_t n = 0; n < t->cluster.node_count; n++) {
		int err = tern_placement_assign_workers(
			&t->placement, n, t->cluster.workers,
			&t->worker_of[(size_t)n * parts], parts);

		if (err < 0)
			return err;
	}
	return 0;
}

/* A memif client connects to its server only when its port starts: after
 * the server restarted, only restarting the port brings the link back. */
static bool connects_at_start(const char *device)
{
	return strncmp(device, "net_memif", 9) == 0 &&
	       strstr(device, "role=client") != NULL;
}

static int dp_config(const struct ternd *t, const struct cli *cli,
		     struct tern_dp_config *dp)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];

	memset(dp, 0, sizeof(*dp));
	for (unsigned p = 0; p < self->port_count; p++) {
		dp->ports[p] = (struct tern_port_config){
			.device = self->ports[p],
			.queue_count = (uint16_t)t->cluster.workers,
			.mtu = self->mtu,
			/* Peers start in turn and clients come and go. */
			.link_wait_ms = 0,
			.rx_interrupts = cli->idle.mode == TERN_IDLE_ADAPTIVE,
			.checksum_offload = true,
			.relink = connects_at_start(self->ports[p]),
		};
	}
	for (unsigned p = 0; p < self->port_count; p++) {
		dp->impair[p] = cli->impair;
		dp->impair[p].seed = cli->impair.seed + t->self * 31u + p;
	}
	dp->port_count = self->port_count;
	dp->ipv4 = self->ipv4;
	dp->udp_port_base = t->cluster.udp_port_base;
	dp->idle = cli->idle;
	dp->app_mbufs = 1024;
	/* A memif peer that restarted comes back only if its client end
	 * is restarted: one second of a link down, and it is. */
	dp->relink_down_ms = 1000;
	dp->handler = ternd_handler((struct ternd *)t);
	return self->port_count == 0 ? -EINVAL : 0;
}

static int peers_init(const struct ternd *t, struct tern_peer_table *peers)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];

	tern_peer_table_init(peers);
	for (uint16_t n = 0; n < t->cluster.node_count; n++) {
		const struct tern_cluster_node *node = &t->cluster.nodes[n];
		struct tern_peer peer = { .node_id = n,
					  .port_index = self->route[n],
					  .ipv4 = node->ipv4,
					  .udp_port_base =
						  t->cluster.udp_port_base,
					  .mac_known = node->mac_known };
		int err;

		if (n == t->self || self->route[n] == TERN_CLUSTER_NO_ROUTE)
			continue;
		memcpy(peer.mac, node->mac, TERN_ETH_ALEN);
		err = tern_peer_add(peers, &peer);
		if (err != 0)
			return err;
	}
	return 0;
}

_Static_assert(TERN_CLUSTER_REPLICATION_MAX == TERN_CHAIN_LEN_MAX,
	       "the cluster file's replication bound is the chain's length");

/* Every chain neighbour of this node must be routed. */
static int routes_check(const struct ternd *t)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];

	for (uint32_t p = 0; p < t->cluster.partitions; p++) {
		uint16_t chain[TERN_CHAIN_LEN_MAX];
		int pos =
			tern_placement_get_position(&t->placement, p, t->self);

		if (pos < 0)
			continue;
		tern_placement_get_chain(&t->placement, p, chain,
					 TERN_CHAIN_LEN_MAX);
		for (int k = pos - 1; k <= pos + 1; k += 2) {
			if (k < 0 || k >= (int)t->cluster.replication ||
			    self->route[chain[k]] != TERN_CLUSTER_NO_ROUTE)
				continue;
			fprintf(stderr,
				"ternd: %s: node %u has no route to node %u, "
				"its neighbour in the chain of partition %u; "
				"add 'route = %u via PORT' to [node %u]\n",
				t->opts.cluster_path, t->self, chain[k], p,
				chain[k], t->self);
			return -EINVAL;
		}
	}
	return 0;
}

/* Batches are sized for the cluster file's MTU: every port must carry it. */
static int mtu_check(const struct ternd *t)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];

	for (uint16_t p = 0; p < self->port_count; p++) {
		const struct tern_port *port = tern_dp_port_info(t->dp, p);

		if (port->mtu >= self->mtu)
			continue;
		fprintf(stderr,
			"ternd: port %s accepts an MTU of %u, but %s says mtu "
			"= %u for node %u: set mtu = %u (or less) there\n",
			port->name, port->mtu, t->opts.cluster_path, self->mtu,
			t->self, port->mtu);
		return -EINVAL;
	}
	return 0;
}

static int workers_init(struct ternd *t)
{
	unsigned replicas = 0;

	if (mtu_check(t) != 0 || routes_check(t) != 0)
		return -EINVAL;
	t->worker_count = tern_dp_worker_count(t->dp);
	if (t->worker_count != t->cluster.workers) {
		fprintf(stderr,
			"ternd: %u worker lcores from --lcores, but the "
			"cluster file says workers = %u; give --lcores one "
			"lcore per worker plus the main one\n",
			t->worker_count, t->cluster.workers);
		return -EINVAL;
	}
	t->workers = calloc(t->worker_count, sizeof(*t->workers));
	if (t->workers == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < t->worker_count; i++) {
		struct ternd_worker *w = &t->workers[i];
		int err;

		w->node = t;
		w->index = i;
		/* Driven by the worker's thread once it starts. */
		w->io = tern_log_io_create_deferred(
			256, 4 * t->cluster.partitions + 8,
			2 * t->cluster.partitions + 4, &err);
		if (w->io == NULL)
			return err;
		err = peers_init(t, &w->peers);
		if (err == 0)
			err = ternd_replicas_open(t, w);
		if (err == 0)
			err = ternd_fetch_init(w);
		if (err != 0)
			return err;
		replicas += w->replica_count;
	}
	fprintf(stderr,
		"ternd: node %u ready: %u replicas of %u partitions, %u "
		"workers, epoch %u, durability %s\n",
		t->self, replicas, t->cluster.partitions, t->worker_count,
		t->cluster.epoch,
		tern_cluster_durability_name(t->cluster.durability));
	return 0;
}

/* ---- stop --------------------------------------------------------------- */

static const char *const reject_names[TERND_REJECT_COUNT] = {
	"stale_epoch", "not_served", "bad_message",
	"bad_batch",   "unexpected", "unknown_peer",
};
static const char *const tx_fail_names[TERND_TX_FAIL_COUNT] = {
	"no_route",
	"no_mac",
	"tx_full",
};

static const char *const chain_reject_names[TERN_CHAIN_REJECT_COUNT] = {
	"stale_epoch", "not_predecessor", "not_successor", "gap",
	"duplicate",   "bad_ack",	  "divergent",
};

static void print_chain_rejects(const struct ternd_replica *r)
{
	const struct tern_chain_counters *c = tern_chain_counters(r->chain);

	for (unsigned i = 0; i < TERN_CHAIN_REJECT_COUNT; i++)
		if (c->rejected[i] != 0)
			fprintf(stderr,
				"ternd: partition %u rejected %s=%" PRIu64 "\n",
				r->partition, chain_reject_names[i],
				c->rejected[i]);
}

static void print_worker(const struct ternd_worker *w)
{
	for (unsigned i = 0; i < w->replica_count; i++) {
		const struct ternd_replica *r = &w->replicas[i];
		const struct tern_chain_counters *c =
			tern_chain_counters(r->chain);

		fprintf(stderr,
			"ternd: partition %u: log_end=%" PRIu64
			" commit=%" PRIu64 " produced=%" PRIu64
			" duplicates=%" PRIu64 " busy=%" PRIu64
			" appended=%" PRIu64 " retransmitted=%" PRIu64
			" nacks_sent=%" PRIu64 "\n",
			r->partition, tern_chain_log_end(r->chain),
			tern_chain_commit(r->chain), c->produced,
			c->produce_duplicates, c->busy, c->appended,
			c->retransmitted, c->nacks_sent);
		print_chain_rejects(r);
	}
	for (unsigned i = 0; i < TERND_REJECT_COUNT; i++)
		if (w->rejected[i] != 0)
			fprintf(stderr,
				"ternd: worker %u rejected %s=%" PRIu64 "\n",
				w->index, reject_names[i], w->rejected[i]);
	for (unsigned i = 0; i < TERND_TX_FAIL_COUNT; i++)
		if (w->tx_failed[i] != 0)
			fprintf(stderr,
				"ternd: worker %u send failed %s=%" PRIu64 "\n",
				w->index, tx_fail_names[i], w->tx_failed[i]);
	if (w->fetch_slots_full != 0)
		fprintf(stderr,
			"ternd: worker %u fetches refused, slots full=%" PRIu64
			"\n",
			w->index, w->fetch_slots_full);
}

/* The dataplane's counters (frames, drops by reason, idle), non-zero. */
static void print_dp_counter(void *arg, unsigned worker, const char *name,
			     uint64_t value)
{
	(void)arg;
	if (value != 0)
		fprintf(stderr, "ternd: worker %u %s=%" PRIu64 "\n", worker,
			name, value);
}

static void workers_close(struct ternd *t)
{
	struct tern_worker_stats *stats = tern_dp_stats(t->dp);

	for (unsigned i = 0; i < t->worker_count; i++)
		tern_stats_visit(&stats[i], i, print_dp_counter, NULL);
	for (unsigned i = 0; t->workers != NULL && i < t->worker_count; i++) {
		struct ternd_worker *w = &t->workers[i];

		if (w->replicas != NULL)
			print_worker(w);
		/* A worker that never ran leaves its logs to this thread. */
		if (w->io != NULL)
			(void)tern_log_io_start(w->io);
		ternd_replicas_close(w);
		ternd_fetch_free(w);
		if (w->io != NULL)
			tern_log_io_destroy(w->io);
	}
	free(t->workers);
	free(t->worker_of);
}

static void on_signal(int sig)
{
	(void)sig;
	if (running_dp != NULL)
		tern_dp_stop(running_dp);
}

static int run(struct ternd *t, const struct cli *cli)
{
	struct tern_dp_config dp_cfg;
	int err = dp_config(t, cli, &dp_cfg);

	if (err != 0) {
		fprintf(stderr, "ternd: node %u has no port in %s\n", t->self,
			cli->opts.cluster_path);
		return EXIT_SETUP;
	}
	t->dp = tern_dp_create(&dp_cfg, &err);
	if (t->dp == NULL) {
		fprintf(stderr, "ternd: dataplane setup failed: %s\n",
			strerror(-err));
		return EXIT_SETUP;
	}
	err = workers_init(t);
	if (err == 0) {
		tern_stats_telemetry_register(tern_dp_stats(t->dp),
					      t->worker_count);
		err = ternd_telemetry_start(t);
	}
	if (err == 0) {
		running_dp = t->dp;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		/* A launch that failed part-way stopped the workers it had
		 * started: they must return before anything is freed. */
		err = tern_dp_launch(t->dp);
		tern_dp_wait(t->dp);
		running_dp = NULL;
	} else {
		fprintf(stderr, "ternd: setup failed: %s\n", strerror(-err));
	}
	tern_stats_telemetry_register(NULL, 0);
	ternd_telemetry_stop(t);
	workers_close(t);
	tern_dp_destroy(t->dp);
	return err == 0 ? EXIT_OK : EXIT_SETUP;
}

int main(int argc, char **argv)
{
	static struct ternd t;
	struct cli cli;
	int code;

	if (parse_cli(argc, argv, &cli) != 0)
		return EXIT_USAGE;
	if (load_cluster(&t, &cli) != 0)
		return EXIT_USAGE;
	set_limits(&t);
	if (worker_of_init(&t) != 0) {
		fputs("ternd: cannot assign partitions to workers\n", stderr);
		return EXIT_SETUP;
	}
	for (unsigned p = 0; p < t.cluster.nodes[t.self].port_count; p++)
		cli.eal.devices[cli.eal.device_count++] =
			t.cluster.nodes[t.self].ports[p];
	if (tern_eal_init(&cli.eal, argv[0]) != 0) {
		fputs("ternd: EAL initialisation failed (see the log above); "
		      "check --lcores, memory and the node's ports\n",
		      stderr);
		return EXIT_SETUP;
	}
	t.tsc_hz = rte_get_tsc_hz();
	code = run(&t, &cli);
	rte_eal_cleanup();
	return code;
}
