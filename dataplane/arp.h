/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP for IPv4 over Ethernet: answer requests for this node's address and
 * keep a neighbour table (IPv4 -> MAC) filled from configuration (static
 * entries) and from ARP traffic (dynamic entries). Works on byte buffers;
 * the dataplane owns the mbufs.
 */
#ifndef TERN_DATAPLANE_ARP_H
#define TERN_DATAPLANE_ARP_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"

/* An ARP frame: Ethernet header + 28-byte ARP body, padded to 60 bytes. */
#define TERN_ARP_FRAME_LEN 60u
#define TERN_NEIGH_MAX 64u

struct tern_neigh_entry {
	uint32_t ipv4; /* host byte order */
	uint8_t mac[TERN_ETH_ALEN];
	bool in_use;
	bool is_static;	      /* from configuration: ARP never overrides it */
	uint64_t learned_seq; /* age order of dynamic entries, for eviction */
};

struct tern_neigh_table {
	struct tern_neigh_entry entries[TERN_NEIGH_MAX];
	uint64_t next_seq;
};

void tern_neigh_init(struct tern_neigh_table *table);

/* Add or replace a static entry. 0, or -ENOSPC when every slot is static. */
int tern_neigh_add_static(struct tern_neigh_table *table, uint32_t ipv4,
			  const uint8_t mac[TERN_ETH_ALEN]);

/*
 * Learn a dynamic entry from ARP. A static entry for the address wins and is
 * kept (returns -EPERM); a full table evicts its oldest dynamic entry.
 */
int tern_neigh_learn(struct tern_neigh_table *table, uint32_t ipv4,
		     const uint8_t mac[TERN_ETH_ALEN]);

/* The MAC of ipv4, or NULL when it is not known. */
const uint8_t *tern_neigh_lookup(const struct tern_neigh_table *table,
				 uint32_t ipv4);

/*
 * Handle one received ARP frame (ethertype 0x0806) of len bytes.
 * A request for local->ipv4 teaches the table the sender and produces a
 * reply in reply[TERN_ARP_FRAME_LEN] with *reply_len set; a reply teaches
 * the table the sender; *reply_len is 0 when nothing must be sent.
 * Returns TERN_DROP_NONE when the frame was used, TERN_DROP_ARP_MALFORMED
 * for a frame that is not Ethernet/IPv4 ARP of the right length, and
 * TERN_DROP_ARP_NOT_FOR_US for a well-formed request for another address.
 */
enum tern_drop_reason tern_arp_input(const uint8_t *frame, uint32_t len,
				     const struct tern_frame_local *local,
				     struct tern_neigh_table *table,
				     uint8_t *reply, uint32_t *reply_len);

/* Write a broadcast ARP request for target_ipv4; returns its length. */
uint32_t tern_arp_build_request(uint8_t *frame,
				const uint8_t src_mac[TERN_ETH_ALEN],
				uint32_t src_ipv4, uint32_t target_ipv4);

#endif /* TERN_DATAPLANE_ARP_H */
