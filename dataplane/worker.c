/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore run-to-completion loop (phases listed in worker.h).
 *
 * Shared-nothing: each worker owns queue `index` of every port, its TX
 * buffers, its neighbour table, its impairment state and its counters. The
 * only cross-worker traffic is the handoff rings: ring [from][to] is single
 * producer (worker `from`) and single consumer (worker `to`).
 */
#include "worker.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sched.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_timer.h>

#include "tern_log.h"

#define MEMPOOL_CACHE 256u
#define TIMER_PERIOD_US 10u
#define IMPAIR_OUT_MAX (4 * TERN_BURST)
#define INTR_WAIT_MS 1

_Static_assert(IMPAIR_OUT_MAX >= 3 * TERN_BURST + 2,
	       "impairment output must hold a tripled burst");
_Static_assert(TERN_TX_BUFFER_MAX >= 2 * TERN_BURST,
	       "a TX buffer must absorb a burst while one is in flight");

struct tx_buffer {
	uint16_t count;
	struct rte_mbuf *frames[TERN_TX_BUFFER_MAX];
};

struct tern_dp_worker {
	struct tern_dp *dp;
	unsigned index;
	unsigned lcore_id;
	struct tern_idle_config idle; /* the dp's, with live changes */
	uint32_t idle_polls;
	uint32_t sleep_us;
	uint64_t busy_tsc; /* the last iteration that did work */
	uint64_t next_link_check_tsc;
	uint64_t link_down_since_tsc[TERN_PORTS_MAX]; /* 0: link up */
	bool use_rx_interrupts;
	uint64_t next_timer_tsc;
	uint64_t now_tsc; /* read once per loop iteration */
	struct tern_worker_stats *stats;
	struct tern_neigh_table neigh;
	struct tern_frame_local local[TERN_PORTS_MAX];
	struct tern_impair impair[TERN_PORTS_MAX];
	struct tx_buffer tx[TERN_PORTS_MAX];
	struct rte_ring *handoff_in[TERN_WORKERS_MAX];
	struct rte_ring *handoff_out[TERN_WORKERS_MAX];
	/* Frames of this burst for the handler, per port. */
	struct rte_mbuf *mine[TERN_BURST];
	struct tern_frame_view views[TERN_BURST];
} __rte_cache_aligned;

struct tern_dp {
	struct tern_dp_config cfg;
	unsigned worker_count;
	bool main_is_worker;
	uint64_t tsc_hz;
	struct rte_mempool *pool;
	struct tern_port ports[TERN_PORTS_MAX];
	unsigned ports_open;
	struct tern_worker_stats stats[TERN_WORKERS_MAX];
	struct tern_dp_worker workers[TERN_WORKERS_MAX];
	/* Written by tern_dp_stop (any thread, signal handler), read by every
	 * worker loop each iteration: relaxed is enough, as the flag guards no
	 * other data. */
	atomic_bool stop;
};

unsigned tern_dp_worker_count(const struct tern_dp *dp)
{
	return dp->worker_count;
}

struct tern_worker_stats *tern_dp_stats(struct tern_dp *dp)
{
	return dp->stats;
}

const struct tern_port *tern_dp_port_info(const struct tern_dp *dp,
					  uint16_t port_index)
{
	return port_index < dp->ports_open ? &dp->ports[port_index] : NULL;
}

void tern_dp_worker_set_idle(struct tern_dp_worker *worker,
			     const struct tern_idle_config *idle)
{
	worker->idle.spin_polls = idle->spin_polls;
	worker->idle.yield_polls = idle->yield_polls;
	worker->idle.sleep_us_max = idle->sleep_us_max;
	worker->idle.deep_after_ms = idle->deep_after_ms;
	worker->idle.deep_sleep_us = idle->deep_sleep_us;
	worker->sleep_us = 1;
}

unsigned tern_dp_worker_index(const struct tern_dp_worker *worker)
{
	return worker->index;
}

struct tern_worker_stats *tern_dp_worker_stats(struct tern_dp_worker *worker)
{
	return worker->stats;
}

