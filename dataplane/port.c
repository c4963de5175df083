/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port bring-up. Offloads are probed, never assumed: a virtual PMD such as
 * memif offers no checksum offload, so the codec computes checksums in
 * software there; a NIC that offers them gets them enabled. Rx interrupts
 * are requested only for the adaptive idle policy and dropped quietly when
 * the PMD cannot arm them.
 */
#include "port.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_ip.h>

#include "tern_log.h"

#define DEFAULT_DESC 1024u
#define DEFAULT_MTU 1500u
#define LINK_POLL_MS 10u

static void device_name(const char *device, char *name, size_t len)
{
	size_t n = strcspn(device, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, device, n);
	name[n] = '\0';
}

static void probe_offloads(const struct tern_port_config *cfg,
			   const struct rte_eth_dev_info *info,
			   struct rte_eth_conf *conf, struct tern_port *port)
{
	const uint64_t rx_csum =
		RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	const uint64_t rss_udp =
		RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_IPV4;

	if (cfg->checksum_offload &&
	    (info->rx_offload_capa & rx_csum) == rx_csum) {
		conf->rxmode.offloads |= rx_csum;
		port->rx_csum_offload = true;
	}
	if (cfg->checksum_offload &&
	    (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)) {
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		port->tx_csum |= TERN_CSUM_IP_TX;
	}
	if (cfg->checksum_offload &&
	    (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) {
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		port->tx_csum |= TERN_CSUM_UDP_TX;
	}
	if (cfg->queue_count > 1 && (info->flow_type_rss_offloads & rss_udp)) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf =
			info->flow_type_rss_offloads & rss_udp;
		port->rss = true;
	}
}

/* Configure the device, retrying without Rx interrupts if they are refused. */
static int configure(const struct tern_port_config *cfg,
		     struct rte_eth_conf *conf, struct tern_port *port)
{
	int ret;

	conf->intr_conf.rxq = cfg->rx_interrupts ? 1 : 0;
	ret = rte_eth_dev_configure(port->port_id, cfg->queue_count,
				    cfg->queue_count, conf);
	if (ret != 0 && cfg->rx_interrupts) {
		TERN_LOG(INFO,
			 "port %s: no Rx interrupts (%s), idle workers "
			 "will sleep instead",
			 port->name, strerror(-ret));
		conf->intr_conf.rxq = 0;
		ret = rte_eth_dev_configure(port->port_id, cfg->queue_count,
					    cfg->queue_count, conf);
	}
	port->rx_interrupts = conf->intr_conf.rxq != 0;
	return ret;
}

static int setup_queues(const struct tern_port_config *cfg,
			const struct rte_eth_dev_info *info,
			const struct rte_eth_conf *conf,
			struct rte_mempool *pool, struct tern_port *port)
{
	uint16_t rx_desc = cfg->rx_desc ? cfg->rx_desc : DEFAULT_DESC;
	uint16_t tx_desc = cfg->tx_desc ? cfg->tx_desc : DEFAULT_DESC;
	int socket = rte_eth_dev_socket_id(port->port_id);
	struct rte_eth_rxconf rxconf = info->default_rxconf;
	struct rte_eth_txconf txconf = info->default_txconf;
	int ret;

	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &rx_desc,
					       &tx_desc);
	if (ret != 0)
		return ret;
	rxconf.offloads = conf->rxmode.offloads;
	txconf.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < cfg->queue_count; q++) {
		ret = rte_eth_rx_queue_setup(port->port_id, q, rx_desc,
					     (unsigned)socket, &rxconf, pool);
		if (ret != 0)
			return ret;
		ret = rte_eth_tx_queue_setup(port->port_id, q, tx_desc,
					     (unsigned)socket, &txconf);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int wait_link(const struct tern_port_config *cfg, struct tern_port *port)
{
	const struct timespec poll = { 0, LINK_POLL_MS * 1000000L };
	struct rte_eth_link link;

	if (cfg->link_wait_ms == 0)
		return 0; /* the peer may come later: the link goes up then */
	for (unsigned waited = 0;; waited += LINK_POLL_MS) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(port->port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return 0;
		if (waited >= cfg->link_wait_ms && cfg->relink) {
			TERN_LOG(WARNING,
				 "port %s: link still down after %u ms: going "
				 "on, restarting it while it stays down",
				 port->name, waited);
			return 0;
		}
		if (waited >= cfg->link_wait_ms)
			return -ETIMEDOUT;
		nanosleep(&poll, NULL);
	}
}

static void set_mtu(const struct tern_port_config *cfg, struct tern_port *port)
{
	uint16_t want = cfg->mtu ? cfg->mtu : DEFAULT_MTU;
	uint16_t mtu = DEFAULT_MTU;
	int ret;

	/* Virtual PMDs (memif) refuse any MTU change, even to their own. */
	if (rte_eth_dev_get_mtu(port->port_id, &mtu) == 0 && mtu == want) {
		port->mtu = mtu;
		return;
	}
	ret = rte_eth_dev_set_mtu(port->port_id, want);
	if (ret == 0)
		mtu = want;
	else
		TERN_LOG(WARNING, "port %s: MTU %u refused (%s); using %u",
			 port->name, want, strerror(-ret), mtu);
	port->mtu = mtu;
}

static int bring_up(const struct tern_port_config *cfg,
		    struct rte_mempool *pool, struct tern_port *port)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	int ret;

	ret = rte_eth_dev_info_get(port->port_id, &info);
	if (ret != 0)
		return ret;
	if (info.max_rx_queues < cfg->queue_count ||
	    info.max_tx_queues < cfg->queue_count) {
		TERN_LOG(ERR,
			 "port %s: %u workers need %u queues, the PMD "
			 "offers rx %u tx %u; use fewer worker lcores",
			 port->name, cfg->queue_count, cfg->queue_count,
			 info.max_rx_queues, info.max_tx_queues);
		return -ENOTSUP;
	}
	memset(&conf, 0, sizeof(conf));
	probe_offloads(cfg, &info, &conf, port);
	ret = configure(cfg, &conf, port);
	if (ret == 0)
		ret = setup_queues(cfg, &info, &conf, pool, port);
	if (ret != 0)
		return ret;
	set_mtu(cfg, port);
	ret = rte_eth_macaddr_get(port->port_id, &mac);
	if (ret != 0)
		return ret;
	memcpy(port->mac, mac.addr_bytes, TERN_ETH_ALEN);
	ret = rte_eth_dev_start(port->port_id);
	if (ret != 0 && cfg->relink) {
		/* A memif client whose peer is down (a node that failed and
		 * was removed): the worker starts it again once it can. */
		TERN_LOG(WARNING,
			 "port %s: cannot start yet (%s): is the peer down? "
			 "trying again while it is",
			 port->name, strerror(ret < 0 ? -ret : ret));
		return 0;
	}
	if (ret != 0)
		return ret;
	port->started = true;
	return wait_link(cfg, port);
}

