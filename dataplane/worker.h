/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane runtime: ports, a mempool, and one run-to-completion loop
 * per worker lcore. Each loop iteration runs these phases:
 *
 *   rx       RX burst from this worker's queue of every port, impairment
 *   parse    validate every frame; count and free what is dropped; answer
 *            ARP; hand frames for another worker to it through an SPSC ring
 *   handoff  take frames other workers handed to this one
 *   dispatch give this worker's Tern frames to the application's handler
 *   poll     the application's own per-iteration work (sending, deadlines)
 *   tx       drain the TX buffers of every port
 *   timers   run expired rte_timers of this lcore
 *   idle     when nothing happened: busy-poll, or back off (adaptive)
 *
 * The dataplane knows nothing of partitions or chains: node/ registers the
 * handler.
 */
#ifndef TERN_DATAPLANE_WORKER_H
#define TERN_DATAPLANE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "arp.h"
#include "frame.h"
#include "impair.h"
#include "port.h"
#include "stats.h"

#define TERN_BURST 32u
#define TERN_TX_BUFFER_MAX 512u /* frames one (worker, port) may queue */
#define TERN_HANDOFF_RING_SIZE 1024u

enum tern_idle_mode {
	TERN_IDLE_BUSY,	    /* dedicated cores: never yield */
	TERN_IDLE_ADAPTIVE, /* shared cores: spin, pause, then sleep */
};

struct tern_idle_config {
	enum tern_idle_mode mode;
	uint32_t spin_polls;   /* empty iterations before yielding */
	uint32_t yield_polls;  /* empty iterations yielding the core, then
				* sleeps */
	uint32_t sleep_us_max; /* sleeps double from 1 us up to this */
	/* After this long without work, sleeps may grow to deep_sleep_us:
	 * an idle process then costs little CPU, and the first frame after
	 * the pause waits that much longer. 0: never. */
	uint32_t deep_after_ms;
	uint32_t deep_sleep_us;
	bool rx_interrupts; /* sleep in Rx interrupts where the PMD can */
};

struct tern_dp_worker;

struct tern_dp_handler {
	void *arg;
	/* Tern frames for this worker that arrived on port_index; views[i]
	 * describes mbufs[i]. The handler owns the mbufs from here on.
	 * now_tsc is the loop iteration's clock, the one on_poll gets. */
	void (*on_frames)(void *arg, struct tern_dp_worker *worker,
			  uint16_t port_index, struct rte_mbuf **mbufs,
			  const struct tern_frame_view *views, uint16_t count,
			  uint64_t now_tsc);
	/* Once per loop iteration; returns how much work it did (0: none),
	 * which feeds the idle policy. */
	unsigned (*on_poll)(void *arg, struct tern_dp_worker *worker,
			    uint64_t now_tsc);
	/* Optional, on the worker's own thread: before its first iteration
	 * (non-zero stops the whole dataplane) and after its last. */
	int (*on_start)(void *arg, struct tern_dp_worker *worker);
	void (*on_stop)(void *arg, struct tern_dp_worker *worker);
};

struct tern_dp_config {
	struct tern_port_config ports[TERN_PORTS_MAX];
	struct tern_impair_config impair[TERN_PORTS_MAX];
	unsigned port_count;
	uint32_t ipv4; /* this node's address, host byte order */
	uint16_t udp_port_base;
	struct tern_idle_config idle;
	unsigned app_mbufs; /* mbufs the application holds at once, at most */
	/* Restart a port marked relink whose link stayed down this long (0:
	 * never); with one worker only, as nothing else may use the port
	 * meanwhile. */
	uint32_t relink_down_ms;
	struct tern_dp_handler handler;
};

struct tern_dp;

/*
 * Create the dataplane after EAL init: one worker per EAL worker lcore (or
 * one on the main lcore when it is the only lcore), the mbuf pool, every
 * port with one queue per worker. NULL on error with *err set to a negative
 * errno; the reason is logged.
 */
struct tern_dp *tern_dp_create(const struct tern_dp_config *cfg, int *err);

/* Start the worker loops on their lcores. 0 or a negative errno. */
int tern_dp_launch(struct tern_dp *dp);

/* Wait until every worker loop returned (runs worker 0 here when the main
 * lcore is the only one). */
void tern_dp_wait(struct tern_dp *dp);

/* Ask every worker loop to return; safe from a signal handler. */
void tern_dp_stop(struct tern_dp *dp);

/* Close the ports and free everything; workers must have stopped. */
void tern_dp_destroy(struct tern_dp *dp);

unsigned tern_dp_worker_count(const struct tern_dp *dp);
struct tern_worker_stats *tern_dp_stats(struct tern_dp *dp);
const struct tern_port *tern_dp_port_info(const struct tern_dp *dp,
					  uint16_t port_index);

/* Per-worker calls, only from that worker's own loop. */
/* Take idle's counts and sleeps from now on; its mode and Rx interrupt
 * choice stay as created (ports were set up for them). */
void tern_dp_worker_set_idle(struct tern_dp_worker *worker,
			     const struct tern_idle_config *idle);
unsigned tern_dp_worker_index(const struct tern_dp_worker *worker);
struct tern_worker_stats *tern_dp_worker_stats(struct tern_dp_worker *worker);
struct tern_neigh_table *tern_dp_worker_neigh(struct tern_dp_worker *worker);
const struct tern_frame_local *
tern_dp_worker_local(const struct tern_dp_worker *worker, uint16_t port_index);
struct rte_mbuf *tern_dp_alloc(struct tern_dp_worker *worker);

/*
 * Queue a built frame for TX on port_index. 0, or -ENOBUFS when the TX
 * buffer is full: that is backpressure, the frame is not consumed and the
 * caller keeps it (TX drains every iteration).
 */
int tern_dp_tx(struct tern_dp_worker *worker, uint16_t port_index,
	       struct rte_mbuf *m);

/* Frames tern_dp_tx would accept now on port_index. */
unsigned tern_dp_tx_room(const struct tern_dp_worker *worker,
			 uint16_t port_index);

/*
 * Allocate an mbuf, copy body (hdr->body_len bytes), build the headers
 * (checksums offloaded where the port allows) and queue it. 0, -ENOMEM
 * (pool empty), -EMSGSIZE (body over the MTU) or -ENOBUFS (TX full).
 */
int tern_dp_send(struct tern_dp_worker *worker, uint16_t port_index,
		 const struct tern_frame_addr *addr, const struct tern_hdr *hdr,
		 const void *body);

/*
 * The same in two steps, for bodies written in place (a batch copied once,
 * straight into the mbuf): tern_dp_frame_alloc returns an mbuf with room
 * for the headers and body_len body bytes at *body, or NULL with *err as
 * above; tern_dp_frame_send builds the headers in front of the body and
 * queues it, freeing the mbuf when it returns an error.
 */
struct rte_mbuf *tern_dp_frame_alloc(struct tern_dp_worker *worker,
				     uint16_t port_index, uint32_t body_len,
				     uint8_t **body, int *err);
int tern_dp_frame_send(struct tern_dp_worker *worker, uint16_t port_index,
		       struct rte_mbuf *m, const struct tern_frame_addr *addr,
		       const struct tern_hdr *hdr);

/* Queue raw bytes as one frame (ARP, test traffic). Same returns. */
int tern_dp_send_raw(struct tern_dp_worker *worker, uint16_t port_index,
		     const void *frame, uint32_t len);

#endif /* TERN_DATAPLANE_WORKER_H */