struct tern_neigh_table *tern_dp_worker_neigh(struct tern_dp_worker *worker)
{
	return &worker->neigh;
}

const struct tern_frame_local *
tern_dp_worker_local(const struct tern_dp_worker *worker, uint16_t port_index)
{
	return &worker->local[port_index];
}

struct rte_mbuf *tern_dp_alloc(struct tern_dp_worker *worker)
{
	return rte_pktmbuf_alloc(worker->dp->pool);
}

/* ---- tx ---------------------------------------------------------------- */

unsigned tern_dp_tx_room(const struct tern_dp_worker *worker,
			 uint16_t port_index)
{
	return TERN_TX_BUFFER_MAX - worker->tx[port_index].count;
}

static unsigned tx_flush(struct tern_dp_worker *worker, uint16_t port_index)
{
	struct tx_buffer *buf = &worker->tx[port_index];
	uint16_t port_id = worker->dp->ports[port_index].port_id;
	uint16_t sent = 0;
	uint64_t bytes = 0;

	/* Not started (its peer is down): frames wait, up to the buffer;
	 * more are refused (-ENOBUFS) until it starts. */
	if (!worker->dp->ports[port_index].started)
		return 0;
	while (sent < buf->count) {
		uint16_t n = rte_eth_tx_burst(port_id, (uint16_t)worker->index,
					      buf->frames + sent,
					      (uint16_t)(buf->count - sent));
		if (n == 0)
			break; /* the queue is full: keep the rest for later */
		for (uint16_t i = sent; i < sent + n; i++)
			bytes += rte_pktmbuf_pkt_len(buf->frames[i]);
		sent = (uint16_t)(sent + n);
	}
	if (sent == 0)
		return 0;
	memmove(buf->frames, buf->frames + sent,
		(size_t)(buf->count - sent) * sizeof(buf->frames[0]));
	buf->count = (uint16_t)(buf->count - sent);
	tern_counter_add(&worker->stats->tx_frames, sent);
	tern_counter_add(&worker->stats->tx_bytes, bytes);
	return sent;
}

int tern_dp_tx(struct tern_dp_worker *worker, uint16_t port_index,
	       struct rte_mbuf *m)
{
	struct tx_buffer *buf = &worker->tx[port_index];

	if (buf->count == TERN_TX_BUFFER_MAX) {
		tx_flush(worker, port_index);
		if (buf->count == TERN_TX_BUFFER_MAX)
			return -ENOBUFS;
	}
	buf->frames[buf->count++] = m;
	if (buf->count >= TERN_BURST)
		tx_flush(worker, port_index);
	return 0;
}

struct rte_mbuf *tern_dp_frame_alloc(struct tern_dp_worker *worker,
				     uint16_t port_index, uint32_t body_len,
				     uint8_t **body, int *err)
{
	const struct tern_port *port = &worker->dp->ports[port_index];
	uint32_t frame_len = TERN_FRAME_HDRS_LEN + body_len;
	struct rte_mbuf *m;
	uint8_t *data;

	*err = 0;
	if (frame_len - TERN_ETH_HDR_LEN > port->mtu) {
		*err = -EMSGSIZE;
		return NULL;
	}
	if (tern_dp_tx_room(worker, port_index) == 0) {
		*err = -ENOBUFS;
		return NULL;
	}
	m = tern_dp_alloc(worker);
	if (m == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)frame_len);
	if (data == NULL) {
		rte_pktmbuf_free(m);
		*err = -EMSGSIZE;
		return NULL;
	}
	*body = data + TERN_FRAME_HDRS_LEN;
	return m;
}

int tern_dp_frame_send(struct tern_dp_worker *worker, uint16_t port_index,
		       struct rte_mbuf *m, const struct tern_frame_addr *addr,
		       const struct tern_hdr *hdr)
{
	const struct tern_port *port = &worker->dp->ports[port_index];
	int ret;

	tern_frame_build(rte_pktmbuf_mtod(m, uint8_t *), addr, hdr,
			 port->tx_csum);
	tern_port_tx_prepare(m, port->tx_csum);
	ret = tern_dp_tx(worker, port_index, m);
	if (ret != 0)
		rte_pktmbuf_free(m);
	return ret;
}

