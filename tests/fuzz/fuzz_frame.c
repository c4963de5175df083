/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the receive path's byte-level code: proves that no
 * input makes tern_frame_parse or tern_arp_input read outside the frame,
 * trip a sanitizer or loop, and that every Tern frame the parser accepts
 * survives a rebuild with tern_frame_build (software checksums and full
 * offload) and parses again to the same view. An ARP reply that
 * tern_arp_input writes must itself be a well-formed ARP reply.
 *
 * Any check that fails calls abort(), which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REBUILD_BUF_LEN (TERN_FRAME_HDRS_LEN + TERN_FRAME_BODY_MAX)

/* The node the seed corpus in tests/fuzz/corpus/frame/ is addressed to. */
static const struct tern_frame_local local = {
	.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.ipv4 = 0x0a000001, /* 10.0.0.1 */
	.udp_port_base = 7000,
	.udp_port_count = 8,
};

/* What a NIC may report: nothing, each verdict, and contradictions. */
static const uint32_t rx_csum_cases[] = {
	0,
	TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD,
	TERN_CSUM_IP_GOOD,
	TERN_CSUM_UDP_GOOD,
	TERN_CSUM_IP_BAD,
	TERN_CSUM_UDP_BAD,
	TERN_CSUM_IP_GOOD | TERN_CSUM_IP_BAD | TERN_CSUM_UDP_GOOD |
		TERN_CSUM_UDP_BAD,
};

static uint8_t rebuilt[REBUILD_BUF_LEN];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_same_view(const struct tern_frame_view *a,
			    const struct tern_frame_view *b)
{
	check(memcmp(a->addr.src_mac, b->addr.src_mac, TERN_ETH_ALEN) == 0);
	check(memcmp(a->addr.dst_mac, b->addr.dst_mac, TERN_ETH_ALEN) == 0);
	check(a->addr.src_ipv4 == b->addr.src_ipv4);
	check(a->addr.dst_ipv4 == b->addr.dst_ipv4);
	check(a->addr.src_port == b->addr.src_port);
	check(a->addr.dst_port == b->addr.dst_port);
	check(a->hdr.type == b->hdr.type);
	check(a->hdr.flags == b->hdr.flags);
	check(a->hdr.sender_node == b->hdr.sender_node);
	check(a->hdr.epoch == b->hdr.epoch);
	check(a->hdr.partition == b->hdr.partition);
	check(a->hdr.body_len == b->hdr.body_len);
	check(a->hdr.aux == b->hdr.aux);
	check(memcmp(a->body, b->body, a->hdr.body_len) == 0);
}

/* Rebuild an accepted frame from its view; it must parse back the same. */
static void round_trip(const struct tern_frame_view *view, uint32_t tx_csum,
		       uint32_t rx_csum)
{
	struct tern_frame_view again;
	enum tern_frame_class frame_class;
	uint32_t len;

	/* Whatever the parser accepts, the builder must be able to send. */
	check(view->hdr.body_len <= TERN_FRAME_BODY_MAX);
	memcpy(rebuilt + TERN_FRAME_HDRS_LEN, view->body, view->hdr.body_len);
	len = tern_frame_build(rebuilt, &view->addr, &view->hdr, tx_csum);
	check(len == TERN_FRAME_HDRS_LEN + view->hdr.body_len);
	check(tern_frame_parse(rebuilt, len, rx_csum, &local, &again,
			       &frame_class) == TERN_DROP_NONE);
	check(frame_class == TERN_FRAME_TERN);
	check(again.body == rebuilt + TERN_FRAME_HDRS_LEN);
	check_same_view(view, &again);
}

static void fuzz_parse(const uint8_t *data, uint32_t len, uint32_t rx_csum)
{
	struct tern_frame_view view;
	enum tern_frame_class frame_class;
	enum tern_drop_reason reason;

	reason = tern_frame_parse(data, len, rx_csum, &local, &view,
				  &frame_class);
	check((unsigned)reason < TERN_DROP_REASON_COUNT);
	if (reason != TERN_DROP_NONE || frame_class != TERN_FRAME_TERN)
		return;
	/* An accepted body lies wholly inside the frame. */
	check(view.body >= data + TERN_FRAME_HDRS_LEN);
	check(view.body <= data + len);
	check(view.hdr.body_len <= (size_t)(data + len - view.body));
	check(view.hdr.body_len >= tern_msg_body_min(view.hdr.type));
	round_trip(&view, 0, 0);
	round_trip(&view, TERN_CSUM_IP_TX | TERN_CSUM_UDP_TX,
		   TERN_CSUM_IP_GOOD | TERN_CSUM_UDP_GOOD);
}

static void fuzz_arp(const uint8_t *data, uint32_t len)
{
	struct tern_neigh_table table;
	struct tern_neigh_table requester;
	struct tern_frame_local requester_local;
	uint8_t reply[TERN_ARP_FRAME_LEN];
	uint8_t echo[TERN_ARP_FRAME_LEN];
	uint32_t reply_len;
	uint32_t echo_len;
	enum tern_drop_reason reason;

	tern_neigh_init(&table);
	reason = tern_arp_input(data, len, &local, &table, reply, &reply_len);
	check(reason == TERN_DROP_NONE || reason == TERN_DROP_ARP_MALFORMED ||
	      reason == TERN_DROP_ARP_NOT_FOR_US);
	check(reply_len == 0 || reply_len == TERN_ARP_FRAME_LEN);
	check(reason == TERN_DROP_NONE || reply_len == 0);
	if (reply_len == 0)
		return;
	/* The reply is well formed and teaches the requester our MAC. */
	memcpy(requester_local.mac, reply, TERN_ETH_ALEN);
	requester_local.ipv4 = (uint32_t)reply[38] << 24 |
			       (uint32_t)reply[39] << 16 |
			       (uint32_t)reply[40] << 8 | reply[41];
	requester_local.udp_port_base = 0;
	requester_local.udp_port_count = 0;
	tern_neigh_init(&requester);
	check(tern_arp_input(reply, reply_len, &requester_local, &requester,
			     echo, &echo_len) == TERN_DROP_NONE);
	check(echo_len == 0);
	if (requester_local.ipv4 != local.ipv4)
		check(tern_neigh_lookup(&requester, local.ipv4) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len;
	size_t i;

	/*
	 * No IPv4 total length reaches past 14 + 65535 bytes, so longer
	 * inputs only repeat shorter ones (and would not fit uint32_t).
	 */
	if (size > TERN_ETH_HDR_LEN + UINT16_MAX)
		return 0;
	len = (uint32_t)size;
	for (i = 0; i < sizeof(rx_csum_cases) / sizeof(rx_csum_cases[0]); i++)
		fuzz_parse(data, len, rx_csum_cases[i]);
	fuzz_arp(data, len);
	return 0;
}
