/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports of any PMD, virtual or PCI: configuration with one RX and one TX
 * queue per worker, offload probing with software fallback, link wait.
 */
#ifndef TERN_DATAPLANE_PORT_H
#define TERN_DATAPLANE_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "frame.h"

#define TERN_PORTS_MAX 8u
#define TERN_PORT_NAME_MAX 64u

struct tern_port_config {
	const char *device;   /* vdev devargs or PCI address, as given to EAL */
	uint16_t queue_count; /* tern_dp: at least one per worker */
	uint16_t rx_desc;     /* 0: 1024 */
	uint16_t tx_desc;     /* 0: 1024 */
	uint16_t mtu;	      /* 0: 1500 */
	unsigned link_wait_ms; /* link up within, or fail; 0: do not wait */
	bool rx_interrupts; /* request Rx interrupts (adaptive idle policy) */
	bool checksum_offload; /* use the NIC's checksum offloads if offered */
	/* Restart the port when its link stays down (tern_dp_config's
	 * relink_down_ms): for PMDs that connect only when started (a memif
	 * client), never for one that waits for its peer (a memif server). */
	bool relink;
};

struct tern_port {
	char name[TERN_PORT_NAME_MAX];
	uint16_t port_id;
	uint16_t queue_count;
	uint16_t mtu;
	uint8_t mac[TERN_ETH_ALEN];
	uint32_t tx_csum;     /* TERN_CSUM_*_TX the NIC fills on send */
	bool rx_csum_offload; /* the NIC reports IPv4/UDP checksum status */
	bool rss;	      /* RSS across the queues is active */
	bool rx_interrupts;   /* Rx interrupts are armed and usable */
	bool started;
};

/*
 * Configure and start the port named by cfg->device (which EAL already
 * probed), with every RX queue fed from pool, then wait up to
 * cfg->link_wait_ms for the link. 0, or a negative errno: -ENODEV (no such
 * port), -ENOTSUP (too few queues), -ETIMEDOUT (link stayed down), or the
 * PMD's error. port is filled either way, for the caller's error message.
 */
int tern_port_open(const struct tern_port_config *cfg, struct rte_mempool *pool,
		   struct tern_port *port);

/* Stop and close a port opened by tern_port_open. */
void tern_port_close(struct tern_port *port);

/* Is the link up now? (No waiting.) */
bool tern_port_link_up(const struct tern_port *port);

/*
 * Stop and start the port again, so that a PMD that brings its link up
 * only when started tries again (a memif client whose server restarted).
 * Nothing else may use the port meanwhile. 0 or a negative errno.
 */
int tern_port_relink(struct tern_port *port);
/* A memif client connects to its server only when its port starts: after
 * the server restarted, only restarting the port brings the link back
 * (the port config's relink). */
bool tern_port_connects_at_start(const char *device);

/* The TERN_CSUM_* RX bits for a received mbuf, from its offload flags. */
static inline uint32_t tern_port_rx_csum(const struct rte_mbuf *m)
{
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint32_t bits = 0;

	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		bits |= TERN_CSUM_IP_GOOD;
	else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		bits |= TERN_CSUM_IP_BAD;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		bits |= TERN_CSUM_UDP_GOOD;
	else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		bits |= TERN_CSUM_UDP_BAD;
	return bits;
}

/* Set the mbuf fields a NIC needs to fill the checksums in tx_csum. */
void tern_port_tx_prepare(struct rte_mbuf *m, uint32_t tx_csum);

#endif /* TERN_DATAPLANE_PORT_H */
