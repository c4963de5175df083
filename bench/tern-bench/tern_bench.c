/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench: command line, EAL, the client's dataplane, and the summary.
 * docs/benchmarks.md shows how to run it; bench.h what a run checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include "args.h"
#include "bench.h"
#include "client_dp.h"
#include "client_udp.h"
#include "eal.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* verification failed or batches refused */
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
	EXIT_TIMEOUT = 4,
};

struct cli {
	struct bench_options opts;
	struct tern_eal_config eal;
	const char *cluster_path;
	const char *bootstrap;
	const char *plot;
	const char *ip;
	uint16_t udp_port;
	const char *ports[TERN_PORTS_MAX];
	unsigned port_count;
	uint32_t mtu;
	bool busy;
	bool udp;
	char file_prefix[64];
	char lcores[32];
};

static struct tern_dp *running_dp;

static void usage(FILE *out)
{
	fputs("usage: tern-bench --cluster FILE --port DEVICE... [options]\n"
	      "\n"
	      "Produce records through a Tern cluster, closed loop, and read\n"
	      "every one back from every replica (--verify).\n"
	      "\n"
	      "  --cluster FILE        the cluster file\n"
	      "  --bootstrap IP[:PORT] udp: ask this node for the partition "
	      "map\n"
	      "                        instead (METADATA; port default "
	      "7000)\n"
	      "  --transport dpdk|udp  DPDK ports (default) or a kernel UDP\n"
	      "                        socket (no EAL; the kernel routes)\n"
	      "  --port DEVICE         dpdk: a port reaching node 0, then "
	      "node 1,\n"
	      "                        ... (one per node; or one for all on "
	      "L2)\n"
	      "  --ip A.B.C.D          this client (dpdk default "
	      "10.77.0.200;\n"
	      "                        udp: the address to bind, default "
	      "any)\n"
	      "  --udp-port N          this client's UDP port (default 9000)\n"
	      "  --mtu N               port MTU (default: the cluster's)\n"
	      "  --records N           records to produce (default 100000)\n"
	      "  --value-bytes N       bytes per value (default 100)\n"
	      "  --batch-records N     records per batch at most (default 32)\n"
	      "  --in-flight N         batches in flight per partition, at "
	      "most "
	      "256\n"
	      "                        (ternd's --producer-window; default "
	      "16)\n"
	      "  --zipf S              keys drawn with Zipf's law, exponent S "
	      "(e.g.\n"
	      "                        0.99), from --key-space keys: hot keys "
	      "and\n"
	      "                        partitions (default: a key per "
	      "record)\n"
	      "  --key-space N         keys to draw from with --zipf "
	      "(default 10000)\n"
	      "  --rate N              open loop: offer N records/s; latency "
	      "counts\n"
	      "                        from when a batch was due (default: "
	      "closed\n"
	      "                        loop, as fast as the window allows)\n"
	      "  --duration-ms N       stop producing after N ms (default: "
	      "when\n"
	      "                        --records are all produced)\n"
	      "  --warmup-ms N         leave the first N ms out of the "
	      "summary's\n"
	      "                        rate and latency (default 0)\n"
	      "  --verify              read everything back from every "
	      "replica\n"
	      "  --follow              while producing, read each partition "
	      "at\n"
	      "                        its tail with long polls\n"
	      "  --timeout-ms N        give up after (default 120000)\n"
	      "  --producer-id N       (default: random)\n"
	      "  --json                one JSON object on stdout\n"
	      "  --plot PREFIX         PREFIX-time.png and PREFIX-latency.png "
	      "(gnuplot)\n"
	      "  --busy                busy-poll (default adaptive idle)\n"
	      "  --hugepages           use hugepages (default --no-huge; NICs "
	      "and\n"
	      "                        virtio-user need them)\n"
	      "  --huge-dir DIR        hugetlbfs mount\n"
	      "  --single-file-segments  (virtio-user needs it)\n"
	      "  --file-prefix NAME    EAL file prefix\n"
	      "  --lcores LIST         EAL lcores (default 0@(0-N): one lcore\n"
	      "                        free to run on any CPU)\n"
	      "  --main-lcore N        EAL main lcore\n"
	      "\n"
	      "Exit: 0 all acknowledged (and verified), 1 failed, 2 usage, "
	      "3 setup, 4 timeout.\n",
	      out);
}

