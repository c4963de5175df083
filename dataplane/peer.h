/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer table: which port, MAC, IPv4 address and UDP base port reach each
 * peer node. A point-to-point port (memif, vhost/virtio-user, ring) reaches
 * one peer; a shared L2 port (NIC, AF_XDP on a bridge) reaches many, whose
 * MACs come from configuration or from the neighbour table (ARP).
 */
#ifndef TERN_DATAPLANE_PEER_H
#define TERN_DATAPLANE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "arp.h"
#include "frame.h"

#define TERN_PEER_MAX 64u /* node ids are 0 .. TERN_PEER_MAX - 1 */

struct tern_peer {
	uint16_t node_id;
	uint16_t port_index; /* index into the node's port list */
	uint32_t ipv4;	     /* host byte order */
	uint16_t udp_port_base;
	uint8_t mac[TERN_ETH_ALEN];
	bool mac_known; /* false until configured or resolved by ARP */
	bool in_use;
};

struct tern_peer_table {
	struct tern_peer peers[TERN_PEER_MAX];
};

void tern_peer_table_init(struct tern_peer_table *table);

/* 0, -EINVAL for a node id out of range, -EEXIST when already present. */
int tern_peer_add(struct tern_peer_table *table, const struct tern_peer *peer);

/* 0, or -ENOENT when the node is not in the table. */
int tern_peer_remove(struct tern_peer_table *table, uint16_t node_id);

/* The peer, or NULL when node_id is unknown or out of range. */
const struct tern_peer *tern_peer_lookup(const struct tern_peer_table *table,
					 uint16_t node_id);

/* Fill the MAC of every peer whose MAC is unknown from the neighbour table;
 * returns how many peers still have no MAC. */
unsigned tern_peer_resolve(struct tern_peer_table *table,
			   const struct tern_neigh_table *neigh);

/*
 * Addresses of a frame from this node (self, UDP source port src_port) to
 * worker `worker` of peer node_id. 0, -ENOENT for an unknown peer, or
 * -EHOSTUNREACH while its MAC is unknown, or -ERANGE when base + worker
 * would pass UDP port 65535.
 */
int tern_peer_frame_addr(const struct tern_peer_table *table, uint16_t node_id,
			 uint16_t worker, const struct tern_frame_local *self,
			 uint16_t src_port, struct tern_frame_addr *addr);

#endif /* TERN_DATAPLANE_PEER_H */
