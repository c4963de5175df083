/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd: command line, cluster file, EAL and dataplane bring-up, the
 * partitions this node serves, and an orderly stop on SIGINT/SIGTERM (the
 * workers close their logs, each on its own thread once its I/O is done;
 * then the counters are printed). docs/operations.md documents the
 * options.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	struct tern_impair_config impair;
	char file_prefix[64];
	char lcores[32];
	const char *node_arg;
	/* settings given on the command line: they win over the file */
	struct tern_setting_values settings;
	bool setting_given[TERN_SETTING_COUNT];
	const char *control_arg;
	uint32_t control_ipv4;
	uint16_t control_port;
	const char *netns;
};

static struct tern_dp *running_dp;

/* The settings' option names: the table's names with dashes. */
static char option_names[TERN_SETTING_COUNT][32];

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
	      "  --log-level LEVEL     EAL log level, e.g. tern:debug\n"
	      "  --impair SPEC         tests only: impair received frames on "
	      "every\n"
	      "                        port: drop=F,dup=F,reorder=F,delay=F,\n"
	      "                        delay-us=N,seed=N (seed + node id)\n"
	      "  --control IP:PORT     serve the control plane there "
	      "(default: the\n"
	      "                        node's control address in the file)\n"
	      "  --netns NAME          open the control listener here, then "
	      "enter\n"
	      "                        network namespace NAME for the ports\n"
	      "  --help\n"
	      "\n"
	      "Settings (also in the cluster file's [ternd] section; the "
	      "command\nline wins; 'live' ones change with `ternctl config "
	      "set`):\n",
	      out);
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++) {
		char range[96], def[32];

		tern_setting_range(i, range, sizeof(range));
		tern_setting_format(i, tern_settings[i].def, def, sizeof(def));
		fprintf(out, "  --%s  %s, default %s%s\n    %s\n",
			option_names[i], range, def,
			tern_settings[i].live ? ", live" : "",
			tern_settings[i].help);
	}
	fputs("\nExit: 0 stopped cleanly, 2 usage, 3 setup failed.\n", out);
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
	OPT_LOG_LEVEL,
	OPT_IMPAIR,
	OPT_CONTROL,
	OPT_NETNS,
	OPT_FIXED_COUNT,
	OPT_SETTING = 512, /* + enum tern_setting_id */
};

static struct option
	long_options[OPT_FIXED_COUNT - OPT_HELP + TERN_SETTING_COUNT + 1] = {
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
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "impair", required_argument, NULL, OPT_IMPAIR },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "netns", required_argument, NULL, OPT_NETNS },
		/* then the settings, by add_setting_options() */
	};

static void add_setting_options(void)
{
	struct option *o = &long_options[OPT_FIXED_COUNT - OPT_HELP];

	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++, o++) {
		char *n = option_names[i];

		snprintf(n, sizeof(option_names[i]), "%s",
			 tern_settings[i].name);
		for (; *n != '\0'; n++)
			if (*n == '_')
				*n = '-';
		*o = (struct option){ option_names[i], required_argument, NULL,
				      OPT_SETTING + (int)i };
	}
}