enum opt_id {
	OPT_HELP = 256,
	OPT_CLUSTER,
	OPT_PORT,
	OPT_IP,
	OPT_UDP_PORT,
	OPT_MTU,
	OPT_RECORDS,
	OPT_VALUE_BYTES,
	OPT_BATCH_RECORDS,
	OPT_IN_FLIGHT,
	OPT_VERIFY,
	OPT_RATE,
	OPT_DURATION_MS,
	OPT_WARMUP_MS,
	OPT_FOLLOW,
	OPT_TIMEOUT_MS,
	OPT_PRODUCER_ID,
	OPT_JSON,
	OPT_BUSY,
	OPT_FILE_PREFIX,
	OPT_LCORES,
	OPT_MAIN_LCORE,
	OPT_TRANSPORT,
	OPT_BOOTSTRAP,
	OPT_PLOT,
	OPT_ZIPF,
	OPT_KEY_SPACE,
	OPT_HUGEPAGES,
	OPT_HUGE_DIR,
	OPT_SINGLE_FILE,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "udp-port", required_argument, NULL, OPT_UDP_PORT },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "records", required_argument, NULL, OPT_RECORDS },
	{ "value-bytes", required_argument, NULL, OPT_VALUE_BYTES },
	{ "batch-records", required_argument, NULL, OPT_BATCH_RECORDS },
	{ "in-flight", required_argument, NULL, OPT_IN_FLIGHT },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration-ms", required_argument, NULL, OPT_DURATION_MS },
	{ "warmup-ms", required_argument, NULL, OPT_WARMUP_MS },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS },
	{ "producer-id", required_argument, NULL, OPT_PRODUCER_ID },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "busy", no_argument, NULL, OPT_BUSY },
	{ "file-prefix", required_argument, NULL, OPT_FILE_PREFIX },
	{ "lcores", required_argument, NULL, OPT_LCORES },
	{ "main-lcore", required_argument, NULL, OPT_MAIN_LCORE },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "zipf", required_argument, NULL, OPT_ZIPF },
	{ "key-space", required_argument, NULL, OPT_KEY_SPACE },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "huge-dir", required_argument, NULL, OPT_HUGE_DIR },
	{ "single-file-segments", no_argument, NULL, OPT_SINGLE_FILE },
	{ NULL, 0, NULL, 0 },
};

/* Process ids repeat (a fresh container starts at 1): a run that reused
 * an earlier run's producer id would be answered with the earlier run's
 * offsets by the head's de-duplication, and verify would pass on them. */
static uint64_t random_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = rte_rdtsc() ^ ((uint64_t)getpid() << 32);
	return id;
}

