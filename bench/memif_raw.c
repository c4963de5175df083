/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-memif-raw: the raw memif baseline for Tern's forwarding target.
 *
 * Tern must forward at 80% or more of what a bare DPDK application moves over
 * the same net_memif link. This program is that bare application: a sender
 * and a receiver process joined by one memif link, no Tern codec, no
 * handler, nothing but rx_burst/tx_burst and a sequence number.
 *
 * The receiver owns the memif server side (it creates the socket, so it
 * starts first); the sender is the client and connects to it. Each frame is
 * an Ethernet header with the local experimental ethertype, then a 64-bit
 * sequence number, then filler up to --size bytes (138 by default: the length
 * of a Tern frame with a 64-byte body, so both tests move the same bytes).
 *
 * Sender: mbufs come from a pool whose buffers were all stamped once with
 * the frame at start-up; memif (without zero-copy) copies each frame into its
 * shared ring and frees the mbuf at once, so a buffer taken from the pool
 * again still holds the frame and only the sequence number is written per
 * frame. Bursts of 32; what tx_burst does not take is retried first, so
 * memif, which never drops on its own, delivers every frame in order.
 *
 * Receiver: rx_burst, check that each sequence number is the previous plus
 * one, count frames and bytes, free. It prints one JSON line, timed from the
 * first frame to the last, and exits 0 when --count frames arrived in order.
 * Both sides give up after --timeout-ms without progress.
 *
 * After its last frame the sender waits for the link to go down: the
 * receiver closing its port is what says every frame was read. Closing the
 * client first would unmap the shared ring under the frames still in it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define BURST_SIZE 32u
#define RING_DESC 1024u
/*
 * Pool: as if both rings held mbufs (memif without zero-copy holds none: it
 * copies out on TX and allocates on RX, but another PMD would), plus one
 * burst in flight and the one lcore's cache; 2^n - 1 is the mempool's most
 * efficient size. About 9 MB, well inside -m 256.
 */
#define POOL_CACHE 256u
#define POOL_SIZE 4095u
_Static_assert(POOL_SIZE >= 2 * RING_DESC + BURST_SIZE + POOL_CACHE,
	       "pool too small for the rings it feeds");

#define ETH_HDR_LEN 14u
#define SEQ_OFF ETH_HDR_LEN
#define SEQ_LEN 8u
#define FRAME_LEN_MIN (ETH_HDR_LEN + SEQ_LEN)
/* One memif buffer (bsize 2048) and one mbuf hold the whole frame. */
#define FRAME_LEN_MAX 2048u
#define ETHERTYPE_LOCAL_EXP 0x88b5u /* IEEE 802 local experimental */

#define DEFAULT_COUNT 10000000ull
#define DEFAULT_FRAME_LEN 138u /* Tern headers (74) + 64-byte body */
#define DEFAULT_TIMEOUT_MS 20000u
#define DEFAULT_MEM_MB "256"
#define LINK_POLL_US 1000u
#define CONNECT_TRY_MS 200u /* client: restart the port this often */

enum raw_role {
	ROLE_NONE,
	ROLE_SEND,
	ROLE_RECV,
};

struct raw_opts {
	enum raw_role role;
	const char *socket_path;
	const char *file_prefix;
	uint64_t count;
	uint32_t frame_len;
	uint32_t timeout_ms;
	unsigned int lcore;
	unsigned int memif_id;
	bool huge;
	bool verbose;
};

/*
 * Set by SIGINT/SIGTERM. A signal handler can reach nothing but a global;
 * relaxed order is enough since the loops only need to see it eventually.
 */
static atomic_bool stop_requested;

static void on_signal(int signum)
{
	(void)signum;
	atomic_store_explicit(&stop_requested, true, memory_order_relaxed);
}