int tern_dp_send(struct tern_dp_worker *worker, uint16_t port_index,
		 const struct tern_frame_addr *addr, const struct tern_hdr *hdr,
		 const void *body)
{
	uint8_t *dst;
	int err;
	struct rte_mbuf *m = tern_dp_frame_alloc(worker, port_index,
						 hdr->body_len, &dst, &err);

	if (m == NULL)
		return err;
	memcpy(dst, body, hdr->body_len);
	return tern_dp_frame_send(worker, port_index, m, addr, hdr);
}

int tern_dp_send_raw(struct tern_dp_worker *worker, uint16_t port_index,
		     const void *frame, uint32_t len)
{
	struct rte_mbuf *m;
	void *data;
	int ret;

	if (tern_dp_tx_room(worker, port_index) == 0)
		return -ENOBUFS;
	m = tern_dp_alloc(worker);
	if (m == NULL)
		return -ENOMEM;
	data = len <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
	if (data == NULL) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	memcpy(data, frame, len);
	ret = tern_dp_tx(worker, port_index, m);
	if (ret != 0)
		rte_pktmbuf_free(m);
	return ret;
}

/* ---- rx and parse -------------------------------------------------------- */

static void drop(struct tern_dp_worker *worker, struct rte_mbuf *m,
		 enum tern_drop_reason reason)
{
	tern_stats_drop(worker->stats, reason, 1);
	rte_pktmbuf_free(m);
}

static void handle_arp(struct tern_dp_worker *worker, uint16_t port_index,
		       struct rte_mbuf *m)
{
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint32_t reply_len = 0;
	enum tern_drop_reason reason;

	reason = tern_arp_input(
		rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
		&worker->local[port_index], &worker->neigh, reply, &reply_len);
	if (reason != TERN_DROP_NONE) {
		drop(worker, m, reason);
		return;
	}
	rte_pktmbuf_free(m);
	if (reply_len > 0 &&
	    tern_dp_send_raw(worker, port_index, reply, reply_len) == 0)
		tern_counter_add(&worker->stats->arp_replies, 1);
}

static void hand_off(struct tern_dp_worker *worker, unsigned target,
		     struct rte_mbuf *m)
{
	/* Pairs with the consumer's dequeue in take_handoffs: the ring's own
	 * release/acquire ordering publishes the frame's bytes. */
	if (rte_ring_sp_enqueue(worker->handoff_out[target], m) != 0)
		drop(worker, m, TERN_DROP_HANDOFF_FULL);
}

/* Parse one frame; keep it for the handler, hand it off, or drop it. */
static uint16_t classify(struct tern_dp_worker *worker, uint16_t port_index,
			 struct rte_mbuf *m, uint32_t rx_csum, uint16_t n_mine)
{
	const struct tern_frame_local *local = &worker->local[port_index];
	struct tern_frame_view *view = &worker->views[n_mine];
	enum tern_frame_class frame_class;
	enum tern_drop_reason reason;
	unsigned target;

	if (m->nb_segs != 1) {
		drop(worker, m, TERN_DROP_SEGMENTED);
		return n_mine;
	}
	reason = tern_frame_parse(rte_pktmbuf_mtod(m, const uint8_t *),
				  rte_pktmbuf_data_len(m), rx_csum, local, view,
				  &frame_class);
	if (reason != TERN_DROP_NONE) {
		drop(worker, m, reason);
		return n_mine;
	}
	if (frame_class == TERN_FRAME_ARP) {
		handle_arp(worker, port_index, m);
		return n_mine;
	}
	target = view->addr.dst_port - local->udp_port_base;
	if (target != worker->index) {
		hand_off(worker, target, m);
		return n_mine;
	}
	worker->mine[n_mine] = m;
	return (uint16_t)(n_mine + 1);
}

