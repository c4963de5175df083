/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer table.
 *
 * Node ids are small (0 .. TERN_PEER_MAX - 1), so the table is indexed by
 * node id and every operation is O(1) except resolution, which walks it
 * once. Steering: worker w of a peer listens on UDP port
 * udp_port_base + w, so the destination port of a frame alone tells the
 * receiving node which of its workers owns it (see docs/protocol.md).
 */
#include "peer.h"

#include <errno.h>
#include <string.h>

void tern_peer_table_init(struct tern_peer_table *table)
{
	memset(table, 0, sizeof(*table));
}

int tern_peer_add(struct tern_peer_table *table, const struct tern_peer *peer)
{
	struct tern_peer *slot;

	if (peer->node_id >= TERN_PEER_MAX)
		return -EINVAL;
	slot = &table->peers[peer->node_id];
	if (slot->in_use)
		return -EEXIST;
	*slot = *peer;
	slot->in_use = true;
	return 0;
}

int tern_peer_remove(struct tern_peer_table *table, uint16_t node_id)
{
	if (node_id >= TERN_PEER_MAX || !table->peers[node_id].in_use)
		return -ENOENT;
	memset(&table->peers[node_id], 0, sizeof(table->peers[node_id]));
	return 0;
}

const struct tern_peer *tern_peer_lookup(const struct tern_peer_table *table,
					 uint16_t node_id)
{
	if (node_id >= TERN_PEER_MAX || !table->peers[node_id].in_use)
		return NULL;
	return &table->peers[node_id];
}

unsigned tern_peer_resolve(struct tern_peer_table *table,
			   const struct tern_neigh_table *neigh)
{
	unsigned unresolved = 0;
	unsigned i;

	for (i = 0; i < TERN_PEER_MAX; i++) {
		struct tern_peer *p = &table->peers[i];
		const uint8_t *mac;

		if (!p->in_use || p->mac_known)
			continue;
		mac = tern_neigh_lookup(neigh, p->ipv4);
		if (mac == NULL) {
			unresolved++;
			continue;
		}
		memcpy(p->mac, mac, TERN_ETH_ALEN);
		p->mac_known = true;
	}
	return unresolved;
}

int tern_peer_frame_addr(const struct tern_peer_table *table, uint16_t node_id,
			 uint16_t worker, const struct tern_frame_local *self,
			 uint16_t src_port, struct tern_frame_addr *addr)
{
	const struct tern_peer *p = tern_peer_lookup(table, node_id);

	if (p == NULL)
		return -ENOENT;
	if (!p->mac_known)
		return -EHOSTUNREACH;
	/* A port past 65535 would wrap onto another service's port. */
	if ((uint32_t)p->udp_port_base + worker > UINT16_MAX)
		return -ERANGE;
	memcpy(addr->src_mac, self->mac, TERN_ETH_ALEN);
	memcpy(addr->dst_mac, p->mac, TERN_ETH_ALEN);
	addr->src_ipv4 = self->ipv4;
	addr->dst_ipv4 = p->ipv4;
	addr->src_port = src_port;
	addr->dst_port = (uint16_t)(p->udp_port_base + worker);
	return 0;
}