static bool stopping(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s --role send|recv [options]\n"
		"  --role send|recv   sender (memif client) or receiver (memif "
		"server)\n"
		"  --socket PATH      memif control socket (default "
		"/tmp/tern-memif-raw.sock)\n"
		"  --count N          frames to send / expect (default %llu)\n"
		"  --size N           frame length in bytes, %u..%u (default "
		"%u)\n"
		"  --lcore N          core to run on (default 0)\n"
		"  --file-prefix P    EAL file prefix (default "
		"tern-memif-raw-<role>)\n"
		"  --id N             memif interface id, same on both sides "
		"(default 0)\n"
		"  --timeout-ms N     give up after N ms without progress "
		"(default %u)\n"
		"  --huge             use hugepages instead of --no-huge -m "
		"%s\n"
		"  --verbose          keep DPDK's informational log lines\n",
		prog, DEFAULT_COUNT, FRAME_LEN_MIN, FRAME_LEN_MAX,
		DEFAULT_FRAME_LEN, DEFAULT_TIMEOUT_MS, DEFAULT_MEM_MB);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct raw_opts *o)
{
	enum {
		OPT_ROLE = 256,
		OPT_SOCKET,
		OPT_COUNT,
		OPT_SIZE,
		OPT_LCORE,
		OPT_PREFIX,
		OPT_ID,
		OPT_TIMEOUT,
		OPT_HUGE,
		OPT_VERBOSE,
		OPT_HELP,
	};
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "lcore", required_argument, NULL, OPT_LCORE },
		{ "file-prefix", required_argument, NULL, OPT_PREFIX },
		{ "id", required_argument, NULL, OPT_ID },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "huge", no_argument, NULL, OPT_HUGE },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*o = (struct raw_opts){
		.role = ROLE_NONE,
		.socket_path = "/tmp/tern-memif-raw.sock",
		.count = DEFAULT_COUNT,
		.frame_len = DEFAULT_FRAME_LEN,
		.timeout_ms = DEFAULT_TIMEOUT_MS,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			if (strcmp(optarg, "send") == 0)
				o->role = ROLE_SEND;
			else if (strcmp(optarg, "recv") == 0)
				o->role = ROLE_RECV;
			else
				return -EINVAL;
			break;
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &o->count))
				return -EINVAL;
			break;
		case OPT_SIZE:
			if (parse_u64(optarg, FRAME_LEN_MIN, FRAME_LEN_MAX, &v))
				return -EINVAL;
			o->frame_len = (uint32_t)v;
			break;
		case OPT_LCORE:
			if (parse_u64(optarg, 0, RTE_MAX_LCORE - 1, &v))
				return -EINVAL;
			o->lcore = (unsigned int)v;
			break;
		case OPT_PREFIX:
			o->file_prefix = optarg;
			break;
		case OPT_ID:
			if (parse_u64(optarg, 0, UINT32_MAX, &v))
				return -EINVAL;
			o->memif_id = (unsigned int)v;
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, 1, UINT32_MAX, &v))
				return -EINVAL;
			o->timeout_ms = (uint32_t)v;
			break;
		case OPT_HUGE:
			o->huge = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || o->role == ROLE_NONE)
		return -EINVAL;
	if (o->file_prefix == NULL)
		o->file_prefix = o->role == ROLE_SEND ? "tern-memif-raw-send"
						      : "tern-memif-raw-recv";
	return 0;
}