static void dispatch(struct tern_dp_worker *worker, uint16_t port_index,
		     uint16_t n_mine)
{
	const struct tern_dp_handler *handler = &worker->dp->cfg.handler;

	if (n_mine == 0)
		return;
	if (handler->on_frames == NULL) {
		for (uint16_t i = 0; i < n_mine; i++)
			drop(worker, worker->mine[i], TERN_DROP_NO_HANDLER);
		return;
	}
	handler->on_frames(handler->arg, worker, port_index, worker->mine,
			   worker->views, n_mine, worker->now_tsc);
}

static unsigned rx_queue(struct tern_dp_worker *worker, uint16_t port_index,
			 uint16_t queue)
{
	struct rte_mbuf *burst[TERN_BURST];
	struct rte_mbuf *impaired[IMPAIR_OUT_MAX];
	struct rte_mbuf **frames = burst;
	struct tern_impair *im = &worker->impair[port_index];
	uint16_t port_id = worker->dp->ports[port_index].port_id;
	uint16_t n, n_mine = 0;
	uint64_t bytes = 0;

	n = rte_eth_rx_burst(port_id, queue, burst, TERN_BURST);
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(burst[i]);
	tern_counter_add(&worker->stats->rx_frames, n);
	tern_counter_add(&worker->stats->rx_bytes, bytes);
	if (im->enabled) {
		uint64_t dropped = im->dropped;

		n = tern_impair_apply(im, burst, n, impaired, IMPAIR_OUT_MAX,
				      worker->now_tsc);
		frames = impaired;
		tern_stats_drop(worker->stats, TERN_DROP_IMPAIRED,
				im->dropped - dropped);
	}
	for (uint16_t i = 0; i < n; i++) {
		n_mine = classify(worker, port_index, frames[i],
				  tern_port_rx_csum(frames[i]), n_mine);
		if (n_mine == TERN_BURST) {
			dispatch(worker, port_index, n_mine);
			n_mine = 0;
		}
	}
	dispatch(worker, port_index, n_mine);
	return n;
}

/* A port may have more queues than there are workers (its peer has more
 * workers): worker w polls queues w, w + W, ... and sends on queue w. */
static unsigned rx_port(struct tern_dp_worker *worker, uint16_t port_index)
{
	const struct tern_dp *dp = worker->dp;
	unsigned n = 0;

	if (!dp->ports[port_index].started)
		return 0; /* its peer is down: relink_ports starts it */
	for (unsigned q = worker->index; q < dp->ports[port_index].queue_count;
	     q += dp->worker_count)
		n += rx_queue(worker, port_index, (uint16_t)q);
	return n;
}

/* Handed-off frames carry their port in mbuf->port. */
static uint16_t port_index_of(const struct tern_dp *dp, uint16_t port_id)
{
	uint16_t port_index = 0;

	while (port_index + 1u < dp->ports_open &&
	       dp->ports[port_index].port_id != port_id)
		port_index++;
	return port_index;
}

/* Frames other workers received for this one. They were validated there,
 * so checksums are not verified twice. Dispatched in runs of frames from
 * the same port, as rx_port does. */
static void take_burst(struct tern_dp_worker *worker, struct rte_mbuf **burst,
		       unsigned n)
{
	const uint32_t verified = TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD;
	uint16_t port_index = 0, n_mine = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t frame_port = port_index_of(worker->dp, burst[i]->port);

		if (frame_port != port_index) {
			dispatch(worker, port_index, n_mine);
			n_mine = 0;
			port_index = frame_port;
		}
		n_mine = classify(worker, port_index, burst[i], verified,
				  n_mine);
	}
	dispatch(worker, port_index, n_mine);
}