static int parse_number(struct cli *cli, int id, const char *name,
			const char *arg)
{
	struct bench_options *o = &cli->opts;
	uint64_t v;
	int err = -ENOENT;

#define NUMBER(opt, min, max, dst)                                         \
	case opt:                                                          \
		err = tern_arg_u64("tern-bench", name, arg, min, max, &v); \
		if (err == 0)                                              \
			dst = (__typeof__(dst))v;                          \
		break
	switch (id) {
		NUMBER(OPT_UDP_PORT, 1024, 65535, cli->udp_port);
		NUMBER(OPT_MTU, 576, TERN_FRAME_MTU_MAX, cli->mtu);
		NUMBER(OPT_RECORDS, 1, UINT32_MAX, o->records);
		NUMBER(OPT_VALUE_BYTES, 0, TERN_FRAME_BODY_MAX, o->value_bytes);
		NUMBER(OPT_BATCH_RECORDS, 1, 65536, o->batch_records);
		/* ternd remembers 256 batches per producer by default
		 * (--producer-window): a retry of an older one is refused. */
		NUMBER(OPT_IN_FLIGHT, 1, 256, o->in_flight);
		NUMBER(OPT_TIMEOUT_MS, 1, 86400000, o->timeout_ms);
		NUMBER(OPT_RATE, 1, 1000000000, o->rate);
		NUMBER(OPT_DURATION_MS, 1, 86400000, o->duration_ms);
		NUMBER(OPT_WARMUP_MS, 0, 86400000, o->warmup_ms);
		NUMBER(OPT_KEY_SPACE, 1, 10000000, o->key_space);
		NUMBER(OPT_PRODUCER_ID, 0, UINT64_MAX, o->producer_id);
		NUMBER(OPT_MAIN_LCORE, 0, RTE_MAX_LCORE - 1,
		       cli->eal.main_lcore);
	default:
		break;
	}
#undef NUMBER
	return err;
}

