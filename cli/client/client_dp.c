/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client's DPDK transport (client_dp.h).
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "arp.h"
#include "client_dp.h"

#define ARP_RETRY_NS 100000000u

uint64_t tern_client_dp_now_ns(const struct tern_client_dp *t)
{
	return (uint64_t)((double)rte_rdtsc() * 1e9 / (double)t->tsc_hz);
}

/* The node's MAC: from the cluster file, else learnt by ARP (asked for
 * here at most every ARP_RETRY_NS). */
static const uint8_t *node_mac(struct tern_client_dp *t, uint16_t node,
			       uint16_t port_index)
{
	const struct tern_cluster_node *n = &t->cluster->nodes[node];
	const struct tern_frame_local *local;
	uint8_t request[TERN_ARP_FRAME_LEN];
	const uint8_t *mac;
	uint64_t now;

	if (n->mac_known)
		return n->mac;
	mac = tern_neigh_lookup(tern_dp_worker_neigh(t->worker), n->ipv4);
	if (mac != NULL)
		return mac;
	now = tern_client_dp_now_ns(t);
	if (now >= t->next_arp_ns[node]) {
		t->next_arp_ns[node] = now + ARP_RETRY_NS;
		local = tern_dp_worker_local(t->worker, port_index);
		(void)tern_dp_send_raw(
			t->worker, port_index, request,
			tern_arp_build_request(request, local->mac, local->ipv4,
					       n->ipv4));
	}
	return NULL;
}

static int dp_send(void *ctx, uint16_t node, uint16_t worker,
		   const struct tern_hdr *hdr, const void *body)
{
	struct tern_client_dp *t = ctx;
	uint16_t port_index = t->port_of_node[node];
	const struct tern_frame_local *local;
	struct tern_frame_addr addr;
	const uint8_t *mac;

	if (t->worker == NULL)
		return -EAGAIN;
	mac = node_mac(t, node, port_index);
	if (mac == NULL)
		return -EHOSTUNREACH;
	local = tern_dp_worker_local(t->worker, port_index);
	memcpy(addr.src_mac, local->mac, TERN_ETH_ALEN);
	memcpy(addr.dst_mac, mac, TERN_ETH_ALEN);
	addr.src_ipv4 = local->ipv4;
	addr.dst_ipv4 = t->cluster->nodes[node].ipv4;
	addr.src_port = t->udp_port;
	addr.dst_port = (uint16_t)(t->cluster->udp_port_base + worker);
	return tern_dp_send(t->worker, port_index, &addr, hdr, body);
}

struct tern_client_transport tern_client_dp_transport(struct tern_client_dp *t)
{
	return (struct tern_client_transport){ .ctx = t, .send = dp_send };
}

static void on_frames(void *arg, struct tern_dp_worker *worker,
		      uint16_t port_index, struct rte_mbuf **mbufs,
		      const struct tern_frame_view *views, uint16_t count,
		      uint64_t now_tsc)
{
	struct tern_client_dp *t = arg;
	uint64_t now_ns = (uint64_t)((double)now_tsc * 1e9 / (double)t->tsc_hz);

	(void)port_index;
	t->worker = worker;
	for (uint16_t i = 0; i < count; i++) {
		uint8_t type = views[i].hdr.type;

		if (type == TERN_MSG_PRODUCE_ACK ||
		    type == TERN_MSG_FETCH_RESP ||
		    type == TERN_MSG_METADATA_RESP)
			tern_client_on_message(t->client, &views[i].hdr,
					       views[i].body, now_ns);
		else
			t->frames_ignored++;
	}
	rte_pktmbuf_free_bulk(mbufs, count);
}

static unsigned on_poll(void *arg, struct tern_dp_worker *worker,
			uint64_t now_tsc)
{
	struct tern_client_dp *t = arg;
	uint64_t now_ns = (uint64_t)((double)now_tsc * 1e9 / (double)t->tsc_hz);
	unsigned work;

	t->worker = worker;
	work = tern_client_poll(t->client, now_ns);
	if (t->on_poll != NULL)
		work += t->on_poll(t->arg, now_ns);
	return work;
}

struct tern_dp_handler tern_client_dp_handler(struct tern_client_dp *t)
{
	return (struct tern_dp_handler){ .arg = t,
					 .on_frames = on_frames,
					 .on_poll = on_poll };
}
