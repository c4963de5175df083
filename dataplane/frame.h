/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tern frame codec: Ethernet II / IPv4 / UDP / Tern header.
 *
 * The byte-by-byte layout and the validity rules are specified at the top
 * of frame.c and in docs/protocol.md. The codec works on plain byte buffers
 * so that it can be unit-tested and fuzzed without the EAL; the dataplane
 * passes it the data of single-segment mbufs.
 */
#ifndef TERN_DATAPLANE_FRAME_H
#define TERN_DATAPLANE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_ETH_HDR_LEN 14u
#define TERN_IPV4_HDR_LEN 20u
#define TERN_UDP_HDR_LEN 8u
#define TERN_HDR_LEN 32u
/* Bytes in front of a Tern body: Ethernet + IPv4 + UDP + Tern header. */
#define TERN_FRAME_HDRS_LEN \
	(TERN_ETH_HDR_LEN + TERN_IPV4_HDR_LEN + TERN_UDP_HDR_LEN + TERN_HDR_LEN)
#define TERN_ETH_ALEN 6u

#define TERN_MAGIC 0x54524e31u /* "TRN1" */
#define TERN_VERSION 1u
#define TERN_ETHERTYPE_IPV4 0x0800u
#define TERN_ETHERTYPE_ARP 0x0806u

/* Largest IPv4 datagram a Tern frame may carry (jumbo frames, 9000 MTU). */
#define TERN_FRAME_MTU_MAX 9000u
#define TERN_FRAME_BODY_MAX                                          \
	(TERN_FRAME_MTU_MAX - TERN_IPV4_HDR_LEN - TERN_UDP_HDR_LEN - \
	 TERN_HDR_LEN)

/*
 * Message types. A type outside this list is rejected by the parser; each
 * type has a minimum body length checked before the body is handed on.
 */
enum tern_msg_type {
	TERN_MSG_LINK_DATA = 1, /* link test: numbered data frame */
	TERN_MSG_LINK_ACK = 2,	/* link test: receiver's progress report */
	TERN_MSG_LINK_END = 3,	/* link test: sender finished, with its count */
	TERN_MSG_LINK_DONE = 4, /* link test: receiver's final verdict */
	/* Replication: bodies specified in replication/wire.h. */
	TERN_MSG_PRODUCE = 5,	  /* producer -> head: a record batch */
	TERN_MSG_PRODUCE_ACK = 6, /* head -> producer: outcome and offsets */
	TERN_MSG_APPEND = 7,	  /* replica -> successor: batch at an offset */
	TERN_MSG_ACK = 8,	  /* replica -> predecessor: acked offset */
	TERN_MSG_NACK = 9,	  /* replica -> predecessor: gap, its log end */
	TERN_MSG_COMMIT = 10,	  /* replica -> successor: commit index */
	TERN_MSG_FETCH = 11,	  /* reader -> any replica: read from offset */
	TERN_MSG_FETCH_RESP = 12, /* replica -> reader: batches or status */
	TERN_MSG_METADATA = 13,	  /* client -> any node: the map, please */
	TERN_MSG_METADATA_RESP = 14, /* node -> client: the partition map */
	TERN_MSG_HEARTBEAT = 15,     /* node -> node: alive, with its map */
	TERN_MSG_TYPE_END,	     /* one past the last known type */
};

/* Why a frame was dropped. Every drop is counted under exactly one reason. */
enum tern_drop_reason {
	TERN_DROP_NONE = 0,
	TERN_DROP_ETH_TRUNCATED,
	TERN_DROP_NOT_IPV4,
	TERN_DROP_NOT_FOR_US_MAC,
	TERN_DROP_IP_TRUNCATED,
	TERN_DROP_IP_VERSION,
	TERN_DROP_IP_OPTIONS,
	TERN_DROP_IP_LENGTH,
	TERN_DROP_IP_FRAGMENT,
	TERN_DROP_IP_CHECKSUM,
	TERN_DROP_NOT_FOR_US_IP,
	TERN_DROP_NOT_UDP,
	TERN_DROP_UDP_LENGTH,
	TERN_DROP_UDP_CHECKSUM,
	TERN_DROP_UDP_PORT,
	TERN_DROP_TERN_TRUNCATED,
	TERN_DROP_TERN_MAGIC,
	TERN_DROP_TERN_VERSION,
	TERN_DROP_TERN_TYPE,
	TERN_DROP_TERN_HDR_LENGTH,
	TERN_DROP_TERN_BODY_LENGTH,
	TERN_DROP_TERN_BODY_SHORT,
	TERN_DROP_ARP_MALFORMED,
	TERN_DROP_ARP_NOT_FOR_US,
	TERN_DROP_SEGMENTED,
	TERN_DROP_NO_HANDLER,
	TERN_DROP_IMPAIRED,
	TERN_DROP_HANDOFF_FULL,
	TERN_DROP_REASON_COUNT,
};

