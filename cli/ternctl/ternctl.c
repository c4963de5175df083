/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl: global options, the connection to a cluster (a cluster file or
 * a node's METADATA answer), and the subcommands. docs/operations.md has
 * examples.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "args.h"
#include "ternctl.h"

static void usage(FILE *out)
{
	fputs("usage: ternctl [--cluster FILE | --bootstrap IP[:PORT]] "
	      "[--control IP:PORT]\n"
	      "               [--json] [--timeout-ms N] COMMAND [options]\n"
	      "\n"
	      "Data (a kernel UDP socket to the nodes' data ports):\n"
	      "  produce   write records, print their offsets once committed\n"
	      "  consume   read committed records, or follow like tail -f\n"
	      "Control plane (TCP to each node's control address):\n"
	      "  cluster status   nodes, epoch, roles, lag, durability\n"
	      "  topic list|describe|create|delete\n"
	      "  node remove|drain|add   a node out of its chains, or back\n"
	      "  stats     counters per node, lcore and partition; --watch\n"
	      "  config list|get|set   ternd's settings\n"
	      "Offline:\n"
	      "  check     verify partition logs on disk\n"
	      "  local up|status|down   a cluster on this machine\n"
	      "\n"
	      "`ternctl COMMAND --help` explains each, with an example.\n"
	      "\n"
	      "  --cluster FILE         the cluster file: nodes, data and "
	      "control\n"
	      "                         addresses\n"
	      "  --bootstrap IP[:PORT]  produce/consume: ask that node for "
	      "the\n"
	      "                         partition map (port 7000)\n"
	      "  --control IP:PORT      talk to this one node's control "
	      "plane\n"
	      "  --json                 machine-readable output\n"
	      "  --timeout-ms N         give up on an unanswered request "
	      "(default 5000)\n"
	      "\n"
	      "Exit: 0 done, 1 refused by the cluster (or a problem found), "
	      "2 usage,\n3 no answer.\n",
	      out);
}

/* ---- connection --------------------------------------------------------- */

static int bootstrap(struct ternctl *t, const char *spec)
{
	uint32_t ip;
	uint16_t port;
	int err;

	if (tern_arg_endpoint("ternctl", "bootstrap", spec, 7000, &ip, &port) !=
	    0)
		return TERNCTL_USAGE;
	t->bootstrap_ipv4 = ip;
	t->bootstrap_port = port;
	err = tern_client_udp_bootstrap(
		ip, port, (int)(t->timeout_ns / 1000000), &t->cluster);
	if (err == 0)
		return TERNCTL_OK;
	fprintf(stderr,
		"ternctl: no partition map from %s: %s; check the address and "
		"that a node runs there\n",
		spec, strerror(-err));
	return err == -ETIMEDOUT ? TERNCTL_UNREACHABLE : TERNCTL_USAGE;
}

static void on_produced(void *arg, uint32_t partition, uint64_t cookie,
			const struct tern_client_produce_result *res)
{
	/* Only a batch a synchronous call gave up on lands here: it was
	 * reported as timed out already. */
	(void)arg;
	(void)partition;
	(void)cookie;
	(void)res;
}

static void on_fetched(void *arg, uint32_t partition, uint64_t cookie,
		       const struct tern_client_fetch_result *res)
{
	struct ternctl *t = arg;
	uint32_t len = res->batches_len;

	(void)partition;
	(void)cookie;
	if (len > t->limits.max_batch_bytes + TERN_WIRE_FETCH_RESP_BATCH_OFF)
		len = 0; /* a node answered more than asked: ignore it */
	t->fetch = *res;
	memcpy(t->fetch_buf, res->batches, len);
	t->fetch.batches = t->fetch_buf;
	t->fetch.batches_len = len;
	t->fetch_done = true;
}

static int connect_cluster(struct ternctl *t)
{
	struct tern_client_config cfg = {
		.cluster = &t->cluster,
		.topic_base = t->topic.base,
		.topic_partitions = t->topic.partitions,
		.topic_replication = t->topic.replication,
		.topic_epoch = t->topic.epoch,
		.topic_created = t->topic.created,
		.topic_name = t->topic.name,
		.in_flight = 1,
		.batch_bytes_max = tern_cluster_batch_max(&t->cluster),
		.retry_ns = 200000000,
		.backoff_ns = 1000000,
		.transport = tern_client_udp_transport(&t->udp),
		.arg = t,
		.produced = on_produced,
		.fetched = on_fetched,
	};
	int err;

	tern_topic_map(&t->topic, &cfg.topic_map);
	if (getrandom(&cfg.producer_id, sizeof(cfg.producer_id), 0) !=
	    sizeof(cfg.producer_id))
		cfg.producer_id =
			(uint64_t)getpid() << 32 ^ tern_client_udp_now_ns();
	t->limits.max_batch_bytes = cfg.batch_bytes_max;
	t->limits.max_record_bytes =
		cfg.batch_bytes_max - TERN_BATCH_HEADER_BYTES;
	t->fetch_buf =
		malloc(cfg.batch_bytes_max + TERN_WIRE_FETCH_RESP_BATCH_OFF);
	err = t->fetch_buf == NULL
		      ? -ENOMEM
		      : tern_client_udp_open(&t->udp, &t->cluster, 0, 0);
	if (err == 0) {
		t->client = tern_client_create(&cfg, &err);
		t->udp.client = t->client;
	}
	if (err != 0)
		fprintf(stderr, "ternctl: cannot set up the client: %s\n",
			strerror(-err));
	return err;
}

enum topic_change { TOPIC_SAME, TOPIC_REMAPPED, TOPIC_RECREATED };

/* The same topic in another epoch: a reconfiguration, not a new topic. */
static bool remap_of(const struct tern_topic *now, const struct tern_topic *was)
{
	return now->base == was->base && now->partitions == was->partitions &&
	       now->replication == was->replication &&
	       now->created == was->created && now->epoch > was->epoch;
}

static int refresh_topic(struct ternctl *t, enum topic_change *change)
{
	struct tern_topic now;
	int code;

	*change = TOPIC_SAME;
	code = ternctl_topic_lookup(t, t->topic.name, &now);
	if (code != TERNCTL_OK || tern_topic_equal(&now, &t->topic))
		return code;
	if (remap_of(&now, &t->topic)) {
		*change = TOPIC_REMAPPED;
		t->topic = now;
		struct tern_placement_map map;

		tern_topic_map(&now, &map);
		return tern_client_remap(t->client, now.epoch, &map) == 0
			       ? TERNCTL_OK
			       : TERNCTL_REFUSED;
	}
	if (strcmp(t->topic.name, t->cluster.topic) == 0)
		return TERNCTL_OK; /* the file's topic is not created again */
	*change = TOPIC_RECREATED;
	t->topic = now;
	tern_client_destroy(t->client);
	tern_client_udp_close(&t->udp);
	free(t->fetch_buf);
	t->client = NULL;
	t->fetch_buf = NULL;
	t->udp.fd = -1;
	return connect_cluster(t) == 0 ? TERNCTL_OK : TERNCTL_USAGE;
}

int ternctl_follow_topic(struct ternctl *t, uint32_t partition,
			 const char *next)
{
	enum topic_change change;
	int code = refresh_topic(t, &change);

	if (code == TERNCTL_REFUSED)
		fprintf(stderr, "ternctl: topic %s was deleted\n",
			t->topic.name);
	if (code != TERNCTL_OK)
		return code;
	if (change == TOPIC_REMAPPED)
		return TERNCTL_REMAPPED;
	if (change == TOPIC_SAME) {
		fprintf(stderr,
			"ternctl: a node does not serve partition %u of topic "
			"%s, which METADATA still places there; see `ternctl "
			"cluster status`\n",
			partition, t->topic.name);
		return TERNCTL_REFUSED;
	}
	if (partition >= t->topic.partitions) {
		fprintf(stderr,
			"ternctl: topic %s was created again, without "
			"partition %u\n",
			t->topic.name, partition);
		return TERNCTL_REFUSED;
	}
	fprintf(stderr,
		"ternctl: topic %s was created again (global partitions "
		"%u..%u); %s\n",
		t->topic.name, t->topic.base,
		t->topic.base + t->topic.partitions - 1, next);
	return -1;
}

int ternctl_connect(struct ternctl *t, const char *topic)
{
	int code;

	if (!t->have_cluster) {
		fputs("ternctl: give --cluster FILE or --bootstrap IP (see "
		      "--help)\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	if (topic == NULL || strcmp(topic, t->cluster.topic) == 0) {
		snprintf(t->topic.name, sizeof(t->topic.name), "%s",
			 t->cluster.topic);
		t->topic.partitions = t->cluster.partitions;
		t->topic.replication = t->cluster.replication;
		t->topic.durability = t->cluster.durability;
		t->topic.epoch = t->cluster.epoch;
		t->topic.created = t->cluster.epoch;
	} else if ((code = ternctl_topic_lookup(t, topic, &t->topic)) !=
		   TERNCTL_OK) {
		return code;
	}
	return connect_cluster(t) == 0 ? TERNCTL_OK : TERNCTL_USAGE;
}

/* ---- main --------------------------------------------------------------- */

enum {
	OPT_CLUSTER = 256,
	OPT_BOOTSTRAP,
	OPT_CONTROL,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_HELP,
};

static const struct option global_options[] = {
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int load(struct ternctl *t, const char *cluster_path,
		const char *bootstrap_spec)
{
	char err[512];
	int code = TERNCTL_OK;

	if (cluster_path != NULL && bootstrap_spec != NULL) {
		fputs("ternctl: give --cluster FILE or --bootstrap IP, not "
		      "both\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	if (bootstrap_spec != NULL)
		code = bootstrap(t, bootstrap_spec);
	else if (cluster_path != NULL &&
		 tern_cluster_load(cluster_path, &t->cluster, err,
				   sizeof(err)) != 0) {
		fprintf(stderr, "ternctl: %s\n", err);
		code = TERNCTL_USAGE;
	}
	t->have_cluster = code == TERNCTL_OK &&
			  (cluster_path != NULL || bootstrap_spec != NULL);
	t->bootstrapped = bootstrap_spec != NULL;
	return code;
}

static int parse_global(struct ternctl *t, int argc, char **argv,
			const char **cluster_path, const char **bootstrap_spec)
{
	uint64_t ms = 5000;
	int id;

	/* Stop at the command: its options are its own. */
	while ((id = getopt_long(argc, argv, "+", global_options, NULL)) !=
	       -1) {
		switch (id) {
		case OPT_CLUSTER:
			*cluster_path = optarg;
			break;
		case OPT_BOOTSTRAP:
			*bootstrap_spec = optarg;
			break;
		case OPT_CONTROL:
			if (tern_arg_endpoint("ternctl", "control", optarg,
					      TERN_CLUSTER_CONTROL_PORT_BASE,
					      &t->control_ipv4,
					      &t->control_port) != 0)
				return TERNCTL_USAGE;
			break;
		case OPT_JSON:
			t->json = true;
			break;
		case OPT_TIMEOUT:
			if (tern_arg_u64("ternctl", "timeout-ms", optarg, 1,
					 3600000, &ms) != 0)
				return TERNCTL_USAGE;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(TERNCTL_OK);
		default:
			usage(stderr);
			return TERNCTL_USAGE;
		}
	}
	t->timeout_ns = ms * 1000000;
	if (optind >= argc) {
		usage(stderr);
		return TERNCTL_USAGE;
	}
	return TERNCTL_OK;
}

enum needs {
	NEEDS_NOTHING,
	NEEDS_CLUSTER, /* the cluster file or --control: control plane */
	NEEDS_DATA,    /* the map; the command connects (ternctl_connect) */
};

static const struct command {
	const char *name;
	int (*run)(struct ternctl *, int, char **);
	enum needs needs;
} commands[] = {
	{ "produce", ternctl_produce, NEEDS_DATA },
	{ "consume", ternctl_consume, NEEDS_DATA },
	{ "cluster", ternctl_cluster, NEEDS_CLUSTER },
	{ "topic", ternctl_topic, NEEDS_CLUSTER },
	{ "node", ternctl_node, NEEDS_CLUSTER },
	{ "stats", ternctl_stats, NEEDS_CLUSTER },
	{ "config", ternctl_config, NEEDS_CLUSTER },
	{ "check", ternctl_check, NEEDS_NOTHING },
	{ "local", ternctl_local, NEEDS_NOTHING },
};

static const struct command *find_command(const char *name)
{
	for (unsigned i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	fprintf(stderr,
		"ternctl: unknown command '%s'; commands: produce, consume, "
		"cluster, topic, node, stats, config, check, local (see "
		"--help)\n",
		name);
	return NULL;
}

/* --help anywhere after the command: its help, without a cluster. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static struct ternctl t;
	const char *cluster_path = NULL, *bootstrap_spec = NULL;
	const struct command *command;
	int code = parse_global(&t, argc, argv, &cluster_path, &bootstrap_spec);

	t.udp.fd = -1;
	if (code != TERNCTL_OK)
		return code;
	command = find_command(argv[optind]);
	if (command == NULL)
		return TERNCTL_USAGE;
	argc -= optind;
	argv += optind;
	if (command->needs != NEEDS_NOTHING && !wants_help(argc, argv))
		code = load(&t, cluster_path, bootstrap_spec);
	if (code == TERNCTL_OK)
		code = command->run(&t, argc, argv);
	tern_client_destroy(t.client);
	tern_client_udp_close(&t.udp);
	free(t.fetch_buf);
	return code;
}