int tern_port_open(const struct tern_port_config *cfg, struct rte_mempool *pool,
		   struct tern_port *port)
{
	int ret;

	memset(port, 0, sizeof(*port));
	device_name(cfg->device, port->name, sizeof(port->name));
	port->queue_count = cfg->queue_count;
	if (cfg->queue_count == 0)
		return -EINVAL;
	if (rte_eth_dev_get_port_by_name(port->name, &port->port_id) != 0) {
		TERN_LOG(ERR,
			 "port %s: no such device; check the device "
			 "string and that its PMD is installed",
			 port->name);
		return -ENODEV;
	}
	ret = bring_up(cfg, pool, port);
	if (ret == -ETIMEDOUT)
		TERN_LOG(ERR,
			 "port %s: link still down after %u ms; is the "
			 "peer running?",
			 port->name, cfg->link_wait_ms);
	else if (ret != 0)
		TERN_LOG(ERR, "port %s: setup failed: %s", port->name,
			 strerror(-ret));
	return ret;
}

bool tern_port_connects_at_start(const char *device)
{
	return strncmp(device, "net_memif", 9) == 0 &&
	       strstr(device, "role=client") != NULL;
}

int tern_port_relink(struct tern_port *port)
{
	int ret;

	if (port->started)
		rte_eth_dev_stop(port->port_id);
	ret = rte_eth_dev_start(port->port_id);
	port->started = ret == 0;
	return ret;
}

bool tern_port_link_up(const struct tern_port *port)
{
	struct rte_eth_link link;

	memset(&link, 0, sizeof(link));
	return rte_eth_link_get_nowait(port->port_id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP;
}

void tern_port_close(struct tern_port *port)
{
	if (port->started)
		rte_eth_dev_stop(port->port_id);
	port->started = false;
	rte_eth_dev_close(port->port_id);
}

void tern_port_tx_prepare(struct rte_mbuf *m, uint32_t tx_csum)
{
	if (tx_csum == 0)
		return;
	/* Say what the frame is. A PMD that does the offload in software
	 * (net_vhost when the guest did not negotiate GUEST_CSUM) sends a UDP
	 * checksum that computes to 0 as 0xffff (RFC 768) only when the
	 * packet type names UDP; otherwise it goes out as 0, "no checksum",
	 * which Tern's parser drops, and so every identical resend. */
	m->packet_type =
		RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
	m->l2_len = TERN_ETH_HDR_LEN;
	m->l3_len = TERN_IPV4_HDR_LEN;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4;
	if (tx_csum & TERN_CSUM_IP_TX)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	if (tx_csum & TERN_CSUM_UDP_TX)
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
}
