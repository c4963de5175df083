/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tern frame codec.
 *
 * Every Tern frame is an Ethernet II frame carrying an IPv4 datagram without
 * options and without fragmentation, carrying a UDP datagram whose payload is
 * a 32-byte Tern header followed by the body. All multi-byte fields are in
 * network byte order (big endian).
 *
 *   offset len  field
 *   0      6    destination MAC (this node's, or broadcast)
 *   6      6    source MAC
 *   12     2    ethertype 0x0800 (IPv4); 0x0806 (ARP) is handed to arp.c
 *   14     1    version 4, IHL 5 (0x45); anything else is rejected
 *   15     1    DSCP/ECN, ignored
 *   16     2    IPv4 total length: 20 + 8 + UDP payload, <= frame length - 14
 *               and <= 9000 (TERN_FRAME_MTU_MAX)
 *   18     2    identification, ignored
 *   20     2    flags + fragment offset: MF must be 0, offset must be 0
 *   22     1    TTL, ignored
 *   23     1    protocol 17 (UDP)
 *   24     2    IPv4 header checksum, must verify
 *   26     4    source IPv4
 *   30     4    destination IPv4, must be this node's
 *   34     2    UDP source port
 *   36     2    UDP destination port: names the worker (base + worker index)
 *   38     2    UDP length: must equal IPv4 total length - 20
 *   40     2    UDP checksum: must be non-zero and verify
 *   42     4    Tern magic 0x54524e31 ("TRN1")
 *   46     1    Tern version, 1
 *   47     1    message type (enum tern_msg_type: link test 1-4,
 *               replication 5-12, bodies in replication/wire.h)
 *   48     1    flags (per type; unknown bits are ignored)
 *   49     1    Tern header length in bytes: >= 32 (later versions may grow
 *                it; a receiver skips what it does not know)
 *   50     4    epoch
 *   54     4    partition
 *   58     2    sender node id
 *   60     2    reserved, sent as 0, ignored
 *   62     4    body length: header length + body length = UDP length - 8
 *   66     8    aux: a type-specific 64-bit field (sequence, offset)
 *   74     ...  body, at least tern_msg_body_min(type) bytes
 *
 * Bytes after the IPv4 total length (Ethernet padding) are ignored. The
 * parser checks each length against the bytes actually present before it
 * reads a field, so no input makes it read outside the frame.
 */
#include "frame.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "bytes_pvt.h"

#define IPV4_VERSION_IHL 0x45u
#define IPV4_PROTO_UDP 17u
#define IPV4_FLAG_MF 0x2000u
#define IPV4_FRAG_OFFSET_MASK 0x1fffu
#define IPV4_DEFAULT_TTL 64u

#define OFF_IP TERN_ETH_HDR_LEN
#define OFF_UDP (OFF_IP + TERN_IPV4_HDR_LEN)
#define OFF_TERN (OFF_UDP + TERN_UDP_HDR_LEN)

_Static_assert(TERN_FRAME_HDRS_LEN == 74, "wire layout in frame.c changed");
_Static_assert(TERN_FRAME_BODY_MAX + TERN_HDR_LEN + TERN_UDP_HDR_LEN +
			       TERN_IPV4_HDR_LEN ==
		       TERN_FRAME_MTU_MAX,
	       "body limit must fill the MTU exactly");

static const char *const drop_reason_names[TERN_DROP_REASON_COUNT] = {
	[TERN_DROP_NONE] = "none",
	[TERN_DROP_ETH_TRUNCATED] = "eth_truncated",
	[TERN_DROP_NOT_IPV4] = "not_ipv4",
	[TERN_DROP_NOT_FOR_US_MAC] = "not_for_us_mac",
	[TERN_DROP_IP_TRUNCATED] = "ip_truncated",
	[TERN_DROP_IP_VERSION] = "ip_version",
	[TERN_DROP_IP_OPTIONS] = "ip_options",
	[TERN_DROP_IP_LENGTH] = "ip_length",
	[TERN_DROP_IP_FRAGMENT] = "ip_fragment",
	[TERN_DROP_IP_CHECKSUM] = "ip_checksum",
	[TERN_DROP_NOT_FOR_US_IP] = "not_for_us_ip",
	[TERN_DROP_NOT_UDP] = "not_udp",
	[TERN_DROP_UDP_LENGTH] = "udp_length",
	[TERN_DROP_UDP_CHECKSUM] = "udp_checksum",
	[TERN_DROP_UDP_PORT] = "udp_port",
	[TERN_DROP_TERN_TRUNCATED] = "tern_truncated",
	[TERN_DROP_TERN_MAGIC] = "tern_magic",
	[TERN_DROP_TERN_VERSION] = "tern_version",
	[TERN_DROP_TERN_TYPE] = "tern_type",
	[TERN_DROP_TERN_HDR_LENGTH] = "tern_hdr_length",
	[TERN_DROP_TERN_BODY_LENGTH] = "tern_body_length",
	[TERN_DROP_TERN_BODY_SHORT] = "tern_body_short",
	[TERN_DROP_ARP_MALFORMED] = "arp_malformed",
	[TERN_DROP_ARP_NOT_FOR_US] = "arp_not_for_us",
	[TERN_DROP_SEGMENTED] = "segmented",
	[TERN_DROP_NO_HANDLER] = "no_handler",
	[TERN_DROP_IMPAIRED] = "impaired",
	[TERN_DROP_HANDOFF_FULL] = "handoff_full",
};

/*
 * Smallest body of each type. The link-test sizes come from node/linktest.c.
 * The replication sizes are the fixed parts specified in replication/wire.h
 * (its TERN_WIRE_*_BODY_MIN); the dataplane does not include replication
 * headers, so tests/replication/test_wire.c checks that the two agree.
 */
static const uint32_t msg_body_min[TERN_MSG_TYPE_END] = {
	[TERN_MSG_LINK_DATA] = 0,    /* any length */
	[TERN_MSG_LINK_ACK] = 16,    /* two u64 */
	[TERN_MSG_LINK_END] = 8,     /* one u64 */
	[TERN_MSG_LINK_DONE] = 32,   /* four u64 */
	[TERN_MSG_PRODUCE] = 56,     /* one batch header */
	[TERN_MSG_PRODUCE_ACK] = 32, /* fixed size */
	[TERN_MSG_APPEND] = 72,	     /* 16 + one batch header */
	[TERN_MSG_ACK] = 8,	     /* fixed size */
	[TERN_MSG_NACK] = 0,	     /* empty */
	[TERN_MSG_COMMIT] = 0,	     /* empty */
	[TERN_MSG_FETCH] = 16,	     /* fixed size */
	[TERN_MSG_FETCH_RESP] = 24,  /* 24 + zero or more batches */
	[TERN_MSG_METADATA] = 0,
	[TERN_MSG_METADATA_RESP] = 38, /* 20 + a topic + a node + 13 */
	[TERN_MSG_HEARTBEAT] = 0,
};

const char *tern_drop_reason_name(enum tern_drop_reason reason)
{
	if ((unsigned)reason >= TERN_DROP_REASON_COUNT)
		return "invalid";
	return drop_reason_names[reason];
}

uint32_t tern_msg_body_min(uint8_t type)
{
	if (type == 0 || type >= TERN_MSG_TYPE_END)
		return 0;
	return msg_body_min[type];
}

bool tern_mac_is_broadcast(const uint8_t mac[TERN_ETH_ALEN])
{
	static const uint8_t broadcast[TERN_ETH_ALEN] = { 0xff, 0xff, 0xff,
							  0xff, 0xff, 0xff };
	return memcmp(mac, broadcast, TERN_ETH_ALEN) == 0;
}

/* Internet checksum of the IPv4 header: 0 when the stored sum is right. */
static bool ipv4_checksum_ok(const uint8_t *ip)
{
	return rte_raw_cksum(ip, TERN_IPV4_HDR_LEN) == 0xffff;
}

/* UDP checksum over pseudo-header and datagram; true when it verifies. */
static bool udp_checksum_ok(const uint8_t *ip, const uint8_t *udp,
			    uint16_t udp_len)
{
	uint32_t sum = rte_raw_cksum(ip + 12, 8); /* source + destination */
	sum += rte_cpu_to_be_16(IPV4_PROTO_UDP) + rte_cpu_to_be_16(udp_len);
	sum += rte_raw_cksum(udp, udp_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static enum tern_drop_reason parse_ipv4(const uint8_t *data, uint32_t frame_len,
					uint32_t rx_csum,
					const struct tern_frame_local *local,
					uint16_t *ip_total_len)
{
	const uint8_t *ip = data + OFF_IP;

	if (frame_len < OFF_IP + TERN_IPV4_HDR_LEN)
		return TERN_DROP_IP_TRUNCATED;
	if ((ip[0] >> 4) != 4)
		return TERN_DROP_IP_VERSION;
	if (ip[0] != IPV4_VERSION_IHL)
		return TERN_DROP_IP_OPTIONS;
	*ip_total_len = load_be16(ip + 2);
	if (*ip_total_len < TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN ||
	    *ip_total_len > TERN_FRAME_MTU_MAX ||
	    *ip_total_len > frame_len - OFF_IP)
		return TERN_DROP_IP_LENGTH;
	if (load_be16(ip + 6) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET_MASK))
		return TERN_DROP_IP_FRAGMENT;
	if ((rx_csum & TERN_CSUM_IP_BAD) ||
	    (!(rx_csum & TERN_CSUM_IP_GOOD) && !ipv4_checksum_ok(ip)))
		return TERN_DROP_IP_CHECKSUM;
	if (load_be32(ip + 16) != local->ipv4)
		return TERN_DROP_NOT_FOR_US_IP;
	if (ip[9] != IPV4_PROTO_UDP)
		return TERN_DROP_NOT_UDP;
	return TERN_DROP_NONE;
}

static enum tern_drop_reason parse_udp(const uint8_t *data, uint32_t rx_csum,
				       const struct tern_frame_local *local,
				       uint16_t ip_total_len)
{
	const uint8_t *udp = data + OFF_UDP;
	uint16_t udp_len = load_be16(udp + 4);
	uint16_t dst_port = load_be16(udp + 2);

	if (udp_len != ip_total_len - TERN_IPV4_HDR_LEN)
		return TERN_DROP_UDP_LENGTH;
	if ((rx_csum & TERN_CSUM_UDP_BAD) || load_be16(udp + 6) == 0 ||
	    (!(rx_csum & TERN_CSUM_UDP_GOOD) &&
	     !udp_checksum_ok(data + OFF_IP, udp, udp_len)))
		return TERN_DROP_UDP_CHECKSUM;
	if (dst_port < local->udp_port_base ||
	    dst_port - local->udp_port_base >= local->udp_port_count)
		return TERN_DROP_UDP_PORT;
	return TERN_DROP_NONE;
}

enum tern_drop_reason tern_hdr_parse(const uint8_t *tern, uint32_t payload_len,
				     struct tern_hdr *hdr, const uint8_t **body)
{
	uint8_t hdr_len;

	if (payload_len < TERN_HDR_LEN)
		return TERN_DROP_TERN_TRUNCATED;
	if (load_be32(tern) != TERN_MAGIC)
		return TERN_DROP_TERN_MAGIC;
	if (tern[4] != TERN_VERSION)
		return TERN_DROP_TERN_VERSION;
	if (tern[5] == 0 || tern[5] >= TERN_MSG_TYPE_END)
		return TERN_DROP_TERN_TYPE;
	hdr_len = tern[7];
	if (hdr_len < TERN_HDR_LEN || hdr_len > payload_len)
		return TERN_DROP_TERN_HDR_LENGTH;
	hdr->type = tern[5];
	hdr->flags = tern[6];
	hdr->epoch = load_be32(tern + 8);
	hdr->partition = load_be32(tern + 12);
	hdr->sender_node = load_be16(tern + 16);
	hdr->body_len = load_be32(tern + 20);
	hdr->aux = load_be64(tern + 24);
	if (hdr->body_len != payload_len - hdr_len)
		return TERN_DROP_TERN_BODY_LENGTH;
	if (hdr->body_len < tern_msg_body_min(hdr->type))
		return TERN_DROP_TERN_BODY_SHORT;
	*body = tern + hdr_len;
	return TERN_DROP_NONE;
}

static enum tern_drop_reason parse_tern(const uint8_t *data,
					uint16_t ip_total_len,
					struct tern_frame_view *view)
{
	return tern_hdr_parse(data + OFF_TERN,
			      ip_total_len - TERN_IPV4_HDR_LEN -
				      TERN_UDP_HDR_LEN,
			      &view->hdr, &view->body);
}

static void decode_addr(const uint8_t *data, struct tern_frame_addr *addr)
{
	memcpy(addr->dst_mac, data, TERN_ETH_ALEN);
	memcpy(addr->src_mac, data + TERN_ETH_ALEN, TERN_ETH_ALEN);
	addr->src_ipv4 = load_be32(data + OFF_IP + 12);
	addr->dst_ipv4 = load_be32(data + OFF_IP + 16);
	addr->src_port = load_be16(data + OFF_UDP);
	addr->dst_port = load_be16(data + OFF_UDP + 2);
}

enum tern_drop_reason tern_frame_parse(const uint8_t *data, uint32_t frame_len,
				       uint32_t rx_csum,
				       const struct tern_frame_local *local,
				       struct tern_frame_view *view,
				       enum tern_frame_class *frame_class)
{
	enum tern_drop_reason reason;
	uint16_t ethertype;
	uint16_t ip_total_len = 0;

	if (frame_len < TERN_ETH_HDR_LEN)
		return TERN_DROP_ETH_TRUNCATED;
	ethertype = load_be16(data + 12);
	if (ethertype == TERN_ETHERTYPE_ARP) {
		*frame_class = TERN_FRAME_ARP;
		return TERN_DROP_NONE;
	}
	if (ethertype != TERN_ETHERTYPE_IPV4)
		return TERN_DROP_NOT_IPV4;
	if (memcmp(data, local->mac, TERN_ETH_ALEN) != 0 &&
	    !tern_mac_is_broadcast(data))
		return TERN_DROP_NOT_FOR_US_MAC;
	reason = parse_ipv4(data, frame_len, rx_csum, local, &ip_total_len);
	if (reason == TERN_DROP_NONE)
		reason = parse_udp(data, rx_csum, local, ip_total_len);
	if (reason == TERN_DROP_NONE)
		reason = parse_tern(data, ip_total_len, view);
	if (reason != TERN_DROP_NONE)
		return reason;
	decode_addr(data, &view->addr);
	*frame_class = TERN_FRAME_TERN;
	return TERN_DROP_NONE;
}

static void build_ipv4(uint8_t *ip, const struct tern_frame_addr *addr,
		       uint16_t ip_total_len, uint32_t tx_csum)
{
	ip[0] = IPV4_VERSION_IHL;
	ip[1] = 0;
	store_be16(ip + 2, ip_total_len);
	store_be16(ip + 4, 0);
	store_be16(ip + 6, 0);
	ip[8] = IPV4_DEFAULT_TTL;
	ip[9] = IPV4_PROTO_UDP;
	store_be16(ip + 10, 0);
	store_be32(ip + 12, addr->src_ipv4);
	store_be32(ip + 16, addr->dst_ipv4);
	if (!(tx_csum & TERN_CSUM_IP_TX)) {
		uint16_t sum = (uint16_t)~rte_raw_cksum(ip, TERN_IPV4_HDR_LEN);
		/* rte_raw_cksum works in host order on the raw bytes. */
		memcpy(ip + 10, &sum, sizeof(sum));
	}
}

static void build_udp_checksum(uint8_t *ip, uint8_t *udp, uint16_t udp_len,
			       uint32_t tx_csum)
{
	uint32_t sum = rte_raw_cksum(ip + 12, 8);
	uint16_t folded;

	sum += rte_cpu_to_be_16(IPV4_PROTO_UDP) + rte_cpu_to_be_16(udp_len);
	if (!(tx_csum & TERN_CSUM_UDP_TX))
		sum += rte_raw_cksum(udp, udp_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	/* Offload wants the plain pseudo-header sum; software the complement.
	 */
	folded = (tx_csum & TERN_CSUM_UDP_TX) ? (uint16_t)sum : (uint16_t)~sum;
	if (folded == 0 && !(tx_csum & TERN_CSUM_UDP_TX))
		folded = 0xffff; /* 0 means "no checksum" in UDP over IPv4 */
	memcpy(udp + 6, &folded, sizeof(folded));
}

void tern_hdr_build(uint8_t *tern, const struct tern_hdr *hdr)
{
	store_be32(tern, TERN_MAGIC);
	tern[4] = TERN_VERSION;
	tern[5] = hdr->type;
	tern[6] = hdr->flags;
	tern[7] = TERN_HDR_LEN;
	store_be32(tern + 8, hdr->epoch);
	store_be32(tern + 12, hdr->partition);
	store_be16(tern + 16, hdr->sender_node);
	store_be16(tern + 18, 0);
	store_be32(tern + 20, hdr->body_len);
	store_be64(tern + 24, hdr->aux);
}

uint32_t tern_frame_build(uint8_t *data, const struct tern_frame_addr *addr,
			  const struct tern_hdr *hdr, uint32_t tx_csum)
{
	uint8_t *ip = data + OFF_IP;
	uint8_t *udp = data + OFF_UDP;
	uint16_t udp_len;

	if (hdr->body_len > TERN_FRAME_BODY_MAX)
		return 0;
	udp_len = (uint16_t)(TERN_UDP_HDR_LEN + TERN_HDR_LEN + hdr->body_len);

	memcpy(data, addr->dst_mac, TERN_ETH_ALEN);
	memcpy(data + TERN_ETH_ALEN, addr->src_mac, TERN_ETH_ALEN);
	store_be16(data + 12, TERN_ETHERTYPE_IPV4);

	tern_hdr_build(data + OFF_TERN, hdr);

	store_be16(udp, addr->src_port);
	store_be16(udp + 2, addr->dst_port);
	store_be16(udp + 4, udp_len);
	store_be16(udp + 6, 0);
	build_ipv4(ip, addr, (uint16_t)(TERN_IPV4_HDR_LEN + udp_len), tx_csum);
	build_udp_checksum(ip, udp, udp_len, tx_csum);
	return TERN_ETH_HDR_LEN + TERN_IPV4_HDR_LEN + udp_len;
}