/* EAL arguments: one lcore, no PCI, the memif vdev, little memory. */
static int init_eal(const char *prog, const struct raw_opts *o)
{
	char lcore_arg[16];
	char vdev_arg[PATH_MAX + 128];
	char *eal_argv[16];
	int eal_argc = 0;
	int n;

	snprintf(lcore_arg, sizeof(lcore_arg), "%u", o->lcore);
	n = snprintf(vdev_arg, sizeof(vdev_arg),
		     "net_memif0,role=%s,socket=%s,socket-abstract=no,id=%u",
		     o->role == ROLE_RECV ? "server" : "client", o->socket_path,
		     o->memif_id);
	if (n < 0 || (size_t)n >= sizeof(vdev_arg))
		return -ENAMETOOLONG;

	eal_argv[eal_argc++] = (char *)(uintptr_t)prog;
	eal_argv[eal_argc++] = (char *)(uintptr_t) "-l";
	eal_argv[eal_argc++] = lcore_arg;
	eal_argv[eal_argc++] = (char *)(uintptr_t) "--file-prefix";
	eal_argv[eal_argc++] = (char *)(uintptr_t)o->file_prefix;
	eal_argv[eal_argc++] = (char *)(uintptr_t) "--no-pci";
	eal_argv[eal_argc++] = (char *)(uintptr_t) "--no-telemetry";
	eal_argv[eal_argc++] = (char *)(uintptr_t) "--vdev";
	eal_argv[eal_argc++] = vdev_arg;
	if (!o->huge) {
		eal_argv[eal_argc++] = (char *)(uintptr_t) "--no-huge";
		eal_argv[eal_argc++] = (char *)(uintptr_t) "-m";
		eal_argv[eal_argc++] = (char *)(uintptr_t)DEFAULT_MEM_MB;
	}
	if (!o->verbose)
		eal_argv[eal_argc++] = (char *)(uintptr_t) "--log-level=notice";
	eal_argv[eal_argc] = NULL;

	if (rte_eal_init(eal_argc, eal_argv) < 0)
		return -rte_errno;
	return 0;
}

static int wait_link(uint16_t port, bool want_up, uint32_t timeout_ms)
{
	uint64_t deadline =
		rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * timeout_ms;
	struct rte_eth_link link;

	while (!stopping() && rte_get_timer_cycles() < deadline) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(port, &link) == 0 &&
		    (link.link_status == RTE_ETH_LINK_UP) == want_up)
			return 0;
		rte_delay_us_sleep(LINK_POLL_US);
	}
	return -ETIMEDOUT;
}

static int setup_port(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int socket = rte_eth_dev_socket_id(port);
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, RING_DESC, socket, NULL,
					     pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, RING_DESC, socket, NULL);
	return ret;
}

/*
 * Start the port and wait for its link. The memif client connects once, when
 * its port starts, and does not retry: if the server's socket is not there
 * yet, or is there but the server has not started its port (the socket is
 * created when the EAL probes the vdev, before that), the attempt is lost.
 * So the client restarts its port until the link comes up; the server just
 * waits for a client.
 */
static int start_port(uint16_t port, const struct raw_opts *o)
{
	uint64_t hz = rte_get_timer_hz();
	uint64_t deadline = rte_get_timer_cycles() + hz / 1000 * o->timeout_ms;
	int ret;

	if (o->role == ROLE_RECV)
		return rte_eth_dev_start(port);
	while (!stopping()) {
		ret = rte_eth_dev_start(port);
		if (ret == 0 && wait_link(port, true, CONNECT_TRY_MS) == 0)
			return 0;
		if (ret == 0)
			rte_eth_dev_stop(port);
		if (rte_get_timer_cycles() >= deadline)
			return -ETIMEDOUT;
		rte_delay_us_sleep(CONNECT_TRY_MS * 1000);
	}
	return -EINTR;
}

/*
 * Write the frame into every buffer of the pool once, so that the send loop
 * only has to stamp the sequence number (see the top of the file).
 */
static int prebuild_pool(struct rte_mempool *pool, uint32_t frame_len)
{
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	unsigned int n = rte_mempool_avail_count(pool);
	struct rte_mbuf **all = calloc(n, sizeof(*all));
	unsigned int i;

	if (all == NULL)
		return -ENOMEM;
	if (rte_pktmbuf_alloc_bulk(pool, all, n) != 0) {
		free(all);
		return -ENOBUFS;
	}
	for (i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(all[i], uint8_t *);
		uint32_t j;

		memcpy(p, dst_mac, sizeof(dst_mac));
		memcpy(p + 6, src_mac, sizeof(src_mac));
		p[12] = ETHERTYPE_LOCAL_EXP >> 8;
		p[13] = ETHERTYPE_LOCAL_EXP & 0xff;
		memset(p + SEQ_OFF, 0, SEQ_LEN);
		for (j = FRAME_LEN_MIN; j < frame_len; j++)
			p[j] = (uint8_t)j;
	}
	rte_pktmbuf_free_bulk(all, n);
	free(all);
	return 0;
}