static void set_defaults(struct cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->eal = (struct tern_eal_config){ .lcores = tern_eal_lcores_floating(
						     cli->lcores,
						     sizeof(cli->lcores)),
					     .main_lcore = -1,
					     .mem_mb = 1024 };
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
	case OPT_IN_MEMORY:
		cli->eal.in_memory = true;
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
	case OPT_CONTROL:
		cli->control_arg = arg;
		if (tern_arg_endpoint("ternd", "control", arg, 0,
				      &cli->control_ipv4,
				      &cli->control_port) != 0)
			return -EINVAL;
		if (cli->control_port != 0)
			return 0;
		fprintf(stderr,
			"ternd: --control '%s': give the port too, "
			"IP:PORT\n",
			arg);
		return -EINVAL;
	case OPT_NETNS:
		cli->netns = arg;
		return 0;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

static int parse_setting(struct cli *cli, int id, const char *arg)
{
	char why[256];

	if (tern_setting_parse(id, arg, &cli->settings.v[id], why,
			       sizeof(why)) != 0) {
		fprintf(stderr, "ternd: --%s: %s\n", option_names[id], why);
		return -EINVAL;
	}
	cli->setting_given[id] = true;
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	int id;

	set_defaults(cli);
	add_setting_options();
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
		if (id >= OPT_SETTING) {
			err = parse_setting(cli, id - OPT_SETTING, optarg);
			if (err != 0)
				return err;
			continue;
		}
		err = parse_number(cli, id, long_options[id - OPT_HELP].name,
				   optarg);
		if (err == -ENOENT)
			err = tern_eal_option(&cli->eal,
					      long_options[id - OPT_HELP].name,
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
	t->settings = t->cluster.settings;
	for (unsigned i = 0; i < TERN_SETTING_COUNT; i++)
		if (cli->setting_given[i])
			t->settings.v[i] = cli->settings.v[i];
	ternd_options_from_settings(&t->opts, &t->settings);
	return 0;
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

static int dp_config(const struct ternd *t, const struct cli *cli,
		     struct tern_dp_config *dp)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];
	struct tern_idle_config idle;

	ternd_idle_from_settings(&t->settings, &idle);
	memset(dp, 0, sizeof(*dp));
	for (unsigned p = 0; p < self->port_count; p++) {
		dp->ports[p] = (struct tern_port_config){
			.device = self->ports[p],
			.queue_count = (uint16_t)t->cluster.workers,
			.mtu = self->mtu,
			/* Peers start in turn and clients come and go. */
			.link_wait_ms = 0,
			.rx_interrupts = idle.mode == TERN_IDLE_ADAPTIVE,
			.checksum_offload = true,
			/* restarted by the worker that owns it: one */
			.relink = tern_port_connects_at_start(self->ports[p]) &&
				  t->cluster.workers == 1,
		};
	}
	for (unsigned p = 0; p < self->port_count; p++) {
		dp->impair[p] = cli->impair;
		dp->impair[p].seed = cli->impair.seed + t->self * 31u + p;
	}
	dp->port_count = self->port_count;
	dp->ipv4 = self->ipv4;
	dp->udp_port_base = t->cluster.udp_port_base;
	dp->idle = idle;
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
	for (uint32_t i = 0; i < t->topics.count; i++) {
		char why[512];

		if (ternd_topic_routes(t, &t->topics.topics[i], why,
				       sizeof(why)) != 0) {
			fprintf(stderr, "ternd: %s: %s\n", t->opts.cluster_path,
				why);
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
		w->topics = t->topics;
		w->catchup_bytes_s = t->opts.catchup_bytes_s / t->worker_count;
		/* Driven by the worker's thread once it starts. */
		/* Files and buffers for as many logs as a worker may
		 * serve: topics created later open theirs here too. */
		w->io = tern_log_io_create_deferred(
			256, 4 * TERND_PUBLISH_MAX + 8,
			2 * TERND_PUBLISH_MAX + 4, &err);
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
		"ternd: node %u ready: %u replicas of %u partitions in %u "
		"topics, %u workers, epoch %u, durability %s\n",
		t->self, replicas, ternd_partition_count(t), t->topics.count,
		t->worker_count, t->cluster.epoch,
		tern_cluster_durability_name(t->cluster.durability));
	return 0;
}

/* ---- stop --------------------------------------------------------------- */

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
		const struct ternd_replica *r = w->replicas[i];
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
				w->index, ternd_reject_names[i],
				w->rejected[i]);
	for (unsigned i = 0; i < TERND_TX_FAIL_COUNT; i++)
		if (w->tx_failed[i] != 0)
			fprintf(stderr,
				"ternd: worker %u send failed %s=%" PRIu64 "\n",
				w->index, ternd_tx_fail_names[i],
				w->tx_failed[i]);
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

		if (w->by_partition != NULL)
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

static int open_netns(const char *name)
{
	char path[256];

	if (strchr(name, '/') != NULL ||
	    snprintf(path, sizeof(path), "/run/netns/%s", name) >=
		    (int)sizeof(path)) {
		errno = EINVAL;
		return -1;
	}
	return open(path, O_RDONLY | O_CLOEXEC);
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
	if (err == 0)
		err = ternd_control_start(t);
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
	ternd_control_stop(t);
	tern_stats_telemetry_register(NULL, 0);
	ternd_telemetry_stop(t);
	workers_close(t);
	tern_dp_destroy(t->dp);
	return err == 0 ? EXIT_OK : EXIT_SETUP;
}

/* The listener first: with --netns it stays in this namespace, where
 * operators reach it, while the ports live in the node's. */
static int open_control(struct ternd *t, const struct cli *cli)
{
	const struct tern_cluster_node *self = &t->cluster.nodes[t->self];
	int err = cli->control_arg != NULL
			  ? ternd_control_listen(t, cli->control_ipv4,
						 cli->control_port)
			  : ternd_control_listen(t, self->control_ipv4,
						 self->control_port);
	int fd;

	if (err != 0 || cli->netns == NULL)
		return err;
	err = -ENOENT;
	fd = open_netns(cli->netns);
	if (fd >= 0) {
		err = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
		close(fd);
	}
	if (err != 0)
		fprintf(stderr,
			"ternd: --netns %s: cannot enter it: %s; create it "
			"with `ip netns add %s` (run as root)\n",
			cli->netns, strerror(-err), cli->netns);
	return err;
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
	if (ternd_topics_start(&t) != 0)
		return EXIT_SETUP;
	if (open_control(&t, &cli) != 0)
		return EXIT_SETUP;
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
