/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-linktest: command line, EAL and dataplane bring-up, and the summary.
 * See linktest.h for the protocol and docs/benchmarks.md for its use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>

#include "eal.h"
#include "linktest.h"
#include "stats.h"
#include "worker.h"

enum exit_code {
	EXIT_VERIFIED = 0,
	EXIT_VERIFY_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_SETUP = 3,
	EXIT_TIMEOUT = 4,
};

#define DEFAULT_RECV_IP "10.77.0.2"
#define DEFAULT_SEND_IP "10.77.0.1"
#define RECV_CLOSE_DELAY_MS 200u

struct cli {
	struct linktest_options opts;
	struct tern_eal_config eal;
	struct tern_dp_config dp;
	char file_prefix[64];
	const char *ip, *peer_ip;
};

static struct tern_dp *running_dp;

static void usage(FILE *out)
{
	fputs("usage: tern-linktest --role send|recv --port DEVICE [options]\n"
	      "\n"
	      "Verify a link through Tern's dataplane: the sender streams\n"
	      "numbered frames, the receiver checks every byte and number.\n"
	      "\n"
	      "  --port DEVICE         vdev devargs "
	      "(net_memif0,role=server,...)"
	      " or PCI address\n"
	      "  --file-prefix NAME    EAL file prefix (default "
	      "tern-linktest-<pid>)\n"
	      "  --in-memory           EAL --in-memory instead of a prefix\n"
	      "  --lcores LIST         EAL lcores (default 0); the main lcore\n"
	      "                        idles when there are others\n"
	      "  --main-lcore N        EAL main lcore\n"
	      "  --hugepages           use hugepages (default --no-huge)\n"
	      "  --huge-dir DIR        hugetlbfs mount\n"
	      "  --single-file-segments  (virtio-user needs it)\n"
	      "  --mem-mb N            EAL memory (default 256)\n"
	      "  --mtu N               port MTU (default 1500)\n"
	      "  --ip A.B.C.D          this node (recv " DEFAULT_RECV_IP
	      ", send " DEFAULT_SEND_IP ")\n"
	      "  --peer-ip A.B.C.D     the other node\n"
	      "  --peer-mac MAC        skip ARP for the peer\n"
	      "  --udp-port N          base UDP port (default 7700)\n"
	      "  --count N             frames to send; receiver: capacity "
	      "(default 1000000)\n"
	      "  --size N              body bytes per frame (default 64)\n"
	      "  --window N            frames in flight (default 1024)\n"
	      "  --garbage N           send N malformed frames first\n"
	      "  --seed N              seed for --garbage (default 1)\n"
	      "  --impair SPEC         impair received frames: drop=F,dup=F,"
	      "reorder=F,\n"
	      "                        delay=F,delay-us=N,seed=N\n"
	      "  --allow-loss          receiver: exit 0 despite loss or "
	      "duplicates\n"
	      "  --idle busy|adaptive  idle policy (default adaptive)\n"
	      "  --rx-intr             adaptive: sleep in Rx interrupts where "
	      "supported\n"
	      "  --timeout-ms N        give up after N ms without progress "
	      "(default 10000)\n"
	      "  --linger-ms N         receiver: stay up N ms after the "
	      "verdict\n"
	      "  --json                print the summary as one JSON line\n"
	      "\n"
	      "exit: 0 verified, 1 verification failed, 2 usage, 3 setup, "
	      "4 timeout\n",
	      out);
}