/*
 * Take n mbufs and stamp the next sequence numbers into them; their frame
 * was written by prebuild_pool. Returns n, or 0 when the pool is empty.
 */
static unsigned int stamp_burst(struct rte_mempool *pool,
				struct rte_mbuf **burst, unsigned int n,
				uint32_t frame_len, uint64_t *next_seq)
{
	unsigned int i;

	if (rte_pktmbuf_alloc_bulk(pool, burst, n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = burst[i];
		uint64_t seq = (*next_seq)++;

		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, SEQ_OFF), &seq,
		       SEQ_LEN);
		m->data_len = (uint16_t)frame_len;
		m->pkt_len = frame_len;
	}
	return n;
}

static int run_send(uint16_t port, struct rte_mempool *pool,
		    const struct raw_opts *o)
{
	struct rte_mbuf *burst[BURST_SIZE];
	uint64_t hz = rte_get_timer_hz();
	uint64_t idle_limit = hz / 1000 * o->timeout_ms;
	uint64_t next_seq = 0, sent = 0, empty_polls = 0;
	uint64_t t_start, t_end, last_progress;
	unsigned int pending = 0, head = 0;
	double seconds;
	int ret = 0;

	t_start = rte_get_timer_cycles();
	last_progress = t_start;
	while (sent < o->count && !stopping()) {
		uint16_t nb;

		/* A new burst only once the last one is all sent: in order. */
		if (pending == 0) {
			uint64_t left = o->count - next_seq;
			unsigned int n = left < BURST_SIZE ? (unsigned int)left
							   : BURST_SIZE;

			pending = stamp_burst(pool, burst, n, o->frame_len,
					      &next_seq);
			head = 0;
		}
		nb = rte_eth_tx_burst(port, 0, burst + head, (uint16_t)pending);
		head += nb;
		pending -= nb;
		sent += nb;
		if (nb > 0) {
			last_progress = rte_get_timer_cycles();
		} else {
			/* Ring full (receiver behind) or, briefly, pool empty.
			 */
			empty_polls++;
			if (rte_get_timer_cycles() - last_progress >
			    idle_limit) {
				ret = -ETIMEDOUT;
				break;
			}
		}
	}
	t_end = rte_get_timer_cycles();
	if (pending > 0)
		rte_pktmbuf_free_bulk(burst + head, pending);

	seconds = (double)(t_end - t_start) / (double)hz;
	printf("{\"role\":\"send\",\"frames\":%" PRIu64 ",\"seconds\":%.6f,"
	       "\"frames_per_s\":%.0f,\"empty_polls\":%" PRIu64 "}\n",
	       sent, seconds, seconds > 0 ? (double)sent / seconds : 0.0,
	       empty_polls);
	fflush(stdout);
	if (ret != 0)
		return ret;
	if (sent < o->count)
		return -EINTR;
	/* The receiver closes its side once it has read the last frame. */
	if (wait_link(port, false, o->timeout_ms) != 0)
		fprintf(stderr,
			"tern-memif-raw: receiver did not disconnect "
			"within %u ms\n",
			o->timeout_ms);
	return 0;
}

