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
	fputs("usage: ternctl (--cluster FILE | --bootstrap IP[:PORT]) "
	      "[--json]\n"
	      "               [--timeout-ms N] COMMAND [options]\n"
	      "\n"
	      "Commands (over a kernel UDP socket: the nodes must be "
	      "reachable\n"
	      "through the kernel, e.g. AF_XDP nodes on a bridge):\n"
	      "  produce [--key K | --partition P | --tab-keys] [VALUE...]\n"
	      "          write VALUEs, or one record per line of stdin\n"
	      "          (--tab-keys: KEY<TAB>VALUE lines); prints each\n"
	      "          record's partition and offset once committed\n"
	      "  consume --partition P [--from OFFSET] [--count N] "
	      "[--follow]\n"
	      "          print committed records from the partition's tail\n"
	      "          (--follow: keep waiting for new ones, like tail "
	      "-f)\n"
	      "\n"
	      "  --cluster FILE         the cluster file\n"
	      "  --bootstrap IP[:PORT]  ask that node for the partition map "
	      "(port 7000)\n"
	      "  --json                 one JSON object per record\n"
	      "  --timeout-ms N         give up on an unanswered request "
	      "(default 5000)\n"
	      "\n"
	      "Exit: 0 done, 1 refused by the cluster, 2 usage, 3 no "
	      "answer.\n",
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

/* ---- main --------------------------------------------------------------- */

enum { OPT_CLUSTER = 256, OPT_BOOTSTRAP, OPT_JSON, OPT_TIMEOUT, OPT_HELP };

static const struct option global_options[] = {
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int load(struct ternctl *t, const char *cluster_path,
		const char *bootstrap_spec)
{
	char err[512];

	if ((cluster_path == NULL) == (bootstrap_spec == NULL)) {
		fputs("ternctl: give --cluster FILE or --bootstrap IP (see "
		      "--help)\n",
		      stderr);
		return TERNCTL_USAGE;
	}
	if (bootstrap_spec != NULL)
		return bootstrap(t, bootstrap_spec);
	if (tern_cluster_load(cluster_path, &t->cluster, err, sizeof(err)) == 0)
		return TERNCTL_OK;
	fprintf(stderr, "ternctl: %s\n", err);
	return TERNCTL_USAGE;
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

int main(int argc, char **argv)
{
	static struct ternctl t;
	const char *cluster_path = NULL, *bootstrap_spec = NULL;
	int (*command)(struct ternctl *, int, char **) = NULL;
	int code = parse_global(&t, argc, argv, &cluster_path, &bootstrap_spec);

	t.udp.fd = -1;
	if (code != TERNCTL_OK)
		return code;
	if (strcmp(argv[optind], "produce") == 0)
		command = ternctl_produce;
	else if (strcmp(argv[optind], "consume") == 0)
		command = ternctl_consume;
	if (command == NULL) {
		fprintf(stderr,
			"ternctl: unknown command '%s'; commands: produce, "
			"consume (see --help)\n",
			argv[optind]);
		return TERNCTL_USAGE;
	}
	code = load(&t, cluster_path, bootstrap_spec);
	if (code == TERNCTL_OK)
		code = connect_cluster(&t) == 0 ? TERNCTL_OK : TERNCTL_USAGE;
	if (code == TERNCTL_OK)
		code = command(&t, argc - optind, argv + optind);
	tern_client_destroy(t.client);
	tern_client_udp_close(&t.udp);
	free(t.fetch_buf);
	return code;
}