/* Short, stable name of a drop reason, as used in counters and telemetry. */
const char *tern_drop_reason_name(enum tern_drop_reason reason);

/* What the receiving node is, for the "is this frame for us" checks. */
struct tern_frame_local {
	uint8_t mac[TERN_ETH_ALEN];
	uint32_t ipv4;		 /* host byte order */
	uint16_t udp_port_base;	 /* host byte order */
	uint16_t udp_port_count; /* ports base .. base + count - 1 are ours */
};

/* Checksum work the NIC already did (or will do), so software skips it. */
#define TERN_CSUM_IP_GOOD (1u << 0)  /* RX: NIC verified the IPv4 checksum */
#define TERN_CSUM_IP_BAD (1u << 1)   /* RX: NIC found it wrong */
#define TERN_CSUM_UDP_GOOD (1u << 2) /* RX: NIC verified the UDP checksum */
#define TERN_CSUM_UDP_BAD (1u << 3)  /* RX: NIC found it wrong */
#define TERN_CSUM_IP_TX (1u << 4)    /* TX: NIC will fill the IPv4 checksum */
#define TERN_CSUM_UDP_TX (1u << 5)   /* TX: NIC will fill the UDP checksum */

/* The Tern header, decoded to host byte order. */
struct tern_hdr {
	uint8_t type;
	uint8_t flags;
	uint16_t sender_node;
	uint32_t epoch;
	uint32_t partition;
	uint32_t body_len;
	uint64_t aux; /* type-specific 64-bit field (sequence, offset, ...) */
};

/* Addresses of one frame, host byte order except MACs. */
struct tern_frame_addr {
	uint8_t src_mac[TERN_ETH_ALEN];
	uint8_t dst_mac[TERN_ETH_ALEN];
	uint32_t src_ipv4;
	uint32_t dst_ipv4;
	uint16_t src_port;
	uint16_t dst_port;
};

/* A parsed frame: decoded header fields and a pointer into the buffer. */
struct tern_frame_view {
	struct tern_frame_addr addr;
	struct tern_hdr hdr;
	const uint8_t *body;
};

/* Frame classes the parser reports for a frame it accepts. */
enum tern_frame_class {
	TERN_FRAME_TERN = 0,
	TERN_FRAME_ARP = 1,
};

/*
 * Validate a received frame of frame_len bytes and decode it into view.
 * rx_csum carries TERN_CSUM_*_GOOD/BAD bits from the NIC (0 when it did not
 * check). Returns TERN_DROP_NONE and sets *frame_class when the frame is a
 * Tern frame for this node or an ARP frame (view is filled for Tern frames
 * only); otherwise the reason it must be dropped. Never reads outside
 * [data, data + frame_len).
 */
enum tern_drop_reason tern_frame_parse(const uint8_t *data, uint32_t frame_len,
				       uint32_t rx_csum,
				       const struct tern_frame_local *local,
				       struct tern_frame_view *view,
				       enum tern_frame_class *frame_class);

/*
 * Write the Ethernet, IPv4, UDP and Tern headers in front of a body that
 * already sits at data + TERN_FRAME_HDRS_LEN (hdr->body_len bytes).
 * tx_csum holds TERN_CSUM_IP_TX / TERN_CSUM_UDP_TX when the NIC computes
 * those checksums (the UDP field then holds the pseudo-header sum the NIC
 * expects). Returns the frame length, or 0 when the body is too large.
 */
uint32_t tern_frame_build(uint8_t *data, const struct tern_frame_addr *addr,
			  const struct tern_hdr *hdr, uint32_t tx_csum);

/*
 * The Tern header alone, for transports that carry the UDP payload
 * themselves (a kernel UDP socket): tern_hdr_parse validates the payload_len
 * bytes at payload as tern_frame_parse does its Tern part, and points *body
 * at the body; tern_hdr_build writes the TERN_HDR_LEN header bytes.
 */
enum tern_drop_reason tern_hdr_parse(const uint8_t *payload,
				     uint32_t payload_len, struct tern_hdr *hdr,
				     const uint8_t **body);
void tern_hdr_build(uint8_t *payload, const struct tern_hdr *hdr);

/* Minimum body length of a message type (0 when any length is valid). */
uint32_t tern_msg_body_min(uint8_t type);

/* Does mac equal the broadcast address ff:ff:ff:ff:ff:ff? */
bool tern_mac_is_broadcast(const uint8_t mac[TERN_ETH_ALEN]);

#endif /* TERN_DATAPLANE_FRAME_H */