static int run_recv(uint16_t port, const struct raw_opts *o)
{
	struct rte_mbuf *burst[BURST_SIZE];
	uint64_t hz = rte_get_timer_hz();
	uint64_t idle_limit = hz / 1000 * o->timeout_ms;
	uint64_t frames = 0, bytes = 0, out_of_order = 0, expected = 0;
	uint64_t first_frames = 0, first_bytes = 0;
	uint64_t t_first = 0, t_last = 0, last_progress;
	double seconds, rate = 0, gbit = 0;

	last_progress = rte_get_timer_cycles();
	while (frames < o->count && !stopping()) {
		uint16_t nb = rte_eth_rx_burst(port, 0, burst, BURST_SIZE);
		uint16_t i;

		if (nb == 0) {
			if (rte_get_timer_cycles() - last_progress > idle_limit)
				break;
			continue;
		}
		for (i = 0; i < nb; i++) {
			struct rte_mbuf *m = burst[i];
			uint64_t seq;

			bytes += m->pkt_len;
			if (m->data_len < FRAME_LEN_MIN) {
				out_of_order++;
				continue;
			}
			memcpy(&seq,
			       rte_pktmbuf_mtod_offset(m, uint8_t *, SEQ_OFF),
			       SEQ_LEN);
			if (seq != expected)
				out_of_order++;
			expected = seq + 1;
		}
		rte_pktmbuf_free_bulk(burst, nb);
		last_progress = rte_get_timer_cycles();
		if (frames == 0) {
			t_first = last_progress;
			first_frames = nb;
			first_bytes = bytes;
		}
		frames += nb;
		t_last = last_progress;
	}

	/*
	 * The clock starts when the first burst has been read, so that burst
	 * is outside the interval and is left out of the rates.
	 */
	seconds = (double)(t_last - t_first) / (double)hz;
	if (seconds > 0) {
		rate = (double)(frames - first_frames) / seconds;
		gbit = (double)(bytes - first_bytes) * 8 / seconds / 1e9;
	}
	printf("{\"role\":\"recv\",\"frames\":%" PRIu64 ",\"seconds\":%.6f,"
	       "\"frames_per_s\":%.0f,\"gbit_per_s\":%.3f,"
	       "\"out_of_order\":%" PRIu64 "}\n",
	       frames, seconds, rate, gbit, out_of_order);
	fflush(stdout);
	return frames == o->count && out_of_order == 0 ? 0 : -EPROTO;
}

int main(int argc, char **argv)
{
	struct raw_opts o;
	struct rte_mempool *pool;
	uint16_t port;
	int ret;

	if (parse_opts(argc, argv, &o) != 0) {
		usage(stderr, argv[0]);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ret = init_eal(argv[0], &o);
	if (ret != 0) {
		fprintf(stderr, "tern-memif-raw: EAL init failed: %s\n",
			rte_strerror(-ret));
		return 1;
	}
	ret = rte_eth_dev_get_port_by_name("net_memif0", &port);
	if (ret != 0) {
		fprintf(stderr, "tern-memif-raw: no net_memif0 port (is the "
				"memif PMD installed?)\n");
		goto out_eal;
	}
	pool = rte_pktmbuf_pool_create("raw_pool", POOL_SIZE, POOL_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL) {
		ret = -rte_errno;
		fprintf(stderr, "tern-memif-raw: mempool: %s\n",
			rte_strerror(rte_errno));
		goto out_eal;
	}
	if (o.role == ROLE_SEND) {
		ret = prebuild_pool(pool, o.frame_len);
		if (ret != 0) {
			fprintf(stderr, "tern-memif-raw: prebuild: %s\n",
				strerror(-ret));
			goto out_pool;
		}
	}
	ret = setup_port(port, pool);
	if (ret != 0) {
		fprintf(stderr, "tern-memif-raw: port set-up: %s\n",
			strerror(-ret));
		goto out_port;
	}
	ret = start_port(port, &o);
	if (ret != 0) {
		fprintf(stderr, "tern-memif-raw: no memif link on %s: %s\n",
			o.socket_path, strerror(-ret));
		goto out_port;
	}
	/* The receiver counts its timeout from here, in run_recv. */
	if (o.role == ROLE_SEND)
		ret = run_send(port, pool, &o);
	else
		ret = run_recv(port, &o);
	rte_eth_dev_stop(port);
out_port:
	rte_eth_dev_close(port);
out_pool:
	rte_mempool_free(pool);
out_eal:
	rte_eal_cleanup();
	return ret == 0 ? 0 : 1;
}
