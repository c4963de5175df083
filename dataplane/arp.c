/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP for IPv4 over Ethernet (RFC 826) and the neighbour table.
 *
 * An ARP frame is an Ethernet II header followed by a 28-byte ARP body; on
 * the wire it is padded with zeros to the 60-byte Ethernet minimum (frames
 * from a Linux veth arrive unpadded, 42 bytes, and are accepted too). All
 * multi-byte fields are big endian.
 *
 *   offset len  field
 *   0      6    destination MAC (broadcast for requests)
 *   6      6    source MAC
 *   12     2    ethertype 0x0806
 *   14     2    hardware type: 1 (Ethernet)
 *   16     2    protocol type: 0x0800 (IPv4)
 *   18     1    hardware address length: 6
 *   19     1    protocol address length: 4
 *   20     2    operation: 1 request, 2 reply
 *   22     6    sender MAC: must be unicast
 *   28     4    sender IPv4: 0 in a probe (RFC 5227), which is answered
 *                but never learned
 *   32     6    target MAC: ignored in requests, zero in ours
 *   38     4    target IPv4
 *   42     18   padding, zero
 *
 * A frame shorter than 42 bytes, longer than the largest frame a port can
 * receive, or with any fixed field above out of range is malformed.
 *
 * The neighbour table is a small array searched linearly: TERN_NEIGH_MAX
 * entries is the whole L2 segment of a cluster, and it is only consulted on
 * the slow path (ARP frames, peer resolution). Static entries come from
 * configuration and win over anything ARP says, so a spoofed or stale ARP
 * frame cannot redirect traffic to a configured peer. Dynamic entries are
 * aged by a sequence number that each learn refreshes; a full table evicts
 * the dynamic entry learned least recently.
 */
#include "arp.h"

#include <errno.h>
#include <string.h>

#include "bytes_pvt.h"

#define ARP_BODY_LEN 28u
#define ARP_MSG_LEN (TERN_ETH_HDR_LEN + ARP_BODY_LEN)
/* Nothing larger fits a single receive buffer of a jumbo-frame port. */
#define ARP_FRAME_LEN_MAX (TERN_ETH_HDR_LEN + TERN_FRAME_MTU_MAX)

#define ARP_HTYPE_ETHERNET 1u
#define ARP_OPER_REQUEST 1u
#define ARP_OPER_REPLY 2u

#define OFF_ARP TERN_ETH_HDR_LEN
#define OFF_HTYPE (OFF_ARP + 0)
#define OFF_PTYPE (OFF_ARP + 2)
#define OFF_HLEN (OFF_ARP + 4)
#define OFF_PLEN (OFF_ARP + 5)
#define OFF_OPER (OFF_ARP + 6)
#define OFF_SHA (OFF_ARP + 8)
#define OFF_SPA (OFF_ARP + 14)
#define OFF_THA (OFF_ARP + 18)
#define OFF_TPA (OFF_ARP + 24)

_Static_assert(OFF_TPA + 4 == ARP_MSG_LEN, "ARP layout in arp.c changed");
_Static_assert(ARP_MSG_LEN <= TERN_ARP_FRAME_LEN, "ARP frame must fit");

void tern_neigh_init(struct tern_neigh_table *table)
{
	memset(table, 0, sizeof(*table));
}

static struct tern_neigh_entry *neigh_find(struct tern_neigh_table *table,
					   uint32_t ipv4)
{
	unsigned i;

	for (i = 0; i < TERN_NEIGH_MAX; i++) {
		struct tern_neigh_entry *e = &table->entries[i];

		if (e->in_use && e->ipv4 == ipv4)
			return e;
	}
	return NULL;
}

/* A free slot, else the oldest dynamic entry, else NULL (all static). */
static struct tern_neigh_entry *neigh_slot(struct tern_neigh_table *table)
{
	struct tern_neigh_entry *oldest = NULL;
	unsigned i;

	for (i = 0; i < TERN_NEIGH_MAX; i++) {
		struct tern_neigh_entry *e = &table->entries[i];

		if (!e->in_use)
			return e;
		if (!e->is_static &&
		    (oldest == NULL || e->learned_seq < oldest->learned_seq))
			oldest = e;
	}
	return oldest;
}

static void neigh_set(struct tern_neigh_table *table,
		      struct tern_neigh_entry *e, uint32_t ipv4,
		      const uint8_t mac[TERN_ETH_ALEN], bool is_static)
{
	e->ipv4 = ipv4;
	memcpy(e->mac, mac, TERN_ETH_ALEN);
	e->in_use = true;
	e->is_static = is_static;
	e->learned_seq = table->next_seq++;
}

int tern_neigh_add_static(struct tern_neigh_table *table, uint32_t ipv4,
			  const uint8_t mac[TERN_ETH_ALEN])
{
	struct tern_neigh_entry *e = neigh_find(table, ipv4);

	if (e == NULL)
		e = neigh_slot(table);
	if (e == NULL)
		return -ENOSPC;
	neigh_set(table, e, ipv4, mac, true);
	return 0;
}