static int parse_u64(const char *name, const char *arg, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    v < min || v > max) {
		fprintf(stderr,
			"tern-linktest: --%s '%s' must be a number in "
			"%" PRIu64 "..%" PRIu64 "\n",
			name, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_ipv4(const char *name, const char *arg, uint32_t *out)
{
	struct in_addr addr;

	if (inet_pton(AF_INET, arg, &addr) != 1) {
		fprintf(stderr,
			"tern-linktest: --%s '%s' is not an IPv4 address "
			"(A.B.C.D)\n",
			name, arg);
		return -EINVAL;
	}
	*out = ntohl(addr.s_addr);
	return 0;
}

enum option_id {
	OPT_ROLE = 256,
	OPT_PORT,
	OPT_FILE_PREFIX,
	OPT_IN_MEMORY,
	OPT_LCORES,
	OPT_MAIN_LCORE,
	OPT_HUGEPAGES,
	OPT_HUGE_DIR,
	OPT_SINGLE_FILE,
	OPT_MEM_MB,
	OPT_MTU,
	OPT_IP,
	OPT_PEER_IP,
	OPT_PEER_MAC,
	OPT_UDP_PORT,
	OPT_COUNT,
	OPT_SIZE,
	OPT_WINDOW,
	OPT_GARBAGE,
	OPT_SEED,
	OPT_IMPAIR,
	OPT_ALLOW_LOSS,
	OPT_IDLE,
	OPT_RX_INTR,
	OPT_TIMEOUT,
	OPT_LINGER,
	OPT_JSON,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "file-prefix", required_argument, NULL, OPT_FILE_PREFIX },
	{ "in-memory", no_argument, NULL, OPT_IN_MEMORY },
	{ "lcores", required_argument, NULL, OPT_LCORES },
	{ "main-lcore", required_argument, NULL, OPT_MAIN_LCORE },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "huge-dir", required_argument, NULL, OPT_HUGE_DIR },
	{ "single-file-segments", no_argument, NULL, OPT_SINGLE_FILE },
	{ "mem-mb", required_argument, NULL, OPT_MEM_MB },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "peer-ip", required_argument, NULL, OPT_PEER_IP },
	{ "peer-mac", required_argument, NULL, OPT_PEER_MAC },
	{ "udp-port", required_argument, NULL, OPT_UDP_PORT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "garbage", required_argument, NULL, OPT_GARBAGE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "impair", required_argument, NULL, OPT_IMPAIR },
	{ "allow-loss", no_argument, NULL, OPT_ALLOW_LOSS },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "rx-intr", no_argument, NULL, OPT_RX_INTR },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "linger-ms", required_argument, NULL, OPT_LINGER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void set_defaults(struct cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->opts.role = (enum linktest_role) - 1;
	cli->opts.count = 1000000;
	cli->opts.size = 64;
	cli->opts.window = 1024;
	cli->opts.seed = 1;
	cli->opts.udp_port = 7700;
	cli->opts.timeout_ms = 10000;
	snprintf(cli->file_prefix, sizeof(cli->file_prefix), "tern-linktest-%d",
		 (int)getpid());
	cli->eal.lcores = "0";
	cli->eal.main_lcore = -1;
	cli->eal.file_prefix = cli->file_prefix;
	cli->eal.mem_mb = 256;
	cli->dp.port_count = 1;
	cli->dp.ports[0].link_wait_ms = 10000;
	cli->dp.ports[0].checksum_offload = true;
	cli->dp.udp_port_base = 7700;
	cli->dp.idle.mode = TERN_IDLE_ADAPTIVE;
	cli->dp.idle.spin_polls = 200;
	cli->dp.idle.yield_polls = 2000;
	cli->dp.idle.sleep_us_max = 64;
}