static int parse_other(struct cli *cli, int id, const char *arg)
{
	switch (id) {
	case OPT_CLUSTER:
		cli->cluster_path = arg;
		return 0;
	case OPT_BOOTSTRAP:
		cli->bootstrap = arg;
		return 0;
	case OPT_PLOT:
		cli->plot = arg;
		return 0;
	case OPT_ZIPF: {
		char *end;

		cli->opts.zipf_s = strtod(arg, &end);
		if (*end == '\0' && cli->opts.zipf_s > 0 &&
		    cli->opts.zipf_s <= 5)
			return 0;
		fprintf(stderr,
			"tern-bench: --zipf '%s': an exponent above 0, at "
			"most 5 (0.99 is the usual skew)\n",
			arg);
		return -EINVAL;
	}
	case OPT_PORT:
		if (cli->port_count == TERN_PORTS_MAX) {
			fprintf(stderr, "tern-bench: at most %u --port\n",
				TERN_PORTS_MAX);
			return -EINVAL;
		}
		cli->ports[cli->port_count++] = arg;
		return 0;
	case OPT_IP:
		cli->ip = arg;
		return 0;
	case OPT_VERIFY:
		cli->opts.verify = true;
		return 0;
	case OPT_FOLLOW:
		cli->opts.follow = true;
		return 0;
	case OPT_JSON:
		cli->opts.json = true;
		return 0;
	case OPT_BUSY:
		cli->busy = true;
		return 0;
	case OPT_TRANSPORT:
		if (strcmp(arg, "dpdk") == 0 || strcmp(arg, "udp") == 0) {
			cli->udp = arg[0] == 'u';
			return 0;
		}
		fprintf(stderr,
			"tern-bench: --transport '%s': use dpdk or udp\n", arg);
		return -EINVAL;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	int id;

	memset(cli, 0, sizeof(*cli));
	cli->opts = (struct bench_options){ .records = 100000,
					    .value_bytes = 100,
					    .batch_records = 32,
					    .in_flight = 16,
					    .timeout_ms = 120000,
					    .key_space = 10000,
					    .producer_id = random_id() };
	cli->eal = (struct tern_eal_config){ .lcores = tern_eal_lcores_floating(
						     cli->lcores,
						     sizeof(cli->lcores)),
					     .main_lcore = -1,
					     .mem_mb = 512 };
	cli->udp_port = 9000;
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
			err = tern_eal_option(&cli->eal,
					      long_options[id - OPT_HELP].name,
					      optarg);
		if (err == -ENOENT)
			err = parse_other(cli, id, optarg);
		if (err != 0)
			return err;
	}
	if (optind < argc ||
	    (cli->cluster_path == NULL) == (cli->bootstrap == NULL) ||
	    (cli->bootstrap != NULL && !cli->udp) ||
	    (cli->port_count == 0) != cli->udp) {
		fputs("tern-bench: give --cluster, or --bootstrap with the udp "
		      "transport; and --port with the dpdk transport only "
		      "(see --help)\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->ip == NULL && !cli->udp)
		cli->ip = "10.77.0.200";
	if (cli->eal.hugepages)
		cli->eal.mem_mb = 0;
	if (cli->opts.zipf_s != 0 && cli->opts.value_bytes < 8) {
		fputs("tern-bench: --zipf needs --value-bytes of at least 8 "
		      "(a record's number is kept in its value)\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->eal.file_prefix == NULL) {
		snprintf(cli->file_prefix, sizeof(cli->file_prefix),
			 "tern-bench-%d", (int)getpid());
		cli->eal.file_prefix = cli->file_prefix;
	}
	for (unsigned p = 0; p < cli->port_count; p++)
		cli->eal.devices[cli->eal.device_count++] = cli->ports[p];
	return 0;
}

/* ---- run ---------------------------------------------------------------- */

struct run {
	struct tern_cluster cluster;
	struct bench bench;
	struct tern_client_dp transport;
	struct tern_client_udp udp;
	struct tern_client *client;
	struct tern_dp *dp;
};

static void on_finished(void *arg)
{
	tern_dp_stop(arg);
}

static void on_signal(int sig)
{
	(void)sig;
	if (running_dp != NULL)
		tern_dp_stop(running_dp);
}

/* --bootstrap IP[:PORT]: the partition map from a node's METADATA_RESP. */
static int bootstrap(struct run *r, const char *spec)
{
	uint32_t ip;
	uint16_t port;
	int err = tern_arg_endpoint("tern-bench", "bootstrap", spec, 7000, &ip,
				    &port);

	if (err != 0)
		return err;
	err = tern_client_udp_bootstrap(ip, port, 5000, &r->cluster);
	if (err != 0)
		fprintf(stderr,
			"tern-bench: no partition map from %s: %s; is a node "
			"listening there?\n",
			spec, strerror(-err));
	return err;
}

static int load_cluster(struct run *r, const struct cli *cli)
{
	char err[512];

	if (cli->bootstrap != NULL)
		return bootstrap(r, cli->bootstrap) == 0 ? 0 : -EINVAL;
	if (tern_cluster_load(cli->cluster_path, &r->cluster, err,
			      sizeof(err)) != 0) {
		fprintf(stderr, "tern-bench: %s\n", err);
		return -EINVAL;
	}
	if (!cli->udp && cli->port_count != 1 &&
	    cli->port_count != r->cluster.node_count) {
		fprintf(stderr,
			"tern-bench: %u --port for %u nodes: give one per node "
			"(in node order) or one shared port\n",
			cli->port_count, r->cluster.node_count);
		return -EINVAL;
	}
	return 0;
}

static int client_create(struct run *r, const struct cli *cli)
{
	struct tern_client_config cfg = {
		.cluster = &r->cluster,
		.producer_id = cli->opts.producer_id,
		.in_flight = cli->opts.in_flight,
		.batch_bytes_max = tern_cluster_batch_max(&r->cluster),
		.retry_ns = 50000000,
		.backoff_ns = 200000,
		.transport = cli->udp ? tern_client_udp_transport(&r->udp)
				      : tern_client_dp_transport(&r->transport),
		.arg = &r->bench,
		.produced = bench_produced,
		.fetched = bench_fetched,
	};
	int err;

	r->client = tern_client_create(&cfg, &err);
	if (r->client == NULL)
		return err;
	r->bench.client = r->client;
	r->udp.client = r->client;
	r->transport.cluster = &r->cluster;
	r->transport.udp_port = cli->udp_port;
	r->transport.client = r->client;
	r->transport.tsc_hz = rte_get_tsc_hz();
	r->transport.on_poll = bench_poll;
	r->transport.arg = &r->bench;
	for (uint16_t n = 0; n < r->cluster.node_count; n++)
		r->transport.port_of_node[n] = cli->port_count == 1 ? 0 : n;
	return 0;
}

static int dp_create(struct run *r, const struct cli *cli)
{
	struct tern_dp_config cfg;
	struct in_addr ip;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	if (inet_pton(AF_INET, cli->ip, &ip) != 1) {
		fprintf(stderr, "tern-bench: --ip '%s' is not an address\n",
			cli->ip);
		return -EINVAL;
	}
	for (unsigned p = 0; p < cli->port_count; p++)
		cfg.ports[p] = (struct tern_port_config){
			.device = cli->ports[p],
			/* One per node worker: memif pairs queues. */
			.queue_count = (uint16_t)r->cluster.workers,
			.mtu = (uint16_t)(cli->mtu ? cli->mtu
						   : tern_cluster_batch_max(
							     &r->cluster) +
							     84u),
			.link_wait_ms = 5000,
			.rx_interrupts = !cli->busy,
			.checksum_offload = true,
			/* a node that is down (removed from the chains)
			 * does not stop the run */
			.relink = tern_port_connects_at_start(cli->ports[p]),
		};
	cfg.port_count = cli->port_count;
	cfg.relink_down_ms = 1000;
	cfg.ipv4 = ntohl(ip.s_addr);
	cfg.udp_port_base = cli->udp_port;
	cfg.idle = (struct tern_idle_config){
		.mode = cli->busy ? TERN_IDLE_BUSY : TERN_IDLE_ADAPTIVE,
		.spin_polls = 256,
		.yield_polls = 1000,
		.sleep_us_max = 20,
		.rx_interrupts = !cli->busy,
	};
	cfg.app_mbufs = 1024;
	cfg.handler = tern_client_dp_handler(&r->transport);
	r->dp = tern_dp_create(&cfg, &err);
	if (r->dp == NULL)
		fprintf(stderr, "tern-bench: dataplane setup failed: %s\n",
			strerror(-err));
	return r->dp == NULL ? err : 0;
}

static double seconds(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e9 : 0.0;
}

/* "series": per second of the produce phase, records and latency. */
static void print_series(const struct bench_result *res)
{
	printf(",\"series\":[");
	for (uint32_t s = 0; s < res->series_len; s++) {
		const struct bench_second *sec = &res->series[s];
		const struct tern_histo *h = sec->latency;

		printf("%s{\"second\":%u,\"records\":%" PRIu64
		       ",\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}",
		       s ? "," : "", s, sec->records,
		       h ? (double)tern_histo_percentile(h, 50) / 1e3 : 0.0,
		       h ? (double)tern_histo_percentile(h, 99) / 1e3 : 0.0,
		       h ? (double)tern_histo_max(h) / 1e3 : 0.0);
	}
	printf("]");
}

/* key and a JSON string of text (our own messages: quotes and backslashes
 * are kept out rather than escaped). */
static void print_json_string(const char *key, const char *text)
{
	fputs(key, stdout);
	putchar('"');
	for (const char *c = text; *c != '\0'; c++)
		putchar(*c == '"' || *c == '\\' || (unsigned char)*c < 0x20
				? '?'
				: *c);
	putchar('"');
}

static void print_summary(const struct run *r, const struct cli *cli)
{
	const struct bench_result *res = &r->bench.result;
	const struct tern_client_counters *cc = tern_client_counters(r->client);
	double secs =
		seconds(res->produce_start_ns + cli->opts.warmup_ms * 1000000u,
			res->produce_end_ns);
	double rate = secs > 0 ? (double)res->measured_records / secs : 0;
	double mbps = secs > 0 ? (double)res->measured_bytes / secs / 1e6 : 0;
	const struct tern_histo *h = &res->latency;

	if (cli->opts.json) {
		printf("{\"records\":%" PRIu64 ",\"batches\":%" PRIu64
		       ",\"failed_batches\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"records_per_s\":%.0f,\"mb_per_s\":%.3f,"
		       "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
		       "\"p99_9\":%.1f,\"max\":%.1f},\"retries\":%" PRIu64
		       ",\"busy\":%" PRIu64 ",\"verified_records\":%" PRIu64
		       ",\"foreign_records\":%" PRIu64
		       ",\"followed_records\":%" PRIu64
		       ",\"follow_long_polls\":%" PRIu64
		       ",\"verify_errors\":%" PRIu64 ",\"timed_out\":%s,"
		       "\"rate\":%" PRIu64 ",\"records_sent\":%" PRIu64
		       ",\"warmup_ms\":%" PRIu64 ",\"duration_ms\":%" PRIu64,
		       res->records_acked, res->batches_acked,
		       res->batches_failed, secs, rate, mbps,
		       (double)tern_histo_percentile(h, 50) / 1e3,
		       (double)tern_histo_percentile(h, 90) / 1e3,
		       (double)tern_histo_percentile(h, 99) / 1e3,
		       (double)tern_histo_percentile(h, 99.9) / 1e3,
		       (double)tern_histo_max(h) / 1e3, cc->produce_retries,
		       cc->busy, res->verified_records, res->foreign_records,
		       res->followed_records, res->follow_long_polls,
		       res->verify_errors, res->timed_out ? "true" : "false",
		       cli->opts.rate, res->records_sent, cli->opts.warmup_ms,
		       cli->opts.duration_ms);
		printf(",\"map_updates\":%" PRIu64
		       ",\"verify_expected\":%" PRIu64,
		       cc->map_updates, res->verify_expected);
		print_json_string(",\"first_error\":", res->first_error);
		printf(",\"zipf\":%g,\"partition_records\":[",
		       cli->opts.zipf_s);
		for (uint32_t p = 0; p < r->cluster.partitions; p++)
			printf("%s%" PRIu64, p ? "," : "",
			       r->bench.parts[p].acked_records);
		printf("]");
		print_series(res);
		printf("}\n");
		return;
	}
	char line[TERN_HISTO_FORMAT_LEN];

	tern_histo_format(h, line, sizeof(line));
	printf("produced %" PRIu64 " records (%" PRIu64 " batches) in %.3f s: "
	       "%.0f records/s, %.2f MB/s\n",
	       res->records_acked, res->batches_acked, secs, rate, mbps);
	if (cli->opts.rate != 0)
		printf("open loop at %" PRIu64 " records/s offered: latency "
		       "counts from when each batch was due\n",
		       cli->opts.rate);
	printf("batch latency (us): %s\n", line);
	printf("retries %" PRIu64 ", busy %" PRIu64 ", failed batches %" PRIu64
	       "\n",
	       cc->produce_retries, cc->busy, res->batches_failed);
	if (cli->opts.verify)
		printf("verified %" PRIu64 " record copies (of %" PRIu64
		       " on the chains' replicas) in %.3f s, %" PRIu64
		       " errors, %" PRIu64 " redirects\n",
		       res->verified_records, res->verify_expected,
		       seconds(res->verify_start_ns, res->verify_end_ns),
		       res->verify_errors, res->fetch_redirects);
	if (cli->opts.follow)
		printf("followed %" PRIu64 " records at the tails while they "
		       "were produced (%" PRIu64 " long polls answered)\n",
		       res->followed_records, res->follow_long_polls);
	if (res->first_error[0] != '\0')
		printf("first error: %s\n", res->first_error);
}

static int exit_code(const struct bench_result *res, const struct cli *cli)
{
	if (res->timed_out)
		return EXIT_TIMEOUT;
	/* With --duration-ms, fewer than --records may have been sent: every
	 * one sent must be acknowledged all the same. */
	if (res->verify_errors != 0 || res->batches_failed != 0 ||
	    res->records_acked != res->records_sent ||
	    (cli->opts.duration_ms == 0 &&
	     res->records_acked != cli->opts.records))
		return EXIT_FAILED;
	if (cli->opts.verify && res->verified_records != res->verify_expected)
		return EXIT_FAILED;
	if (cli->opts.follow && res->followed_records != res->records_acked)
		return EXIT_FAILED;
	return EXIT_OK;
}

static void run_dpdk(struct run *r)
{
	r->bench.finished = on_finished;
	r->bench.finished_arg = r->dp;
	running_dp = r->dp;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* A launch that failed part-way stopped what it started; wait for it
	 * all the same before anything is freed. */
	(void)tern_dp_launch(r->dp);
	tern_dp_wait(r->dp);
	running_dp = NULL;
}

static volatile sig_atomic_t udp_stop;

static void on_signal_udp(int sig)
{
	(void)sig;
	udp_stop = 1;
}

/* The kernel transport's loop: wait briefly for answers when idle. */
static void run_udp(struct run *r)
{
	unsigned work = 1;

	signal(SIGINT, on_signal_udp);
	signal(SIGTERM, on_signal_udp);
	while (r->bench.phase != BENCH_DONE && !udp_stop) {
		uint64_t now = tern_client_udp_now_ns();

		work = tern_client_poll(r->client, now) +
		       bench_poll(&r->bench, now);
		if (tern_client_udp_poll(&r->udp, work == 0 ? 1 : 0) > 0)
			work++;
	}
}

static int open_udp(struct run *r, const struct cli *cli)
{
	struct in_addr ip = { 0 };
	int err;

	if (cli->ip != NULL && inet_pton(AF_INET, cli->ip, &ip) != 1) {
		fprintf(stderr, "tern-bench: --ip '%s' is not an address\n",
			cli->ip);
		return -EINVAL;
	}
	err = tern_client_udp_open(&r->udp, &r->cluster, ntohl(ip.s_addr),
				   cli->udp_port);
	if (err != 0)
		fprintf(stderr,
			"tern-bench: cannot open a UDP socket on port "
			"%u: %s\n",
			cli->udp_port, strerror(-err));
	return err;
}

static int run(struct run *r, const struct cli *cli)
{
	int err = bench_init(&r->bench, &cli->opts, &r->cluster);
	bool plot_failed = false;

	r->udp.fd = -1;
	if (err == 0 && cli->udp)
		err = open_udp(r, cli);
	if (err == 0)
		err = client_create(r, cli);
	if (err == 0 && !cli->udp)
		err = dp_create(r, cli);
	if (err != 0) {
		fprintf(stderr, "tern-bench: setup failed: %s\n",
			strerror(-err));
		tern_client_udp_close(&r->udp);
		return EXIT_SETUP;
	}
	if (cli->udp)
		run_udp(r);
	else
		run_dpdk(r);
	print_summary(r, cli);
	if (cli->plot != NULL && bench_plot(&r->bench.result, cli->plot) != 0)
		plot_failed = true;
	if (cli->udp)
		tern_client_udp_close(&r->udp);
	else
		tern_dp_destroy(r->dp);
	if (plot_failed)
		return EXIT_SETUP;
	return exit_code(&r->bench.result, cli);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct cli cli;
	int code;

	if (parse_cli(argc, argv, &cli) != 0 || load_cluster(&r, &cli) != 0)
		return EXIT_USAGE;
	if (cli.udp) {
		code = run(&r, &cli);
		tern_client_destroy(r.client);
		bench_free(&r.bench);
		return code;
	}
	if (tern_eal_init(&cli.eal, argv[0]) != 0) {
		fputs("tern-bench: EAL initialisation failed (see the log "
		      "above)\n",
		      stderr);
		return EXIT_SETUP;
	}
	code = run(&r, &cli);
	tern_client_destroy(r.client);
	bench_free(&r.bench);
	rte_eal_cleanup();
	return code;
}
