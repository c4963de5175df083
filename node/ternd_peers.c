/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Liveness between nodes. Worker 0 of every node sends HEARTBEAT to worker
 * 0 of every other node each TERND_HEARTBEAT_NS, carrying the newest map
 * epoch it holds; every worker notes when it last heard each node (any
 * chain message counts too). A node not heard for TERND_SUSPECT_NS is
 * suspected: `status` lists its peers with when each was last heard and
 * their map epochs, and `ternctl cluster status` shows who suspects whom.
 * Suspicion only reports: removing a node is the coordinator's decision
 * (ternctl node remove), which an automatic one can later take from it.
 */
#include <rte_cycles.h>

#include "ternd.h"
#include "wire.h"

uint64_t ternd_now_ns(const struct ternd *t)
{
	return (uint64_t)((double)rte_get_tsc_cycles() * 1e9 /
			  (double)t->tsc_hz);
}

bool ternd_from_node(const struct ternd_worker *w,
		     const struct tern_frame_view *v)
{
	const struct tern_cluster *c = &w->node->cluster;

	return v->hdr.sender_node < c->node_count &&
	       v->addr.src_ipv4 == c->nodes[v->hdr.sender_node].ipv4;
}

void ternd_heard(struct ternd_worker *w, uint16_t node)
{
	w->peers_heard[node].heard_ns = w->now_ns;
}

void ternd_on_heartbeat(struct ternd_worker *w, const struct tern_frame_view *v)
{
	struct tern_wire_heartbeat m;

	if (!ternd_from_node(w, v) || v->hdr.sender_node == w->node->self) {
		ternd_reject(w, TERND_REJECT_UNKNOWN_PEER);
		return;
	}
	if (tern_wire_heartbeat_decode(v->body, v->hdr.body_len, v->hdr.aux,
				       &m) != 0) {
		ternd_reject(w, TERND_REJECT_BAD_MESSAGE);
		return;
	}
	ternd_heard(w, v->hdr.sender_node);
	w->peers_heard[v->hdr.sender_node].map_epoch = m.map_epoch;
}

static void send_heartbeat(struct ternd_worker *w, uint16_t to)
{
	const struct tern_wire_heartbeat msg = { .map_epoch =
							 w->topics.epoch_high };
	struct tern_frame_addr addr;
	struct tern_hdr hdr = { .type = TERN_MSG_HEARTBEAT,
				.sender_node = w->node->self,
				.epoch = w->topics.epoch_high };
	uint16_t port_index;
	uint8_t *body;
	struct rte_mbuf *m;
	int n = tern_wire_heartbeat_encode(NULL, 0, &msg, &hdr.aux);

	m = ternd_frame_to_worker(w, to, 0, (uint32_t)n, &body, &port_index,
				  &addr);
	if (m == NULL)
		return;
	hdr.body_len = (uint32_t)n;
	ternd_frame_send(w, port_index, m, &addr, &hdr);
}

unsigned ternd_heartbeats(struct ternd_worker *w)
{
	unsigned sent = 0;

	if (w->index != 0 || w->now_ns < w->next_heartbeat_ns)
		return 0;
	w->next_heartbeat_ns = w->now_ns + TERND_HEARTBEAT_NS;
	for (uint16_t n = 0; n < w->node->cluster.node_count; n++) {
		if (n == w->node->self ||
		    tern_peer_lookup(&w->peers, n) == NULL)
			continue;
		send_heartbeat(w, n);
		sent++;
	}
	return sent;
}