/* Options that take a number: where to put it and its bounds. */
static int parse_number_option(struct cli *cli, int id, const char *name,
			       const char *arg)
{
	uint64_t v = 0;
	int ret;

	switch (id) {
	case OPT_MAIN_LCORE:
		ret = parse_u64(name, arg, 0, 1023, &v);
		cli->eal.main_lcore = (int)v;
		return ret;
	case OPT_MEM_MB:
		ret = parse_u64(name, arg, 64, 1 << 20, &v);
		cli->eal.mem_mb = (unsigned)v;
		return ret;
	case OPT_MTU:
		ret = parse_u64(name, arg, 576, TERN_FRAME_MTU_MAX, &v);
		cli->dp.ports[0].mtu = (uint16_t)v;
		return ret;
	case OPT_UDP_PORT:
		ret = parse_u64(name, arg, 1, 65535 - TERN_WORKERS_MAX, &v);
		cli->opts.udp_port = cli->dp.udp_port_base = (uint16_t)v;
		return ret;
	case OPT_COUNT:
		return parse_u64(name, arg, 1, 1ull << 40, &cli->opts.count);
	case OPT_SIZE:
		ret = parse_u64(name, arg, 0, TERN_FRAME_BODY_MAX, &v);
		cli->opts.size = (uint32_t)v;
		return ret;
	case OPT_WINDOW:
		ret = parse_u64(name, arg, 1, 1u << 20, &v);
		cli->opts.window = (uint32_t)v;
		return ret;
	case OPT_GARBAGE:
		return parse_u64(name, arg, 0, 1ull << 32, &cli->opts.garbage);
	case OPT_SEED:
		return parse_u64(name, arg, 0, UINT64_MAX, &cli->opts.seed);
	case OPT_TIMEOUT:
		ret = parse_u64(name, arg, 1, 3600000, &v);
		cli->opts.timeout_ms = (uint32_t)v;
		cli->dp.ports[0].link_wait_ms = (unsigned)v;
		return ret;
	case OPT_LINGER:
		ret = parse_u64(name, arg, 0, 3600000, &v);
		cli->opts.linger_ms = (uint32_t)v;
		return ret;
	}
	return -ENOENT;
}