int tern_neigh_learn(struct tern_neigh_table *table, uint32_t ipv4,
		     const uint8_t mac[TERN_ETH_ALEN])
{
	struct tern_neigh_entry *e = neigh_find(table, ipv4);

	if (e != NULL && e->is_static)
		return -EPERM;
	if (e == NULL)
		e = neigh_slot(table);
	if (e == NULL)
		return -ENOSPC;
	neigh_set(table, e, ipv4, mac, false);
	return 0;
}

const uint8_t *tern_neigh_lookup(const struct tern_neigh_table *table,
				 uint32_t ipv4)
{
	unsigned i;

	for (i = 0; i < TERN_NEIGH_MAX; i++) {
		const struct tern_neigh_entry *e = &table->entries[i];

		if (e->in_use && e->ipv4 == ipv4)
			return e->mac;
	}
	return NULL;
}

/* Group bit set: a multicast or broadcast address, never a sender. */
static bool mac_is_multicast(const uint8_t *mac)
{
	return (mac[0] & 0x01) != 0;
}

/* Ethernet header and fixed ARP fields, shared by requests and replies. */
static void arp_write(uint8_t *frame, const uint8_t *dst_mac,
		      const uint8_t *src_mac, uint16_t oper, uint32_t spa,
		      const uint8_t *tha, uint32_t tpa)
{
	memset(frame, 0, TERN_ARP_FRAME_LEN);
	memcpy(frame, dst_mac, TERN_ETH_ALEN);
	memcpy(frame + TERN_ETH_ALEN, src_mac, TERN_ETH_ALEN);
	store_be16(frame + 12, TERN_ETHERTYPE_ARP);
	store_be16(frame + OFF_HTYPE, ARP_HTYPE_ETHERNET);
	store_be16(frame + OFF_PTYPE, TERN_ETHERTYPE_IPV4);
	frame[OFF_HLEN] = TERN_ETH_ALEN;
	frame[OFF_PLEN] = 4;
	store_be16(frame + OFF_OPER, oper);
	memcpy(frame + OFF_SHA, src_mac, TERN_ETH_ALEN);
	store_be32(frame + OFF_SPA, spa);
	memcpy(frame + OFF_THA, tha, TERN_ETH_ALEN);
	store_be32(frame + OFF_TPA, tpa);
}

static bool arp_well_formed(const uint8_t *frame, uint32_t len)
{
	uint16_t oper;

	if (len < ARP_MSG_LEN || len > ARP_FRAME_LEN_MAX)
		return false;
	if (load_be16(frame + 12) != TERN_ETHERTYPE_ARP ||
	    load_be16(frame + OFF_HTYPE) != ARP_HTYPE_ETHERNET ||
	    load_be16(frame + OFF_PTYPE) != TERN_ETHERTYPE_IPV4 ||
	    frame[OFF_HLEN] != TERN_ETH_ALEN || frame[OFF_PLEN] != 4)
		return false;
	oper = load_be16(frame + OFF_OPER);
	if (oper != ARP_OPER_REQUEST && oper != ARP_OPER_REPLY)
		return false;
	return !mac_is_multicast(frame + OFF_SHA);
}

enum tern_drop_reason tern_arp_input(const uint8_t *frame, uint32_t len,
				     const struct tern_frame_local *local,
				     struct tern_neigh_table *table,
				     uint8_t *reply, uint32_t *reply_len)
{
	const uint8_t *sha;
	uint32_t spa;

	*reply_len = 0;
	if (!arp_well_formed(frame, len))
		return TERN_DROP_ARP_MALFORMED;
	sha = frame + OFF_SHA;
	spa = load_be32(frame + OFF_SPA);

	if (load_be16(frame + OFF_OPER) == ARP_OPER_REQUEST) {
		if (load_be32(frame + OFF_TPA) != local->ipv4)
			return TERN_DROP_ARP_NOT_FOR_US;
		arp_write(reply, sha, local->mac, ARP_OPER_REPLY, local->ipv4,
			  sha, spa);
		*reply_len = TERN_ARP_FRAME_LEN;
	}
	/*
	 * A probe (sender 0.0.0.0) names no address to learn, and a frame
	 * claiming our own address must not make us send to someone else.
	 * A static entry refusing the update (-EPERM) is the intended
	 * outcome, and a table full of static entries has no room to give:
	 * the frame was still handled either way.
	 */
	if (spa != 0 && spa != local->ipv4)
		(void)tern_neigh_learn(table, spa, sha);
	return TERN_DROP_NONE;
}

uint32_t tern_arp_build_request(uint8_t *frame,
				const uint8_t src_mac[TERN_ETH_ALEN],
				uint32_t src_ipv4, uint32_t target_ipv4)
{
	static const uint8_t broadcast[TERN_ETH_ALEN] = { 0xff, 0xff, 0xff,
							  0xff, 0xff, 0xff };
	static const uint8_t unknown[TERN_ETH_ALEN];

	arp_write(frame, broadcast, src_mac, ARP_OPER_REQUEST, src_ipv4,
		  unknown, target_ipv4);
	return TERN_ARP_FRAME_LEN;
}