static unsigned take_handoffs(struct tern_dp_worker *worker)
{
	struct rte_mbuf *burst[TERN_BURST];
	unsigned total = 0;

	for (unsigned from = 0; from < worker->dp->worker_count; from++) {
		unsigned n;

		if (worker->handoff_in[from] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(worker->handoff_in[from],
					      (void **)burst, TERN_BURST, NULL);
		take_burst(worker, burst, n);
		total += n;
	}
	return total;
}

/* ---- idle ---------------------------------------------------------------- */

static void rx_interrupts_arm(struct tern_dp_worker *worker, bool enable)
{
	for (unsigned p = 0; p < worker->dp->ports_open; p++) {
		uint16_t port_id = worker->dp->ports[p].port_id;

		if (enable)
			rte_eth_dev_rx_intr_enable(port_id,
						   (uint16_t)worker->index);
		else
			rte_eth_dev_rx_intr_disable(port_id,
						    (uint16_t)worker->index);
	}
}

static uint32_t sleep_cap(const struct tern_dp_worker *worker)
{
	const struct tern_idle_config *idle = &worker->idle;
	uint64_t deep_after_tsc =
		worker->dp->tsc_hz / 1000 * idle->deep_after_ms;

	if (idle->deep_sleep_us > idle->sleep_us_max &&
	    idle->deep_after_ms > 0 &&
	    worker->now_tsc - worker->busy_tsc > deep_after_tsc)
		return idle->deep_sleep_us;
	return idle->sleep_us_max;
}

static void idle_sleep(struct tern_dp_worker *worker)
{
	const struct tern_idle_config *idle = &worker->idle;
	struct rte_epoll_event events[TERN_PORTS_MAX];
	struct timespec ts;

	tern_counter_add(&worker->stats->idle_sleeps, 1);
	if (worker->use_rx_interrupts &&
	    worker->sleep_us >= idle->sleep_us_max) {
		tern_counter_add(&worker->stats->rx_interrupt_waits, 1);
		rx_interrupts_arm(worker, true);
		rte_epoll_wait(RTE_EPOLL_PER_THREAD, events, TERN_PORTS_MAX,
			       INTR_WAIT_MS);
		rx_interrupts_arm(worker, false);
		return;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = (long)worker->sleep_us * 1000;
	nanosleep(&ts, NULL);
	worker->sleep_us *= 2;
	if (worker->sleep_us > sleep_cap(worker))
		worker->sleep_us = sleep_cap(worker);
}

/* A link down for relink_down_ms: restart its port (memif clients only
 * connect when started). One worker only: nothing else uses the port. */
static void relink_ports(struct tern_dp_worker *worker)
{
	struct tern_dp *dp = worker->dp;
	uint64_t down_tsc = dp->tsc_hz / 1000 * dp->cfg.relink_down_ms;

	if (dp->cfg.relink_down_ms == 0 || dp->worker_count != 1 ||
	    worker->now_tsc < worker->next_link_check_tsc)
		return;
	worker->next_link_check_tsc = worker->now_tsc + down_tsc / 4;
	for (uint16_t p = 0; p < dp->ports_open; p++) {
		uint64_t *since = &worker->link_down_since_tsc[p];

		if (!dp->cfg.ports[p].relink)
			continue;
		if (tern_port_link_up(&dp->ports[p])) {
			*since = 0;
		} else if (*since == 0) {
			*since = worker->now_tsc;
		} else if (worker->now_tsc - *since >= down_tsc) {
			tern_counter_add(&worker->stats->relinks, 1);
			(void)tern_port_relink(&dp->ports[p]);
			*since = worker->now_tsc;
		}
	}
}

static void idle_policy(struct tern_dp_worker *worker, unsigned work)
{
	const struct tern_idle_config *idle = &worker->idle;

	if (work > 0 || idle->mode == TERN_IDLE_BUSY) {
		worker->idle_polls = 0;
		worker->sleep_us = 1;
		worker->busy_tsc = worker->now_tsc;
		return;
	}
	worker->idle_polls++;
	if (worker->idle_polls <= idle->spin_polls)
		return;
	if (worker->idle_polls <= idle->spin_polls + idle->yield_polls) {
		/* Another process sharing this core runs now if it can; if
		 * none can, this returns at once and the poll goes on. A frame
		 * waits for a time slice at most, not for a sleep to end:
		 * sleeps overshoot by tens of microseconds on a VM. */
		sched_yield();
		return;
	}
	idle_sleep(worker);
}

/* ---- the loop ------------------------------------------------------------ */

static bool interrupts_setup(struct tern_dp_worker *worker)
{
	if (!worker->dp->cfg.idle.rx_interrupts ||
	    worker->dp->cfg.idle.mode != TERN_IDLE_ADAPTIVE)
		return false;
	for (unsigned p = 0; p < worker->dp->ports_open; p++) {
		const struct tern_port *port = &worker->dp->ports[p];

		if (!port->rx_interrupts ||
		    rte_eth_dev_rx_intr_ctl_q(port->port_id,
					      (uint16_t)worker->index,
					      RTE_EPOLL_PER_THREAD,
					      RTE_INTR_EVENT_ADD, NULL) != 0) {
			TERN_LOG(INFO,
				 "worker %u: port %s cannot wake it by "
				 "interrupt; idle sleeps are timed",
				 worker->index, port->name);
			return false;
		}
	}
	return true;
}

static int worker_loop(void *arg)
{
	struct tern_dp_worker *worker = arg;
	struct tern_dp *dp = worker->dp;
	const uint64_t timer_period = dp->tsc_hz / 1000000 * TIMER_PERIOD_US;

	worker->lcore_id = rte_lcore_id();
	worker->use_rx_interrupts = interrupts_setup(worker);
	worker->sleep_us = 1;
	worker->busy_tsc = rte_rdtsc();
	/* The kernel may stretch a sleep by the thread's timer slack (50 us
	 * by default): far more than the short sleeps of the adaptive policy
	 * ask for (a 1 us nanosleep lasted 103-115 us on the test VM with
	 * the default slack, 28 us with 1 ns), and every hop pays it. */
	if (dp->cfg.idle.mode == TERN_IDLE_ADAPTIVE)
		(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (dp->cfg.handler.on_start != NULL &&
	    dp->cfg.handler.on_start(dp->cfg.handler.arg, worker) != 0) {
		TERN_LOG(ERR, "worker %u: start failed: stopping every worker",
			 worker->index);
		tern_dp_stop(dp);
	}
	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		unsigned work = 0;

		worker->now_tsc = rte_rdtsc();
		/* rx, parse, dispatch */
		for (uint16_t p = 0; p < dp->ports_open; p++)
			work += rx_port(worker, p);
		/* handoff */
		work += take_handoffs(worker);
		/* poll */
		if (dp->cfg.handler.on_poll != NULL)
			work += dp->cfg.handler.on_poll(
				dp->cfg.handler.arg, worker, worker->now_tsc);
		/* tx */
		for (uint16_t p = 0; p < dp->ports_open; p++)
			if (worker->tx[p].count > 0)
				work += tx_flush(worker, p);
		/* timers */
		if (worker->now_tsc >= worker->next_timer_tsc) {
			rte_timer_manage();
			worker->next_timer_tsc = worker->now_tsc + timer_period;
		}
		relink_ports(worker);
		/* idle */
		idle_policy(worker, work);
	}
	if (dp->cfg.handler.on_stop != NULL)
		dp->cfg.handler.on_stop(dp->cfg.handler.arg, worker);
	return 0;
}

/* ---- creation ------------------------------------------------------------ */

/*
 * Pool size, as the sum of its users:
 *   every RX and TX descriptor of every queue of every port
 * + per worker: a burst being parsed, an impaired burst, its TX buffers,
 *   the frames held for delay, and its inbound handoff rings
 * + per worker: the mempool cache
 * + what the application holds (cfg->app_mbufs)
 */
static unsigned pool_size(const struct tern_dp_config *cfg, unsigned workers)
{
	unsigned descriptors = 0;
	unsigned per_worker =
		TERN_BURST + IMPAIR_OUT_MAX +
		cfg->port_count * (TERN_TX_BUFFER_MAX + TERN_IMPAIR_HELD_MAX) +
		workers * TERN_HANDOFF_RING_SIZE;

	for (unsigned p = 0; p < cfg->port_count; p++)
		descriptors +=
			workers *
			(cfg->ports[p].rx_desc ? cfg->ports[p].rx_desc : 1024u);
	for (unsigned p = 0; p < cfg->port_count; p++)
		descriptors +=
			workers *
			(cfg->ports[p].tx_desc ? cfg->ports[p].tx_desc : 1024u);
	return descriptors + workers * (per_worker + MEMPOOL_CACHE) +
	       cfg->app_mbufs;
}

static uint16_t mbuf_data_room(const struct tern_dp_config *cfg)
{
	uint16_t mtu = 1500;
	uint32_t room;

	for (unsigned p = 0; p < cfg->port_count; p++)
		if (cfg->ports[p].mtu > mtu)
			mtu = cfg->ports[p].mtu;
	/* One segment holds a whole frame of the largest MTU, with room for
	 * a VLAN tag and a virtio-net header. DPDK's default size is the
	 * floor: AF_XDP needs UMEM chunks of at least 2 KiB. */
	room = RTE_PKTMBUF_HEADROOM + mtu + TERN_ETH_HDR_LEN + 4 + 12;
	return (uint16_t)RTE_MAX(room, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

static int create_rings(struct tern_dp *dp)
{
	char name[RTE_RING_NAMESIZE];

	for (unsigned from = 0; from < dp->worker_count; from++) {
		for (unsigned to = 0; to < dp->worker_count; to++) {
			struct rte_ring *ring;

			if (from == to)
				continue;
			snprintf(name, sizeof(name), "tern_ho_%p_%u_%u",
				 (void *)dp, from, to);
			ring = rte_ring_create(name, TERN_HANDOFF_RING_SIZE,
					       (int)rte_socket_id(),
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (ring == NULL)
				return -rte_errno;
			dp->workers[from].handoff_out[to] = ring;
			dp->workers[to].handoff_in[from] = ring;
		}
	}
	return 0;
}

static void init_worker(struct tern_dp *dp, unsigned index)
{
	struct tern_dp_worker *worker = &dp->workers[index];

	worker->dp = dp;
	worker->idle = dp->cfg.idle;
	worker->index = index;
	worker->stats = &dp->stats[index];
	tern_neigh_init(&worker->neigh);
	for (unsigned p = 0; p < dp->ports_open; p++) {
		struct tern_frame_local *local = &worker->local[p];

		memcpy(local->mac, dp->ports[p].mac, TERN_ETH_ALEN);
		local->ipv4 = dp->cfg.ipv4;
		local->udp_port_base = dp->cfg.udp_port_base;
		local->udp_port_count = (uint16_t)dp->worker_count;
		/* Each worker draws its own stream from the port's seed. */
		struct tern_impair_config impair = dp->cfg.impair[p];
		impair.seed += index;
		tern_impair_init(&worker->impair[p], &impair, dp->tsc_hz,
				 dp->pool);
	}
}

static int open_ports(struct tern_dp *dp)
{
	for (unsigned p = 0; p < dp->cfg.port_count; p++) {
		struct tern_port_config port_cfg = dp->cfg.ports[p];
		int ret;

		/* At least one queue per worker; more when asked for. */
		if (port_cfg.queue_count < dp->worker_count)
			port_cfg.queue_count = (uint16_t)dp->worker_count;
		port_cfg.rx_interrupts =
			dp->cfg.idle.rx_interrupts &&
			dp->cfg.idle.mode == TERN_IDLE_ADAPTIVE;
		ret = tern_port_open(&port_cfg, dp->pool, &dp->ports[p]);
		if (ret != 0) {
			if (dp->ports[p].started)
				tern_port_close(&dp->ports[p]);
			return ret;
		}
		dp->ports_open++;
	}
	return 0;
}

static int create(struct tern_dp *dp)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	int ret;

	snprintf(name, sizeof(name), "tern_mbufs_%p", (void *)dp);
	dp->pool = rte_pktmbuf_pool_create(
		name, pool_size(&dp->cfg, dp->worker_count), MEMPOOL_CACHE, 0,
		mbuf_data_room(&dp->cfg), (int)rte_socket_id());
	if (dp->pool == NULL) {
		TERN_LOG(ERR,
			 "cannot create the mbuf pool: %s; give EAL more "
			 "memory (-m / --mem-mb)",
			 rte_strerror(rte_errno));
		return -rte_errno;
	}
	ret = rte_timer_subsystem_init();
	if (ret != 0 && ret != -EALREADY)
		return ret;
	ret = open_ports(dp);
	if (ret != 0)
		return ret;
	ret = create_rings(dp);
	if (ret != 0) {
		TERN_LOG(ERR, "cannot create handoff rings: %s",
			 rte_strerror(-ret));
		return ret;
	}
	for (unsigned w = 0; w < dp->worker_count; w++)
		init_worker(dp, w);
	return 0;
}

struct tern_dp *tern_dp_create(const struct tern_dp_config *cfg, int *err)
{
	struct tern_dp *dp;
	unsigned workers = rte_lcore_count() > 1 ? rte_lcore_count() - 1 : 1;

	*err = 0;
	if (cfg->port_count == 0 || cfg->port_count > TERN_PORTS_MAX ||
	    workers > TERN_WORKERS_MAX) {
		TERN_LOG(ERR, "need 1..%u ports and at most %u worker lcores",
			 TERN_PORTS_MAX, TERN_WORKERS_MAX);
		*err = -EINVAL;
		return NULL;
	}
	dp = rte_zmalloc("tern_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	dp->cfg = *cfg;
	dp->worker_count = workers;
	dp->main_is_worker = rte_lcore_count() == 1;
	dp->tsc_hz = rte_get_tsc_hz();
	atomic_init(&dp->stop, false);
	*err = create(dp);
	if (*err != 0) {
		tern_dp_destroy(dp);
		return NULL;
	}
	return dp;
}

int tern_dp_launch(struct tern_dp *dp)
{
	unsigned index = 0;
	unsigned lcore;

	if (dp->main_is_worker)
		return 0;
	RTE_LCORE_FOREACH_WORKER (lcore) {
		int ret = rte_eal_remote_launch(worker_loop,
						&dp->workers[index], lcore);
		if (ret != 0) {
			tern_dp_stop(dp);
			return ret;
		}
		index++;
	}
	return 0;
}

void tern_dp_wait(struct tern_dp *dp)
{
	const struct timespec nap = { 0, 1000000 };
	unsigned lcore;
	bool running = true;

	if (dp->main_is_worker) {
		worker_loop(&dp->workers[0]);
		return;
	}
	/* rte_eal_mp_wait_lcore spins; on shared cores the main lcore must
	 * not steal cycles from workers, so it naps until they are done. */
	while (running) {
		running = false;
		RTE_LCORE_FOREACH_WORKER (lcore)
			running |= rte_eal_get_lcore_state(lcore) == RUNNING;
		if (running)
			nanosleep(&nap, NULL);
	}
	rte_eal_mp_wait_lcore();
}

void tern_dp_stop(struct tern_dp *dp)
{
	/* Pairs with the relaxed load at the top of worker_loop. */
	atomic_store_explicit(&dp->stop, true, memory_order_relaxed);
}

void tern_dp_destroy(struct tern_dp *dp)
{
	if (dp == NULL)
		return;
	for (unsigned w = 0; w < dp->worker_count; w++) {
		struct tern_dp_worker *worker = &dp->workers[w];

		for (unsigned p = 0; p < dp->ports_open; p++) {
			rte_pktmbuf_free_bulk(worker->tx[p].frames,
					      worker->tx[p].count);
			worker->tx[p].count = 0;
			tern_impair_release_all(&worker->impair[p]);
		}
		for (unsigned to = 0; to < dp->worker_count; to++) {
			struct rte_mbuf *m;

			while (worker->handoff_out[to] != NULL &&
			       rte_ring_dequeue(worker->handoff_out[to],
						(void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(worker->handoff_out[to]);
		}
	}
	for (unsigned p = 0; p < dp->ports_open; p++)
		tern_port_close(&dp->ports[p]);
	rte_mempool_free(dp->pool);
	rte_free(dp);
}