static int parse_text_option(struct cli *cli, int id, const char *name,
			     const char *arg)
{
	char err[160];
	struct rte_ether_addr mac;

	switch (id) {
	case OPT_ROLE:
		if (strcmp(arg, "send") != 0 && strcmp(arg, "recv") != 0)
			break;
		cli->opts.role = arg[0] == 's' ? LINKTEST_SEND : LINKTEST_RECV;
		return 0;
	case OPT_PORT:
		cli->dp.ports[0].device = arg;
		cli->eal.devices[0] = arg;
		cli->eal.device_count = 1;
		return 0;
	case OPT_FILE_PREFIX:
		cli->eal.file_prefix = arg;
		return 0;
	case OPT_LCORES:
		cli->eal.lcores = arg;
		return 0;
	case OPT_HUGE_DIR:
		cli->eal.huge_dir = arg;
		return 0;
	case OPT_IP:
		cli->ip = arg;
		return parse_ipv4(name, arg, &cli->opts.ipv4);
	case OPT_PEER_IP:
		cli->peer_ip = arg;
		return parse_ipv4(name, arg, &cli->opts.peer_ipv4);
	case OPT_PEER_MAC:
		if (rte_ether_unformat_addr(arg, &mac) != 0)
			break;
		memcpy(cli->opts.peer_mac, mac.addr_bytes, TERN_ETH_ALEN);
		cli->opts.peer_mac_known = true;
		return 0;
	case OPT_IMPAIR:
		if (tern_impair_parse(arg, &cli->dp.impair[0], err,
				      sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "tern-linktest: --impair '%s': %s\n", arg, err);
		return -EINVAL;
	case OPT_IDLE:
		if (strcmp(arg, "busy") != 0 && strcmp(arg, "adaptive") != 0)
			break;
		cli->dp.idle.mode =
			arg[0] == 'b' ? TERN_IDLE_BUSY : TERN_IDLE_ADAPTIVE;
		return 0;
	default:
		return -ENOENT;
	}
	fprintf(stderr, "tern-linktest: --%s '%s' is not valid; see --help\n",
		name, arg);
	return -EINVAL;
}

static int parse_flag_option(struct cli *cli, int id)
{
	switch (id) {
	case OPT_IN_MEMORY:
		cli->eal.in_memory = true;
		cli->eal.file_prefix = NULL;
		return 0;
	case OPT_HUGEPAGES:
		cli->eal.hugepages = true;
		return 0;
	case OPT_SINGLE_FILE:
		cli->eal.single_file_segments = true;
		return 0;
	case OPT_ALLOW_LOSS:
		cli->opts.allow_loss = true;
		return 0;
	case OPT_RX_INTR:
		cli->dp.idle.rx_interrupts = true;
		return 0;
	case OPT_JSON:
		cli->opts.json = true;
		return 0;
	}
	return -ENOENT;
}

static int check_cli(struct cli *cli)
{
	bool send = cli->opts.role == LINKTEST_SEND;

	if (cli->opts.role != LINKTEST_SEND &&
	    cli->opts.role != LINKTEST_RECV) {
		fputs("tern-linktest: --role send|recv is required\n", stderr);
		return -EINVAL;
	}
	if (cli->dp.ports[0].device == NULL) {
		fputs("tern-linktest: --port DEVICE is required, e.g. "
		      "net_memif0,role=server,socket=/tmp/t.sock\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->ip == NULL)
		parse_ipv4("ip", send ? DEFAULT_SEND_IP : DEFAULT_RECV_IP,
			   &cli->opts.ipv4);
	if (cli->peer_ip == NULL)
		parse_ipv4("peer-ip", send ? DEFAULT_RECV_IP : DEFAULT_SEND_IP,
			   &cli->opts.peer_ipv4);
	if (TERN_FRAME_HDRS_LEN - TERN_ETH_HDR_LEN + cli->opts.size >
	    (cli->dp.ports[0].mtu ? cli->dp.ports[0].mtu : 1500u)) {
		fputs("tern-linktest: --size does not fit the MTU; raise --mtu "
		      "or lower --size\n",
		      stderr);
		return -EINVAL;
	}
	if (cli->eal.huge_dir != NULL && !cli->eal.hugepages) {
		fputs("tern-linktest: --huge-dir needs --hugepages\n", stderr);
		return -EINVAL;
	}
	if (cli->eal.hugepages)
		cli->eal.mem_mb = 0; /* hugepages: let EAL grow as needed */
	cli->dp.ipv4 = cli->opts.ipv4;
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	int id;

	set_defaults(cli);
	while ((id = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		const char *name;
		int ret;

		if (id == OPT_HELP) {
			usage(stdout);
			exit(EXIT_VERIFIED);
		}
		if (id < OPT_ROLE) {
			usage(stderr);
			return -EINVAL;
		}
		name = long_options[id - OPT_ROLE].name;
		ret = parse_number_option(cli, id, name, optarg);
		if (ret == -ENOENT)
			ret = parse_text_option(cli, id, name, optarg);
		if (ret == -ENOENT)
			ret = parse_flag_option(cli, id);
		if (ret != 0)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "tern-linktest: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return check_cli(cli);
}

static void on_signal(int sig)
{
	(void)sig;
	if (running_dp != NULL)
		tern_dp_stop(running_dp);
}

/* The exit dump: every non-zero counter, on stderr. */
static void dump_counter(void *arg __rte_unused, unsigned worker,
			 const char *name, uint64_t value)
{
	if (value != 0)
		fprintf(stderr, "tern-linktest: worker %u %s=%" PRIu64 "\n",
			worker, name, value);
}

/* One "reason":count member of the JSON drops object per non-zero drop. */
static void json_drop(void *arg, unsigned worker __rte_unused, const char *name,
		      uint64_t value)
{
	bool *first = arg;

	if (value == 0 || strncmp(name, "drop_", 5) != 0)
		return;
	printf("%s\"%s\":%" PRIu64, *first ? "" : ",", name + 5, value);
	*first = false;
}

static void json_drops(struct tern_worker_stats *stats)
{
	bool first = true;

	printf("\"drops_total\":%" PRIu64 ",\"drops\":{",
	       tern_stats_drops_total(stats));
	tern_stats_visit(stats, 0, json_drop, &first);
	printf("}");
}

static void print_summary(const struct cli *cli, struct tern_dp *dp,
			  const struct linktest_result *r)
{
	struct tern_worker_stats *stats = tern_dp_stats(dp);
	double seconds = r->last_tsc > r->first_tsc
				 ? (double)(r->last_tsc - r->first_tsc) /
					   (double)rte_get_tsc_hz()
				 : 0.0;
	uint64_t frames = cli->opts.role == LINKTEST_SEND ? r->sent : r->unique;
	double fps = seconds > 0 ? (double)frames / seconds : 0.0;
	double wire_bytes = TERN_FRAME_HDRS_LEN + (double)cli->opts.size;

	for (unsigned w = 0; w < tern_dp_worker_count(dp); w++)
		tern_stats_visit(&stats[w], w, dump_counter, NULL);
	if (!cli->opts.json) {
		printf("%s: %" PRIu64 " frames in %.3f s, %.0f frames/s, "
		       "%.2f Gbit/s; lost %" PRIu64 ", duplicates %" PRIu64
		       ", corrupt %" PRIu64 ", malformed dropped %" PRIu64 "\n",
		       cli->opts.role == LINKTEST_SEND ? "sent" : "received",
		       frames, seconds, fps, fps * wire_bytes * 8 / 1e9,
		       r->lost, r->duplicates, r->corrupt,
		       tern_stats_drops_total(stats));
		return;
	}
	if (cli->opts.role == LINKTEST_SEND) {
		printf("{\"role\":\"send\",\"sent\":%" PRIu64
		       ",\"garbage\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"frames_per_s\":%.0f}\n",
		       r->sent, r->garbage_sent, seconds, fps);
		return;
	}
	printf("{\"role\":\"recv\",\"expected\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"unique\":%" PRIu64
	       ",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64
	       ",\"corrupt\":%" PRIu64 ",\"garbage_sent\":%" PRIu64
	       ",\"seconds\":%.6f,\"frames_per_s\":%.0f,\"gbit_per_s\":%.3f,"
	       "\"rx_frames\":%" PRIu64 ",",
	       r->expected, r->received, r->unique, r->lost, r->duplicates,
	       r->corrupt, r->garbage_sent, seconds, fps,
	       fps * wire_bytes * 8 / 1e9,
	       tern_counter_read(&stats[0].rx_frames));
	json_drops(&stats[0]);
	printf("}\n");
}

static int exit_code(const struct linktest_result *r)
{
	switch (r->status) {
	case LINKTEST_OK:
		return EXIT_VERIFIED;
	case LINKTEST_TIMEOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_VERIFY_FAILED;
	}
}

static int run(struct cli *cli)
{
	struct linktest *lt;
	struct tern_dp *dp;
	int err, code;

	lt = linktest_create(&cli->opts, rte_get_tsc_hz());
	if (lt == NULL) {
		fputs("tern-linktest: out of memory\n", stderr);
		return EXIT_SETUP;
	}
	cli->dp.handler = linktest_handler(lt);
	cli->dp.app_mbufs = 2 * cli->opts.window + 1024;
	dp = tern_dp_create(&cli->dp, &err);
	if (dp == NULL) {
		fprintf(stderr, "tern-linktest: dataplane setup failed: %s\n",
			strerror(-err));
		linktest_free(lt);
		return EXIT_SETUP;
	}
	tern_stats_telemetry_register(tern_dp_stats(dp),
				      tern_dp_worker_count(dp));
	linktest_attach(lt, dp);
	running_dp = dp;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tern_dp_launch(dp) != 0)
		fputs("tern-linktest: cannot launch workers\n", stderr);
	tern_dp_wait(dp);
	running_dp = NULL;
	print_summary(cli, dp, linktest_result(lt));
	code = exit_code(linktest_result(lt));
	/* The receiver keeps its port open until the sender, told by
	 * LINK_DONE, has closed its own: neither side is polling then while
	 * the other tears the link down. Telemetry stays up meanwhile. */
	if (cli->opts.role == LINKTEST_RECV)
		usleep(1000u *
		       RTE_MAX(cli->opts.linger_ms, RECV_CLOSE_DELAY_MS));
	tern_stats_telemetry_register(NULL, 0);
	tern_dp_destroy(dp);
	linktest_free(lt);
	return code;
}

int main(int argc, char **argv)
{
	struct cli cli;
	int code;

	if (parse_cli(argc, argv, &cli) != 0)
		return EXIT_USAGE;
	if (tern_eal_init(&cli.eal, argv[0]) != 0) {
		fputs("tern-linktest: EAL initialisation failed (see the log "
		      "above); check --lcores, memory and --port\n",
		      stderr);
		return EXIT_SETUP;
	}
	code = run(&cli);
	rte_eal_cleanup();
	return code;
}
